#!/usr/bin/env bash
# Sets up .venv for running and testing aesview. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
# exiftool is the tests' outside judge of the XMP sidecars we write.
if ! command -v exiftool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl) >/dev/null 2>&1 \
      || echo "setup: could not install exiftool (Debian: libimage-exiftool-perl); XMP tests need it" >&2
  else
    echo "setup: please install exiftool (Debian/Ubuntu: libimage-exiftool-perl; macOS: brew install exiftool)" >&2
  fi
fi
# chromium (headless) is the tests' outside judge of the HTML report: every image shown, no errors.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
      || echo "setup: could not install chromium (Debian: chromium); the report's browser test will be skipped" >&2
  else
    echo "setup: please install chromium (Debian/Ubuntu: chromium) for the report's browser test" >&2
  fi
fi
# exiv2 is a second outside reader of the XMP we write (sidecars and inside JPEGs); optional.
if ! command -v exiv2 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq exiv2) >/dev/null 2>&1 \
    || echo "setup: could not install exiv2; its XMP read-back tests will be skipped" >&2
fi
# torch first, pinned: the pair that is known to work together (and lies on disk on our machines).
if ! "$VPY" -c "import torch, torchvision" >/dev/null 2>&1; then
  "$VPY" -m pip install -q torch==2.14.1 torchvision==0.29.1 2> >(grep -v "^WARNING: Location" >&2)
fi
"$VPY" -m pip install -q -e ".[test]" 2> >(grep -v "^WARNING: Location" >&2)
# facenet-pytorch: MTCNN face boxes for the crop (core/faces.py), weights inside the wheel. Its
# metadata pins torch 2.2 while it runs on ours, hence --no-deps; its package imports requests.
if ! "$VPY" -c "import facenet_pytorch" >/dev/null 2>&1; then
  "$VPY" -m pip install -q requests 2> >(grep -v "^WARNING: Location" >&2)
  "$VPY" -m pip install -q --no-deps facenet-pytorch==2.6.0 2> >(grep -v "^WARNING: Location" >&2)
fi
# mediapipe 0.10.14: the crop's people cue (core/people.py), its models inside the wheel. 0.10.15,
# 0.10.18 and 0.10.21 ship them too but pin numpy < 2; 0.10.30, 0.10.35 and 1.2.3 ship none (the
# caller fetches .task files). Its metadata also asks for jax, sounddevice and opencv-contrib,
# which the two solutions used never import, hence --no-deps and its real imports listed here.
# Optional: without it the crop has no people cue. No wheel for CPython 3.13 or later.
if ! "$VPY" -c "from mediapipe.python.solutions import pose" >/dev/null 2>&1; then
  "$VPY" -m pip install -q "opencv-python-headless>=4.8,<5" "protobuf>=4.25.3,<5" absl-py attrs flatbuffers \
    2> >(grep -v "^WARNING: Location" >&2) || echo "setup: mediapipe's requirements did not install; no people cue" >&2
  "$VPY" -m pip install -q --no-deps mediapipe==0.10.14 2> >(grep -v "^WARNING: Location" >&2) \
    || echo "setup: mediapipe 0.10.14 did not install (no wheel for this Python?); the crop has no people cue" >&2
fi
