"""People, for the crop's subject cue: heads and head-and-shoulders that MTCNN misses.

MTCNN (core.faces) finds frontal faces; the ImageNet classifier knows no person. A player seen
in profile, a figure half turned away or a face too small for MTCNN's pyramid was left to the
CAM and the detail map. MediaPipe's legacy Solutions (Google, Apache-2.0) ship their models
inside the `mediapipe` wheel (mediapipe/modules/*.tflite) in 0.10.14, the release used here
(0.10.15-0.10.21 ship them too but pin numpy < 2; 0.10.30 and later ship none and load .task
files the caller must fetch), so nothing is downloaded:

- BlazeFace full range (`face_detection_full_range_sparse.tflite`, model_selection=1): faces
  up to about 5 m from the camera, profiles included. Each box is widened to the head like
  MTCNN's (CropSettings.head_box).
- BlazePose (`pose_detection.tflite` then `pose_landmark_full.tflite`, static_image_mode): the
  most prominent person's 33 landmarks; the cue keeps the box of the visible face and shoulder
  landmarks (0-12), widened a little, i.e. the head and shoulders a photographer keeps. The whole
  body box was tried and pulled landscape crops of portraits down to the torso (docs/CROP.md).

Chosen on the validation half of the marked set (docs/CROP.md, "The people cue"). The
Solutions package imports OpenCV (opencv-python-headless) for its drawing helpers; its metadata
also asks for jax, sounddevice and opencv-contrib, which the two solutions used here never
import, so tools/setup.sh installs it with --no-deps. Without it (or in the frozen app) the crop
simply has no people cue and CropMaps.people_finder says so.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# Confidence of BlazeFace's box (its own default is 0.5, kept) and the landmark visibility
# above which a pose landmark counts as seen.
FACE_MIN_SCORE = 0.5
LANDMARK_MIN_VISIBILITY = 0.5
UPPER_LANDMARKS = 13           # BlazePose 0-10: nose, eyes, ears, mouth; 11-12: the shoulders
# the head-and-shoulders box grows by this share of its width each side and of its height below,
# twice that above (the landmarks stop at the eyes and ears; the hair is above them)
POSE_PAD = 0.15
Person = tuple[float, float, float, float, float, str]   # left, top, right, bottom, score, kind


class PeopleFinder:
    """Thread-safe: find() runs one image at a time (MediaPipe's graphs are not re-entrant).
    The process shares one, made by load_people_finder."""

    name = "MediaPipe 0.10 BlazeFace full range + BlazePose head and shoulders"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # mediapipe 0.10.14 calls a protobuf 4 API that warns on every process(); nothing to act on
        warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated",
                                category=UserWarning)
        from mediapipe.python.solutions import face_detection, pose
        with _quiet_stderr():
            self._faces = face_detection.FaceDetection(model_selection=1,
                                                       min_detection_confidence=FACE_MIN_SCORE)
            self._pose = pose.Pose(static_image_mode=True, model_complexity=1)
            # TFLite and absl print their start-up notes (an XNNPACK line, one "feedback manager"
            # warning per model) straight to file descriptor 2 on each graph's first run, whatever
            # GLOG_minloglevel or TF_CPP_MIN_LOG_LEVEL say: run each graph once here, quietly
            blank = np.zeros((64, 64, 3), np.uint8)
            self._faces.process(blank)
            self._pose.process(blank)

    def find(self, rgb: np.ndarray) -> list[Person]:
        """People in a (H, W, 3) uint8 RGB image, in its pixels: faces (kind "face") and the
        head and shoulders of the most prominent person (kind "pose")."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        h, w = rgb.shape[:2]
        with self._lock:
            faces = self._faces.process(rgb).detections or []
            result = self._pose.process(rgb)
        out: list[Person] = []
        for d in faces:
            b = d.location_data.relative_bounding_box
            x0, y0 = max(0.0, b.xmin), max(0.0, b.ymin)
            x1, y1 = min(1.0, b.xmin + b.width), min(1.0, b.ymin + b.height)
            if x1 > x0 and y1 > y0:
                out.append((x0 * w, y0 * h, x1 * w, y1 * h, float(d.score[0]), "face"))
        if result.pose_landmarks is not None:
            lm = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark])
            seen = lm[:UPPER_LANDMARKS][lm[:UPPER_LANDMARKS, 2] > LANDMARK_MIN_VISIBILITY]
            if len(seen) >= 3:
                x0, x1 = np.clip(seen[:, 0].min(), 0, 1), np.clip(seen[:, 0].max(), 0, 1)
                y0, y1 = np.clip(seen[:, 1].min(), 0, 1), np.clip(seen[:, 1].max(), 0, 1)
                bw, bh = x1 - x0, y1 - y0
                out.append((max(0.0, x0 - POSE_PAD * bw) * w, max(0.0, y0 - 2 * POSE_PAD * bh) * h,
                            min(1.0, x1 + POSE_PAD * bw) * w, min(1.0, y1 + POSE_PAD * bh) * h,
                            float(seen[:, 2].mean()), "pose"))
        return out


# Two threads muting at once could each save the other's null device and leave fd 2 muted.
_STDERR_LOCK = threading.Lock()


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to the null device for the block (C++ libraries write there directly),
    restored however the block ends. Anything another thread writes to stderr meanwhile (a few
    tens of ms, once per process) is lost too; Python's own sys.stderr is flushed first so
    nothing written before is."""
    with _STDERR_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, AttributeError, ValueError):  # no real descriptor 2 (a GUI launch)
            saved = -1
        if saved < 0:
            yield
            return
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


_FINDER_LOCK = threading.Lock()
_finder: PeopleFinder | None = None
_finder_tried = False


def load_people_finder() -> PeopleFinder | None:
    """The process's one PeopleFinder, made on the first call (the inference worker's and the
    export's analyzers share it), or None when mediapipe (or the OpenCV its package imports)
    can't be loaded: the crop then has no people cue, and CropMaps.people_finder says so."""
    global _finder, _finder_tried
    with _FINDER_LOCK:
        if not _finder_tried:
            _finder_tried = True
            try:
                _finder = PeopleFinder()
            except (ImportError, OSError, RuntimeError, AttributeError):
                _finder = None
        return _finder
