"""Compute (cache) the LIVE-C validation casts in directions 3-5 for L16's network.

usage: val_choice.py OUT   (L16's model from $AESVIEW_RUNS/v8/L16p/model/, AESVIEW_RUNS
defaults to /work/runs; LIVE-C from ../shared/datasets/livec beside the repository)"""
import logging
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the repository
from aesview.core.weights import load_model
from aesview.training import attrefit as A

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
RUNS = os.environ.get("AESVIEW_RUNS", "/work/runs")   # scratch folder of the rounds (not in git)
lm = load_model(f"{RUNS}/v8/L16p/model/aesview-livec-lite0.json", device="cpu")
A.livec_choice_casts(lm.net, str(ROOT.parent / "shared" / "datasets" / "livec"), Path(sys.argv[1]))
