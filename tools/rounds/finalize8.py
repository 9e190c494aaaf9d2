"""Round 8, step 4 (the lost finalize5.py, written again from docs/TRAINING.md): the candidate's
final file = its network + the refit attribute head + the chosen detail head / alpha / white point.

  finalize8.py MODEL_JSON REFIT_PT ATTR_CHOICE_JSON DETAIL_CHOICE_JSON OUT_DIR

Every tensor but att_head.* (from REFIT_PT) and, if the blur-floor head is chosen, detail_head.*
(from the choice's floor head file) is checked bit-identical to MODEL's; saved with
core.weights.save_model; reloaded with load_model (bit for bit, card detail as chosen); the score
identity and the fused logit = global logit - alpha * e checked on two *training* shoot photos.
"""
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aesview.core.classes import HIGH, LOW
from aesview.core.detail import decode_views
from aesview.core.imaging import load_image
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model, save_model
from aesview.training import detail as D

model_arg, refit_pt, attr_json, detail_json, outdir = sys.argv[1:6]
photos = Path(__file__).resolve().parents[3] / "shared" / "photos"   # beside the repository
t0 = time.time()
torch.set_num_threads(1)
m = load_model(model_arg, device="cpu")
net = m.net
old = {k: v.clone() for k, v in net.state_dict().items()}
refit = torch.load(refit_pt, map_location="cpu", weights_only=True)
assert list(refit) == list(old)
for k, v in refit.items():
    if not k.startswith("att_head."):
        assert torch.equal(v, old[k]) and v.dtype == old[k].dtype, f"{refit_pt}: {k} differs from the model's"
with torch.no_grad():
    net.att_head.weight.copy_(refit["att_head.weight"])
    net.att_head.bias.copy_(refit["att_head.bias"])
dc = json.loads(Path(detail_json).read_text())
ch = dc["chosen"]
if ch["head"] == "blur floor":
    net.detail_head.load_state_dict(torch.load(dc["floor_head"], weights_only=True), strict=True)
else:
    assert ch["head"] == "shipped"
ac = json.loads(Path(attr_json).read_text())
card = copy.deepcopy(m.card.raw)
det = dict(card["detail"])
det["alpha"] = float(ch["alpha"])
if ch["patches"] == "white point":
    det["white_point"] = True
else:
    det.pop("white_point", None)
card["detail"] = det
tr = card["training"]
tr.setdefault("detail", {})
tr["detail"] = dict(tr["detail"], selection_round8={
    "rule": dc["rule"], "chosen": {k: ch[k] for k in ("head", "patches", "alpha", "bursts", "beaten_by",
                                                      "clean_beats", "srcc", "plcc", "select")},
    "head_file": dc["floor_head"] if ch["head"] == "blur floor" else "the previous release's detail head",
    "grid": dc["grid"], "script": "tools/rounds/choose_detail8.py"})
if "attributes" in tr:
    tr["previous_release_attributes"] = tr.pop("attributes")
tr["attributes"] = {
    "what": ("only att_head.weight and att_head.bias changed by aesview.training.attrefit: rows "
             + ", ".join(a for a, y in ac["refit_rows"].items() if y) + " refit, the others kept bit for bit "
             "(per-attribute rule: a row is replaced only where its validation clean-beats-own-defect rises)"),
    "chosen": ac["chosen"] | {"drops": None}, "refit_rows": ac["refit_rows"],
    "validation_before": ac["validation_before"], "validation_after": ac["validation_after"],
    "validation_specificity_before": ac.get("validation_specificity_before"),
    "validation_specificity_after": ac.get("validation_specificity_after")}
card.setdefault("metrics", {})
card["metrics"]["validation_detail"] = {k: ch[k] for k in ("bursts", "beaten_by", "clean_beats", "families",
                                                          "srcc", "plcc", "select")}
out = Path(outdir)
out.mkdir(parents=True, exist_ok=True)
path = out / Path(m.path).name
saved = save_model(net, card, path)
new = net.state_dict()
changed = [k for k in new if not torch.equal(new[k], old[k])]
print(f"saved {path}\nsha256 {saved['sha256']}\ntensors changed from the candidate model file: {changed}")
back = load_model(str(path), device="cpu")
bk = back.net.state_dict()
assert list(bk) == list(new) and all(torch.equal(bk[k], new[k]) for k in new)
assert back.card.detail.alpha == float(ch["alpha"]) and back.card.detail.white_point == (ch["patches"] == "white point")
assert back.card.raw.get("head") == m.card.raw.get("head")
w_aes, b_aes, w_att, b_att = back.net.head_weights()
bdiff = float(b_aes[HIGH] - b_aes[LOW])
for name in sorted(back.card.training["train_photos"])[:2]:
    sc = Scorer(back, workers=0)
    v = decode_views(photos / name, sc.long_side, sc.multiple, sc.detail)
    rec = sc.score_array(v.work, image_size=v.size, detail=v.detail)
    z = float(rec.aesam.astype(np.float64).mean()) + bdiff
    d = rec.detail
    assert d is not None and abs(d.global_logit - z) < 1e-5
    assert d.alpha == back.card.detail.alpha and abs(d.logit - (d.global_logit - d.alpha * d.evidence)) < 1e-9
    assert abs(rec.score - 1 / (1 + np.exp(-d.logit))) < 1e-5
    print(f"  {name} (training photo): global logit {d.global_logit:.6f} = mean AesAM + bias {z:.6f}; "
          f"fused {d.logit:.6f} (alpha {back.card.detail.alpha:g}), score {rec.score:.6f}")
# cross-check of the grid against the app: the first VALIDATION photo's clean variant (JPEG q92 of the
# photo, as build_photo_set makes it), scored by the app's Scorer with the final file, against the
# chosen row's z - alpha * e from the stored tile set (fp16 features there: small differences expected)
opt_dir = dc["sets"][ch["patches"]]
vs = torch.load(Path(opt_dir) / "val_960.pt", weights_only=False)
i0 = next(i for i, im in enumerate(vs["images"]) if im["family"] == "clean")
name0 = vs["images"][i0]["photo"]
sc = Scorer(back, workers=0)
with tempfile.TemporaryDirectory() as tmp:
    f = Path(tmp) / "v.jpg"
    Image.fromarray(np.asarray(load_image(photos / name0).image.convert("RGB"))).save(f, quality=D.CLEAN_QUALITY)
    v = decode_views(f, sc.long_side, sc.multiple, sc.detail)
    rec = sc.score_array(v.work, image_size=v.size, detail=v.detail)
ev = D.tile_evidence(back.net.detail_head.eval(), vs["feats"][back.card.detail.stage])
e = D._image_evidence(vs, ev, back.card.detail.patches - back.card.detail.smooth, back.card.detail.smooth)
zg = float(D.global_z(back.net, [v.work], back.card.normalization)[0])
print(f"  app vs grid on validation photo {name0} (clean): app global {rec.detail.global_logit:.4f} "
      f"(global_z {zg:.4f}), app e {rec.detail.evidence:.4f} vs set e {e[i0]:.4f}, app fused {rec.detail.logit:.4f} "
      f"vs z - alpha e {zg - back.card.detail.alpha * e[i0]:.4f}; app gain {rec.detail.gain:.3f}")
print(f"reloaded bit for bit; checks passed; {time.time() - t0:.0f} s")
