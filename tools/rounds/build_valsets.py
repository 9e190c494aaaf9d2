"""Round 8: the detail choice's VALIDATION tile sets (val, valbursts, livecval at decode 960), built
exactly as `python -m aesview.training.detail --out OUT [--white-point]` builds them (its builders,
seeds and photo lists; the global model = the shipped one, as its default --model), same file
names, so that main() could resume from them. Nothing of the training set, nothing held out,
nothing of the LIVE-C test part.

Besides each set, OUT/works_<set>_960.pt keeps the working-size (320 px) global views in the
groups the builder passed to `_set_z` (captured by wrapping detail._set_z, which still runs):
the set's z is the *shipped* network's; a candidate's z is recomputed from these by the same
`global_z` in the same groups (prepare8 step 2), as the lost choose_alpha script recomputed them.

usage: build_valsets.py OUT [--white-point] [--photos ../shared/photos] [--livec ../shared/datasets/livec]
"""
import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from aesview.core.weights import load_model
from aesview.training import detail as D
from aesview.training.datasets import read_livec
from aesview.training.joint import split_names
from aesview.training.loop import atomic_torch_save
from aesview.training.selfsup import VALIDATION

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--white-point", action="store_true")
ap.add_argument("--photos", default="../shared/photos")
ap.add_argument("--livec", default="../shared/datasets/livec")
ap.add_argument("--only", default=None, help="comma list of sets (default all three)")
a = ap.parse_args()
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
torch.set_num_threads(1)
out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
m = load_model("aesview-livec-lite0", device="cpu")
norm, photos, wp = m.card.normalization, Path(a.photos), a.white_point
lv = read_livec(a.livec)
val_names = set(split_names([s.name for s in lv], 0)["val"])
builders = {   # = training/detail.py main()'s validation builders, verbatim arguments
    "val": lambda: D.build_photo_set(m.net, [photos / n for n in VALIDATION], 960, norm, seed=1, white_point=wp),
    "valbursts": lambda: D.build_burst_set(m.net, [photos / n for n in VALIDATION], 960, norm,
                                           bursts_per_photo=6, seed=7, white_point=wp),
    "livecval": lambda: D.build_file_set(m.net, [(str(s.path), float(s.mean or 0.0)) for s in lv
                                                 if s.name in val_names], 960, norm, white_point=wp),
}
_orig = D._set_z
groups: list[list[np.ndarray]] = []
def _capture(net, images, works, norm_):
    if works:
        groups.append([np.array(w) for w in works])
    return _orig(net, images, works, norm_)
D._set_z = _capture
for name, build in builders.items():
    if a.only and name not in a.only.split(","):
        continue
    f, fw = out / f"{name}_960.pt", out / f"works_{name}_960.pt"
    if f.is_file() and fw.is_file():
        continue
    groups.clear()
    t0 = time.time()
    ds = build()
    assert sum(len(g) for g in groups) == len(ds["images"])
    atomic_torch_save(groups[:], fw)
    atomic_torch_save(ds, f)
    logging.info("%s tiles built in %.0f s (%d images, %d tiles)", name, time.time() - t0,
                 len(ds["images"]), len(ds["image"]))
