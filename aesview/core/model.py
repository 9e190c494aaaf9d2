"""The GAP-CNN of Zhang et al. (2018): backbone -> last conv map -> global average pool ->
a two-class aesthetic head (low/high) and a K-way attribute head (independent sigmoids).

Because both heads are linear on the pooled features, every logit equals the spatial mean of
a class activation map plus the bias; `forward` returns the feature map so the maps come out
of the same pass as the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .backbones import Backbone, build_backbone
from .classes import HIGH as HIGH  # re-exported: tests name them here
from .classes import LOW as LOW
from .detail_net import DetailHead


@dataclass
class Output:
    aes_logits: torch.Tensor   # (N, 2)
    att_logits: torch.Tensor   # (N, K)
    features: torch.Tensor     # (N, C, h, w), last conv map

    @property
    def score(self) -> torch.Tensor:
        """P(high aesthetic class)."""
        return torch.softmax(self.aes_logits.float(), dim=1)[:, HIGH]

    @property
    def attributes(self) -> torch.Tensor:
        return torch.sigmoid(self.att_logits.float())


class AesNet(nn.Module):
    def __init__(self, backbone: Backbone, n_attributes: int, dropout: float = 0.2):
        super().__init__()
        self.backbone = backbone
        c = backbone.spec.channels
        self.dropout = nn.Dropout(dropout)
        self.aes_head = nn.Linear(c, 2)
        self.att_head = nn.Linear(c, n_attributes)
        # The detail view's head (core/detail.py), present when the model's card has one.
        self.detail_head: DetailHead | None = None

    def heads(self, features: torch.Tensor) -> Output:
        pooled = self.dropout(features.mean(dim=(2, 3)))
        return Output(self.aes_head(pooled), self.att_head(pooled), features)

    def forward(self, x: torch.Tensor, start: int = 0) -> Output:
        """`start` > 0 resumes from a cached output of backbone stage `start - 1`."""
        return self.heads(self.backbone(x, start=start))

    def head_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(W_aes (2, C), b_aes (2,), W_att (K, C), b_att (K,)) as float32 numpy arrays."""
        def np32(t: torch.Tensor) -> np.ndarray:
            return t.detach().float().cpu().numpy()
        return (np32(self.aes_head.weight), np32(self.aes_head.bias),
                np32(self.att_head.weight), np32(self.att_head.bias))


def build_model(architecture: str, n_attributes: int, imagenet: bool = False,
                imagenet_weights: str | Path | None = None, dropout: float = 0.2) -> AesNet:
    backbone = build_backbone(architecture, imagenet=imagenet, imagenet_weights=imagenet_weights)
    return AesNet(backbone, n_attributes, dropout=dropout)
