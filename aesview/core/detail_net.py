"""The detail view's network parts (core/detail.py says how the view works): the head on the
frozen prefix's features, the channels-last copy of that prefix, and the prefix's pass over the
patches. Apart from detail.py because they need torch, which the GUI loads only in its workers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .detail import CHANNELS
from .preprocess import Normalization, normalize


class DetailHead(nn.Module):
    """1x1 convolution + ReLU on the prefix's features: (P, C_in, h, w) -> (P, channels, h, w)."""

    def __init__(self, channels_in: int, channels: int = len(CHANNELS)):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.relu(self.conv(features))
        return out


def patch_features(backbone: nn.Module, patches: np.ndarray,
                   normalization: Normalization | Mapping[str, Sequence[float]],
                   stage: int, device: torch.device | None = None) -> torch.Tensor:
    """The frozen prefix's output for uint8 patches (P, S, S, 3)."""
    x = normalize(patches, normalization)
    if device is not None:
        x = x.to(device)
    out: torch.Tensor = backbone(x, stop=stage)
    return out
