#!/usr/bin/env bash
# Round 8: L16 retrained by round 7's documented command (the shipped recipe, freeze 16, 8-level head).
# Output and cache under $AESVIEW_RUNS/v8 (AESVIEW_RUNS: default /work/runs).
RUNS=${AESVIEW_RUNS:-/work/runs}
cd "$(dirname "${BASH_SOURCE[0]}")/../.." && OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python -m aesview.training.variant \
    --data ../shared/datasets/livec --photos ../shared/photos --out "$RUNS/v8/L16" \
    --freeze 16 --levels all \
    --cache "$RUNS/v8/prefix_cache_lite0_320_freeze16_f16.pt"
