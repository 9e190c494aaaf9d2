"""Hostile and broken files for tests/test_faults.py and tools/fault_report.py.

Every builder streams its output (a 14000 x 14000 PNG is written without ever holding its
pixels), so building the zoo costs seconds and little memory. The expected outcome of each case
is part of the zoo: "error" (a per-file error naming the problem) or "ok" (decoded, within the
memory bound).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from .conftest import pattern_array


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_zeros(path: Path, w: int, h: int, colour_type: int = 2) -> Path:
    """A real, complete, all-black PNG of any size: a few hundred KB for 196 MP."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    comp = zlib.compressobj(9)
    row = b"\0" * (1 + w * channels)
    idat = bytearray()
    block = row * max(1, (4 << 20) // len(row))
    rows_per_block = len(block) // len(row)
    left = h
    while left:
        n = min(left, rows_per_block)
        idat += comp.compress(block if n == rows_per_block else row * n)
        left -= n
    idat += comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", bytes(idat))
                     + _chunk(b"IEND", b""))
    return path


def png_text_bomb(path: Path) -> Path:
    """A small PNG whose zTXt chunk inflates to 100 MB."""
    buf = io.BytesIO()
    Image.fromarray(pattern_array(64, 48)).save(buf, "PNG")
    data = buf.getvalue()
    ztxt = b"Comment\0\0" + zlib.compress(b"A" * 100_000_000, 9)
    path.write_bytes(data[:33] + _chunk(b"zTXt", ztxt) + data[33:])
    return path


def jpeg_bytes(w: int = 64, h: int = 48, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pattern_array(w, h)).save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def jpeg_claiming(path: Path, w: int, h: int) -> Path:
    """A complete small JPEG stream whose frame header claims w x h: its data ends long before
    the rows the header promises (issue 13's 1.2 KB '14000 x 14000' file)."""
    data = bytearray(jpeg_bytes(24, 24))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", h, w)
    path.write_bytes(bytes(data))
    return path


def jpeg_progressive_big(path: Path, w: int, h: int) -> Path:
    """A genuine progressive 4:4:4 JPEG: libjpeg holds its whole coefficient buffer
    (w * h * 3 * 2 bytes) whatever the reduced scale asked for."""
    Image.new("RGB", (w, h), (90, 120, 150)).save(path, "JPEG", quality=90, progressive=True,
                                                 subsampling=0)
    return path


def tiff_header_only(path: Path, w: int, h: int) -> Path:
    """A baseline TIFF whose one strip of w*h*3 bytes lies far beyond the end of the file."""
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 4096), (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, w * h * 3)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if typ == 3 and tag != 258:
            ifd += struct.pack("<HHIHH", tag, typ, count, value, 0)
        elif tag == 258:
            ifd += struct.pack("<HHIHH", tag, 3, 1, 8, 0)
        else:
            ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", 0)
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd)
    return path


def bmp_rle8_bomb(path: Path, w: int, h: int) -> Path:
    """An RLE8 BMP: 'end of bitmap' after a few bytes, the header claims w x h."""
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    data = b"\x00\x01"  # end of bitmap
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    head = b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset)
    path.write_bytes(head + info + palette + data)
    return path


def exif_thumbnail_bomb(path: Path) -> Path:
    """A normal photo whose embedded EXIF thumbnail claims 14000 x 10500 (the photo's shape)."""
    thumb = bytearray(jpeg_bytes(16, 12))
    sof = thumb.find(b"\xff\xc0")
    thumb[sof + 5:sof + 9] = struct.pack(">HH", 10500, 14000)
    # EXIF by hand (PIL writes no IFD1): IFD0 = Orientation 1, IFD1 = the thumbnail's place.
    ifd0_off = 8
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 1, 0)
    ifd1_off = ifd0_off + len(ifd0) + 4
    thumb_off = ifd1_off + 2 + 12 * 2 + 4
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, thumb_off) \
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumb)) + struct.pack("<I", 0)
    tiff = b"II*\0" + struct.pack("<I", ifd0_off) + ifd0 + struct.pack("<I", ifd1_off) + ifd1 \
        + bytes(thumb)
    Image.fromarray(pattern_array(1400, 1050)).save(path, "JPEG", quality=85,
                                                   exif=b"Exif\0\0" + bytes(tiff))
    return path


def odd_exif(path: Path) -> Path:
    """Orientation 9 (no such thing), a rational with a zero denominator, a bogus IFD count."""
    exif = Image.Exif()
    exif[0x0112] = 9
    exif[0x011A] = IFDRational(72, 0)
    raw = bytearray(exif.tobytes())
    path.write_bytes(jpeg_bytes(80, 60, exif=bytes(raw[:-4]) + b"\xff\xff\xff\xff"))
    return path


def truncated(path: Path, data: bytes, keep: float) -> Path:
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


def symlink_loop(folder: Path, name: str) -> Path:
    a, b = folder / name, folder / (name + ".other")
    os.symlink(b.name, a)
    os.symlink(a.name, b)
    return a


def sample_jpeg(w: int = 640, h: int = 480) -> bytes:
    rng = np.random.default_rng(1)
    a = pattern_array(w, h).astype(np.int16) + rng.integers(-12, 12, size=(h, w, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# Run in a fresh interpreter per case, so ru_maxrss is that case's own peak.
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent's peak.
PEAK_FN = r"""
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
LOADER_CHILD = PEAK_FN + r"""
import json, sys, time
from aesview.core.imaging import ImageLoadError, load_image, load_original, load_thumbnail
out = {}
for op in sys.argv[2:]:
    t0 = time.monotonic()
    try:
        if op == "score":
            r = load_image(sys.argv[1], max_side=320).image.size
        elif op == "view":
            r = load_image(sys.argv[1], max_side=2560).image.size
        elif op == "thumb":
            r = load_thumbnail(sys.argv[1], 256).size
        else:
            r = load_original(sys.argv[1])[0].size
        out[op] = {"ok": list(r)}
    except ImageLoadError as e:
        out[op] = {"error": e.reason}
    out[op]["s"] = round(time.monotonic() - t0, 2)
out["peak_mb"] = peak_mb()
print(json.dumps(out))
"""


def build_bombs(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, expected outcome of decoding it: 'error' or 'ok')."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "png_196mp_rgb": (png_zeros(folder / "bomb-14000.png", 14000, 14000), "error"),
        "png_100mp_rgba": (png_zeros(folder / "big-10000-rgba.png", 10000, 10000, 6), "ok"),
        "png_ztxt_100mb": (png_text_bomb(folder / "ztxt.png"), "error"),
        "jpeg_claims_196mp": (jpeg_claiming(folder / "claims-14000.jpg", 14000, 14000), "error"),
        "jpeg_claims_4gp": (jpeg_claiming(folder / "claims-65000.jpg", 65000, 65000), "error"),
        "jpeg_progressive_100mp": (jpeg_progressive_big(folder / "prog-10000.jpg", 10000, 10000),
                                   "error"),
        "tiff_header_196mp": (tiff_header_only(folder / "header-14000.tif", 14000, 14000),
                              "error"),
        "tiff_header_36mp": (tiff_header_only(folder / "header-6000.tif", 6000, 6000), "error"),
        "bmp_rle8_196mp": (bmp_rle8_bomb(folder / "rle-14000.bmp", 14000, 14000), "error"),
        "bmp_rle8_36mp": (bmp_rle8_bomb(folder / "rle-6000.bmp", 6000, 6000), "error"),
        "exif_thumbnail_bomb": (exif_thumbnail_bomb(folder / "thumb-bomb.jpg"), "ok"),
    }
