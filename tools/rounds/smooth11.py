#!/usr/bin/env python
"""Round 11 (docs/TRAINING.md): the shipped detail view against the same view whose flat
(smooth) patch counts only `SMOOTH_CHANNELS`, on VALIDATION data only.

    smooth11.py SETS_DIR OUT.json [--photos ../shared/photos]

* SETS_DIR: round 8's cached validation sets (build_valsets.py, "as decoded":
  `$AESVIEW_RUNS/v8/detail/decoded`): the 5 validation shoot photos' variants, their 30 bursts,
  the 140 LIVE-C split-0 validation photos, each with the shipped network's global z and its
  tiles' stage-9 features. The shipped model's figures at its own alpha reproduce round 8's
  detail grid (checked against `EXPECT_SHIPPED` below).
* Synthetic bokeh through the app (`training.detail.bokeh_check_native`) on the 5 validation shoot
  photos, with the shipped scorer and with the candidate's.
Nothing held out is read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aesview.core.scoring import Scorer  # noqa: E402
from aesview.core.weights import load_model  # noqa: E402
from aesview.training import detail as D  # noqa: E402
from aesview.training.selfsup import VALIDATION  # noqa: E402

SMOOTH_CHANNELS = ("noise", "compression")
SETS = ("val", "valbursts", "livecval")
# round 8's detail grid on the shipped model (tools/rounds/README.md): shipped head, as decoded, alpha 0.2
EXPECT_SHIPPED = {"bursts": (0.933, 3), "clean_beats": (1.000, 3), "srcc": (0.713, 3), "select": (0.8822, 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets_dir")
    ap.add_argument("out")
    ap.add_argument("--photos", default=str(ROOT.parent / "shared" / "photos"))
    args = ap.parse_args()
    t0 = time.time()
    torch.set_num_threads(1)
    model = load_model(device="cpu")
    spec = model.card.detail
    assert spec is not None and spec.smooth_channels is None, "the shipped card counts every channel"
    cand = dataclasses.replace(spec, smooth_channels=SMOOTH_CHANNELS)
    head = model.net.detail_head.eval()
    sets = [torch.load(Path(args.sets_dir) / f"{n}_960.pt", weights_only=False) for n in SETS]
    ev = [D.tile_evidence(head, ds["feats"][spec.stage]) for ds in sets]
    rows = {}
    for name, s in (("shipped", spec), ("candidate", cand)):
        e = tuple(D._image_evidence(ds, x, s.patches - s.smooth, s.smooth, s) for ds, x in zip(sets, ev))
        rows[name] = D.validation_figures(sets[0], sets[1], sets[2], e, spec.alpha)
        rows[name]["mean_evidence"] = [float(np.mean(x)) for x in e]
    for k, (v, nd) in EXPECT_SHIPPED.items():
        assert round(rows["shipped"][k], nd) == v, (k, rows["shipped"][k], v)
    t_sets = time.time() - t0
    photos = [Path(args.photos) / n for n in VALIDATION]
    assert all(p.is_file() for p in photos)
    for name, s in (("shipped", spec), ("candidate", cand)):
        scorer = Scorer(model, workers=0)
        scorer.detail = s
        rows[name]["bokeh_validation"] = D.bokeh_check_native(scorer, photos)
    sh, ca = rows["shipped"], rows["candidate"]
    rule = {
        "bursts_not_lower": ca["bursts"] >= sh["bursts"],
        "select_falls_at_most_0.005": ca["select"] >= sh["select"] - 0.005,
        "srcc_falls_at_most_0.005": ca["srcc"] >= sh["srcc"] - 0.005,
        "bokeh_mean_cost_falls": ca["bokeh_validation"]["mean_cost"] < sh["bokeh_validation"]["mean_cost"],
    }
    res = {"what": "round 11, validation only (docs/TRAINING.md)", "model_sha256": model.card.sha256,
           "alpha": spec.alpha, "smooth_channels": list(SMOOTH_CHANNELS), "sets": args.sets_dir,
           "validation_photos": list(VALIDATION), "rule": rule, "passed": all(rule.values()),
           "rows": rows, "time_s": round(time.time() - t0, 1), "sets_s": round(t_sets, 1)}
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    for name, r in rows.items():
        b = r["bokeh_validation"]
        print(f"{name:<10} bursts {r['bursts']:.3f} {r['beaten_by']}  clean {r['clean_beats']:.3f}  "
              f"SRCC {r['srcc']:.4f} PLCC {r['plcc']:.4f}  select {r['select']:.4f}  "
              f"bokeh mean {b['mean_cost']:.4f} max {b['max_cost']:.4f} (global {b['mean_cost_global']:.4f})")
    print("rule:", rule, "passed" if res["passed"] else "NOT passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
