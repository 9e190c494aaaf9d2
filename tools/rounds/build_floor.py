"""Round 8: rebuild the blur-floor detail head (docs/TRAINING.md, detail view: `--blur-floor 2/255`,
stage 9, decode 960, patch 192, same training tiles, 300 steps seed 0) with training/detail.py's
own builders; only the training tile set and the stage-9 head (what the grid needs).
Resumable, same file names as `python -m aesview.training.detail --out DIR` writes."""
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from aesview.core.weights import load_model
from aesview.training import detail as D
from aesview.training.loop import atomic_torch_save

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
torch.set_num_threads(1)
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
photos = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("../shared/photos")
m = load_model("aesview-livec-lite0", device="cpu")
f = out / "train_960.pt"
if not f.is_file():
    t0 = time.time()
    atomic_torch_save(D.build_photo_set(m.net, [photos / n for n in m.card.training["train_photos"]], 960,
                                        m.card.normalization, seed=0, blur_floor=D.BLUR_FLOOR), f)
    logging.info("train tiles built in %.0f s", time.time() - t0)
tr = torch.load(f, weights_only=False)
lab = tr["labels"]
logging.info("tiles %d; blur positives %d, negatives %d (docs: 2,009 / 3,679)", len(lab),
             int(np.nansum(lab[:, 1] == 1)), int(np.sum(lab[:, 1] == 0)))
h = out / "head_stage9.pt"
if not h.is_file():
    t0 = time.time()
    head = D.train_head(tr["feats"][9], tr["labels"], epochs=300, seed=0)
    atomic_torch_save(head.state_dict(), h)
    logging.info("stage 9 floor head trained in %.0f s", time.time() - t0)
