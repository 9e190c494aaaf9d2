"""What the GUI shows of the detail view (core/detail.py): whether its sentence belongs in the
explanation's words, its evidence as a signed map over the frame, and the looked-at patches'
outlines drawn on a rendered overlay. Plain numpy, no Qt."""

from __future__ import annotations

import numpy as np

from .detail import CHANNEL_WORDS, DetailResult

BOX_COLOUR = (255, 214, 0)   # yellow: apart from both ends of the diverging colour maps
BOX_EDGE = (0, 0, 0)
# The attribute each detail channel concerns. The attribute head reads the whole frame at the
# working size (320 px), where grain and slight softness of a camera frame mostly vanish: a
# photo whose grain the detail view names can still read "noise 0.96" there.
CHANNEL_ATTRIBUTE = {"noise": "noise", "blur": "sharpness", "compression": "compression"}


def moved(d: DetailResult | None) -> bool:
    """True when the detail view lowered the score as far as the words tell it: a cause is named
    and the two-decimal scores the sentence quotes differ. Otherwise its sentence would say
    something the photographer can't see in the score."""
    if d is None or not len(d.boxes):
        return False
    return bool(d.named()) and round(d.global_score, 2) != round(d.score, 2)


def seen_at_100(d: DetailResult | None) -> dict[str, str]:
    """Attribute -> what the detail view found of it at 100 % in the words' terms (e.g.
    {"noise": "grain"}), for the channels its sentence names, only when that sentence is shown
    (`moved`; it carries the numbers). The attribute's own bar reads the whole frame."""
    if not moved(d):
        return {}
    assert d is not None
    return {CHANNEL_ATTRIBUTE[c]: CHANNEL_WORDS.get(c, c) for c in d.named() if c in CHANNEL_ATTRIBUTE}


def signed_frame_map(d: DetailResult | None) -> np.ndarray | None:
    """The frame map as the overlays draw maps (negative lowers the score), at detail-image
    pixels: each evidence cell repeated over the `cell` pixels it stands for and cut to the
    detail image's size, so it lines up with the frame exactly (the cell grid overhangs the
    image's right and bottom edges by up to a cell). None without patches."""
    if d is None or not len(d.boxes):
        return None
    fm = d.frame_map()
    big = np.kron(fm, np.ones((d.cell, d.cell), np.float32))
    w, h = d.detail_size
    out: np.ndarray = -big[:h, :w]
    return out


def outline_boxes(rgba: np.ndarray, boxes: np.ndarray, image_size: tuple[int, int],
                  width: int = 2) -> np.ndarray:
    """`rgba` (H, W, 4) with each box (left, top, right, bottom, full-resolution pixels of a
    photo of `image_size` = (width, height)) outlined opaque in BOX_COLOUR with a one-pixel dark
    edge each side, so it shows on light and dark photos alike. Draws in place; returns rgba."""
    hh, ww = rgba.shape[:2]
    sx, sy = ww / image_size[0], hh / image_size[1]
    for left, top, right, bottom in np.asarray(boxes, np.float64):
        x0, x1 = int(round(left * sx)), int(round(right * sx)) - 1
        y0, y1 = int(round(top * sy)), int(round(bottom * sy)) - 1
        x0, y0 = max(1, x0), max(1, y0)
        x1, y1 = min(ww - 2, x1), min(hh - 2, y1)
        if x1 - x0 <= 2 * width or y1 - y0 <= 2 * width:
            continue
        _ring(rgba, x0 - 1, y0 - 1, x1 + 1, y1 + 1, width + 1, BOX_EDGE)
        _ring(rgba, x0, y0, x1, y1, width - 1, BOX_COLOUR)
    return rgba


def _ring(rgba: np.ndarray, x0: int, y0: int, x1: int, y1: int, t: int,
          colour: tuple[int, int, int]) -> None:
    """A frame t+1 pixels thick inside (x0, y0)-(x1, y1), inclusive."""
    px = np.array((*colour, 255), np.uint8)
    rgba[y0:y0 + t + 1, x0:x1 + 1] = px
    rgba[y1 - t:y1 + 1, x0:x1 + 1] = px
    rgba[y0:y1 + 1, x0:x0 + t + 1] = px
    rgba[y0:y1 + 1, x1 - t:x1 + 1] = px
