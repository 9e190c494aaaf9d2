"""Banded PNG decoding (core/png_bands.py) against Pillow's whole decode: CPU time and peak
memory (VmHWM) of core.imaging.load_image, each case in a fresh interpreter.

    .venv/bin/python tools/decode_benchmark.py [--keep DIR]

Files: a 100 MP all-black RGBA PNG (the fault zoo's kind) and a 24 MP RGB PNG with a photo's
worth of detail (smooth noise). Sizes: a thumbnail (256), the viewer's half size (5000) and full.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import resource, sys
from aesview.core import imaging, memory
memory.pin_mmap_threshold()                      # as the GUI and the CLI run
path, side, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "whole":
    imaging.BANDED_MIN_BYTES = 1 << 62
best = None
for _ in range(3):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    imaging.load_image(path, max_side=None if side == "full" else int(side))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    best = cpu if best is None else min(best, cpu)
hwm = next(int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(f"{best:.2f} {hwm}")
"""


def build(folder: Path) -> list[Path]:
    import numpy as np
    from PIL import Image

    from tests.fault_zoo import png_zeros
    big = folder / "black-100mp-rgba.png"
    if not big.exists():
        png_zeros(big, 10000, 10000, 6)
    photo = folder / "detail-24mp-rgb.png"
    if not photo.exists():
        rng = np.random.default_rng(0)
        small = rng.integers(0, 256, (500, 750, 3), np.uint8)
        Image.fromarray(small).resize((6000, 4000), Image.Resampling.BICUBIC).save(photo)
    return [big, photo]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="build the files here and keep them")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'file':>22} {'max_side':>8} | {'whole: cpu s':>12} {'peak MB':>7} | "
              f"{'banded: cpu s':>13} {'peak MB':>7}")
        for path in build(folder):
            for side in ("256", "5000", "full"):
                row = []
                for mode in ("whole", "banded"):
                    out = subprocess.run([sys.executable, "-c", CHILD, str(path), side, mode],
                                         cwd=ROOT, capture_output=True, text=True, check=True)
                    row += out.stdout.split()
                print(f"{path.name:>22} {side:>8} | {row[0]:>12} {row[1]:>7} | {row[2]:>13} "
                      f"{row[3]:>7}")


if __name__ == "__main__":
    main()
