"""Photo files -> oriented sRGB RGB images, as fast as the caller's size allows.

Every loader returns 8-bit RGB in sRGB with the EXIF orientation applied, whatever the file held:
CMYK, 16-bit (I;16, I, F, 48-bit TIFF), palette, greyscale, alpha. Transparent pixels are
composited onto white (what a print or a light-table viewer shows), never dropped to black.
Embedded ICC profiles are converted to sRGB; files without one are taken to be sRGB already.

Speed: with `max_side`, JPEGs are decoded by libjpeg at 1/2, 1/4 or 1/8 scale (`draft`), keeping
the long side >= max_side (other formats are box-reduced by an integer factor after decoding), so
the long side comes back in [max_side, 2 x max_side); callers resize to what they show.
Orientation is applied *after* that reduced decode; `Photo.size` comes from the header: the
full-resolution size after orientation, the frame crop boxes live in, whatever was decoded.

Camera RAW files show their embedded preview (what the camera's own screen shows) when it is big
enough, else a LibRaw demosaic (half size when that is still big enough). Their `size` is the
demosaiced frame's, so a box chosen on the preview exports correctly from the full decode.

Memory: a photo is decoded whole only when that fits the decode budget (`pixel_budget()`
megapixels of 4-byte pixels; 120 MP by default, AESVIEW_MAX_MEGAPIXELS or `set_pixel_budget`
raise it). JPEGs are measured at their reduced (draft) size, progressive ones by their
full-size coefficient buffer, which libjpeg keeps whatever the scale. A file over the budget is
refused with a reason naming the setting. Every decode first reserves its bytes from the
process-wide decode gate (core.decode_gate): any number of loader threads together stay within
its budget, and a decode bigger than the budget runs alone. A PNG whose frame would be big is
decoded a band of rows at a time (core.png_bands), each band reduced and made sRGB as it comes,
so a 100 MP PNG's thumbnail never holds its 400 MB frame.
A JPEG whose data ends before its header's promised rows (libjpeg fills the rest with grey and
says nothing) is reported as damaged.

Any file that cannot be shown raises ImageLoadError(path, reason) with a human reason.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from . import decode_gate, png_bands

RAW_EXTENSIONS = frozenset({
    ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25", ".kdc",
    ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl",
    ".sr2", ".srf", ".srw", ".x3f"})
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
PIL_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".webp",
                            ".bmp", ".dib"})
SUPPORTED_EXTENSIONS = PIL_EXTENSIONS | HEIF_EXTENSIONS | RAW_EXTENSIONS

# Our own limit, checked on the header before any pixel is decoded. PIL's own check (a warning
# above its limit, an error above twice that) is moved to the same number; its warning is
# silenced because every image that triggers it is refused with an ImageLoadError anyway (and
# where warnings are errors, the raised warning becomes that ImageLoadError).
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Pillow allocates big frames in 16 MB blocks, which glibc serves from per-thread heaps and keeps
# after they are freed (its mmap threshold grows to 32 MB): four loader threads each kept their
# last 400 MB frame (peak 1.16 GB). 64 MB blocks are always mmapped, so a freed frame goes back
# to the system (peak 565 MB).
if "PILLOW_BLOCK_SIZE" not in os.environ:
    Image.core.set_block_size(64 * 2**20)

# The decode budget, in megapixels of 4 bytes (RGBA); see the module docstring.
DEFAULT_BUDGET_MP = 120.0
BUDGET_ENV = "AESVIEW_MAX_MEGAPIXELS"
# PNGs whose frame would take more than this are decoded in bands (core.png_bands).
BANDED_MIN_BYTES = 32 * 2**20
# A band's pixels: its buffers stay under glibc's mmap threshold (core.memory), so they are
# reused from the heap instead of mapped and zeroed afresh band after band.
BAND_PIXELS = 256_000
_budget_mp: float | None = None
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 4, "LA": 2, "La": 2, "PA": 4, "I;16": 2, "I;16B": 2,
                    "I;16L": 2, "I;16N": 2, "I": 4, "F": 4, "RGB": 3, "YCbCr": 3, "LAB": 3,
                    "HSV": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4}


def set_pixel_budget(megapixels: float | None) -> None:
    """Raise (or lower) the decode budget for this process; None goes back to the default
    (or AESVIEW_MAX_MEGAPIXELS). The settings dialog and tests call this."""
    global _budget_mp
    _budget_mp = None if megapixels is None else max(1.0, float(megapixels))
    Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS, int(pixel_budget() * 1e6))


def pixel_budget() -> float:
    """The decode budget in megapixels (of 4-byte pixels)."""
    if _budget_mp is not None:
        return _budget_mp
    try:
        return max(1.0, float(os.environ.get(BUDGET_ENV, "")))
    except ValueError:
        return DEFAULT_BUDGET_MP


def _limit_pixels() -> int:
    return max(MAX_PIXELS, int(pixel_budget() * 1e6))

ORIENTATION_TAG = 0x0112
# EXIF orientation -> the transpose showing the stored pixels upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# LibRaw's sizes.flip -> the EXIF orientation it was read from (dcraw's "50132467" table).
_LIBRAW_FLIP = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}


class ImageLoadError(Exception):
    """A file that cannot be shown; `reason` is meant for the user."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


