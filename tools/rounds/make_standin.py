"""Dev only: stand-in `variant` run dirs made from the shipped model (no training, nothing scored):
  dev/standin_plain: the shipped network itself (no head), summary from its card;
  dev/standin_levels: the shipped backbone + an 8-level head (random GAP heads, seed 0).
Both under $AESVIEW_RUNS/v8 (default /work/runs/v8)."""
import json
import os
from pathlib import Path

import torch

from aesview.core.head_spec import HeadSpec
from aesview.core.model import build_model
from aesview.core.weights import load_model
from aesview.training.variant import parse_levels

RUNS = Path(os.environ.get("AESVIEW_RUNS", "/work/runs"))   # scratch folder of the rounds (not in git)

torch.manual_seed(0)
m = load_model("aesview-livec-lite0", device="cpu")
t = m.card.training
st = {k: v for k, v in m.net.state_dict().items() if not k.startswith("detail_head.")}
summ = {"history": t["history"], "selected_epoch": t["selected_epoch"], "split": 0, "variant": {}}
d = RUNS / "v8" / "dev" / "standin_plain"
d.mkdir(parents=True, exist_ok=True)
(d / "summary.json").write_text(json.dumps(summ))
torch.save(st, d / "selected.state.pt")
levels = tuple(parse_levels("all", "efficientnet_lite0"))
print("levels", levels)
hs = HeadSpec(levels, tuple(0.1 + 0.01 * i for i in range(len(levels))))
net = build_model("efficientnet_lite0", len(m.card.attributes), head=hs)
ns = net.state_dict()
for k, v in st.items():
    if k in ns and ns[k].shape == v.shape and not k.startswith(("aes_head", "att_head")):
        ns[k] = v.clone()
net.load_state_dict(ns)
d = RUNS / "v8" / "dev" / "standin_levels"
d.mkdir(parents=True, exist_ok=True)
(d / "summary.json").write_text(json.dumps(dict(summ, head=net.head_spec.to_dict(), variant={"levels": list(levels)})))
torch.save({k: v.cpu() for k, v in net.state_dict().items()}, d / "selected.state.pt")
print([k for k in ns if "level" in k][:5])
