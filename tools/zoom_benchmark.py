"""Where Z (100 %) lands: for each marked photo (tests/data/crop_subjects.json) and each
candidate cue, is the zoom point inside the hand-marked subject box, and how far outside it is.

    nice -n 10 .venv/bin/python tools/zoom_benchmark.py [--split validation|test|test2|all]

The cues are read at the scoring working size (320 px long side, as the score pass sees the
photo): the paper's high-class map and the signed AesAM from the real score pass, the ImageNet
classifier's CAM (top classes weighted by their probability, as the crop's subject cue) and the
in-focus gradient map, both from core.subject's CropAnalyzer run at that size; and the shipped
cue, the record's own subject map (core.subject_cue, CAM + 0.25 gradient). Each point is the
peak of the map after the 3 x 3 smoothing `core.bursts.map_peak` applies. Choose on the
validation split; the test splits are for reporting once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aesview.core.bursts import map_peak  # noqa: E402
from aesview.core.crop_eval import Marked, load_marked  # noqa: E402
from aesview.core.subject_cue import _unit  # noqa: E402  (the shipped cue's scaling)

Maps = dict[str, np.ndarray]


def _pool(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(a, np.float32))[None, None]
    return F.adaptive_avg_pool2d(t, shape)[0, 0].numpy()


def cues() -> dict[str, Callable[[Maps], np.ndarray]]:
    out: dict[str, Callable[[Maps], np.ndarray]] = {
        "highmap (today)": lambda m: m["highmap"],
        "aesam": lambda m: m["aesam"],
        "detail (gradient)": lambda m: _pool(m["detail"], m["cam"].shape),
        "imagenet CAM": lambda m: m["cam"],
        "shipped (record.subject)": lambda m: m["subject"],
    }
    def with_high(a: float) -> Callable[[Maps], np.ndarray]:
        return lambda m: _unit(m["cam"]) + a * _unit(m["highmap"])

    def with_detail(a: float) -> Callable[[Maps], np.ndarray]:
        return lambda m: _unit(m["cam"]) + a * _unit(_pool(m["detail"], m["cam"].shape))
    for a in (0.25, 0.5, 1.0):
        out[f"CAM + {a} highmap"] = with_high(a)
        out[f"CAM + {a} detail"] = with_detail(a)
    out["CAM x detail"] = lambda m: _unit(m["cam"]) * _unit(_pool(m["detail"], m["cam"].shape))
    out["CAM x highmap+"] = lambda m: _unit(m["cam"]) * _unit(m["highmap"])
    return out


def distance(p: tuple[float, float], box: tuple[float, float, float, float]) -> float:
    """Distance from the point to the box in frame fractions (0 inside)."""
    dx = max(box[0] - p[0], 0.0, p[0] - box[2])
    dy = max(box[1] - p[1], 0.0, p[1] - box[3])
    return float(np.hypot(dx, dy))


def collect(marked: list[Marked], store: Path) -> dict[str, Maps]:
    """Every photo's maps (kept in `store` so a second look costs nothing)."""
    if store.is_file():
        with np.load(store, allow_pickle=False) as z:
            have: dict[str, Maps] = {}
            for k in z.files:
                name, what = k.rsplit("::", 1)
                have.setdefault(name, {})[what] = z[k]
        if all("subject" in have.get(str(m.path), {}) for m in marked):
            return have
    from aesview.core.scoring import Scorer
    from aesview.core.subject import CropAnalyzer
    from aesview.core.weights import load_model
    model = load_model(device="cpu")
    scorer = Scorer(model, cache=None)
    analyzer = CropAnalyzer(model, long_side=scorer.long_side, faces=False, people=False)
    out: dict[str, Maps] = {}
    t0 = time.perf_counter()
    for m in marked:
        rec = scorer.score_one(m.path)
        if not rec.ok or rec.highmap is None or rec.aesam is None or rec.subject is None:
            raise SystemExit(f"{m.path}: not scored ({rec.error})")
        cm = analyzer.analyze(m.path)
        out[str(m.path)] = {"highmap": rec.highmap, "aesam": rec.aesam, "cam": cm.subject,
                            "subject": rec.subject, "detail": cm.detail}
    print(f"maps of {len(marked)} photos in {time.perf_counter() - t0:.0f} s "
          f"({model.model_id}, working size {scorer.long_side})", file=sys.stderr)
    flat: dict[str, np.ndarray] = {f"{p}::{k}": v for p, d in out.items() for k, v in d.items()}
    np.savez_compressed(store, **flat)  # type: ignore[arg-type]
    return out