@dataclass
class Photo:
    image: Image.Image            # RGB, sRGB, upright; reduced when max_side allowed it
    size: tuple[int, int]         # full-resolution (width, height) after orientation
    exif: bytes | None            # the file's EXIF block as stored (orientation not reset)
    icc: bytes | None             # the file's ICC profile (pixels in `image` are already sRGB)
    format: str                   # "JPEG", "PNG", "TIFF", "WEBP", "BMP", "HEIF", "RAW", ...
    path: Path


# --------------------------------------------------------------------------------------- listing

def _natural_key(path: Path) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.as_posix().casefold())]


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Supported photos in `folder`, naturally sorted (IMG_9 before IMG_10). Hidden files and
    folders, sidecars (.xmp, .json ...) and anything without a supported extension are skipped."""
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    found: list[Path] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found += [Path(dirpath, f) for f in filenames]
    else:
        try:
            found = list(root.iterdir())
        except OSError as e:
            raise OSError(f"cannot list {root}: {e.strerror or e}") from e
    out = [p for p in found
           if not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_EXTENSIONS
           and p.is_file()]
    return sorted(out, key=lambda p: _natural_key(p.relative_to(root)))


# ---------------------------------------------------------------------------------- conversions

def to_8bit(im: Image.Image) -> Image.Image:
    """Modes PIL cannot colour-manage or composite -> L / LA / RGB / RGBA / CMYK (8 bit)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode.startswith("I;16") or mode == "I":
        # PIL opens 16-bit greyscale as I;16 (or I); values span 0..65535.
        return _to_l_by_strips(im, lambda a: (np.clip(a.astype(np.float32), 0, 65535)
                                              * (255 / 65535) + 0.5).astype(np.uint8))
    if mode == "F":
        # Float images follow the TIFF convention of 0..1; anything larger is read as 0..255.
        def finite(a: np.ndarray) -> np.ndarray:
            return np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        top = max((float(finite(a).max()) for a in _strips(im) if a.size), default=0.0)
        gain = 255.0 if top <= 1.0 else 1.0
        return _to_l_by_strips(
            im, lambda a: (np.clip(finite(a) * gain, 0, 255) + 0.5).astype(np.uint8))
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode in ("PA", "RGBa", "RGBX"):
        return im.convert("RGBA" if mode != "RGBX" else "RGB")
    if mode in ("1", "La"):
        return im.convert("L" if mode == "1" else "LA")
    try:
        return im.convert("RGB")
    except ValueError as e:
        raise ValueError(f"unsupported colour mode {mode}") from e


_STRIP_PIXELS = 4_000_000  # float temporaries of a strip stay around 16 MB


