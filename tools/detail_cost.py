"""CPU time of the detail view, step by step, on the benchmark's 12-MP JPEGs (tools/benchmark.py makes
them): thread CPU time, one thread, min of 3 passes, so a busy shared machine disturbs it less
than wall time.

    .venv/bin/python tools/detail_cost.py [--dir /tmp/aesview-bench] [--n 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aesview.core import detail as DV  # noqa: E402
from aesview.core.preprocess import normalize  # noqa: E402
from aesview.core.scoring import Scorer  # noqa: E402
from aesview.core.weights import load_model  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/aesview-bench")
    ap.add_argument("--n", type=int, default=16)
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = sorted(Path(args.dir).glob("*.jpg"))[: args.n]
    if not files:
        raise SystemExit(f"no JPEGs in {args.dir}: run tools/benchmark.py once to make them")
    m = load_model(device="cpu")
    spec, net = m.card.detail, m.net
    if spec is None or net.detail_head is None:
        raise SystemExit(f"{m.card.name} has no detail view")
    # what the score pass runs: the scorer's fused segments (core.fused), the detail prefix
    # being the global pass's first segments
    scorer = Scorer(m, cache=None, workers=0)
    assert scorer._segments               # built before anything is timed

    def cpu(fn, items) -> float:
        best = 1e9
        for _ in range(3):
            t = time.thread_time()
            for it in items:
                fn(it)
            best = min(best, (time.thread_time() - t) / len(items))
        return best * 1000

    full = cpu(lambda f: Image.open(f).convert("RGB"), files)
    small = cpu(lambda f: DV.decode_views(f, 320, 32, None), files)
    big = cpu(lambda f: DV.decode_views(f, 320, 32, spec), files)
    views = [DV.decode_views(f, 320, 32, spec) for f in files]

    @torch.inference_mode()
    def global_pass(v):
        net.heads(scorer._global(normalize(v.work[None], m.card.normalization))[1])

    @torch.inference_mode()
    def detail_pass(v):
        # as the score pass chooses and cuts them (at the white point when the card says so)
        _, patches, _ = DV.patches_for(v.work, v.detail, spec)
        x = normalize(patches, m.card.normalization)
        net.detail_head(scorer._through(x, spec.stage)[spec.stage])

    g, d = cpu(global_pass, views), cpu(detail_pass, views)
    old, new = small + g, big + g + d
    print(f"{len(files)} files; ms of CPU per photo: full-resolution decode {full:.1f} | decode for the "
          f"global view alone {small:.1f} | decode for both views (>= {spec.decode_side} px) {big:.1f} | "
          f"global pass {g:.1f} | detail pass ({spec.patches} x {spec.patch} px, batch 1) {d:.1f}")
    print(f"per photo: global view alone {old:.1f} ms, with the detail view {new:.1f} ms (x {new / old:.2f}); "
          f"as a share of a full-resolution decode: {old / full:.2f} -> {new / full:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
