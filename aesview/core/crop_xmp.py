"""An accepted crop, handed to Lightroom and darktable as Camera Raw settings in an XMP sidecar.

What is written (namespace crs = http://ns.adobe.com/camera-raw-settings/1.0/):
    crs:HasCrop="True", crs:CropLeft/Top/Right/Bottom (fractions 0..1), crs:CropAngle="0",
    crs:CropConstrainToWarp="0"; and tiff:ImageWidth / tiff:ImageLength / tiff:Orientation of the
    stored image when the sidecar lacks them.

Coordinates. Camera Raw's crop fractions are taken in the image *as stored*, before the EXIF
orientation is applied (darktable's Lightroom import, src/develop/lightroom.c, flips and swaps
them by tiff:Orientation for that reason, and needs ImageWidth/ImageLength to do it). aesview's
boxes are pixels of the upright photo, so the box is mapped back through the orientation here.

Where. Lightroom and darktable's "Lightroom import" read the basename sidecar `IMG_1.xmp`
(darktable's own `IMG_1.jpg.xmp` holds its history, which it reads instead of crs tags), so the
crop goes there. Everything else the sidecar holds is kept; the original photo is never opened
for writing, nothing is re-encoded. Lightroom reads sidecars for raw files; for JPEG/TIFF it
reads the XMP inside the file, which aesview never writes (the exported crop is the way there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from .atomic import atomic_write_bytes
from .imaging import oriented_size
from .xmp import (
    SidecarError,
    _ensure_description,
    _get,
    _lock_for,
    _new_tree,
    _parse,
    _serialise,
    _set,
    _writable_target,
    sidecar_paths,
)

NS_CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
NS_TIFF = "http://ns.adobe.com/tiff/1.0/"
PREFIXES = {"crs": NS_CRS, "tiff": NS_TIFF}
CROP_STYLE = "basename"
Box = tuple[int, int, int, int]
FBox = tuple[float, float, float, float]


def _upright_to_stored(u: float, v: float, orientation: int) -> tuple[float, float]:
    """A point of the upright photo (fractions) in the stored image (fractions)."""
    return {
        1: (u, v), 2: (1 - u, v), 3: (1 - u, 1 - v), 4: (u, 1 - v),
        5: (v, u), 6: (v, 1 - u), 7: (1 - v, 1 - u), 8: (1 - v, u),
    }.get(orientation, (u, v))


def _stored_to_upright(x: float, y: float, orientation: int) -> tuple[float, float]:
    return {
        1: (x, y), 2: (1 - x, y), 3: (1 - x, 1 - y), 4: (x, 1 - y),
        5: (y, x), 6: (1 - y, x), 7: (1 - y, 1 - x), 8: (y, 1 - x),
    }.get(orientation, (x, y))


def _corners(box: FBox, fn: Callable[[float, float, int], tuple[float, float]], orientation: int) -> FBox:
    (x0, y0), (x1, y1) = fn(box[0], box[1], orientation), fn(box[2], box[3], orientation)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def stored_fractions(box: Box, upright_size: tuple[int, int], orientation: int) -> FBox:
    """An upright pixel box as Camera Raw's (left, top, right, bottom) of the stored image."""
    w, h = upright_size
    left, top, right, bottom = box
    if not (0 <= left < right <= w and 0 <= top < bottom <= h):
        raise ValueError(f"crop box {box} lies outside the {w}x{h} photo")
    return _corners((left / w, top / h, right / w, bottom / h), _upright_to_stored, orientation)


def upright_box(fractions: FBox, upright_size: tuple[int, int], orientation: int) -> Box:
    """Camera Raw's stored-image fractions back to an upright pixel box."""
    w, h = upright_size
    x0, y0, x1, y1 = _corners(fractions, _stored_to_upright, orientation)
    return round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)


def _geometry(photo: Path) -> tuple[tuple[int, int], int]:
    """(stored size, EXIF orientation) read from the header only."""
    try:
        with Image.open(photo) as im:
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            return im.size, orientation if 1 <= orientation <= 8 else 1
    except OSError as exc:
        raise SidecarError(f"{photo}: cannot read the photo's size ({exc})") from exc


def write_crop(photo: str | os.PathLike[str], box: Box) -> Path:
    """Record `box` (upright full-resolution pixels) as the photo's Camera Raw crop in its
    basename sidecar; returns the sidecar's path. Raises SidecarError (writing nothing) when the
    sidecar exists but can't be parsed, ValueError for a box outside the photo."""
    photo = Path(photo)
    stored, orientation = _geometry(photo)
    upright = oriented_size(stored, orientation)
    ibox = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
    left, top, right, bottom = stored_fractions(ibox, upright, orientation)
    target = sidecar_paths(photo, CROP_STYLE)[0]
    with _lock_for(target):
        if target.exists():
            root, prefixes = _parse(_writable_target(target))
        else:
            if os.path.lexists(target):
                _writable_target(target)
            root, prefixes = _new_tree(), {}
        _ensure_description(root)
        for name, value in (("HasCrop", "True"), ("CropLeft", f"{left:.6f}"), ("CropTop", f"{top:.6f}"),
                            ("CropRight", f"{right:.6f}"), ("CropBottom", f"{bottom:.6f}"),
                            ("CropAngle", "0"), ("CropConstrainToWarp", "0")):
            _set(root, (NS_CRS, name), value)
        for name, value in (("ImageWidth", str(stored[0])), ("ImageLength", str(stored[1])),
                            ("Orientation", str(orientation))):
            if _get(root, (NS_TIFF, name)) is None:
                _set(root, (NS_TIFF, name), value)
        atomic_write_bytes(_writable_target(target), _serialise(root, {**PREFIXES, **prefixes}))
    return target


def read_crop(photo: str | os.PathLike[str]) -> Box | None:
    """The Camera Raw crop in the photo's basename sidecar as an upright pixel box; None when
    there is none (no sidecar, HasCrop not True, or no crop values)."""
    photo = Path(photo)
    target = sidecar_paths(photo, CROP_STYLE)[0]
    if not target.is_file():
        return None
    root, _ = _parse(target)
    if (_get(root, (NS_CRS, "HasCrop")) or "").lower() != "true":
        return None
    try:
        fr = tuple(float(_get(root, (NS_CRS, n)) or "nan")
                   for n in ("CropLeft", "CropTop", "CropRight", "CropBottom"))
    except ValueError:
        return None
    if any(v != v for v in fr):
        return None
    stored, orientation = _geometry(photo)
    return upright_box(fr, oriented_size(stored, orientation), orientation)  # type: ignore[arg-type]

