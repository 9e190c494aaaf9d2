"""Plain words for a score: which parts of the frame raise or lower it, which attributes stand out.

The AesAM is split into a 3x3 grid; each cell's share of the map's mean is its contribution to
logit(high) - logit(low) (the map's mean is that difference, minus the bias), so the words name
the cells that move the decision most.
"""

from __future__ import annotations

import numpy as np

from .maps import colorize, symmetric_limit, upsample

REGIONS = (("upper left", "top", "upper right"),
           ("left", "centre", "right"),
           ("lower left", "bottom", "lower right"))


def region_contributions(aesam: np.ndarray) -> np.ndarray:
    """(3, 3) array: each third-by-third cell's contribution to the map's mean (they sum to it)."""
    m = np.asarray(aesam, dtype=np.float64)
    if m.shape[0] % 3 or m.shape[1] % 3:
        # Bilinear resize to a multiple of 3 keeps small grids (e.g. 7x10) splittable evenly.
        m = upsample(m.astype(np.float32), (m.shape[0] * 3, m.shape[1] * 3)).astype(np.float64)
    h, w = m.shape
    cells = m.reshape(3, h // 3, 3, w // 3).sum(axis=(1, 3))
    return cells / m.size


def strongest_regions(aesam: np.ndarray, n: int = 2) -> list[tuple[str, float]]:
    """Up to n (region, contribution) pairs by absolute contribution, strongest first."""
    c = region_contributions(aesam)
    order = np.argsort(-np.abs(c), axis=None)[:n]
    out = []
    for flat in order:
        r, col = divmod(int(flat), 3)
        if abs(c[r, col]) > 1e-9:
            out.append((REGIONS[r][col], float(c[r, col])))
    return out


def region_sentences(aesam: np.ndarray) -> list[str]:
    """E.g. ["The centre raises the score most.", "The upper left lowers it most."]"""
    c = region_contributions(aesam)
    out = []
    r, col = np.unravel_index(int(np.argmax(c)), c.shape)
    if c[r, col] > 0:
        out.append(f"The {REGIONS[r][col]} raises the score most.")
    r, col = np.unravel_index(int(np.argmin(c)), c.shape)
    if c[r, col] < 0:
        out.append(f"The {REGIONS[r][col]} lowers it most.")
    if not out:
        out.append("No part of the frame moves the score much.")
    return out


def attribute_sentence(attributes: dict[str, float], n: int = 2) -> str:
    if not attributes:
        return ""
    items = sorted(attributes.items(), key=lambda kv: -kv[1])
    high = ", ".join(f"{k.replace('_', ' ')} ({v:.2f})" for k, v in items[:n])
    low = ", ".join(f"{k.replace('_', ' ')} ({v:.2f})" for k, v in items[::-1][:1])
    return f"Strongest attributes: {high}; weakest: {low}."


def describe(score: float | None, percentile: float | None, aesam: np.ndarray | None,
             attributes: dict[str, float] | None = None) -> str:
    parts = []
    if score is not None:
        s = f"Score {score:.2f}"
        # percentile is the share of the *other* photos scoring lower (records.rank).
        if percentile is not None and percentile >= 100:
            s += ", the best of this shoot"
        elif percentile is not None and percentile <= 0:
            s += ", the lowest of this shoot"
        elif percentile is not None:
            s += f", better than {percentile:.0f} % of the other photos in this shoot"
        parts.append(s + ".")
    if aesam is not None and aesam.size:
        parts.extend(region_sentences(aesam))
    if attributes:
        parts.append(attribute_sentence(attributes))
    return " ".join(parts)


def overlay_rgba(m: np.ndarray, size: tuple[int, int], cmap: str = "RdBu_r",
                 limit: float | None = None, fade_neutral: bool = True) -> np.ndarray:
    """A grid map rendered for display over the photo: bilinear upsampling to size=(height,
    width), a diverging colour map centred on zero, and (fade_neutral) alpha growing with the
    map's magnitude so neutral regions leave the photo visible. RGBA uint8."""

    big = upsample(np.asarray(m, dtype=np.float32), size)
    lim = limit or symmetric_limit(big)
    rgba = colorize(big, cmap=cmap, limit=lim, signed=True)
    if fade_neutral:
        # Zero evidence is the colour map's white; drawn opaque it would veil the photo and
        # ring every region with a pale halo, so alpha rises from 0 with the magnitude.
        strength = np.clip(np.abs(big) / lim, 0.0, 1.0) ** 0.7
        rgba[..., 3] = (235 * strength).astype(np.uint8)
    return rgba


def colorbar_rgba(cmap: str = "RdBu_r", width: int = 256, height: int = 12) -> np.ndarray:
    """The legend's colour bar: low (lowers the score) on the left, high on the right."""

    ramp = np.tile(np.linspace(-1.0, 1.0, width, dtype=np.float32), (height, 1))
    return colorize(ramp, cmap=cmap, limit=1.0, signed=True)


def display_size(image_size: tuple[int, int], long_side: int = 512) -> tuple[int, int]:
    """(height, width) with the photo's aspect and the given long side, for overlays."""
    w, h = image_size
    s = long_side / max(w, h)
    return max(1, round(h * s)), max(1, round(w * s))
