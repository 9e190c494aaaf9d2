"""The score cache: hits, invalidation on change, per-model keys, and failing safe: corruption,
locks, unusable locations."""

import logging
import os
import sqlite3
import time

import numpy as np
import pytest

from aesview.core.cache import ScoreCache, file_key
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


def test_same_size_rewrite_with_restored_mtime_is_a_miss(tmp_path):
    """Issue 13's stale score: new bytes, same size, mtime put back -> rescored."""
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"a" * 300_000)
    cache = ScoreCache(tmp_path / "c.sqlite")
    cache.put(_rec(photo), "m")
    st = photo.stat()
    for offset in (0, 150_000, 299_999):  # head, middle (outside the hashed ends), tail
        data = bytearray(b"a" * 300_000)
        data[offset] = ord("b")
        photo.write_bytes(bytes(data))
        os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
        hit = cache.get(str(photo), "m")
        if offset == 150_000:
            assert hit is not None     # documented limit: only the ends are hashed
        else:
            assert hit is None, offset


def test_file_key_never_waits_on_a_fifo(tmp_path):
    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        file_key(fifo)
    assert ScoreCache(tmp_path / "c.sqlite").get(str(fifo), "m") is None


@pytest.mark.parametrize("where", ["proc", "file_in_place", "read_only", "wal_unopenable"])
def test_unusable_location_warns_once_and_scores_on(tmp_path, where, caplog):
    if where == "proc":
        path = "/proc/nope/scores.sqlite"
    elif where == "file_in_place":
        (tmp_path / "cachedir").write_text("a file where the folder goes")
        path = tmp_path / "cachedir" / "scores.sqlite"
    elif where == "read_only":
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere")
        ro = tmp_path / "ro"
        ro.mkdir()
        good = ScoreCache(ro / "scores.sqlite")
        photo = tmp_path / "a.jpg"
        photo.write_bytes(b"x")
        good.put(_rec(photo), "m")
        good.close()
        for f in ro.iterdir():
            if f.name != "scores.sqlite":
                f.unlink()
        ro.chmod(0o555)
        path = ro / "scores.sqlite"
    if where == "wal_unopenable":
        # A valid cache SQLite can't open for writing (as a read-only mount does, even for
        # root): an I/O problem, not corruption, so the file must stay where it is.
        ro = tmp_path / "ro"
        ro.mkdir()
        good = ScoreCache(ro / "scores.sqlite")
        good.close()
        for f in ro.iterdir():
            if f.name != "scores.sqlite":
                f.unlink()
        (ro / "scores.sqlite-wal").mkdir()
        path = ro / "scores.sqlite"
    with caplog.at_level(logging.WARNING, logger="aesview.core.cache"):
        cache = ScoreCache(path)
        photo = tmp_path / "b.jpg"
        photo.write_bytes(b"y")
        cache.put(_rec(photo), "m")
        assert cache.get(str(photo), "m") is None
    assert not cache.available and "scoring without it" in cache.problem
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    if where == "read_only":
        assert sorted(f.name for f in path.parent.iterdir()) == ["scores.sqlite"]  # not renamed
        path.parent.chmod(0o755)
    if where == "wal_unopenable":
        assert sorted(f.name for f in path.parent.iterdir()) == ["scores.sqlite",
                                                                  "scores.sqlite-wal"]


def test_locked_cache_waits_then_goes_on_and_is_never_renamed(tmp_path, caplog):
    db = tmp_path / "scores.sqlite"
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 1000)
    first = ScoreCache(db)
    first.put(_rec(photo, 0.25), "m")
    first.close()
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="aesview.core.cache"):
            cache = ScoreCache(db, lock_timeout=0.3)
            assert cache.get(str(photo), "m").score == 0.25   # WAL readers still read
            t0 = time.monotonic()
            other = tmp_path / "b.jpg"
            other.write_bytes(b"y")
            cache.put(_rec(other), "m")                     # the writer waits, then gives up
            cache.put(_rec(other), "m")                     # ... once: no second wait
            assert time.monotonic() - t0 < 2.0
        assert not cache.available and "locked" in cache.problem
        assert len(caplog.records) == 1
        assert not list(tmp_path.glob("*.corrupt"))
    finally:
        holder.rollback()
        holder.close()
    assert ScoreCache(db).get(str(photo), "m").score == 0.25  # every entry still there


def test_old_schema_is_replaced_not_misread(tmp_path):
    db = tmp_path / "c.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE scores (path TEXT, model_id TEXT, size INTEGER, mtime_ns INTEGER,"
                " score REAL, attributes TEXT, width INTEGER, height INTEGER, maps BLOB)")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    cache = ScoreCache(db)
    assert cache.available and not cache.rebuilt
    cache.put(_rec(photo), "m")
    assert cache.get(str(photo), "m") is not None
