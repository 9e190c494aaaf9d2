"""Benchmark: the HTML report for a scored shoot (time after scoring, and size).

    .venv/bin/python tools/report_benchmark.py [--n 100] [--dir /tmp/aesview-bench] [--repeat 2]

Uses the same 12-MP test photos as tools/benchmark.py (the shared photos upscaled to 4000x3000
with grain, made once in --dir). Scores them once in this process (not timed for the target),
then times build_report alone, as `aesview report` runs it: one self-contained file, then the
folder variant; prints seconds and sizes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--dir", default="/tmp/aesview-bench")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    # The figures depend on what else the machine runs: say so beside them.
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    from aesview.core.report import build_report
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    from tools.benchmark import make_photos

    files = make_photos(Path(args.dir), args.n)
    model = load_model(device="cpu")
    t = time.perf_counter()
    records = list(Scorer(model, cache=None).score_paths(files))
    print(f"scored {len(records)} photos in {time.perf_counter() - t:.1f} s (not part of the target)")
    card = model.card
    info = {"name": card.name, "architecture": card.architecture, "data": card.data_short}
    out_dir = Path(tempfile.mkdtemp(prefix="aesview-report-bench-"))
    try:
        for folder in (False, True):
            times, size = [], 0
            for i in range(args.repeat):
                target = out_dir / (f"r{i}" if folder else f"r{i}.html")
                t = time.perf_counter()
                written = build_report(records, model.attributes, info, target, folder=folder)
                times.append(time.perf_counter() - t)
                size = (sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) if folder
                        else written.stat().st_size)
            kind = "folder (index.html + images/)" if folder else "one self-contained file"
            print(f"report, {kind}: {statistics.median(times):.1f} s median of "
                  f"{', '.join(f'{x:.1f}' for x in times)} s; {size / 1e6:.1f} MB")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
