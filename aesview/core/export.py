"""Write a crop of a photo as a new file; the original is only ever read.

The crop is cut from the full-resolution original, upright, with its pixel values and colour
space as stored: the embedded ICC profile travels with them unconverted. EXIF is kept with the
Orientation tag set to 1 (the pixels are already upright) and the EXIF pixel dimensions set to
the crop's; the EXIF thumbnail (which shows the uncropped frame) is not carried over. A JPEG's
XMP packet is kept too, its tiff:Orientation likewise set to 1. RAW originals are exported from
LibRaw's full demosaic in sRGB, without EXIF.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

from .atomic import atomic_writer, unique_path
from .imaging import ORIENTATION_TAG, flatten_alpha, load_original, to_8bit, to_srgb

__all__ = ["export_crop", "unique_path", "EXPORT_FORMATS"]

log = logging.getLogger(__name__)

EXPORT_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}
_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "I", "I;16", "RGB", "RGBA"},
    "TIFF": {"1", "L", "LA", "P", "I", "I;16", "F", "RGB", "RGBA", "CMYK"},
}
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003


def _format_for(dst: Path, fmt: str | None) -> str:
    if fmt:
        name = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt.upper(), fmt.upper())
        if name not in _MODES:
            raise ValueError(f"cannot export as {fmt!r}; choose JPEG, PNG or TIFF")
        return name
    try:
        return EXPORT_FORMATS[dst.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the export format from {dst.name!r}; "
                         "use .jpg, .png or .tif, or pass fmt") from None


def _check_box(box: Any, size: tuple[int, int]) -> tuple[int, int, int, int]:
    try:
        left, top, right, bottom = (int(v) for v in box)
    except (TypeError, ValueError):
        raise ValueError(f"a crop box is (left, top, right, bottom); got {box!r}") from None
    w, h = size
    if not (0 <= left < right <= w and 0 <= top < bottom <= h):
        raise ValueError(f"crop box {box} does not lie inside the {w}x{h} photo")
    return left, top, right, bottom


def _fit_mode(im: Image.Image, fmt: str, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Pixels the format can hold, keeping values (and so the profile) wherever possible."""
    if im.mode in _MODES[fmt]:
        return im, icc
    im = to_8bit(im)
    if fmt == "JPEG":
        im = flatten_alpha(im)
    if im.mode in _MODES[fmt]:
        return im, icc
    # e.g. CMYK into PNG: the values must change, so convert to sRGB, which needs no profile.
    return to_srgb(im, icc), None


def _exif_for_crop(raw: bytes | None, size: tuple[int, int]) -> bytes | None:
    if not raw:
        return None
    try:
        exif = Image.Exif()
        exif.load(raw)
        if ORIENTATION_TAG in exif:
            exif[ORIENTATION_TAG] = 1
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        if _PIXEL_X in sub:
            sub[_PIXEL_X] = size[0]
        if _PIXEL_Y in sub:
            sub[_PIXEL_Y] = size[1]
        return exif.tobytes()
    except Exception as e:  # damaged EXIF: the crop is still worth having
        log.warning("EXIF could not be carried over: %s", e)
        return None


_XMP_ORIENTATION = re.compile(
    rb'(tiff:Orientation\s*=\s*["\']|<tiff:Orientation>\s*)[1-8]')


def _xmp_for_crop(xmp: str | bytes | None) -> bytes | None:
    if not xmp:
        return None
    data = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
    return _XMP_ORIENTATION.sub(rb"\g<1>1", data)


def export_crop(src: str | os.PathLike[str], box: Any, dst: str | os.PathLike[str], quality: int = 92,
                overwrite: bool = False, fmt: str | None = None) -> Path:
    """Crop `box` = (left, top, right, bottom), in full-resolution pixels of the upright photo,
    out of `src` and write it to `dst` (JPEG, PNG or TIFF, from the extension unless `fmt`).

    Atomic; an existing `dst` raises FileExistsError unless overwrite=True (pick a fresh name
    with unique_path). Writing over the source itself is refused either way."""
    src, dst = Path(src), Path(dst)
    fmt = _format_for(dst, fmt)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality runs from 1 to 100; got {quality}")
    if dst.exists():
        if src.exists() and os.path.samefile(dst, src):
            raise ValueError(f"refusing to write over the original {src.name}")
        if not overwrite:
            raise FileExistsError(errno.EEXIST, "file already exists", str(dst))

    image, info, _ = load_original(src)
    box = _check_box(box, image.size)
    crop = image.crop(box)
    crop, icc = _fit_mode(crop, fmt, info.get("icc_profile") or None)
    exif = _exif_for_crop(info.get("exif"), crop.size)

    params: dict[str, Any] = {}
    if icc:
        params["icc_profile"] = icc
    if exif:
        params["exif"] = exif
    if fmt == "JPEG":
        # 4:4:4 chroma at high quality, as photographers' export tools do.
        params.update(quality=int(quality), optimize=True,
                      subsampling=0 if quality >= 90 else 2)
        xmp = _xmp_for_crop(info.get("xmp"))
        if xmp:
            params["xmp"] = xmp
    elif fmt == "PNG" and "transparency" in info and crop.mode in ("P", "L", "RGB"):
        params["transparency"] = info["transparency"]
    elif fmt == "TIFF":
        # Pillow's own (uncompressed) writer: libtiff's compressors reject the EXIF sub-IFDs.
        params["compression"] = None
    if info.get("dpi"):
        params["dpi"] = info["dpi"]

    with atomic_writer(dst, overwrite=overwrite) as f:
        crop.save(f, format=fmt, **params)
    return dst
