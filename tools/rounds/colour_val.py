"""Round 9: a stronger VALIDATION colour check (docs/TRAINING.md round 8's lesson).

The colour attribute, through the app's path (Scorer, global view, detail=False, as
tests/test_attributes_shipped.py), on colour-cast frames (training/degradations.color_cast, the
test's and the refit's function: CAST_STRENGTH by severity, direction drawn by
np.random.default_rng(seed), seeds 0..DIRS-1, the same directions at every severity) of the
split-0 VALIDATION photos only: the 140 LIVE-C split-0 val photos + the 5 validation shoot
photos (selfsup.VALIDATION). Nothing held out, nothing of the LIVE-C test part is read.

Figures: per severity, the share of (photo, direction) pairs whose colour attribute is below the
clean frame's; the test's own criterion per photo (severity 3, seeds 0-2: max(cast) < clean);
specificity: per (photo, severity, direction), the cast's colour drop beats the largest colour
drop of the 11 other defect families at that severity (one draw per family and photo).

usage: colour_val.py MODEL(.json or 'shipped') OUT.npz [--dirs 6] [--no-others]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]   # the repository
sys.path.insert(0, str(ROOT))
from aesview.core.imaging import load_image  # noqa: E402
from aesview.core.scoring import Scorer, _Prepared  # noqa: E402
from aesview.core.weights import load_model  # noqa: E402
from aesview.training import degradations as D  # noqa: E402
from aesview.training.datasets import read_livec  # noqa: E402
from aesview.training.joint import split_names  # noqa: E402
from aesview.training.selfsup import HELD_OUT, VALIDATION, list_photos  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("model")
ap.add_argument("out")
ap.add_argument("--dirs", type=int, default=6)
ap.add_argument("--no-others", action="store_true")
ap.add_argument("--photos", default=str(ROOT.parent / "shared" / "photos"))
ap.add_argument("--livec", default=str(ROOT.parent / "shared" / "datasets" / "livec"))
ap.add_argument("--limit", type=int, default=0, help="first N photos only (timing)")
a = ap.parse_args()
torch.set_num_threads(1)

lv = read_livec(a.livec)
parts = split_names([s.name for s in lv], 0)
val, test = set(parts["val"]), set(parts["test"])
livec_val = sorted((s for s in lv if s.name in val), key=lambda s: s.name)
assert len(livec_val) == 140 and not any(s.name in test for s in livec_val)
shoot_val = [p for p in list_photos(a.photos) if p.name in set(VALIDATION)]
assert len(shoot_val) == 5 and not any(p.name in set(HELD_OUT) for p in shoot_val)
photos = [("livec", s.name, str(s.path)) for s in livec_val] + \
         [("shoot", p.name, str(p)) for p in shoot_val]
if a.limit:
    photos = photos[:a.limit]

lm = load_model(None if a.model == "shipped" else a.model, device="cpu")
scorer = Scorer(lm, workers=0, detail=False)
K = D.ATTRIBUTES.index("color")
others = [f for f in D.DEFECTS if f != "color_cast"] if not a.no_others else []


def score(arrays):
    """Colour attribute of each array, batched by shape through Scorer._infer (score_array's
    own path, 8 at a time)."""
    out = np.zeros(len(arrays), np.float32)
    by_shape: dict = {}
    for i, x in enumerate(arrays):
        by_shape.setdefault(x.shape, []).append(i)
    for idx in by_shape.values():
        for j in range(0, len(idx), 8):
            chunk = idx[j:j + 8]
            recs = scorer._infer([_Prepared("", size=(arrays[i].shape[1], arrays[i].shape[0]),
                                            array=np.ascontiguousarray(arrays[i])) for i in chunk])
            for i, r in zip(chunk, recs):
                out[i] = r.attributes["color"]
    return out


clean = np.zeros(len(photos), np.float32)
cast = np.zeros((len(photos), 3, a.dirs), np.float32)
other = np.full((len(photos), 3, max(1, len(others))), np.nan, np.float32)
t0 = time.time()
for n, (_src, _name, path) in enumerate(photos):
    img = scorer.working_array(load_image(path, max_side=scorer.decode_side).image)
    frames = [img]
    for s in D.SEVERITIES:
        frames += [D.color_cast(img, s, np.random.default_rng(d))[0] for d in range(a.dirs)]
    for s in D.SEVERITIES:
        for fi, fam in enumerate(others):
            frames.append(D.apply(fam, img, s, np.random.default_rng([n, fi]))[0])
    c = score(frames)
    clean[n] = c[0]
    cast[n] = c[1:1 + 3 * a.dirs].reshape(3, a.dirs)
    if others:
        other[n] = c[1 + 3 * a.dirs:].reshape(3, len(others))
    if n % 20 == 0:
        print(f"{n + 1}/{len(photos)} {time.time() - t0:.0f} s", flush=True)

src = np.array([p[0] for p in photos])


def figures(mask):
    f: dict = {"photos": int(mask.sum())}
    cl, ca = clean[mask], cast[mask]
    for si, s in enumerate(D.SEVERITIES):
        f[f"drops_sev{s}"] = round(float((ca[:, si] < cl[:, None]).mean()), 4)
        f[f"mean_drop_sev{s}"] = round(float((cl[:, None] - ca[:, si]).mean()), 4)
    f["drops_all"] = round(float((ca < cl[:, None, None]).mean()), 4)
    if a.dirs >= 3:   # the suite's test, per photo: severity 3, seeds 0-2, max(cast) < clean
        f["test_criterion_pass"] = round(float((ca[:, 2, :3].max(1) < cl).mean()), 4)
    if others:
        od = (cl[:, None, None] - other[mask]).max(2)           # (P, 3) largest other drop
        cd = cl[:, None, None] - ca                              # (P, 3, dirs)
        f["specific_all"] = round(float((cd > od[:, :, None]).mean()), 4)
        for si, s in enumerate(D.SEVERITIES):
            f[f"specific_sev{s}"] = round(float((cd[:, si] > od[:, si, None]).mean()), 4)
    return f


res = {"model": a.model, "sha256": lm.card.sha256, "dirs": a.dirs, "others": others,
       "time_s": round(time.time() - t0, 1),
       "all": figures(np.ones(len(photos), bool)), "livec_val": figures(src == "livec"),
       "shoot_val": figures(src == "shoot")}
np.savez(a.out, clean=clean, cast=cast, other=other, names=np.array([p[1] for p in photos]),
         src=src)
Path(a.out).with_suffix(".json").write_text(json.dumps(res, indent=1))
print(json.dumps(res, indent=1))
