"""Bursts: capture time to the sub-second, grouping by time and by content, the best frame on
a real burst set made from the shared photos, and the embedding through the cache."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aesview.core.bursts import (
    Frame,
    GroupingParams,
    best_frame,
    frame_quality,
    group_frames,
    group_peak,
    make_embedding,
    sharpness_of,
)
from aesview.core.capture import exif_capture_time, parse_exif_time

from .burst_set import SHARED, make_burst_set


def test_subsecond_capture_time(tmp_path):
    assert parse_exif_time("2026:11:28 10:00:05", "25") - parse_exif_time("2026:11:28 10:00:05") \
        == pytest.approx(0.25)
    assert parse_exif_time("2026:11:28 10:00:05", "050") % 1 == pytest.approx(0.05)
    assert parse_exif_time("0000:00:00 00:00:00") is None
    exif = Image.Exif()
    ifd = exif.get_ifd(0x8769)
    ifd[36867], ifd[37521] = "2026:11:28 10:00:05", "4"
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg", exif=exif.tobytes())
    Image.new("RGB", (8, 8)).save(tmp_path / "b.jpg")
    assert exif_capture_time(tmp_path / "a.jpg") % 1 == pytest.approx(0.4)
    assert exif_capture_time(tmp_path / "b.jpg") is None      # mtime is not a capture time


def _emb(seed: int, noise: float = 0.0, base: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed if base is None else base)
    v = rng.normal(size=64)
    if noise:
        v = v + np.random.default_rng(seed).normal(scale=noise, size=64)
    return v.astype(np.float16)


def test_grouping_by_time_and_content():
    frames = [Frame("a1", 0.0, _emb(1, 0.1, base=1)), Frame("a2", 0.2, _emb(2, 0.1, base=1)),
              Frame("a3", 0.4, _emb(3, 0.1, base=1)),
              Frame("turned", 0.6, _emb(9)),                          # same second, another view
              Frame("b1", 30.0, _emb(4, 0.1, base=2)), Frame("b2", 30.3, _emb(5, 0.8, base=2)),  # time + loosely alike
              Frame("single", 90.0, _emb(6))]
    assert group_frames(frames) == [["a1", "a2", "a3"], ["b1", "b2"]]
    # without EXIF the near-duplicates are still found, the unlike frames are not
    no_time = [Frame(f.path, None, f.embedding) for f in frames]
    assert group_frames(no_time) == [["a1", "a2", "a3"]]
    # a gap larger than max_gap splits a burst
    assert group_frames(frames, GroupingParams(max_gap=0.1, duplicate_similarity=1.1)) == []
    assert group_frames([]) == [] and group_frames(frames[:1]) == []


def test_sharpness_drops_with_blur_not_with_brightness():
    from aesview.core import defects as K
    img = np.asarray(Image.open(SHARED / "mate_LadyBird.jpg").convert("RGB").crop((600, 300, 1400, 900))) \
        if (SHARED / "mate_LadyBird.jpg").is_file() else pytest.skip("shared photos missing")

    def s(a):
        return sharpness_of(np.asarray(Image.fromarray(a).convert("L"), np.float32))
    base = s(img)
    assert s(K.convolve(img, K.disk_kernel(2.0))) < 0.85 * base
    assert s(K.exposure(img, -1.0)) == pytest.approx(base, rel=0.1)


def test_embedding_survives_the_cache(tmp_path):
    from aesview.core.cache import ScoreCache
    from aesview.core.records import ScoreRecord
    photo = tmp_path / "p.jpg"
    Image.new("RGB", (40, 30), (200, 100, 50)).save(photo)
    emb = make_embedding(np.arange(112, dtype=np.float32), np.zeros((30, 40, 3), np.uint8) + 90)
    rec = ScoreRecord(str(photo), 0.5, {"a": 0.1}, np.zeros((2, 3), np.float32),
                      np.zeros((1, 2, 3), np.float32), image_size=(40, 30), embedding=emb)
    cache = ScoreCache(tmp_path / "c.sqlite")
    cache.put(rec, "m")
    back = cache.get(str(photo), "m")
    assert back is not None and back.embedding.dtype == np.float16
    assert np.array_equal(back.embedding, emb)
    assert float(emb.astype(np.float32) @ emb.astype(np.float32)) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture(scope="module")
def scored_bursts(tmp_path_factory):
    if not SHARED.is_dir():
        pytest.skip("shared photos missing")
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    folder = tmp_path_factory.mktemp("bursts")
    shoot = make_burst_set(folder, photos=["friends_by_Aitzol_Berasategi.jpg", "mate_Garden.jpg",
                                           "picosdeeuropa_by_Aitzol_Berasategi.jpg",
                                           "mate_Storm.jpg", "skimage_coffee.jpg"],
                           singles_every=5, max_side=1024, seed=3)
    scorer = Scorer(load_model(device="cpu"), cache=None)
    recs = {r.path: r for r in scorer.score_paths([folder / f for f in shoot.files()])}
    return folder, shoot, recs


def test_real_bursts_are_grouped_with_and_without_exif(scored_bursts):
    folder, shoot, recs = scored_bursts
    assert len(shoot.bursts) == 4 and len(shoot.singles) == 1
    truth = sorted(sorted(str(folder / f) for f in g) for g in shoot.groups())
    for use_time in (True, False):
        frames = [Frame(str(folder / f), exif_capture_time(folder / f) if use_time else None,
                        recs[str(folder / f)].embedding) for f in shoot.files()]
        assert sorted(sorted(g) for g in group_frames(frames)) == truth, use_time


def test_real_bursts_best_frame(scored_bursts):
    folder, shoot, recs = scored_bursts
    hits = 0
    for b in shoot.bursts:
        paths = [str(folder / f) for f in b.frames]
        peak = group_peak([recs[p] for p in paths])
        chosen = best_frame(paths, [recs[p] for p in paths],
                            [frame_quality(p, recs[p], peak=peak) for p in paths])
        kind = b.kinds[paths.index(chosen)]
        assert kind not in ("dark", "bright"), (b.source, kind)   # a stop off is never best
        hits += kind == "best"
    assert hits >= 3, hits


def test_a_slow_drift_of_look_alike_frames_does_not_chain_into_one_burst():
    """2,000 frames of one light and scene, each a little off the previous one: every neighbour
    is a near-duplicate, yet the first and the last frame have nothing in common. Single
    linkage made one 'burst' of all of them; groups must stay local."""
    rng = np.random.default_rng(0)
    d, n = 64, 2000
    v = rng.normal(size=d)
    vecs = []
    for _ in range(n):
        v = v / np.linalg.norm(v) * np.sqrt(d) + rng.normal(scale=0.25, size=d)  # neighbours ~0.97 alike
        vecs.append((v / np.linalg.norm(v)).astype(np.float16))
    frames = [Frame(f"IMG_{i:05d}.jpg", None, e) for i, e in enumerate(vecs)]
    assert float(vecs[0].astype(np.float32) @ vecs[-1].astype(np.float32)) < 0.3
    groups = group_frames(frames)
    assert groups, "neighbours this alike are near-duplicates"
    assert max(len(g) for g in groups) <= 40
    for g in groups:     # no two frames of one group are strangers
        m = np.array([vecs[int(p[4:9])].astype(np.float32) for p in g])
        assert float((m @ m.T).min()) >= 0.5
