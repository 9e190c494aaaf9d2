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
import subprocess
from pathlib import Path

from .atomic import _publish, temp_path
from .crop_xmp import Box, _geometry, stored_fractions
from .embedded_xmp import EMBEDDABLE, EmbedError, _same_image, exiftool
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
    kind = EMBEDDABLE.get(photo.suffix.lower())
    if kind is None:
        raise EmbedError(f"{photo.name}: XMP is written into JPEG, TIFF and DNG files only")
    if not photo.is_file() or photo.is_symlink():
        raise EmbedError(f"{photo}: not a regular file; left alone")
    stored, orientation = _geometry(photo)
    fractions = stored_fractions((int(box[0]), int(box[1]), int(box[2]), int(box[3])),
                                 oriented_size(stored, orientation), orientation)
    tmp = temp_path(photo)
    try:
        run = subprocess.run([exiftool(), "-q", "-q", "-m", *crop_tag_args(fractions),
                              "-o", str(tmp), str(photo)],
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode != 0 or not tmp.is_file():
            raise EmbedError(f"{photo.name}: exiftool could not write the crop "
                             f"({(run.stderr or run.stdout).strip().splitlines()[-1:] or 'no output'})")
        try:
            same = _same_image(photo, tmp, kind)
        except EmbedError:
            raise
        except Exception as exc:  # noqa: BLE001 - can't check it = don't replace it
            raise EmbedError(f"{photo.name}: image data could not be compared ({exc}); "
                             "left as it was") from exc
        if not same:
            raise EmbedError(f"{photo.name}: exiftool's copy has different image data; left as it was")
        _publish(tmp, photo, overwrite=True)
        return photo
    except subprocess.TimeoutExpired as exc:
        raise EmbedError(f"{photo.name}: exiftool took more than {timeout:g} s") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
