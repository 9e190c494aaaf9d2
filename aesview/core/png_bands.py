"""Decoding a big PNG a band of rows at a time, so that no full-size frame is ever held.

Pillow decodes a PNG only whole (a 100 MP RGBA file is a 400 MB frame even for a 256 px
thumbnail) and cannot reduce it on decode. Here the IDAT stream is inflated a band at a time,
and Pillow's own PNG filter decoder undoes the row filters of each band: the band's filtered rows
are handed to it behind one unfiltered row (filter type 0) holding the previous band's last row,
the context its Up / Average / Paeth filters need. Pillow's raw decoder then unpacks the band into
the mode Pillow itself gives the file, so each band is exactly the rows Pillow would decode.

Interlaced (Adam7) files, 16-bit RGB(A) (six or eight bytes a pixel, which no Pillow mode holds
as they are stored) and animated PNGs are not handled here: `layout` returns None for them.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# A Pillow mode whose raw rawmode stores `n` bytes a pixel exactly as they come, so its zip
# decoder undoes the filters with the right byte distance and tobytes() gives them back.
_FILTER_MODE = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "I;16", "I"})
_READ = 1 << 20


class Truncated(Exception):
    """The file ends (or its compressed data does) before the rows its header promises."""


@dataclass
class Layout:
    width: int
    height: int
    row_bytes: int               # one row as stored, without its filter byte
    filter_mode: str             # see _FILTER_MODE
    mode: str                    # what Pillow gives the file
    rawmode: str
    exif: bytes | None = None    # an eXIf chunk after the image data, found while reading it


def layout(fp: BinaryIO, im: Image.Image) -> Layout | None:
    """How to read `im` (opened from `fp`) in bands, or None where only Pillow can."""
    if im.format != "PNG" or getattr(im, "n_frames", 1) != 1 or im.mode not in _MODES:
        return None
    tile = getattr(im, "tile", None) or []      # Image.open gives an ImageFile
    if len(tile) != 1 or tile[0][0] != "zip":
        return None
    args = tile[0][3]
    rawmode = args if isinstance(args, str) else args[0] if isinstance(args, tuple) else None
    if not isinstance(rawmode, str):
        return None
    fp.seek(8)
    head = fp.read(8 + 13)
    if len(head) < 21 or head[4:8] != b"IHDR":
        return None
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", head[8:21])
    if interlace or ctype not in _CHANNELS or (w, h) != im.size:
        return None
    bits = _CHANNELS[ctype] * depth
    filter_bytes = max(1, bits // 8)
    if filter_bytes not in _FILTER_MODE:
        return None
    row_bytes = (w * bits + 7) // 8
    return Layout(w, h, row_bytes, _FILTER_MODE[filter_bytes], im.mode, rawmode)


def _idat(fp: BinaryIO, lay: Layout) -> Iterator[bytes]:
    """The IDAT chunks' data, in pieces; notes an eXIf chunk on the way."""
    fp.seek(8)
    while True:
        head = fp.read(8)
        if len(head) < 8:
            return
        n, kind = struct.unpack(">I4s", head)
        if kind == b"IDAT":
            left = n
            while left:
                part = fp.read(min(left, _READ))
                if not part:
                    return
                left -= len(part)
                yield part
            fp.seek(4, 1)                                       # CRC (Pillow skips it too)
        elif kind == b"IEND":
            return
        elif kind == b"eXIf" and n < 1 << 20:
            lay.exif = b"Exif\x00\x00" + fp.read(n)
            fp.seek(4, 1)
        else:
            fp.seek(n + 4, 1)


def bands(fp: BinaryIO, lay: Layout, rows: int, im: Image.Image) -> Iterator[tuple[int, Image.Image]]:
    """(first row, band) for bands of `rows` rows, top to bottom, in Pillow's mode for the file
    (a palette image carries the file's palette and transparency). Raises Truncated."""
    stride = lay.row_bytes + 1
    pieces = _idat(fp, lay)
    inflate = zlib.decompressobj()
    previous = bytes(lay.row_bytes)          # PNG filters see zeros above the first row
    fw = lay.row_bytes // Image.getmodebands(lay.filter_mode)
    y = 0
    while y < lay.height:
        n = min(rows, lay.height - y)
        # The band's filtered rows behind the previous band's last row, unfiltered (type 0):
        # inflated exactly to size, joined once.
        parts = [b"\0", previous]
        room = n * stride
        while room:
            if inflate.unconsumed_tail:
                more = inflate.decompress(inflate.unconsumed_tail, room)
            elif inflate.eof or (piece := next(pieces, None)) is None:
                raise Truncated
            else:
                more = inflate.decompress(piece, room)
            parts.append(more)
            room -= len(more)
        stream = zlib.compress(b"".join(parts), 0)
        del parts
        filtered = Image.new(lay.filter_mode, (fw, n + 1))
        decoder = Image._getdecoder(lay.filter_mode, "zip", lay.filter_mode)
        decoder.setimage(filtered.im, (0, 0, fw, n + 1))
        try:
            _, err = decoder.decode(stream)
        finally:
            decoder.cleanup()
        del stream
        if err < 0:                          # a filter type PNG does not have
            raise ValueError("broken data stream when reading image file")
        raw = filtered.tobytes("raw", lay.filter_mode)
        del filtered
        previous = raw[-lay.row_bytes:]
        band = Image.frombytes(lay.mode, (lay.width, n), memoryview(raw)[lay.row_bytes:], "raw",
                               lay.rawmode)
        del raw
        if lay.mode == "P" and im.palette is not None:
            band.putpalette(im.palette.palette, im.palette.rawmode or im.palette.mode)
            if "transparency" in im.info:
                band.info["transparency"] = im.info["transparency"]
        yield y, band
        y += n
    for _ in pieces:                         # to the end, for an eXIf chunk after the pixels
        pass
