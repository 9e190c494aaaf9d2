"""The plain record every layer passes around: one photo's score, attributes and maps."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .detail import DetailResult


@dataclass
class ScoreRecord:
    path: str
    score: float | None = None          # P(high aesthetic class)
    attributes: dict[str, float] = field(default_factory=dict)
    aesam: np.ndarray | None = None     # (h, w) float32 signed grid map
    attam: np.ndarray | None = None     # (K, h, w) float32
    highmap: np.ndarray | None = None   # (h, w) float32, the paper's high-class CAM
    subject: np.ndarray | None = None   # (h, w) float32, where the subject is (core.subject_cue)
    image_size: tuple[int, int] | None = None  # full-resolution (w, h) after EXIF orientation
    embedding: np.ndarray | None = None  # float16, for grouping bursts (core.bursts.make_embedding)
    detail: DetailResult | None = None  # the detail view's patches and maps (core/detail.py)
    error: str | None = None
    cached: bool = False
    rank: int | None = None             # 1 = best in its set
    percentile: float | None = None     # share of the set scoring below, 0..100

    @property
    def ok(self) -> bool:
        return self.error is None and self.score is not None


def rank(records: list[ScoreRecord]) -> list[ScoreRecord]:
    """Scored records best first with rank and percentile filled, failed ones after them."""
    pairs = sorted(((r.score, r) for r in records if r.ok and r.score is not None),
                   key=lambda sr: (-sr[0], sr[1].path))     # best first; ties by path
    scored = [r for _, r in pairs]
    n = len(scored)
    ascending = sorted(s for s, _ in pairs)
    for i, (score, rec) in enumerate(pairs):
        rec.rank = i + 1
        below = bisect.bisect_left(ascending, score)
        rec.percentile = 100.0 * below / (n - 1) if n > 1 else 100.0
    failed = [r for r in records if not r.ok]
    for rec in failed:
        rec.rank = rec.percentile = None
    return scored + failed
