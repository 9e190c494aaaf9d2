"""Benchmark: a "what if" result for a 24-MP photo.

    .venv/bin/python tools/whatif_benchmark.py [--photo PATH] [--repeat 5]

Makes a 6000x4000 JPEG with grain from a shared photo (unless --photo), then times, in one warm
process with the model loaded: opening the photo (one reduced-size decode + scoring the
untouched photo) and each what-if run on it (the change + a forward pass), median of --repeat.
The GUI opens the photo once when the panel asks for the first experiment; each later change is
one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "photos"


def make_24mp(path: Path) -> Path:
    src = next(iter(sorted(SHARED.glob("aitzgorri*.jpg"))), None) or \
        sorted((ROOT / "resources" / "samples").glob("*.jpg"))[0]
    im = Image.open(src).convert("RGB").resize((6000, 4000), Image.Resampling.BICUBIC)
    arr = np.asarray(im, dtype=np.int16) + np.random.default_rng(0).normal(0, 3.0, (4000, 6000, 3)).astype(np.int16)
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(path, "JPEG", quality=92)
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    # The figures depend on what else the machine runs: say so beside them.
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    import torch

    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    from aesview.core.whatif import FAMILIES, WhatIf

    # As the app's inference worker runs it: one core left to the GUI and the decoders.
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    print(f"torch threads: {torch.get_num_threads()}")

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(args.photo) if args.photo else make_24mp(Path(tmp) / "IMG_24MP.jpg")
        with Image.open(photo) as im:
            print(f"photo: {photo.name}, {im.width} x {im.height} ({im.width * im.height / 1e6:.0f} MP), "
                  f"{photo.stat().st_size / 1e6:.1f} MB")
        scorer = Scorer(load_model(device="cpu"), cache=None)
        WhatIf.open(scorer, photo).run("blur", 1)        # warm-up: first-call allocations
        opens, runs = [], {name: [] for name in [*FAMILIES, "crop"]}
        for _ in range(args.repeat):
            t = time.perf_counter()
            exp = WhatIf.open(scorer, photo)
            opens.append(time.perf_counter() - t)
            for name in FAMILIES:
                t = time.perf_counter()
                exp.run(name, 2.0)
                runs[name].append(time.perf_counter() - t)
            t = time.perf_counter()
            exp.suggested_crop("4:5")
            runs["crop"].append(time.perf_counter() - t)
    print(f"open (decode once at reduced size + score the untouched photo): "
          f"{statistics.median(opens) * 1000:.0f} ms median")
    worst = 0.0
    for name, ts in runs.items():
        med = statistics.median(ts)
        worst = max(worst, med)
        print(f"  {name:<12} {med * 1000:6.0f} ms median")
    print(f"first result (open + slowest change): {(statistics.median(opens) + worst) * 1000:.0f} ms; "
          f"later changes: at most {worst * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
