"""Judging crops against hand-marked subject boxes (tests/data/crop_subjects.json).

Retention of a crop = the share of the subject box's area inside the crop. A crop of a given
shape may be unable to hold the whole subject (a 9:16 strip of a landscape photo of a wide car),
so it is normalised by the best any window of that shape could do: the largest window of the
aspect, slid to the position that keeps the most of the subject.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .crop import Box, _max_box

MARKED_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "crop_subjects.json"


@dataclass(frozen=True)
class Marked:
    path: Path
    subject: tuple[float, float, float, float]   # fractions of the upright photo
    what: str
    split: str                                   # "validation" or "test"
    source: str = ""                             # the shot it shows (a photo and its variants share it)

    def box(self, size: tuple[int, int]) -> Box:
        w, h = size
        x0, y0, x1, y1 = self.subject
        return round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)


def load_marked(path: str | Path = MARKED_SET) -> list[Marked]:
    """The marked photos; paths in the file are relative to the repository root."""
    path = Path(path)
    root = path.resolve().parents[2]
    doc = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for p in doc["photos"]:
        x0, y0, x1, y1 = (float(v) for v in p["subject"])
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"{p['path']}: subject box {p['subject']} is not inside the frame")
        out.append(Marked((root / p["path"]).resolve(), (x0, y0, x1, y1), p["what"], p["split"],
                          p.get("source", "")))
    return out


def overlap(a: Box, b: Box) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def _best_1d(lo: int, hi: int, length: int, span: int) -> tuple[int, int]:
    """The window [x, x + span) inside [0, length) that overlaps [lo, hi) the most."""
    if span >= hi - lo:
        x = min(max(0, lo), length - span)
        x = min(max(x, hi - span), length - span)
        x = max(0, x)
    else:
        x = min(max(0, lo), length - span)
    return x, x + span


def best_window(size: tuple[int, int], aspect: float, subject: Box) -> Box:
    """The largest window of `aspect` placed to keep the most of `subject`. The window spans
    the photo along one side, so only the other coordinate moves; the overlap is the product
    of two 1-D overlaps, each maximised on its own."""
    w, h = size
    pw, ph = _max_box(w, h, aspect)
    x0, x1 = _best_1d(subject[0], subject[2], w, pw)
    y0, y1 = _best_1d(subject[1], subject[3], h, ph)
    return x0, y0, x1, y1


def retention(crop: Box, subject: Box) -> float:
    area = (subject[2] - subject[0]) * (subject[3] - subject[1])
    return overlap(crop, subject) / area if area > 0 else 0.0


def normalised_retention(crop: Box, subject: Box, size: tuple[int, int], aspect: float) -> float:
    """retention(crop) / retention(best window of that shape), capped at 1."""
    best = retention(best_window(size, aspect, subject), subject)
    return min(1.0, retention(crop, subject) / best) if best > 0 else 1.0
