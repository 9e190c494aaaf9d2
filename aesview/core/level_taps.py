"""A multi-level head's levels (core/model.py) read off a pass over fused stage copies.

A tap in place of each level's stage, inside the segment that runs it, pools the stage's output
to the last map's grid while the pass runs, so the pass is neither run twice nor cut at the
levels. Cutting it there cost about 4-5 ms a 12-MP photo in the score pass
(tools/score_cpu.py): each cut hands back a contiguous copy of a large early output, converted
back to channels-last by the next segment. The taps collect only inside `collecting`, so another
pass through the same segments (the detail patches) leaves them alone.

The tap wraps the stage in the segment's own container (a FusedStages' copies, or the Sequential
fuse_stages falls back to), never the stage itself: where fusing fell back, the stage is the
model's own, shared by every scorer and crop analyzer built on the model. A forward hook there
stayed on the model after its owner was gone, one more set for each owner built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .fused import FusedStages
from .model import AesNet, pool_to


class Tap(nn.Module):
    """A stage as its segment runs it: its output, unchanged, is also handed to `seen`."""

    def __init__(self, stage: nn.Module, seen: Callable[[torch.Tensor], None]):
        super().__init__()
        self.stage = stage
        self.seen = seen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.stage(x)
        self.seen(out)
        return out


class LevelTaps:
    def __init__(self, net: AesNet, segments: Sequence[tuple[int, nn.Module]]):
        """`segments`: (first stage index, the module running stages from there), covering every
        level; a segment is a FusedStages or a Sequential of stages (fuse_stages' fallback),
        owned by the caller: a tap replaces the level's entry in its container (the stage
        itself, and the model, are left unchanged)."""
        self.net = net
        self._grid: tuple[int, int] | None = None
        self._got: dict[int, list[torch.Tensor]] = {i: [] for i in net.levels}
        runs = []
        for start, seg in segments:
            inner = seg.stages if isinstance(seg, FusedStages) else seg
            if not isinstance(inner, (nn.ModuleList, nn.Sequential)):
                raise TypeError(f"a segment must be FusedStages or Sequential, not {type(seg).__name__}")
            if inner is net.backbone.stages:
                raise ValueError("the model's own stage list is not a segment: tap a container of "
                                 "its stages (fuse_stages' fallback), not the model")
            runs.append((start, inner))
        for level in net.levels:
            found = [(inner, level - start) for start, inner in runs if start <= level < start + len(inner)]
            if not found:
                raise ValueError(f"stage {level} is in none of the segments given")
            inner, at = found[0]
            inner[at] = Tap(inner[at], self._collector(level))

    def _collector(self, level: int) -> Callable[[torch.Tensor], None]:
        def seen(out: torch.Tensor) -> None:
            if self._grid is not None:
                self._got[level].append(pool_to([out], self._grid))
        return seen

    @contextmanager
    def collecting(self, x: torch.Tensor) -> Iterator[None]:
        """Collect the levels of the passes run inside, for the network input `x` (photo after
        photo of a batch is fine: they are stacked in the order they ran)."""
        stride = self.net.backbone.spec.stride
        self.clear()
        self._grid = (x.shape[-2] // stride, x.shape[-1] // stride)
        try:
            yield
        finally:
            self._grid = None

    def join(self, last: torch.Tensor) -> torch.Tensor:
        """The heads' map from the last map and the levels collected; the collection is emptied."""
        pooled = torch.cat([torch.cat(self._got[i]) for i in self.net.levels], 1)
        self.clear()
        return self.net.join(pooled, last)

    def clear(self) -> None:
        for v in self._got.values():
            v.clear()

    @property
    def pending(self) -> int:
        return sum(len(v) for v in self._got.values())
