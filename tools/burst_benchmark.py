"""Burst grouping and best-frame choice on a burst set made from the shared photos
(tests/burst_set.py), with the shipped model; and the time to group 2,000 scored photos.

    nice -n 15 .venv/bin/python tools/burst_benchmark.py [--folder /tmp/aesview-bursts] [--tune]

Thresholds and weights are chosen on the "tune" half of the photos (--tune searches them);
figures are given for both halves, the "test" half being the honest one. Grouping is measured
twice: with EXIF capture times, and with them ignored (content only).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aesview.core.bursts import (  # noqa: E402
    BestParams,
    Frame,
    GroupingParams,
    best_frame,
    frame_quality,
    group_frames,
    group_peak,
)
from aesview.core.capture import exif_capture_time  # noqa: E402
from aesview.core.scoring import Scorer  # noqa: E402
from aesview.core.weights import load_model  # noqa: E402
from tests.burst_set import open_burst_set  # noqa: E402


def pair_scores(found: list[list[str]], truth: list[list[str]], files: list[str]) -> tuple[float, float]:
    """Precision and recall over pairs of photos put in one group."""
    def pairs(groups):
        keep = set(files)
        return {frozenset(p) for g in groups for p in itertools.combinations([f for f in g if f in keep], 2)}
    f, t = pairs(found), pairs(truth)
    tp = len(f & t)
    return (tp / len(f) if f else 1.0), (tp / len(t) if t else 1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default="/tmp/aesview-bursts")
    ap.add_argument("--tune", action="store_true", help="search weights on the tune half")
    ap.add_argument("--seed", type=int, default=0, help="a new burst set (other jitter and order)")
    args = ap.parse_args()
    folder = Path(args.folder)
    t0 = time.perf_counter()
    shoot = open_burst_set(folder, seed=args.seed)
    print(f"burst set: {len(shoot.bursts)} bursts, {len(shoot.singles)} singles, "
          f"{len(shoot.files())} files in {folder} ({time.perf_counter() - t0:.0f} s)")
    model = load_model(device="cpu")
    scorer = Scorer(model, cache=None)
    paths = [str(folder / f) for f in shoot.files()]
    t0 = time.perf_counter()
    recs = {Path(r.path).name: r for r in scorer.score_paths(paths)}
    print(f"scored {len(recs)} in {time.perf_counter() - t0:.0f} s with {model.model_id} on CPU")
    t0 = time.perf_counter()
    quality = {}
    for b in shoot.bursts:       # each burst measured at its frames' common subject place
        peak = group_peak([recs[f] for f in b.frames])
        quality.update({f: frame_quality(folder / f, recs[f], peak=peak) for f in b.frames})
    print(f"frame quality of {len(quality)} burst frames in {time.perf_counter() - t0:.1f} s")
    times = {f: exif_capture_time(folder / f) for f in recs}

    for split in ("tune", "test"):
        files = shoot.files(split)
        truth = shoot.groups(split)
        for label, use_time in (("EXIF + content", True), ("content only", False)):
            frames = [Frame(f, times[f] if use_time else None, recs[f].embedding) for f in files]
            found = group_frames(frames, GroupingParams())
            p, r = pair_scores(found, truth, files)
            print(f"[{split}] grouping, {label}: precision {p:.3f} recall {r:.3f} "
                  f"({len(found)} groups found, {len(truth)} true)")

    def agreement(split: str, params: BestParams) -> tuple[int, int, dict[str, int]]:
        hits, misses = 0, {}
        bursts = [b for b in shoot.bursts if b.split == split]
        for b in bursts:
            chosen = best_frame(b.frames, [recs[f] for f in b.frames], [quality[f] for f in b.frames], params)
            if chosen == b.best:
                hits += 1
            else:
                kind = b.kinds[b.frames.index(chosen)]
                misses[kind] = misses.get(kind, 0) + 1
        return hits, len(bursts), misses

    params = BestParams()
    if args.tune:
        best = (-1, params)
        for ws, we, wc, wd in itertools.product((0.5, 1, 2, 4), (0.25, 0.5, 1), (1, 2, 4), (0.5, 1, 2)):
            cand = replace(params, w_sharp=ws, w_exposure=we, w_clipped=wc, w_edge=wd)
            hits = agreement("tune", cand)[0]
            if hits > best[0]:
                best = (hits, cand)
        params = best[1]
        print("chosen on tune:", params)
    for split in ("tune", "test"):
        hits, n, misses = agreement(split, params)
        print(f"[{split}] intended best chosen in {hits}/{n} bursts ({100 * hits / max(1, n):.0f} %)"
              + (f"; wrong picks by flaw: {misses}" if misses else ""))
    hits = sum(agreement(s, params)[0] for s in ("tune", "test"))
    print(f"[all] {hits}/{len(shoot.bursts)} ({100 * hits / len(shoot.bursts):.0f} %)")
    print("model score alone:", sum(max(b.frames, key=lambda f: recs[f].score) == b.best
                                    for b in shoot.bursts), "/", len(shoot.bursts))

    # 2,000 scored photos: the set's embeddings and times repeated with small noise.
    rng = np.random.default_rng(0)
    base = [Frame(f, times[f], recs[f].embedding) for f in shoot.files()]
    frames = []
    for i in range(2000):
        b = base[i % len(base)]
        e = b.embedding.astype(np.float32) + rng.normal(0, 0.01, b.embedding.shape).astype(np.float32)
        t = None if b.captured is None else b.captured + 3600 * (i // len(base))
        frames.append(Frame(f"{i}_{b.path}", t, e.astype(np.float16)))
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        groups = group_frames(frames)
        runs.append(time.perf_counter() - t0)
    print(f"grouping 2,000 photos: median {np.median(runs) * 1000:.0f} ms, worst {max(runs) * 1000:.0f} ms "
          f"({len(groups)} groups)")


if __name__ == "__main__":
    main()
