"""The GAP heads' inputs as a model card states them (card `head`), read without torch.

Absent, the heads read the last conv map alone (every model before the multi-level head).
With `levels`, they also read the outputs of those backbone stages, each average-pooled to the
last map's grid and multiplied by its fixed `scales` entry (core/model.py says why this keeps
every class activation map exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HeadSpec:
    levels: tuple[int, ...]      # backbone stage indices, ascending, all before the last stage
    scales: tuple[float, ...]    # one fixed multiplier per level

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError("head.levels is empty (leave `head` out for the last map alone)")
        if list(self.levels) != sorted(set(self.levels)) or self.levels[0] < 0:
            raise ValueError(f"head.levels must be distinct ascending stage indices, not {list(self.levels)}")
        if len(self.scales) != len(self.levels):
            raise ValueError(f"head.level_scales has {len(self.scales)} entries for "
                             f"{len(self.levels)} levels")
        if not all(0 < s < 1e6 for s in self.scales):
            raise ValueError("head.level_scales must be positive and finite")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HeadSpec:
        levels = tuple(int(v) for v in d["levels"])
        scales = tuple(float(v) for v in d.get("level_scales", [1.0] * len(levels)))
        return cls(levels, scales)

    def to_dict(self) -> dict[str, Any]:
        return {"levels": list(self.levels), "level_scales": list(self.scales)}