def evaluate(marked: list[Marked], maps: dict[str, Maps]) -> dict[str, dict[str, float]]:
    rows = {}
    for name, cue in cues().items():
        inside, dist = [], []
        for m in marked:
            p = map_peak(cue(maps[str(m.path)]))
            d = distance(p, m.subject)
            inside.append(d == 0.0)
            dist.append(d)
        rows[name] = {"inside": float(np.mean(inside)), "n_inside": int(np.sum(inside)),
                      "mean_distance": float(np.mean(dist))}
    return rows


def cost(repeat: int) -> dict[str, float]:
    """Thread CPU ms per photo of the score pass's inference (batches of 8 shared photos at the
    working size, one torch thread), with and without the subject map; CPU time, not wall time,
    so other jobs on the machine change it little. Decoding, which a photo's scoring also pays,
    is left out: the share below is of inference alone, an upper bound of the share of scoring."""
    from PIL import Image

    from aesview.core.scoring import Scorer, _Prepared
    from aesview.core.weights import load_model
    torch.set_num_threads(1)
    scorer = Scorer(load_model(device="cpu"), cache=None)
    tail = scorer._tail.stages
    if tail is None:
        raise SystemExit("the default model shares no stages with the ImageNet classifier")
    root = Path(__file__).resolve().parents[1]
    arrays: list[np.ndarray] = []
    for f in sorted((root.parent / "shared" / "photos").glob("*.jpg")):
        with Image.open(f) as im:
            if im.width >= im.height and len(arrays) < 8:     # one shape: one batch
                arrays.append(np.asarray(im.convert("RGB").resize((320, 224))))
    batch = [_Prepared(str(i), size=(320, 224), array=a) for i, a in enumerate(arrays)]
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(repeat):
        for mode in ("without", "with"):
            scorer._tail.stages = tail if mode == "with" else None
            t = time.thread_time()
            scorer._infer(batch)
            times[mode].append(1000 * (time.thread_time() - t) / len(batch))
    scorer._tail.stages = tail
    w, wo = float(np.median(times["with"])), float(np.median(times["without"]))
    return {"photos_per_batch": len(batch), "ms_with": w, "ms_without": wo,
            "extra_ms": w - wo, "extra_share": (w - wo) / wo}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="validation", choices=("validation", "test", "test2", "all"))
    ap.add_argument("--store", default="/tmp/aesview-zoom-maps.npz",
                    help="where the photos' maps are kept between runs")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cost", action="store_true", help="the subject map's cost in the score pass")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if args.cost:
        print(json.dumps(cost(args.repeat), indent=1))
        return 0
    marked = load_marked()
    maps = collect(marked, Path(args.store))
    chosen = [m for m in marked if args.split == "all" or m.split == args.split]
    rows = evaluate(chosen, maps)
    if args.json:
        print(json.dumps({"split": args.split, "photos": len(chosen), "cues": rows}, indent=1))
        return 0
    print(f"{args.split}: {len(chosen)} photos; zoom point inside the subject box, "
          "mean distance to it (frame fractions)")
    for name, r in rows.items():
        print(f"  {name:26s} {r['n_inside']:3d}/{len(chosen)} = {r['inside']:.3f}   "
              f"{r['mean_distance']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
