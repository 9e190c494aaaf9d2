"""Fit the learned subject head (aesview.core.subject_head) on the hand-marked crop photos.

    .venv/bin/python tools/train_crop_subject.py [--splits validation,test,...] [--lam 0.1] [--cv]
                                                [--out weights/crop]

Each marked photo of the named parts of tests/data/crop_subjects.json goes through the crop pass
(core.subject.CropAnalyzer at its working size); the ImageNet stages' last feature map and the
marked box give one row per cell (aesview.training.crop_subject). --cv first prints the held-out
cross-entropy of 5-fold cross-validation grouped by source photo for each lam (seeded), for the
card. Writes subject-head.npz and its card subject-head.json (atomically) into --out.

Only parts that have already been looked at may train it: a fresh test part must stay unseen by
every method until its one run (docs/CROP.md, "The marked set").
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aesview.core.atomic import atomic_write_bytes, atomic_write_text  # noqa: E402
from aesview.core.crop_eval import load_marked  # noqa: E402
from aesview.core.subject_head import HEAD_NAME, POSITION_TERMS, head_dir  # noqa: E402
from aesview.training import crop_subject  # noqa: E402

# rounds 11-12 (docs/CROP.md): every part looked at by then; test11 was the fresh judge
DEFAULT_SPLITS = ("validation", "test", "test2", "test3", "test4", "test5", "test6", "test7", "test8",
                  "test9", "test10")
CV_SEED = 20261213


def features(splits: tuple[str, ...]) -> list[crop_subject.Photo]:
    from aesview.core.subject import CropAnalyzer
    from aesview.core.weights import load_model
    marked = [m for m in load_marked() if m.split in splits]
    missing = set(splits) - {m.split for m in marked}
    if missing:
        raise SystemExit(f"no marked photos in {sorted(missing)}")
    analyzer = CropAnalyzer(load_model(None, device="cpu"), subject_head=False)
    analyzer.keep_features = True
    out = []
    for m in marked:
        analyzer.analyze(m.path)
        assert analyzer.last_features is not None
        out.append(crop_subject.Photo(m.path.name, m.source or m.path.name, analyzer.last_features, m.subject))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splits", default=",".join(DEFAULT_SPLITS))
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--cv", action="store_true", help="also print and record each lam's held-out loss")
    ap.add_argument("--out", type=Path, default=None, help="folder (default: the shipped weights/crop)")
    args = ap.parse_args()
    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    t0 = time.time()
    photos = features(splits)
    print(f"{len(photos)} photos, {len({p.group for p in photos})} sources, features "
          f"{time.time() - t0:.0f} s", file=sys.stderr)
    cv = crop_subject.choose_lambda(photos, CV_SEED) if args.cv else None
    if cv is not None:
        print("held-out cross-entropy per lam: " + ", ".join(f"{k:g}: {v:.4f}" for k, v in cv.items()),
              file=sys.stderr)
    model = crop_subject.fit(photos, args.lam)
    buf = io.BytesIO()
    np.savez(buf, beta=model.beta, bias=np.array([model.bias]), mean=model.mean, std=model.std)
    data = buf.getvalue()
    out = args.out or head_dir()
    out.mkdir(parents=True, exist_ok=True)
    card = {
        "name": HEAD_NAME,
        "file": f"{HEAD_NAME}.npz",
        "sha256": hashlib.sha256(data).hexdigest(),
        "what": "per-cell probability that the cell lies inside the subject box a person marked: "
                "logistic regression on EfficientNet-Lite0's ImageNet last feature map (1280 channels) "
                "at the crop's working size and the cell's position terms " + ", ".join(POSITION_TERMS),
        "trained_on": {"marked_set": "tests/data/crop_subjects.json", "splits": list(splits),
                       "photos": len(photos), "sources": len({p.group for p in photos}),
                       "photo_names": sorted(p.name for p in photos)},
        "not_trained_on": "test11 and any part drawn after it (fresh test parts)",
        "target": "share of each cell inside the marked box (soft), each photo weighted equally",
        "lam": args.lam,
        "lam_chosen_by": "5-fold cross-validation grouped by photo on the 322 photos of test ... test9 "
                         "(docs/CROP.md, round 10): held-out cross-entropy lowest at 0.1",
        "cv": None if cv is None else {"seed": CV_SEED, "folds": 5, "grouped_by": "source photo",
                                       "held_out_cross_entropy": {f"{k:g}": round(v, 5) for k, v in cv.items()}},
        "fitted_by": "tools/train_crop_subject.py " + " ".join(sys.argv[1:]),
        "fitted_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "licence": "the marks are the aesview team's own (tests/data/crop_subjects.json); the photos "
                   "are not shipped",
    }
    atomic_write_bytes(out / f"{HEAD_NAME}.npz", data)
    atomic_write_text(out / f"{HEAD_NAME}.json", json.dumps(card, indent=1) + "\n")
    print(f"wrote {out / HEAD_NAME}.npz ({len(data) / 1e3:.0f} kB, sha256 {card['sha256'][:16]}…) "
          f"in {time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
