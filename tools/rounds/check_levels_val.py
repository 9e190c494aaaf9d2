#!/usr/bin/env python
"""Code check of heldout8.livec_test_cached for a multi-level head, on LIVE-C split 0's
*validation* photos only (nothing held out is scored): an in-memory network with the 8-level
head (ImageNet backbone, random heads, fixed level scales) reads the round-8 cache's pooled
levels through loop.Inputs; its z must match the same network run from the files."""
import pathlib
import sys
import tempfile
from types import SimpleNamespace

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))               # heldout8.py beside this script
sys.path.insert(0, str(HERE.parents[1]))    # the repository
import heldout8  # noqa: E402

from aesview.core.head_spec import HeadSpec  # noqa: E402
from aesview.core.model import build_model  # noqa: E402
from aesview.training import protocol  # noqa: E402
from aesview.training.datasets import load_rgb, read_livec  # noqa: E402
from aesview.training.evaluate import predict, spearman  # noqa: E402
from aesview.training.joint import cached_z, split_names  # noqa: E402
from aesview.training.loop import Inputs  # noqa: E402

torch.set_num_threads(1)
torch.manual_seed(0)
levels = (1, 3, 5, 8, 11, 15, 16)
net = build_model("efficientnet_lite0", 8, imagenet=True,
                  head=HeadSpec(levels, (0.1445, 0.09644, 0.1359, 0.1155, 0.1775, 0.0996, 0.2255))).eval()
livec = read_livec(heldout8.LIVEC)
by = {s.name: s for s in livec}
val = [by[n] for n in split_names(list(by), 0)["val"]][:60]
heldout8.test_samples = lambda livec_dir, card: val      # validation photos, not the test part
lm = SimpleNamespace(net=net, card=SimpleNamespace(training={"hyperparameters": {"freeze": 16}}))
fig, info = heldout8.livec_test_cached(lm, sys.argv[1], heldout8.LIVEC)
print("cached:", fig, info)
assert info["computed_from_files"] == 0 and info["found"] == 2 * len(val), info
z_files, _, _ = predict(net, [load_rgb(str(s.path), 320) for s in val],
                        {"mean": [0.5] * 3, "std": [0.5] * 3})
mos = [s.mean for s in val]
print(f"from files: SRCC {spearman(z_files, mos):.4f}")
# z from the cache again, to compare sample by sample
with tempfile.TemporaryDirectory() as tmp:
    cfg = protocol.config(str(pathlib.Path(tmp) / "none.pt"), freeze=16)
    z_nocache = cached_z(net, Inputs(val, net, cfg, "cpu"))   # computed from the files, fp16 prefix
print(f"max |z cached-prefix from files - z full pass| {np.abs(z_nocache - z_files).max():.4g}")

# A network whose stages 9-15 moved (a freeze-9 model whose card said 16) must be refused.
with torch.no_grad():
    for p in net.backbone.stages[12].parameters():
        p.add_(0.5 * torch.randn_like(p))
try:
    heldout8.livec_test_cached(lm, sys.argv[1], heldout8.LIVEC)
    print("NOT refused")
except SystemExit as exc:
    print("refused:", str(exc)[:160])
