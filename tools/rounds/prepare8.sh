#!/usr/bin/env bash
# Round 8: validation-only preparation of a candidate run (docs/TRAINING.md rounds 4-8; the lost
# prepare7.sh written again). Resumable: each step is skipped when its output exists.
#   prepare8.sh RUN_DIR FREEZE LR_SCALE CACHE OUTDIR   (relative paths: from the repository root)
# 0. shared inputs (not candidate-specific): blur-floor head and the validation tile sets
#    (as decoded, white point) -> $AESVIEW_RUNS/v8/detail/{floor,decoded,white} (AESVIEW_RUNS: default /work/runs)
# 1. OUTDIR/model/aesview-livec-lite0.{pt,json}   candidate model file   (build_candidate8.py)
# 2. OUTDIR/detail_choice.{json,txt}              detail grid, validation (choose_detail8.py)
# 3. OUTDIR/attr/refit.pt                          attribute head refit   (aesview.training.attrefit)
# 4. OUTDIR/final/aesview-livec-lite0.{pt,json}   final file             (finalize8.py)
# Steps 2 and 3 run side by side. Nothing held out and nothing of the LIVE-C test part is scored.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 RUN_DIR FREEZE LR_SCALE CACHE OUTDIR" >&2; exit 2; }
RUN=$1; FREEZE=$2; LRS=$3; CACHE=$4; OUT=$5
S=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # tools/rounds: the step scripts
ROOT=$(cd "$S/../.." && pwd)                       # the repository
V8=${AESVIEW_RUNS:-/work/runs}/v8; DET=$V8/detail
PY="env OMP_NUM_THREADS=1 nice -n 10 $ROOT/.venv/bin/python"
cd "$ROOT"
mkdir -p "$OUT"
LOG=$OUT/prepare8.log
exec > >(tee -a "$LOG") 2>&1
T=$OUT/times.txt
step() {  # name, output that marks it done, command...
  local name=$1 done=$2; shift 2
  if [ -e "$done" ]; then echo "[$(date -u +%T)] $name: $done exists, skipped"; return 0; fi
  echo "[$(date -u +%T)] $name: start"; local t0=$(date +%s)
  "$@"
  local dt=$(( $(date +%s) - t0 )); echo "$name ${dt}s ($(date -u +%T))" >> "$T"
  echo "[$(date -u +%T)] $name: done in ${dt}s"
}
while [ -e /work/notes/QUIET ]; do echo "QUIET: waiting"; sleep 30; done
[ -f "$RUN/summary.json" ] && [ -f "$RUN/selected.state.pt" ] || { echo "$RUN not finished (no summary.json / selected.state.pt)"; exit 1; }
[ -f "$CACHE" ] || { echo "no cache $CACHE"; exit 1; }
step "1 candidate model" "$OUT/model/aesview-livec-lite0.json" \
  $PY $S/build_candidate8.py "$RUN" "$FREEZE" "$LRS" "$OUT/model"
sha256sum "$OUT/model/aesview-livec-lite0.pt" | tee "$OUT/model/sha256.txt"
# 3 in the background (the longest: features of 2,014 training samples from the cache, then the fits)
( step "3 attribute refit" "$OUT/attr/refit.pt" \
    $PY -m aesview.training.attrefit --photos ../shared/photos --cache "$CACHE" \
      --model "$OUT/model/aesview-livec-lite0.json" --freeze "$FREEZE" --out "$OUT/attr" \
      --write "$OUT/attr/refit.pt" ) > "$OUT/attr.log" 2>&1 &
P3=$!
step "0a blur-floor head" "$DET/floor/head_stage9.pt" $PY $S/build_floor.py "$DET/floor" ../shared/photos
for opt in decoded white; do
  flag=""; [ $opt = white ] && flag=--white-point
  step "0b validation tile sets ($opt)" "$DET/$opt/works_livecval_960.pt" $PY $S/build_valsets.py "$DET/$opt" $flag
done
step "2 detail choice" "$OUT/detail_choice.json" \
  $PY $S/choose_detail8.py "$OUT/model/aesview-livec-lite0.json" "$DET/decoded" "$DET/white" \
      "$DET/floor/head_stage9.pt" "$OUT"
wait $P3 || { echo "step 3 failed: see $OUT/attr.log"; tail -n 20 "$OUT/attr.log"; exit 1; }
cat "$OUT/attr.log" | grep -v '^\s*$' | tail -n 5
step "4 final file" "$OUT/final/aesview-livec-lite0.json" \
  $PY $S/finalize8.py "$OUT/model/aesview-livec-lite0.json" "$OUT/attr/refit.pt" "$OUT/attr/choice.json" \
      "$OUT/detail_choice.json" "$OUT/final"
sha256sum "$OUT/final/aesview-livec-lite0.pt" | tee "$OUT/final/sha256.txt"
echo "times:"; cat "$T"
