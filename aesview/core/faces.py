"""Faces, for the crop's subject cue.

The ImageNet classifier behind the subject CAM knows no "person" or "face" class, so a
landscape crop out of a portrait could keep a torso and cut the head. MTCNN (Zhang et al.,
"Joint Face Detection and Alignment using Multi-task Cascaded Convolutional Networks", 2016), as
packaged by facenet-pytorch, finds faces; its three small networks' weights (about 2 MB) ship
inside that wheel, so nothing is downloaded. facenet-pytorch pins an old torch in its metadata
while running fine on ours, so tools/setup.sh installs it with --no-deps (and `requests`, which
its package imports); without it the crop simply has no face cue (CropMaps.face_finder says so).
"""

from __future__ import annotations

from typing import Any

from PIL import Image

FACE_MIN_PROB = 0.9          # MTCNN's own confidence; below it the detections are mostly texture
PYRAMID_FACTOR = 0.709       # MTCNN's step between image-pyramid levels (facenet-pytorch's default)
# The smallest face looked for, in pixels of the crop's 448-px input: 5 % of its long side. A
# smaller face belongs to a figure about a third of the frame tall or less (a body is 7-8 heads):
# a person in a scene, which the subject and detail cues keep, not a head a crop edge cuts. It
# is 16 px (the pyramid's old first level) over one pyramid step, so the levels that remain are
# exactly the old ones and larger faces are found as before: on 300 LIVE-C photos (none of the
# marked set) 62 of the 66 faces found from 16 px were found identically; the 4 lost measured
# 4.9-5.7 % of the long side. It halves MTCNN's time (its first level held half the pyramid's
# pixels and most of the candidate boxes), tools/crop_benchmark.py --timing.
MIN_FACE_PX = 16 / PYRAMID_FACTOR
Face = tuple[float, float, float, float, float]   # left, top, right, bottom (pixels), probability


class FaceFinder:
    """Not thread-safe; one per inference worker, like the model."""

    name = "MTCNN (facenet-pytorch)"

    def __init__(self, device: Any = "cpu"):
        from facenet_pytorch import MTCNN
        self.mtcnn = MTCNN(keep_all=True, device=device, min_face_size=MIN_FACE_PX,
                           factor=PYRAMID_FACTOR)

    def find(self, image: Image.Image, min_prob: float = FACE_MIN_PROB) -> list[Face]:
        """Faces in `image`, in its pixels, most confident first."""
        boxes, probs = self.mtcnn.detect(image.convert("RGB"))
        if boxes is None:
            return []
        faces = [(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(p))
                 for b, p in zip(boxes, probs) if p is not None and p >= min_prob]
        return sorted(faces, key=lambda f: -f[4])


def load_face_finder(device: Any = "cpu") -> FaceFinder | None:
    """None when facenet-pytorch (or the torchvision it needs, which the frozen app leaves out)
    can't be loaded: the crop then has no face cue, and CropMaps.face_finder says so."""
    try:
        return FaceFinder(device)
    except (ImportError, OSError, RuntimeError):
        return None
