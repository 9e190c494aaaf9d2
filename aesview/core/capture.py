"""When a photo was taken, to the fraction of a second: EXIF DateTimeOriginal plus
SubSecTimeOriginal (a burst at 10 frames per second has ten frames in one EXIF second).

Only the camera's clock counts here. The file's modification time says when it was copied,
and a card copied in one go would look like one long burst, so a photo without the EXIF
date has no capture time (None) and bursts are found from what it shows instead.
"""

from __future__ import annotations

import os
from datetime import datetime

from PIL import Image

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 36867
SUBSEC_ORIGINAL = 37521
DATETIME_DIGITIZED = 36868
SUBSEC_DIGITIZED = 37522


def parse_exif_time(text: object, subsec: object = None) -> float | None:
    """'2026:12:01 14:03:07' (+ '25' = .25 s) -> seconds since the epoch in the camera's
    local time, or None when it is not a date (cameras write '0000:00:00 00:00:00')."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        when = datetime.strptime(str(text).strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    seconds = when.timestamp()
    if subsec is not None:
        if isinstance(subsec, bytes):
            subsec = subsec.decode("ascii", "replace")
        digits = "".join(c for c in str(subsec).strip() if c.isdigit())
        if digits:
            seconds += int(digits) / 10 ** len(digits)  # "5" is .5 s, "050" is .05 s
    return seconds


def header_exif(im: Image.Image) -> Image.Exif:
    """The EXIF a file's header holds, without decoding its pixels. PIL's getexif() on a PNG
    decodes the whole image to look for an eXIf chunk after the pixel data: 400 MB for a
    100 MP RGBA file, on every thread that asks (issue 13). A PNG's EXIF before its pixels is
    in `info` once opened; one after them is not worth a decode."""
    if im.format == "PNG":
        exif = Image.Exif()
        data = im.info.get("exif")
        if isinstance(data, bytes):
            exif.load(data)
        return exif
    return im.getexif()


def exif_capture_time(path: str | os.PathLike[str]) -> float | None:
    """DateTimeOriginal + SubSecTimeOriginal (else the Digitized pair), or None."""
    try:
        with Image.open(path) as im:
            ifd = header_exif(im).get_ifd(EXIF_IFD)
    except Exception:  # noqa: BLE001 - no readable EXIF is "no capture time", not an error
        return None
    for date_tag, sub_tag in ((DATETIME_ORIGINAL, SUBSEC_ORIGINAL),
                              (DATETIME_DIGITIZED, SUBSEC_DIGITIZED)):
        t = parse_exif_time(ifd.get(date_tag), ifd.get(sub_tag))
        if t is not None:
            return t
    return None