def _strips(im: Image.Image) -> Iterator[np.ndarray]:
    rows = max(1, _STRIP_PIXELS // max(1, im.width))
    for y in range(0, im.height, rows):
        yield np.asarray(im.crop((0, y, im.width, min(im.height, y + rows))))


def _to_l_by_strips(im: Image.Image, convert: Callable[[np.ndarray], np.ndarray]) -> Image.Image:
    """8-bit greyscale from a 16/32-bit one a strip at a time: a float copy of a 100 MP frame
    would be 400 MB per temporary."""
    out = Image.new("L", im.size)
    y = 0
    for a in _strips(im):
        out.paste(Image.fromarray(np.ascontiguousarray(convert(a))), (0, y))
        y += a.shape[0]
    return out


def flatten_alpha(im: Image.Image) -> Image.Image:
    """Composite alpha onto white: LA -> L, RGBA -> RGB."""
    if im.mode not in ("LA", "RGBA"):
        return im
    mode = im.mode[:-1]
    base = Image.new(mode, im.size, 255 if mode == "L" else (255, 255, 255))
    # A strip at a time: the whole frame's converted copy and alpha band would add 5 bytes a
    # pixel (500 MB for a 100 MP frame) on top of the result.
    rows = max(1, _STRIP_PIXELS // max(1, im.width))
    for y in range(0, im.height, rows):
        strip = im.crop((0, y, im.width, min(im.height, y + rows))) if rows < im.height else im
        base.paste(strip.convert(mode), (0, y), mask=strip.getchannel("A"))
    return base


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_CMS_SPACE = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}


@lru_cache(maxsize=32)
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached LittleCMS transform from the embedded profile to sRGB, or None where no
    conversion is needed (an sRGB profile) or possible (broken profile, wrong colour space)."""
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError, ValueError):
        return None
    if prof.profile.xcolor_space != _CMS_SPACE.get(mode):
        return None
    desc = (prof.profile.profile_description or "").lower()
    if mode == "RGB" and desc.startswith("srgb"):
        return None
    try:
        return ImageCms.buildTransform(prof, _SRGB, mode, "RGB",
                                       renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, ValueError, OSError):
        return None


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Any PIL image -> 8-bit RGB in sRGB (alpha composited on white)."""
    im = flatten_alpha(to_8bit(im))
    if icc:
        transform = _srgb_transform(bytes(icc), im.mode)
        if transform is not None:
            out = ImageCms.applyTransform(im, transform)
            return out if out is not None else im
    return im if im.mode == "RGB" else im.convert("RGB")


def orient(im: Image.Image, orientation: int) -> Image.Image:
    op = _TRANSPOSE.get(orientation)
    return im.transpose(op) if op is not None else im


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else (size[0], size[1])


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not cost the photo
        return 1
    return value if value in _TRANSPOSE else 1


def _reduce_factor(size: tuple[int, int], max_side: int | None) -> int:
    """The integer box factor _reduce applies for `max_side` (1: none)."""
    factor = max(size) // max_side if max_side else 1
    return factor if factor >= 2 else 1


def _reduce(im: Image.Image, max_side: int | None) -> Image.Image:
    """Box-reduce by an integer factor keeping the long side >= max_side (the same thing a
    JPEG draft decode does, for formats without one); the result is under 2 x max_side."""
    return _reduce_by(im, _reduce_factor(im.size, max_side))


def _reduce_by(im: Image.Image, factor: int) -> Image.Image:
    if factor < 2:
        return im
    if im.mode not in ("LA", "RGBA") or im.width * im.height <= _STRIP_PIXELS:
        return im.reduce(factor)
    # PIL premultiplies alpha into a full-size copy before reducing: strips of whole boxes
    # give the same pixels without doubling a 400 MB frame.
    out = Image.new(im.mode, (-(-im.width // factor), -(-im.height // factor)))
    rows = max(1, _STRIP_PIXELS // (im.width * factor)) * factor
    for y in range(0, im.height, rows):
        strip = im.crop((0, y, im.width, min(im.height, y + rows)))
        out.paste(strip.reduce(factor), (0, y // factor))
    return out


# --------------------------------------------------------------------------------------- loading

def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageLoadError(path, "file not found") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied: cannot read the file") from None
    except OSError as e:
        raise ImageLoadError(path, f"cannot read the file ({e.strerror or e})") from None
    if path.is_dir():
        raise ImageLoadError(path, "this is a folder, not an image file")
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
        raise ImageLoadError(path, "not a regular file (a pipe or device?)")
    if st.st_size == 0:
        raise ImageLoadError(path, "the file is empty (0 bytes)")


def _check_pixels(path: Path, size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise ImageLoadError(path, f"the file claims an impossible size ({w}x{h})")
    limit = _limit_pixels()
    if w * h > limit:
        raise ImageLoadError(
            path, f"the image is too large to open safely: {w}x{h} = {w * h / 1e6:.0f} megapixels "
                  f"(the limit is {limit / 1e6:.0f} MP); it may be corrupt or a "
                  "decompression bomb")


def _decode_bytes(im: Image.Image) -> int:
    """What decoding `im` as it stands (after any draft) allocates, roughly: the pixels, or for a
    progressive JPEG its full-size coefficient buffer (2 bytes per sample, all components)."""
    pixels = im.size[0] * im.size[1] * _BYTES_PER_PIXEL.get(im.mode, 4)
    if im.format == "JPEG" and (im.info.get("progressive") or im.info.get("progression")):
        layers = getattr(im, "layer", None) or [("", 1, 1, 0)] * len(im.getbands())
        hmax = max(h for _, h, _, _ in layers) or 1
        vmax = max(v for _, _, v, _ in layers) or 1
        full = getattr(im, "_size_before_draft", im.size)
        samples = sum(h * v for _, h, v, _ in layers) / (hmax * vmax)
        pixels += int(full[0] * full[1] * samples * 2)
    return pixels


def _check_budget(path: Path, im: Image.Image) -> int:
    need = _decode_bytes(im)
    budget = int(pixel_budget() * 1e6 * 4)
    if need > budget:
        w, h = getattr(im, "_size_before_draft", im.size)
        raise ImageLoadError(
            path, f"decoding this {w}x{h} image ({w * h / 1e6:.0f} MP) needs about "
                  f"{need / 2**20:.0f} MB, over the decode budget of {pixel_budget():.0f} MP "
                  f"({budget / 2**20:.0f} MB); if the file is genuine, raise it in Edit → "
                  f"Preferences (Largest photo to open) or with {BUDGET_ENV}")
    return need


def _grey_filled(im: Image.Image, file_size: int, full: tuple[int, int]) -> bool:
    """libjpeg's answer to scan data that stops early: the missing rows come out exactly
    mid-grey, with no error. Judged only when the file is implausibly small for its size
    (< 0.05 bits per pixel; real photos take 1-4, a flat grey frame 0.13), the last decoded row
    is that grey and the first is not (a uniformly grey picture is not accused)."""
    if im.format != "JPEG" or im.mode not in ("L", "RGB") or file_size * 8 >= 0.05 * full[0] * full[1]:
        return False
    first = np.asarray(im.crop((0, 0, im.width, 1)))
    last = np.asarray(im.crop((0, im.height - 1, im.width, im.height)))
    return bool(last.size) and bool((last == 128).all()) and not bool((first == 128).all())


_TRUNCATED = ("the file is truncated or damaged: its data ends before the image its header "
              "describes")


def _decode_reason(e: BaseException) -> str:
    msg = str(e)
    if "truncated" in msg or isinstance(e, EOFError) or "broken data stream" in msg \
            or "not enough image data" in msg:
        return "the file is truncated or damaged (an incomplete copy or download?)"
    return f"the image data cannot be decoded ({type(e).__name__}: {msg})"


_heif_registered = False


def _register_heif(path: Path) -> None:
    global _heif_registered
    if _heif_registered:
        return
    try:
        import pillow_heif
    except ImportError:
        raise ImageLoadError(path, "HEIC/HEIF support needs the pillow-heif package") from None
    pillow_heif.register_heif_opener()
    _heif_registered = True


@dataclass
class _Decoded:
    pixels: Image.Image          # 8-bit RGB, sRGB, upright; reduced when max_side allowed it
    full: tuple[int, int]        # stored full-resolution size
    orientation: int
    info: dict[str, Any]
    format: str


def _open(fp: BinaryIO, path: Path) -> Image.Image:
    """Image.open (header only) with PIL's exceptions turned into ImageLoadError."""
    try:
        im = Image.open(fp)
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not an image file, or a format aesview cannot read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # The warning arrives as an exception where warnings are errors (python -W error).
        raise ImageLoadError(path, f"the image is too large to open safely ({e})") from None
    except PermissionError:
        raise
    except Exception as e:
        raise ImageLoadError(path, _decode_reason(e)) from None
    try:
        _check_pixels(path, im.size)
    except ImageLoadError:
        im.close()
        raise
    return im


def _open_pil(fp: BinaryIO, path: Path, max_side: int | None, fallback_orientation: int = 1,
              file_size: int = 0) -> _Decoded:
    im = _open(fp, path)
    try:
        full = im.size
        fmt = im.format or _format_of(path)
        im._size_before_draft = full  # type: ignore[attr-defined,unused-ignore]  # for _check_budget
        if max_side and fmt == "JPEG":
            scale = max_side / max(full)
            if scale < 1:
                # draft() picks the largest libjpeg reduction keeping both sides >= the request.
                im.draft(None, (max(1, int(np.ceil(full[0] * scale))),
                                max(1, int(np.ceil(full[1] * scale)))))
        need = _check_budget(path, im)
        lay = png_bands.layout(fp, im) if fmt == "PNG" and need > BANDED_MIN_BYTES else None
        if lay is not None and im.mode == "RGB" and _reduce_factor(full, max_side) == 1 \
                and not im.info.get("icc_profile"):
            lay = None          # the frame is the result: bands would only cost time
        if lay is not None:
            return _open_png_bands(fp, path, im, lay, max_side, fallback_orientation, fmt)
        factor = _reduce_factor(im.size, max_side)
        out_bytes = -(-im.size[0] // factor) * -(-im.size[1] // factor) * 4
        # The frame as Pillow holds it (three bands in four bytes), then the reduced / 8-bit
        # result and its sRGB or upright copy.
        frame = need + (im.size[0] * im.size[1] if _BYTES_PER_PIXEL.get(im.mode) == 3 else 0)
        with decode_gate.GATE.reserve(frame + 2 * out_bytes):
            im.load()
            if _grey_filled(im, file_size, full):
                raise ImageLoadError(path, _TRUNCATED)
            # After load: a PNG's getexif() decodes the whole image to find an eXIf chunk.
            orientation = _orientation(im)
            if orientation == 1:
                orientation = fallback_orientation
            info = {str(k): v for k, v in im.info.items()}
            # The loaded pixels no longer need `fp`: used as they are, never copied (a
            # full-resolution load would otherwise hold two frames at once).
            out = _reduce_then_8bit(im, max_side)
            if out is not im:
                im.close()                      # the frame goes before the sRGB copy is made
            out = orient(to_srgb(out, info.get("icc_profile") or None), orientation)
    except BaseException as e:
        im.close()
        err = _as_load_error(path, e)
        if err is e:
            raise
        raise err from None
    if out is not im:
        im.close()
    return _Decoded(out, full, orientation, info, fmt)


def _open_png_bands(fp: BinaryIO, path: Path, im: Image.Image, lay: png_bands.Layout,
                    max_side: int | None, fallback_orientation: int, fmt: str) -> _Decoded:
    """A big PNG read a band at a time (core.png_bands), each band reduced and made sRGB as it
    comes: what is held is the result and one band, never the full frame. Same pixels as the
    whole decode: bands are whole multiples of the reduction factor."""
    full = im.size
    factor = _reduce_factor(full, max_side)
    size = (-(-full[0] // factor), -(-full[1] // factor))
    band_rows = max(1, BAND_PIXELS // (full[0] * factor)) * factor
    band_bytes = full[0] * band_rows * 4
    info = {str(k): v for k, v in im.info.items()}
    icc = info.get("icc_profile") or None
    # The result (and its upright copy), and a band's few transient copies.
    with decode_gate.GATE.reserve(2 * size[0] * size[1] * 4 + 6 * band_bytes):
        out = Image.new("RGB", size)
        try:
            for y, band in png_bands.bands(fp, lay, band_rows, im):
                part = to_srgb(_reduce_then_8bit_by(band, factor), icc)
                del band
                out.paste(part, (0, y // factor))
        except png_bands.Truncated:
            raise ImageLoadError(path, _TRUNCATED) from None
        exif = info.get("exif") or lay.exif
        if exif:
            info["exif"] = exif
        orientation = _info_orientation(info)
        if orientation == 1:
            orientation = fallback_orientation
        out = orient(out, orientation)
    im.close()
    return _Decoded(out, full, orientation, info, fmt)


def _info_orientation(info: dict[str, Any]) -> int:
    """The orientation _orientation reads (EXIF, ImageMagick's "Raw profile type exif" text,
    XMP), from an info dict alone: a PNG's own getexif() would decode the whole frame."""
    carrier = Image.new("1", (1, 1))
    carrier.info.update(info)
    return _orientation(carrier)


def _as_load_error(path: Path, e: BaseException) -> BaseException:
    """What a failed decode of `path` raises: `e` itself when it is already an ImageLoadError or
    no Exception (KeyboardInterrupt & co.), otherwise an ImageLoadError naming the cause."""
    if isinstance(e, ImageLoadError):
        return e
    if isinstance(e, MemoryError):
        return ImageLoadError(path, "not enough memory to decode this image")
    if isinstance(e, Exception):  # PIL raises OSError, SyntaxError, ValueError, struct.error
        return ImageLoadError(path, _decode_reason(e))
    return e


_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"})


def _reduce_then_8bit(im: Image.Image, max_side: int | None) -> Image.Image:
    return _reduce_then_8bit_by(im, _reduce_factor(im.size, max_side))


def _reduce_then_8bit_by(im: Image.Image, factor: int) -> Image.Image:
    """Shrink first where PIL can (the 8-bit conversion then touches few pixels); a band of a
    banded decode is reduced by the whole image's factor."""
    if im.mode in _REDUCIBLE:
        return to_8bit(_reduce_by(im, factor))
    return _reduce_by(to_8bit(im), factor)


def _load_pil(path: Path, max_side: int | None) -> Photo:
    if path.suffix.lower() in HEIF_EXTENSIONS:
        _register_heif(path)
    try:
        with open(path, "rb") as fp:
            d = _open_pil(fp, path, max_side, file_size=os.fstat(fp.fileno()).st_size)
    except PermissionError:
        raise ImageLoadError(path, "permission denied: cannot read the file") from None
    except IsADirectoryError:
        raise ImageLoadError(path, "this is a folder, not an image file") from None
    icc = d.info.get("icc_profile") or None
    exif = d.info.get("exif")
    return Photo(image=d.pixels, size=oriented_size(d.full, d.orientation),
                 exif=bytes(exif) if exif else None, icc=icc, format=d.format, path=path)


def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in HEIF_EXTENSIONS:
        return "HEIF"
    if ext in RAW_EXTENSIONS:
        return "RAW"
    return {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".tif": "TIFF",
            ".tiff": "TIFF", ".dib": "BMP"}.get(ext, ext.lstrip(".").upper())


def _load_raw(path: Path, max_side: int | None) -> Photo:
    import rawpy

    try:
        raw = rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError:
        raise ImageLoadError(path, "not a camera RAW file that LibRaw can read") from None
    except (rawpy.LibRawError, OSError) as e:
        raise ImageLoadError(path, f"the RAW file cannot be read ({e})") from None
    with raw:
        s = raw.sizes
        orientation = _LIBRAW_FLIP.get(s.flip, 1)
        full = oriented_size((s.width, s.height), orientation)
        _check_pixels(path, full)
        image = None
        if max_side:
            image = _raw_preview(raw, path, max_side, orientation, min(max_side, max(full)))
        if image is None:
            half = max_side is not None and max_side > 0 and min(s.width, s.height) // 2 >= 1 and \
                max(s.width, s.height) // 2 >= max_side
            # LibRaw's 4 x 16-bit working image, its 8-bit RGB output and PIL's copy of it.
            pixels = s.width * s.height // (4 if half else 1)
            with decode_gate.GATE.reserve(pixels * (8 + 3 + 4)):
                try:
                    rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
                except MemoryError:
                    raise ImageLoadError(path, "not enough memory to decode this RAW file") from None
                except rawpy.LibRawError as e:
                    raise ImageLoadError(path, f"the RAW data cannot be decoded ({e})") from None
                image = _reduce(Image.fromarray(rgb), max_side)
            if not half:
                full = (rgb.shape[1], rgb.shape[0])
    return Photo(image=image, size=full, exif=None, icc=None, format="RAW", path=path)


def _raw_preview(raw: Any, path: Path, max_side: int, orientation: int,
                 need: int) -> Image.Image | None:
    """The camera's embedded preview, upright and reduced, if its long side is at least `need`
    (max_side, or the whole sensor's long side when that is smaller)."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            d = _open_pil(io.BytesIO(thumb.data), path, max_side,
                          fallback_orientation=orientation)
            if max(d.full) < need:
                return None
            return d.pixels
        bitmap = Image.fromarray(np.ascontiguousarray(thumb.data))
    except ImageLoadError:
        return None  # a damaged preview: demosaic instead
    if max(bitmap.size) < need:
        return None
    return orient(_reduce(to_srgb(bitmap, None), max_side), orientation)


def load_image(path: str | os.PathLike[str], max_side: int | None = None) -> Photo:
    """Load a photo for display or scoring: upright 8-bit sRGB RGB.

    max_side: the long side the caller needs. The file is decoded as small as possible while
    keeping the long side >= max_side: the returned long side lies in [max_side, 2 x max_side)
    when the file is that large (JPEG: libjpeg's 1/2, 1/4, 1/8 scaled decode; other formats: an
    integer box reduction after decoding). None decodes at full resolution."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in RAW_EXTENSIONS:
        return _load_raw(path, max_side)
    return _load_pil(path, max_side)


def load_original(path: str | os.PathLike[str]) -> tuple[Image.Image, dict[str, Any], str]:
    """Full-resolution pixels as stored (mode, bit depth and colour space untouched), upright,
    with the file's info dict (icc_profile, exif, xmp ...) and format: the input for exports,
    which keep the original profile and values. RAW files come back demosaiced to sRGB."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in RAW_EXTENSIONS:
        return _load_raw(path, None).image, {}, "RAW"
    if path.suffix.lower() in HEIF_EXTENSIONS:
        _register_heif(path)
    try:
        with open(path, "rb") as fp:
            im = _open(fp, path)
            try:
                fmt = im.format or _format_of(path)
                need = _check_budget(path, im)
                # The frame and, when it must be turned upright, its turned copy.
                with decode_gate.GATE.reserve(2 * need):
                    im.load()
                    if _grey_filled(im, os.fstat(fp.fileno()).st_size, im.size):
                        raise ImageLoadError(path, _TRUNCATED)
                    orientation, info = _orientation(im), {str(k): v for k, v in im.info.items()}
                    # Upright in place of a copy: the loaded pixels no longer need `fp`, and a
                    # second full-size copy would double an export's memory.
                    out = orient(im, orientation)
            except BaseException as e:
                im.close()
                err = _as_load_error(path, e)
                if err is e:
                    raise
                raise err from None
            if out is not im:
                im.close()
    except PermissionError:
        raise ImageLoadError(path, "permission denied: cannot read the file") from None
    return out, info, fmt


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def load_thumbnail(path: str | os.PathLike[str], size: int | tuple[int, int]) -> Image.Image:
    """An upright RGB thumbnail of the photo's shape that fits in size x size (or the (w, h)
    box). A JPEG's own EXIF thumbnail is used when it is that big (no decode of the photo)."""
    box = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    path = Path(path)
    _check_file(path)
    found = _exif_thumbnail(path, box) if path.suffix.lower() in PIL_EXTENSIONS else None
    if found is None:
        photo = load_image(path, max_side=max(box))
        found = photo.image, photo.size
    thumb, full = found
    target = _fit(full, box)
    if thumb.size != target:
        thumb = thumb.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return thumb


def _exif_thumbnail(path: Path, box: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]] | None:
    try:
        with Image.open(path) as im:
            if im.format != "JPEG":
                return None
            raw = im.info.get("exif") or b""
            ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
            offset, length = ifd1.get(0x0201), ifd1.get(0x0202)
            if not offset or not length:
                return None
            base = 6 if raw.startswith(b"Exif\x00\x00") else 0
            data = raw[base + offset: base + offset + length]
            orientation, full, icc = _orientation(im), im.size, im.info.get("icc_profile")
        with Image.open(io.BytesIO(data)) as t:
            # A thumbnail of another shape (letterboxed 160x120) does not show the same frame;
            # one claiming megapixels from a 64 KB segment is a lie (or a bomb).
            if abs(t.width / t.height - full[0] / full[1]) > 0.02 or t.width * t.height > 4e6:
                return None
            upright = oriented_size(full, orientation)
            if max(oriented_size(t.size, orientation)) + 1 < max(_fit(upright, box)):
                return None
            t.load()
            return orient(to_srgb(t, icc), orientation), upright
    except Exception:  # any trouble with the embedded thumbnail: decode the photo instead
        return None
