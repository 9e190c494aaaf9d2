"""An accepted crop written INTO a JPEG, TIFF or DNG as Camera Raw settings, for Lightroom
Classic, which reads a sidecar only for raw files and the XMP inside the file for the others.

Opt-in through the same switch as the culling decision (settings.embed_xmp) and done the same
careful way (core.embedded_xmp): exiftool writes a temporary copy, the copy's image data is
checked identical to the original's, then an atomic rename. The tags and their coordinate
convention are those of the sidecar (core.crop_xmp.stored_fractions: fractions of the stored
image, before the EXIF orientation).
"""

from __future__ import annotations

import os
from pathlib import Path

from .crop_xmp import Box, _geometry, stored_fractions
from .embedded_xmp import check_embeddable, embed_tags
from .imaging import oriented_size


def crop_tag_args(fractions: tuple[float, float, float, float]) -> list[str]:
    left, top, right, bottom = fractions
    return ["-XMP-crs:HasCrop=True", f"-XMP-crs:CropLeft={left:.6f}", f"-XMP-crs:CropTop={top:.6f}",
            f"-XMP-crs:CropRight={right:.6f}", f"-XMP-crs:CropBottom={bottom:.6f}",
            "-XMP-crs:CropAngle=0", "-XMP-crs:CropConstrainToWarp=0"]


def embed_crop(photo: str | os.PathLike[str], box: Box, timeout: float = 60.0) -> Path:
    """Write `box` (upright full-resolution pixels) into the photo's own XMP as its Camera Raw
    crop. Raises EmbedError (the photo left as it was) when the format can't take it, exiftool
    fails or the image data would change; ValueError for a box outside the photo."""
    photo = Path(photo)
    check_embeddable(photo)
    stored, orientation = _geometry(photo)
    fractions = stored_fractions((int(box[0]), int(box[1]), int(box[2]), int(box[3])),
                                 oriented_size(stored, orientation), orientation)
    return embed_tags(photo, crop_tag_args(fractions), "crop", timeout)
