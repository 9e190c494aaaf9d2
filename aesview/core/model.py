"""The GAP-CNN of Zhang et al. (2018): backbone -> last conv map -> global average pool ->
a two-class aesthetic head (low/high) and a K-way attribute head (independent sigmoids).

Because both heads are linear on the pooled features, every logit equals the spatial mean of
a class activation map plus the bias; `forward` returns the feature map so the maps come out
of the same pass as the scores.

Multi-level head (card `head.levels`, off unless a card asks for it): the heads also read the
outputs of earlier stages. Each is average-pooled down to the last map's grid — the input is a
multiple of the backbone's stride, so the pooling windows tile the level exactly — multiplied by
its fixed scale and stacked before the last map's channels. A tiling mean of a mean is the mean,
so `features.mean((2, 3))` is exactly each level's own spatial mean (scaled) beside the last
map's: the heads are GAP heads over all levels, and every class activation map made from
`features` (scoring's AesAM / AttAM / high-class map, the crop, the map loss) is exact as before,
only wider. Each cell of the map then holds its window's share of every level's evidence.
The score pass and the crop read the levels off their fused passes (core/level_taps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .backbones import Backbone, build_backbone, stage_channels
from .classes import HIGH as HIGH  # re-exported: tests name them here
from .classes import LOW as LOW
from .detail_net import DetailHead
from .head_spec import HeadSpec


@dataclass
class Output:
    aes_logits: torch.Tensor   # (N, 2)
    att_logits: torch.Tensor   # (N, K)
    features: torch.Tensor     # (N, C, h, w): the last conv map (after the pooled levels, if any)

    @property
    def score(self) -> torch.Tensor:
        """P(high aesthetic class)."""
        return torch.softmax(self.aes_logits.float(), dim=1)[:, HIGH]

    @property
    def attributes(self) -> torch.Tensor:
        return torch.sigmoid(self.att_logits.float())


@dataclass
class Staged:
    """Where training resumes the network at stage `start`: that stage's input `x`, and the
    outputs of the head's levels below `start`, already pooled to the last map's grid and
    concatenated in level order, unscaled (what the prefix cache holds for them)."""
    x: torch.Tensor
    pooled: torch.Tensor

    def __getitem__(self, idx: int | slice | list[int] | torch.Tensor) -> Staged:
        return Staged(self.x[idx], self.pooled[idx])

    def __len__(self) -> int:
        return len(self.x)


class AesNet(nn.Module):
    def __init__(self, backbone: Backbone, n_attributes: int, dropout: float = 0.2,
                 head: HeadSpec | None = None):
        super().__init__()
        self.backbone = backbone
        n = len(backbone.stages)
        self.levels: tuple[int, ...] = head.levels if head is not None else ()
        if self.levels and self.levels[-1] >= n - 1:
            raise ValueError(f"head.levels must be stages before the last ({n - 1}), "
                             f"not {list(self.levels)}")
        self.level_channels = tuple(stage_channels(backbone.stages[i]) for i in self.levels)
        c = backbone.spec.channels + sum(self.level_channels)
        if head is not None:
            # In the state dict too, so a checkpoint and a model file carry the scales they
            # were trained with; the card repeats them for readers (load_model checks both agree).
            self.register_buffer("level_scale", torch.tensor(head.scales, dtype=torch.float32))
        self.dropout = nn.Dropout(dropout)
        self.aes_head = nn.Linear(c, 2)
        self.att_head = nn.Linear(c, n_attributes)
        # The detail view's head (core/detail.py), present when the model's card has one.
        self.detail_head: DetailHead | None = None

    @property
    def head_spec(self) -> HeadSpec | None:
        """The card's `head` section for this network (its scales as they are now)."""
        if not self.levels:
            return None
        return HeadSpec(self.levels, tuple(float(v) for v in self._scale().tolist()))

    def set_level_scales(self, scales: Sequence[float]) -> None:
        self._scale().copy_(torch.as_tensor(list(scales), dtype=torch.float32))

    def _scale(self) -> torch.Tensor:
        scale = self.level_scale
        assert isinstance(scale, torch.Tensor)
        return scale

    def heads(self, features: torch.Tensor) -> Output:
        pooled = self.dropout(features.mean(dim=(2, 3)))
        return Output(self.aes_head(pooled), self.att_head(pooled), features)

    def forward(self, x: torch.Tensor | Staged, start: int = 0) -> Output:
        """`start` > 0 resumes from a cached output of backbone stage `start - 1` (a `Staged`
        when the head reads levels below `start`)."""
        return self.heads(self.features(x, start=start))

    def features(self, x: torch.Tensor | Staged, start: int = 0) -> torch.Tensor:
        """The map the heads pool: the last conv map, after the pooled levels if any."""
        if not self.levels:
            if isinstance(x, Staged):
                raise ValueError("a Staged input for a model whose head reads the last map alone")
            out: torch.Tensor = self.backbone(x, start=start)
            return out
        given = None
        if isinstance(x, Staged):
            given, y = x.pooled, x.x
        else:
            y = x
        if given is None and self.levels[0] < start:
            raise ValueError(f"resuming at stage {start} needs the pooled outputs of levels "
                             f"{[i for i in self.levels if i < start]} (a Staged input)")
        kept = []
        for i, stage in enumerate(self.backbone.stages[start:], start):
            y = stage(y)
            if i in self.levels:
                kept.append(y)
        parts = [given] if given is not None else []
        if kept:
            parts.append(pool_to(kept, y.shape[-2:]))
        return self.join(torch.cat(parts, 1), y)

    def prefix(self, x: torch.Tensor, stop: int) -> torch.Tensor | Staged:
        """Stages [0, stop): their output, with the pooled levels below `stop` (a `Staged`) when
        the head reads any: what training caches once per sample."""
        below = [i for i in self.levels if i < stop]
        if not below:
            out: torch.Tensor = self.backbone(x, stop=stop)
            return out
        stride = self.backbone.spec.stride
        h, w = x.shape[-2:]
        if h % stride or w % stride:
            raise ValueError(f"the multi-level head needs sides that are multiples of {stride}, "
                             f"not {w} x {h}")
        kept = []
        for i, stage in enumerate(self.backbone.stages[:stop]):
            x = stage(x)
            if i in below:
                kept.append(x)
        return Staged(x, pool_to(kept, (h // stride, w // stride)))

    def join(self, pooled: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Scaled pooled levels (unscaled in, level order) stacked before the last map."""
        s = self._scale()
        scale = torch.repeat_interleave(s, torch.tensor(self.level_channels, device=s.device))
        return torch.cat([pooled.to(last.dtype) * scale.to(last.dtype)[None, :, None, None], last], 1)

    def head_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(W_aes (2, C), b_aes (2,), W_att (K, C), b_att (K,)) as float32 numpy arrays."""
        def np32(t: torch.Tensor) -> np.ndarray:
            return t.detach().float().cpu().numpy()
        return (np32(self.aes_head.weight), np32(self.aes_head.bias),
                np32(self.att_head.weight), np32(self.att_head.bias))


def pool_to(outs: Sequence[torch.Tensor], grid: Sequence[int]) -> torch.Tensor:
    """Each (N, C_i, H_i, W_i) output average-pooled to `grid` (windows that tile it exactly:
    H_i a multiple of grid[0], W_i of grid[1]), concatenated along channels."""
    gh, gw = int(grid[0]), int(grid[1])
    parts = []
    for o in outs:
        h, w = o.shape[-2:]
        if h % gh or w % gw:
            raise ValueError(f"a {w} x {h} level does not tile the last map's {gw} x {gh} grid "
                             "(the input's sides must be multiples of the backbone's stride)")
        parts.append(o if (h, w) == (gh, gw) else F.avg_pool2d(o, (h // gh, w // gw)))
    return torch.cat(parts, 1)


def build_model(architecture: str, n_attributes: int, imagenet: bool = False,
                imagenet_weights: str | Path | None = None, dropout: float = 0.2,
                head: HeadSpec | None = None) -> AesNet:
    backbone = build_backbone(architecture, imagenet=imagenet, imagenet_weights=imagenet_weights)
    return AesNet(backbone, n_attributes, dropout=dropout, head=head)
