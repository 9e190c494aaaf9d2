"""Class activation maps (Zhou et al. 2016) as numpy-in / numpy-out functions.

AesAM is the signed two-class map M = sum_k (W[high,k] - W[low,k]) f_k. Its spatial mean plus
(b_high - b_low) is exactly logit_high - logit_low, so the map *is* the decision spread over the
frame: positive regions raise the score, negative ones lower it. AttAM for attribute a is
sum_k W_att[a,k] f_k, whose mean plus b_att[a] is that attribute's logit.
"""

from __future__ import annotations

import numpy as np

from .classes import HIGH, LOW


def aesam(features: np.ndarray, w_aes: np.ndarray) -> np.ndarray:
    """Signed aesthetic map (h, w) from one photo's features (C, h, w)."""
    return np.tensordot(w_aes[HIGH] - w_aes[LOW], features, axes=(0, 0))


def class_map(features: np.ndarray, w_aes: np.ndarray, cls: int = HIGH) -> np.ndarray:
    """The paper's per-class CAM, for the high class by default."""
    return np.tensordot(w_aes[cls], features, axes=(0, 0))


def attam(features: np.ndarray, w_att: np.ndarray) -> np.ndarray:
    """One map per attribute: (K, h, w)."""
    return np.tensordot(w_att, features, axes=(1, 0))


def upsample(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a (h, w) or (K, h, w) map to (height, width) = size.

    Cell centres are aligned (align_corners=False), so a mirrored map upsamples to the mirror of
    the upsampled map."""
    from PIL import Image

    height, width = size
    if m.ndim == 3:
        return np.stack([upsample(x, size) for x in m])
    img = Image.fromarray(np.ascontiguousarray(m, dtype=np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def symmetric_limit(m: np.ndarray, percentile: float = 99.0) -> float:
    """A colour-scale limit that keeps zero at the centre of a diverging map."""
    lim = float(np.percentile(np.abs(m), percentile)) if m.size else 0.0
    return lim if lim > 1e-12 else 1.0


def colorize(m: np.ndarray, cmap: str = "RdBu_r", limit: float | None = None,
             signed: bool = True) -> np.ndarray:
    """RGBA uint8 image of a map. Signed maps use a diverging colour map centred on zero
    (red = evidence for a high score, blue = against, by default); unsigned ones are scaled
    to their own range."""
    from matplotlib import colormaps

    if signed:
        lim = limit or symmetric_limit(m)
        norm = np.clip(0.5 + 0.5 * m / lim, 0.0, 1.0)
    else:
        lo, hi = float(m.min()), float(m.max())
        norm = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    return (colormaps[cmap](norm) * 255).astype(np.uint8)


def blend(rgb: np.ndarray, overlay_rgba: np.ndarray, opacity: float) -> np.ndarray:
    """Alpha-blend a colourised map over an RGB photo of the same size."""
    a = opacity * overlay_rgba[..., 3:4].astype(np.float32) / 255.0
    out = rgb.astype(np.float32) * (1 - a) + overlay_rgba[..., :3].astype(np.float32) * a
    return out.clip(0, 255).astype(np.uint8)
