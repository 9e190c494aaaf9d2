"""Map-guided crop: the window of a chosen aspect that keeps the aesthetic evidence.

The signed AesAM grid M (positive = evidence for a high score) is upsampled bilinearly to a
working grid of `grid` cells on the photo's long side (same aspect as the photo). With
P = max(M, 0), N = max(-M, 0) and sums over the cells of a window W, each window scores

    J(W) = P(W) - lam * (P_total - P(W)) - mu * N(W)
           kept positive evidence, minus the positive evidence cut away, minus the negative
           evidence kept.

Since J = (1 + lam) P(W) - mu N(W) - lam P_total, only mu / (1 + lam) decides the winner: with
the defaults (lam = mu = 1) a strip is cut off only when it holds at least twice as much
evidence against the photo as for it. Windows keep the requested aspect exactly and range over
every grid position and every scale from the largest window of that aspect down to
`min_scale` of its side, so the crop never collapses onto a speck. Summed-area tables make
each window's sums O(1). Ties (common: a map that is zero outside the subject) go to the larger
window, then to the one whose centre is nearest the centroid of the positive evidence (the
frame's centre when there is none). A uniform positive map at "original" gives the full frame.
"free" tries a set of common aspects (FREE_ASPECTS and the photo's own) and keeps the best.

Aspects are width:height as written, whatever the photo's orientation: "3:2" on a portrait
photo gives a landscape crop.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .maps import upsample



@dataclass(frozen=True)
class AspectPreset:
    """One entry of the aspect menu. `key` is what best_crop / parse_aspect accept and what
    settings store; "custom" stands for a user-typed W:H, which is stored as that text."""
    key: str
    label: str


# The one declaration of the crop aspects: the GUI builds its menu and its cycle key from it,
# the CLI documents it, the tests loop over it. Order is the menu's order.
ASPECT_PRESETS: tuple[AspectPreset, ...] = (
    AspectPreset("original", "Original"),
    AspectPreset("1:1", "1:1 square"),
    AspectPreset("4:5", "4:5 portrait"),
    AspectPreset("5:4", "5:4 landscape"),
    AspectPreset("2:3", "2:3 portrait"),
    AspectPreset("3:2", "3:2 landscape"),
    AspectPreset("16:9", "16:9 wide"),
    AspectPreset("9:16", "9:16 tall"),
    AspectPreset("free", "Free"),
    AspectPreset("custom", "Custom W:H…"),
)
CUSTOM = "custom"
# Keys best_crop accepts as they are (everything but the "custom" placeholder).
ASPECT_KEYS: tuple[str, ...] = tuple(p.key for p in ASPECT_PRESETS if p.key != CUSTOM)


def aspect_label(key: str) -> str:
    """Menu text for a stored key; a custom W:H shows as itself."""
    for p in ASPECT_PRESETS:
        if p.key == key:
            return p.label
    return f"Custom {key}"


def is_aspect_key(key: str) -> bool:
    """True for a preset key or a readable custom W:H (what settings may store)."""
    if key in ASPECT_KEYS:
        return True
    try:
        return key != CUSTOM and parse_aspect(key, (1, 1)) is not None
    except ValueError:
        return False


def next_aspect(key: str, step: int = 1) -> str:
    """The aspect the GUI's cycle key moves to: the next preset (skipping the "custom"
    placeholder); from a custom W:H, the first preset."""
    keys = ASPECT_KEYS
    if key not in keys:
        return keys[0] if step > 0 else keys[-1]
    return keys[(keys.index(key) + step) % len(keys)]

FREE_ASPECTS = (1.0, 4 / 5, 5 / 4, 3 / 2, 2 / 3, 4 / 3, 3 / 4, 16 / 9, 9 / 16)

Box = tuple[int, int, int, int]
_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x×/]\s*(\d+(?:\.\d+)?)\s*$")


def parse_aspect(text: str, image_size: tuple[int, int]) -> float | None:
    """"original" -> the photo's width / height; "free" -> None (the search picks);
    "W:H" (also WxH, W/H) or a plain number -> W / H."""
    key = str(text).strip().lower()
    if key in ("original", "orig", "as shot"):
        w, h = image_size
        return w / h
    if key in ("free", "any", "auto"):
        return None
    m = _RATIO.match(key)
    try:
        value = float(m.group(1)) / float(m.group(2)) if m else float(key)
    except (ValueError, ZeroDivisionError):
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"cannot read the aspect ratio {text!r}; "
                         "use 'original', 'free' or width:height such as 3:2")
    return value


def _max_box(w: int, h: int, a: float) -> tuple[int, int]:
    """The largest integer (width, height) inside w x h whose ratio is a within half a pixel:
    the shorter side is chosen and the longer one rounded from it."""
    if a >= 1:
        ph = max(1, min(h, math.floor(w / a + 1e-9)))
        return max(1, min(w, round(a * ph))), ph
    pw = max(1, min(w, math.floor(h * a + 1e-9)))
    return pw, max(1, min(h, round(pw / a)))


def _scaled_box(w: int, h: int, a: float, s: float) -> tuple[int, int]:
    pw, ph = _max_box(w, h, a)
    if s >= 1:
        return pw, ph
    if a >= 1:
        ph = max(1, round(s * ph))
        return max(1, min(w, round(a * ph))), ph
    pw = max(1, round(s * pw))
    return pw, max(1, min(h, round(pw / a)))


@dataclass
class _Candidates:
    aspect: float
    scale: float
    cells: tuple[int, int]      # window (width, height) in grid cells
    pixels: tuple[int, int]     # box (width, height) in image pixels
    score: np.ndarray           # J at every grid position, (rows, cols)


def _working_grid(aesam: np.ndarray, image_size: tuple[int, int], grid: int) -> np.ndarray:
    m = np.nan_to_num(np.asarray(aesam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"the aesthetic map must be a 2-D grid; got shape {m.shape}")
    w, h = image_size
    if w <= 0 or h <= 0:
        raise ValueError(f"invalid image size {image_size}")
    if w >= h:
        gw = min(grid, w)
        gh = max(1, min(h, round(gw * h / w)))
    else:
        gh = min(grid, h)
        gw = max(1, min(w, round(gh * w / h)))
    return upsample(m, (gh, gw)).astype(np.float64)


def _integral_sums(a: np.ndarray) -> Callable[[int, int], np.ndarray]:
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    s[1:, 1:] = a.cumsum(0).cumsum(1)

    def sums(cw: int, ch: int) -> np.ndarray:
        r, c = s.shape[0] - ch, s.shape[1] - cw
        return s[ch:, cw:] - s[:r, cw:] - s[ch:, :c] + s[:r, :c]
    return sums


def _direct_sums(a: np.ndarray) -> Callable[[int, int], np.ndarray]:
    def sums(cw: int, ch: int) -> np.ndarray:
        rows, cols = a.shape[0] - ch + 1, a.shape[1] - cw + 1
        out = np.empty((rows, cols))
        for y in range(rows):
            for x in range(cols):
                out[y, x] = a[y:y + ch, x:x + cw].sum()
        return out
    return sums


def _search(aesam, image_size, aspect, lam, mu, min_scale, grid, summer) -> Box:
    if not 0 < min_scale <= 1:
        raise ValueError("min_scale must lie in (0, 1]")
    w, h = int(image_size[0]), int(image_size[1])
    work = _working_grid(aesam, (w, h), grid)
    gh, gw = work.shape
    cx, cy = w / gw, h / gh
    pos, neg = np.maximum(work, 0.0), np.maximum(-work, 0.0)
    p_total = float(pos.sum())
    pos_sums, neg_sums = summer(pos), summer(neg)

    if aspect is None:
        aspects = [w / h] + [a for a in FREE_ASPECTS if abs(a - w / h) > 1e-6]
    else:
        if not (math.isfinite(aspect) and aspect > 0):
            raise ValueError(f"invalid aspect ratio {aspect!r}")
        aspects = [float(aspect)]

    cands: list[_Candidates] = []
    for a in aspects:
        pw, ph = _max_box(w, h, a)
        fw, fh = pw / cx, ph / cy                      # largest window in (fractional) cells
        top = max(1, round(max(fw, fh)))
        seen = set()
        for k in range(top, max(1, math.ceil(min_scale * top)) - 1, -1):
            s = k / top
            cells = (max(1, min(gw, round(s * fw))), max(1, min(gh, round(s * fh))))
            if cells in seen:
                continue
            seen.add(cells)
            kept = pos_sums(*cells)
            score = kept - lam * (p_total - kept) - mu * neg_sums(*cells)
            cands.append(_Candidates(a, s, cells, _scaled_box(w, h, a, s), score))

    best = max(float(c.score.max()) for c in cands)
    tol = 1e-9 * max(1.0, p_total + float(neg.sum()))
    near = [c for c in cands if c.score.max() >= best - tol]
    area = max(c.pixels[0] * c.pixels[1] for c in near)
    near = [c for c in near if c.pixels[0] * c.pixels[1] == area]

    if p_total > 0:
        ys, xs = np.mgrid[0:gh, 0:gw] + 0.5
        centroid = (float((pos * xs).sum() / p_total), float((pos * ys).sum() / p_total))
    else:
        centroid = (gw / 2, gh / 2)
    choice, choice_d = None, math.inf
    for c in near:
        rows, cols = np.nonzero(c.score >= best - tol)
        d = (cols + c.cells[0] / 2 - centroid[0]) ** 2 + (rows + c.cells[1] / 2 - centroid[1]) ** 2
        i = int(np.argmin(d))
        if d[i] < choice_d - 1e-12:
            choice, choice_d = (c, cols[i], rows[i]), float(d[i])

    c, col, row = choice
    pw, ph = c.pixels
    centre_x = (col + c.cells[0] / 2) * cx
    centre_y = (row + c.cells[1] / 2) * cy
    left = min(max(0, round(centre_x - pw / 2)), w - pw)
    top_ = min(max(0, round(centre_y - ph / 2)), h - ph)
    return int(left), int(top_), int(left + pw), int(top_ + ph)


def best_crop(aesam: np.ndarray, image_size: tuple[int, int],
              aspect: float | str | None = "original", *, lam: float = 1.0, mu: float = 1.0,
              min_scale: float = 0.5, grid: int = 64) -> Box:
    """The crop (left, top, right, bottom) in full-resolution pixels of the upright photo.

    aesam: the signed (h, w) map of that photo; image_size: (width, height); aspect: W / H,
    None for free, or text for parse_aspect. The module docstring defines the objective."""
    if isinstance(aspect, str):
        aspect = parse_aspect(aspect, image_size)
    return _search(aesam, image_size, aspect, lam, mu, min_scale, grid, _integral_sums)


def brute_force_crop(aesam: np.ndarray, image_size: tuple[int, int],
                     aspect: float | str | None = "original", *, lam: float = 1.0,
                     mu: float = 1.0, min_scale: float = 0.5, grid: int = 64) -> Box:
    """best_crop with every window summed directly (no summed-area table): the reference the
    tests hold the fast search to. Slow; use small grids."""
    if isinstance(aspect, str):
        aspect = parse_aspect(aspect, image_size)
    return _search(aesam, image_size, aspect, lam, mu, min_scale, grid, _direct_sums)
