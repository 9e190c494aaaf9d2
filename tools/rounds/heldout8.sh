#!/usr/bin/env bash
# Round 8's held-out look in three processes (network alone / app / detail tiles), then merged.
#   heldout8.sh MODEL_FILE CACHE OUT_JSON
# Waits while /work/notes/QUIET exists (a timing measurement). Logs beside OUT_JSON.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 MODEL_FILE CACHE OUT_JSON" >&2; exit 2; }
MODEL=$(readlink -f "$1"); CACHE=$2; OUT=$(realpath -m "$3")
DIR=$(dirname "$OUT"); BASE=$(basename "$OUT" .json)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # tools/rounds
ROOT=$(cd "$HERE/../.." && pwd)                      # the repository
PY=$ROOT/.venv/bin/python; H=$HERE/heldout8.py
mkdir -p "$DIR"
while [ -e /work/notes/QUIET ]; do echo "QUIET: waiting" >&2; sleep 30; done
T0=$(date +%s)
pids=()
for part in net app tiles; do
  OMP_NUM_THREADS=1 nice -n 10 "$PY" "$H" "$MODEL" "$CACHE" "$DIR/$BASE.$part.json" --parts "$part" \
    > "$DIR/$BASE.$part.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
if [ $rc -ne 0 ]; then echo "a part failed; see $DIR/$BASE.*.log" >&2; exit 1; fi
"$PY" "$H" --merge "$OUT" "$DIR/$BASE.net.json" "$DIR/$BASE.app.json" "$DIR/$BASE.tiles.json"
echo "wall $(( $(date +%s) - T0 )) s -> $OUT" >&2
