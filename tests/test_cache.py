"""The score cache: hits, invalidation on change, per-model keys, corruption survival."""

import os

import numpy as np

from aesview.core.cache import ScoreCache
from aesview.core.records import ScoreRecord, rank


def _rec(path, score=0.7):
    rng = np.random.default_rng(0)
    return ScoreRecord(path=str(path), score=score, attributes={"sharpness": 0.9},
                       aesam=rng.normal(size=(7, 10)).astype(np.float32),
                       attam=rng.normal(size=(2, 7, 10)).astype(np.float32), image_size=(640, 448))


def test_hit_returns_everything(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 100)
    cache = ScoreCache(tmp_path / "c.sqlite")
    rec = _rec(photo)
    cache.put(rec, "m1")
    hit = cache.get(str(photo), "m1")
    assert hit.cached and hit.score == rec.score and hit.attributes == rec.attributes
    np.testing.assert_array_equal(hit.aesam, rec.aesam)
    np.testing.assert_array_equal(hit.attam, rec.attam)
    assert hit.image_size == (640, 448)
    assert cache.get(str(photo), "m2") is None       # another model is another key
    cache.close()
    assert ScoreCache(tmp_path / "c.sqlite").get(str(photo), "m1") is not None  # persists


def test_changed_file_is_a_miss(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 100)
    cache = ScoreCache(tmp_path / "c.sqlite")
    cache.put(_rec(photo), "m")
    st = photo.stat()
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cache.get(str(photo), "m") is None
    cache.put(_rec(photo), "m")
    photo.write_bytes(b"y" * 101)
    assert cache.get(str(photo), "m") is None
    photo.unlink()
    assert cache.get(str(photo), "m") is None


def test_corrupt_cache_is_rebuilt(tmp_path):
    db = tmp_path / "c.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    cache = ScoreCache(db)
    assert cache.rebuilt
    cache.put(_rec(photo), "m")
    assert cache.get(str(photo), "m") is not None
    assert (tmp_path / "c.sqlite.corrupt").exists()   # kept aside, not silently deleted


def test_failed_records_are_not_cached(tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    p = tmp_path / "bad.jpg"
    p.write_bytes(b"")
    cache.put(ScoreRecord(path=str(p), error="truncated"), "m")
    assert cache.get(str(p), "m") is None


def test_rank_orders_and_puts_failures_last():
    recs = [ScoreRecord("b", 0.2), ScoreRecord("x", error="bad"), ScoreRecord("a", 0.9),
            ScoreRecord("c", 0.5)]
    out = rank(recs)
    assert [r.path for r in out] == ["a", "c", "b", "x"]
    assert [r.rank for r in out] == [1, 2, 3, None]
    assert [r.percentile for r in out[:3]] == [100.0, 50.0, 0.0]
