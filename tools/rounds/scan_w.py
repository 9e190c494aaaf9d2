"""Choose --livec-clean-weight W on VALIDATION: LIVE-C split-0 val casts in directions 3-5 (not the
suite's 0-2) and the val photos' clean frames (features path). Rule fixed before any fit: among
W in GRID, at the refit's grid setting each W's own choose() would pick among the pair=1 l2=1e-3
checkpoints (300/1000/3000, shoot val mean; ties fewer epochs), take the W with the highest
livec_cast->color (dirs 3-5) whose clean mean >= before - 0.03; ties -> smaller W.

usage: scan_w.py W1,W2,... OUT.json   (reads $AESVIEW_RUNS/v10/L16_cw/attr/ and L16's model
$AESVIEW_RUNS/v8/L16p/model/; AESVIEW_RUNS defaults to /work/runs)"""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the repository
from aesview.core.weights import load_model
from aesview.training import attrefit as A
from aesview.training import degradations as D

RUNS = os.environ.get("AESVIEW_RUNS", "/work/runs")   # scratch folder of the rounds (not in git)
d = f"{RUNS}/v10/L16_cw/attr/"
GRID = [float(x) for x in sys.argv[1].split(",")]
lm = load_model(f"{RUNS}/v8/L16p/model/aesview-livec-lite0.json", device="cpu")
W0, b0 = (t.detach().numpy() for t in (lm.net.att_head.weight, lm.net.att_head.bias))
f = np.load(d + "features.npz")
v = np.load(d + "val_variants.npz", allow_pickle=True)
meta_val = [(str(a), str(b), int(c)) for a, b, c in v["meta"]]
c = np.load(d + "livec_casts.npz")
ch = np.load(d + "livec_val_choice.npz")
mch = [tuple(r) for r in ch["mv"]]
k = D.ATTRIBUTES.index("color")
x, t, fam, grp = A.cast_training(c["xc"], [tuple(r) for r in c["mc"]], int(np.max(f["grp_tr"])) + 1)
xtr = np.concatenate([f["xtr"], x])
ttr = np.concatenate([f["ttr"], t]).astype(np.float32)
fam_tr = np.concatenate([f["fam_tr"], fam])
grp_tr = np.concatenate([f["grp_tr"], grp])
_, w1 = A.targets_weights(ttr)
pairs = A.within_photo_pairs(fam_tr, grp_tr)
col0 = A.sigmoid(ch["xv"] @ W0.T + b0)[:, k]
res = {"before": {"clean": A.clean_mean(col0, mch), "drops345": A.cast_drops(col0, mch)}, "rows": []}
print(res["before"], flush=True)
for W in GRID:
    t0 = time.time()
    wt = A.clean_weighted(w1, fam_tr, len(f["xtr"]), W)
    fits = A.fit_head(xtr, ttr, wt, 1e-3, 3000, pairs=pairs, pair_weight=1.0, checkpoints=(300, 1000, 3000))
    for ep, (Wh, bh) in fits.items():
        dr = A.variant_drops(A.sigmoid(v["x"] @ Wh.T + bh), meta_val)
        col = A.sigmoid(ch["xv"] @ Wh.T + bh)[:, k]
        r = {"W": W, "epochs": ep, "shoot_mean": float(np.mean(list(dr.values()))),
             "color_cast": dr["color_cast->color"], "clean": A.clean_mean(col, mch),
             "clean_p10": float(np.percentile([col[i] for i, m in enumerate(mch) if m[1] == 0], 10)),
             "drops345": A.cast_drops(col, mch)}
        res["rows"].append(r)
        print(r, f"{time.time()-t0:.0f}s", flush=True)
json.dump(res, open(sys.argv[2], "w"), indent=1)
