"""Photo -> network input. The whole frame is kept (no centre crop): the long side is scaled to
the working size and each side rounded to a multiple of the backbone stride, so the aspect ratio
moves by at most half a stride and photos of one shape batch together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


def target_size(width: int, height: int, long_side: int, multiple: int = 32) -> tuple[int, int]:
    scale = long_side / max(width, height)

    def snap(v: float) -> int:
        return max(multiple, int(round(v * scale / multiple)) * multiple)
    return snap(width), snap(height)


def to_array(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 (H, W, 3) at `size` = (width, height)."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    if img.size != size:
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8)


@dataclass(frozen=True)
class Normalization:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def normalize(batch_uint8: np.ndarray,
              normalization: Normalization | Mapping[str, Sequence[float]]) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32, normalised as the card (typed) or a backbone
    spec (a dict) says."""
    import torch  # here, not at the top: the GUI imports this module before any torch is loaded

    mean_v: Sequence[float]
    std_v: Sequence[float]
    if isinstance(normalization, Normalization):
        mean_v, std_v = normalization.mean, normalization.std
    else:
        mean_v, std_v = normalization["mean"], normalization["std"]
    x = (torch.from_numpy(np.array(batch_uint8, copy=not batch_uint8.flags.writeable))
         .permute(0, 3, 1, 2).float().div_(255))
    mean = torch.tensor(mean_v).view(1, 3, 1, 1)
    std = torch.tensor(std_v).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)
