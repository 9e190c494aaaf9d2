"""Round 8, step 1 (the lost runs/v6/build_candidate_levels.py, written again from
docs/TRAINING.md): a candidate's model file from a `training.variant` run, scoring nothing held out.

  build_candidate8.py RUN_DIR FREEZE LR_SCALE OUT_DIR [--base weights/aesview-livec-lite0.json]

* network from RUN_DIR/summary.json's `head` (multi-level GAP head), RUN_DIR/selected.state.pt
  loaded strictly (the validation-selected epoch);
* the base (shipped) model's detail head and card fields; card `head`, a recipe line, the run's
  history / selected epoch / hyperparameters; the base model's held-out metrics moved to
  metrics.previous_model (this file has no held-out figure);
* stages 0..FREEZE-1 checked bit-identical to the base model's (so the detail prefix, stages 0-8,
  and the tile sets' features are the base model's);
* saved with core.weights.save_model, reloaded with load_model (every tensor bit for bit), and the
  score identity score = sigmoid(mean AesAM + bias) checked through the app's Scorer on two
  *training* shoot photos.
"""
import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from aesview.core.classes import HIGH, LOW
from aesview.core.detail import decode_views
from aesview.core.detail_net import DetailHead
from aesview.core.head_spec import HeadSpec
from aesview.core.model import build_model
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model, save_model

ROOT = Path(__file__).resolve().parents[2]   # the repository

ap = argparse.ArgumentParser()
ap.add_argument("run")
ap.add_argument("freeze", type=int)
ap.add_argument("lr_scale", type=float)
ap.add_argument("out")
ap.add_argument("--base", default=str(ROOT / "weights" / "aesview-livec-lite0.json"))
ap.add_argument("--photos", default=str(ROOT.parent / "shared" / "photos"))
a = ap.parse_args()
t0 = time.time()
torch.set_num_threads(1)
run, out = Path(a.run), Path(a.out)
summary = json.loads((run / "summary.json").read_text())
base = load_model(a.base, device="cpu")
card0 = base.card.raw
head = HeadSpec.from_dict(summary["head"]) if summary.get("head") else None
net = build_model(base.card.architecture, len(base.card.attributes), head=head)
state = torch.load(run / "selected.state.pt", map_location="cpu", weights_only=True)
net.load_state_dict(state, strict=True)                      # the run's network, every key
assert not any(k.startswith("detail_head.") for k in state)
net.detail_head = DetailHead(base.card.detail.channels_in, len(base.card.detail.channels))
net.detail_head.load_state_dict(base.net.detail_head.state_dict(), strict=True)
net.eval()
# shared frozen stages bit for bit
bs, ns = base.net.state_dict(), net.state_dict()
shared = [k for k in bs if any(k.startswith(f"backbone.stages.{i}.") for i in range(a.freeze))]
assert shared, "no shared stage keys found"
bad = [k for k in shared if not (torch.equal(bs[k], ns[k]) and bs[k].dtype == ns[k].dtype)]
assert not bad, f"stages 0..{a.freeze - 1} differ from the base model's: {bad[:5]}"
later = [k for k in bs if k.startswith("backbone.stages.") and k not in shared and k in ns]
n_same_later = sum(torch.equal(bs[k], ns[k]) for k in later if bs[k].shape == ns[k].shape)
print(f"stages 0..{a.freeze - 1}: {len(shared)} tensors bit-identical to the base model's; "
      f"later stage tensors equal to the base's: {n_same_later}/{len(later)}")
hist = summary["history"]
sel = int(summary["selected_epoch"])
best = hist[sel - 1]
card = copy.deepcopy(card0)
tr = card["training"]
hp = dict(tr["hyperparameters"])
hp.update(summary.get("variant", {}))
hp["freeze"] = a.freeze
if a.lr_scale != 1.0:
    hp["backbone_lr_scale"] = a.lr_scale
