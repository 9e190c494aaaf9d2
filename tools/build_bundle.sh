#!/usr/bin/env bash
# Builds the standalone one-folder app dist/aesview/ with PyInstaller (Linux, macOS; Windows:
# see docs/PACKAGING.md), in a venv of its own, then runs the app's self-test.
#
#   tools/build_bundle.sh
#
# Settings (environment):
#   AESVIEW_BUNDLE_VENV   the build venv (default build/bundle-venv; made if missing)
#   AESVIEW_BUNDLE_TORCH  the torch requirement (default torch==2.13.0). It decides CPU or CUDA:
#                         the bundle carries the torch the venv has. See docs/PACKAGING.md.
#   AESVIEW_BUNDLE_PIP    extra pip arguments for the torch install, e.g.
#                         "--index-url https://download.pytorch.org/whl/cpu" for a CPU torch on Linux
#   PYTHON                the interpreter that makes the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${AESVIEW_BUNDLE_VENV:-build/bundle-venv}
TORCH=${AESVIEW_BUNDLE_TORCH:-torch==2.13.0}
PY=${PYTHON:-python3}

if [ ! -f weights/DEFAULT ]; then
  echo "build_bundle: weights/DEFAULT is missing; the app needs its model to be bundled" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
VPY=$VENV/bin/python
quiet_pip() { "$VPY" -m pip install -q "$@" 2> >(grep -v "^WARNING: Location" >&2); }

# torch first, so the other requirements (torch>=2.1) keep this one.
# shellcheck disable=SC2086  # AESVIEW_BUNDLE_PIP is a list of words
quiet_pip ${AESVIEW_BUNDLE_PIP:-} "$TORCH"
"$VPY" -c "import tomllib" 2>/dev/null || quiet_pip tomli
mapfile -t REQS < <("$VPY" tools/bundle_inputs.py --requirements)
quiet_pip "${REQS[@]}" "pyinstaller>=6.11"

start=$(date +%s)
"$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller aesview.spec
echo "build_bundle: PyInstaller took $(( $(date +%s) - start )) s"

APP=$PWD/dist/aesview/aesview
if [ "$(uname)" = Darwin ] && [ -x dist/aesview.app/Contents/MacOS/aesview ]; then
  APP=$PWD/dist/aesview.app/Contents/MacOS/aesview
fi
# The self-test must not lean on anything outside the bundle: run it from elsewhere, with the
# score cache and settings in a throwaway folder.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && AESVIEW_CACHE_DIR="$tmp/cache" AESVIEW_CONFIG_DIR="$tmp/config" \
  "$APP" --self-test)
du -sh dist/aesview
