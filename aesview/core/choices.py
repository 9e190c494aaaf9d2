"""The app's fixed choices, each declared once with its label: settings validate against these,
the CLI offers them, and the GUI builds its menus, combos and shortcuts from them.

Crop aspects are declared in `core.crop.ASPECT_PRESETS` (beside the search that reads them);
the grid's filters in `core.culling.FILTERS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    key: str            # what settings store and code compares
    label: str          # what a menu or combo shows
    shortcut: str = ""  # the app's key for it, if it has one
    tip: str = ""       # one line for a tooltip or a status bar


# Heat-map overlay on the big photo. Off is first and the default: a tint over every photo
# would keep colour from being judged while culling.
OVERLAYS: tuple[Choice, ...] = (
    Choice("none", "Off", "O", "no heat map: the photo's own colours"),
    Choice("aesam", "AesAM", "A", "the signed aesthetic map: red raises the score, blue lowers it"),
    Choice("attam", "AttAM", "T", "the map of one attribute: red is evidence for it, blue against"),
    Choice("detail", "At 100 %", "D", "the detail view: the patches looked at at full size (outlined) "
                                      "and where their grain, softness or compression lowered the score"),
    Choice("crop", "Crop evidence", "E", "what the proposed crop keeps: the subject, the AesAM, "
                                          "detail and the centre, as weighted (core.crop)"),
)

SORTS: tuple[Choice, ...] = (
    Choice("score", "Score", tip="best first; unscored photos last"),
    Choice("name", "Name"),
    Choice("time", "Capture time", tip="EXIF DateTimeOriginal, else the file's modification time"),
)

# weights.pick_device turns one of these into a torch device.
DEVICES: tuple[Choice, ...] = (
    Choice("auto", "Auto (CUDA if present)"),
    Choice("cpu", "CPU"),
    Choice("cuda", "CUDA"),
)

SIDECAR_STYLES: tuple[Choice, ...] = (
    Choice("darktable", "IMG_1.jpg.xmp (darktable, digiKam)"),
    Choice("basename", "IMG_1.xmp (Lightroom for raw, Capture One, Photo Mechanic)"),
    Choice("both", "Both names, kept in step"),
)


def keys(choices: Sequence[Choice]) -> tuple[str, ...]:
    return tuple(c.key for c in choices)


def label(choices: Sequence[Choice], key: str) -> str:
    for c in choices:
        if c.key == key:
            return c.label
    raise KeyError(f"{key!r} is not one of {', '.join(keys(choices))}")