tr["hyperparameters"] = hp
recipe = tr["recipe"].replace("stages 0-15 frozen (their outputs cached), the head conv",
                              f"stages 0-{a.freeze - 1} frozen (their outputs cached), "
                              + ("the head conv" if a.freeze >= 17 else f"stages {a.freeze}-17 (the head conv last)"))
if a.freeze == 16:
    recipe = tr["recipe"]
if a.lr_scale != 1.0:
    recipe = recipe.replace("GAP heads trained", f"GAP heads trained (backbone blocks at lr x {a.lr_scale:g})", 1)
recipe = recipe.replace("(mean of SRCC and clean-beats-defect)",
                        "(mean of SRCC, clean-beats-defect and the local-blur map AUC: joint.SELECT_KEYS)")
if head is not None:   # the recipe line aesview/training/cli.py writes for a multi-level head
    recipe += (f"; multi-level GAP head: the outputs of stages {', '.join(map(str, head.levels))}, "
               "each average-pooled to the last map's grid and scaled by a constant (card head), "
               "stacked before the head conv's map")
    card["head"] = head.to_dict()
else:
    card.pop("head", None)
tr["recipe"] = recipe
tr["command"] = (f"python -m aesview.training.variant --data ../shared/datasets/livec --photos ../shared/photos "
                 f"--out {run} --freeze {a.freeze}"
                 + (f" --backbone-lr-scale {a.lr_scale:g}" if a.lr_scale != 1.0 else "")
                 + (" --levels all" if head is not None else "")
                 + f"; packaged by tools/rounds/build_candidate8.py {run} {a.freeze} {a.lr_scale:g} {out} "
                 "(nothing held out scored)")
tr["history"], tr["selected_epoch"] = hist, sel
tr["validation_select"] = summary.get("select", best.get("select"))
tr["round8"] = ("candidate of round 8 (docs/TRAINING.md): the run's validation-selected state, the "
                "previous release's detail head and card; no held-out figure of this network exists yet")
card["metrics"] = {"validation": {k: v for k, v in best.items()},
                   "previous_model": card0["metrics"]}
out.mkdir(parents=True, exist_ok=True)
path = out / f"{base.card.name}.pt"
saved = save_model(net, card, path)
print(f"saved {path} sha256 {saved['sha256']}")
# reload: every tensor bit for bit, then the score identity on two training shoot photos
back = load_model(str(path), device="cpu")
bk = back.net.state_dict()
assert list(bk) == list(ns) and all(torch.equal(bk[k], ns[k]) for k in ns)
assert (back.card.head is None) == (head is None)

w_aes, b_aes, _, _ = back.net.head_weights()
bdiff = float(b_aes[HIGH] - b_aes[LOW])
for name in sorted(back.card.training["train_photos"])[:2]:
    f = Path(a.photos) / name
    for use_detail in (False, True):
        sc = Scorer(back, workers=0, detail=use_detail)
        v = decode_views(f, sc.long_side, sc.multiple, sc.detail)
        rec = sc.score_array(v.work, image_size=v.size, detail=v.detail)
        z = float(rec.aesam.astype(np.float64).mean()) + bdiff
        if use_detail:
            d = rec.detail
            assert d is not None
            assert abs(d.global_logit - z) < 1e-5, (name, d.global_logit, z)
            assert abs(rec.score - 1 / (1 + np.exp(-d.logit))) < 1e-5
            print(f"  {name} (training photo), detail on: global logit {d.global_logit:.6f} = mean AesAM + bias "
                  f"{z:.6f}; fused logit {d.logit:.6f}, score {rec.score:.6f}")
        else:
            assert abs(rec.score - 1 / (1 + np.exp(-z))) < 1e-6, (name, rec.score, z)
            print(f"  {name} (training photo), global view: score {rec.score:.6f} = sigmoid(mean AesAM + bias) "
                  f"{1 / (1 + np.exp(-z)):.6f}")
print(f"reloaded bit for bit; score identity holds; {time.time() - t0:.0f} s")
