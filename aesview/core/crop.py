"""Crop search: the window of a chosen aspect that keeps the subject and the aesthetic evidence.

Objective. Every cue is a non-negative map over the whole upright photo, resampled to a working
grid of `grid` cells on the photo's long side and normalised to sum 1, so a weight says what
share of the decision a cue gets whatever the scale of the model's maps (a retrained model
changes that scale; the weights stay meaningful). With E = sum_i w_i * cue_i, N the normalised
negative part of the AesAM, and a window W of scale s (its side over the side of the largest
window of that aspect):

    J(W) = E(W) - mu * N(W) - tightness * s ** 2

- Window-size prior: scales range from 1 down to 1 - 0.75 * tightness only. At tightness 0 (the
  default) every candidate is the largest window the aspect allows and the search only places
  it; tightness in (0, 1] lets the window shrink, trading kept evidence against area.
- Ties (a map that is zero where the window slides) go to the larger window, then to the one
  whose centre is nearest the evidence's centroid (the frame's centre when there is none).
- Summed-area tables make each window's sums O(1); `brute_force_crop` sums directly and the
  tests hold the two equal.

`plan_crop` is the full objective over CropMaps (aesam, ImageNet-classifier CAM, detail, a
centre prior, MTCNN's heads, MediaPipe's heads and head-and-shoulders); `best_crop` is the same
search on the scoring AesAM alone, for callers that have nothing else. "free" tries
FREE_ASPECTS and the photo's own and keeps the best J. Aspects are width:height as written,
whatever the photo's orientation: "3:2" on a portrait photo gives a landscape crop.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .maps import upsample

if TYPE_CHECKING:
    from .subject import CropMaps

Summer = Callable[[np.ndarray], Callable[[int, int], np.ndarray]]


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


Layers = dict[str, np.ndarray]


@dataclass(frozen=True)
class CropSettings:
    """The objective's weights. Chosen on the validation half of tests/data/crop_subjects.json
    with `tools/crop_benchmark.py --tune` for the shipped default model (docs/CROP.md); the cues
    are normalised, so these are shares."""
    subject: float = 0.4       # ImageNet-classifier CAM (what the photo shows)
    aesam: float = 0.0         # positive AesAM. 0.15 won with aesview-selfsup-lite0; with
                               # aesview-livec-lite0 it pulls crops off their subjects on
                               # validation (9:16: 0.915 at 0, 0.833 at 0.15); still computed,
                               # shown in --json and the GUI, and a setting
    detail: float = 0.3        # gradient energy (what is in focus)
    centre: float = 0.3        # centre prior (keeps an even spread of evidence centred)
    face: float = 1.2          # face boxes (MTCNN): the classifier knows no person or face. 0.4
                               # was chosen on validation (16:9 from portrait 0.875 -> 0.962); x3
                               # since the learned cue joined the mix, so heads keep their weight
                               # against it (docs/CROP.md, round 13: heads cut 97 -> 49 of the
                               # out-of-fold crops; the unchanged crop cut 53)
    people: float = 1.2        # MediaPipe's faces (as heads, head_box) and head-and-shoulders box
                               # (core.people): 0.4 chosen on validation (mean over the four aspects
                               # 0.951 -> 0.957), x3 with the face cue (round 13)
    head_box: tuple[float, float, float] = (0.2, 0.5, 0.1)
    # ^ each face box widened to the head a photographer keeps: (each side, above, below) as
    #   shares of the face box's width / height. MTCNN's box ends at the brows and the chin, so
    #   a crop that just holds it cuts the hair; chosen on validation (16:9 from portrait or
    #   square 0.871 -> 0.892, the other aspects unchanged; above 0.5 or 0.8 gave the same)
    mu: float = 0.0            # weight of the negative AesAM inside the window (0 chosen: cutting
                               # "defect" regions did not help keep subjects on validation)
    subject_gamma: float = 2.0  # sharpens the CAM towards its peak before normalising
    learned: float = 1.6       # core.subject_head's map: where people marked the subject in photos
                               # like this one. Chosen out of fold on the 430 looked-at marked photos
                               # (docs/CROP.md, rounds 10-13: +0.0102 rule score, crops under half of
                               # the best 24 -> 15); 0 with face and people 0.4 is the crop of before
    learned_gamma: float = 2.0  # sharpens the learned map towards its peak, as subject_gamma
    heads_whole: bool = False  # a window that cuts a head (head_boxes, MediaPipe's faces widened
                               # alike) is passed over when one of the same size cuts fewer
    grid: int = 64             # working-grid cells on the long side


DEFAULT_SETTINGS = CropSettings()


def crop_settings(keep_heads: bool = False) -> CropSettings:
    """The shipped objective, with the user's choice to keep heads whole (`--keep-heads`, View →
    Crops keep heads whole): measured out of fold, 12 heads cut instead of 49 over 1,627 crops for a
    rule score 0.001 lower (docs/CROP.md, round 13)."""
    return replace(DEFAULT_SETTINGS, heads_whole=bool(keep_heads))
MIN_SCALE_AT_FULL_TIGHTNESS = 0.25


@dataclass
class CropPlan:
    """A chosen crop and what drove it."""
    box: Box                          # (left, top, right, bottom), full-resolution upright pixels
    aspect: float
    scale: float                      # the window's side over the largest window of that aspect
    tightness: float
    objective: float                  # J of the chosen window
    kept: dict[str, float]            # share of each cue (and "negative") inside the window
    weights: dict[str, float]         # the weights J used
    evidence: np.ndarray              # the combined map E on the working grid, for display
    sources: dict[str, Any] = field(default_factory=dict)   # which maps, at what size (--json, GUI)
    gain: dict[str, float] = field(default_factory=dict)    # each weighted cue's share kept over
                                                            # that of the centred window of this size
    offset: float = 0.0               # the window's offset from the centred position, 0..1 (_offsets)
    driven_by: str = ""               # one line: what put the window where it is

    def explain(self) -> dict[str, Any]:
        return {"box": list(self.box), "aspect": round(self.aspect, 6), "scale": round(self.scale, 4),
                "tightness": self.tightness, "objective": round(self.objective, 6),
                "driven_by": self.driven_by, "offset_from_centre": round(self.offset, 3),
                "gain_over_centred": {k: round(v, 4) for k, v in self.gain.items()},
                "kept": {k: round(v, 4) for k, v in self.kept.items()},
                "weights": dict(self.weights), "maps": dict(self.sources),
                "objective_formula": "J = sum_i w_i * kept_i - mu * kept_negative - tightness * scale^2"}


def _grid_shape(image_size: tuple[int, int], grid: int) -> tuple[int, int]:
    w, h = image_size
    if w <= 0 or h <= 0:
        raise ValueError(f"invalid image size {image_size}")
    if w >= h:
        gw = min(grid, w)
        return max(1, min(h, round(gw * h / w))), gw
    gh = min(grid, h)
    return gh, max(1, min(w, round(gh * w / h)))


def _clean(m: np.ndarray, what: str) -> np.ndarray:
    a = np.nan_to_num(np.asarray(m, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"the {what} map must be a 2-D grid; got shape {a.shape}")
    return a


def _resample(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.maximum(upsample(m, shape).astype(np.float64), 0.0)


def _share(m: np.ndarray) -> np.ndarray:
    total = float(m.sum())
    return m / total if total > 0 else np.zeros_like(m)


def centre_prior(shape: tuple[int, int]) -> np.ndarray:
    """A broad Gaussian (sigma = half of each side) around the frame's centre."""
    gh, gw = shape
    ys = (np.arange(gh) + 0.5) / gh - 0.5
    xs = (np.arange(gw) + 0.5) / gw - 0.5
    return np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * 0.5 ** 2))


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


@dataclass
class _Candidates:
    aspect: float
    scale: float
    cells: tuple[int, int]      # window (width, height) in grid cells
    pixels: tuple[int, int]     # box (width, height) in image pixels
    score: np.ndarray           # J at every grid position, (rows, cols)


def _aspects(aspect: float | None, w: int, h: int) -> list[float]:
    if aspect is None:
        return [w / h] + [a for a in FREE_ASPECTS if abs(a - w / h) > 1e-6]
    if not (math.isfinite(aspect) and aspect > 0):
        raise ValueError(f"invalid aspect ratio {aspect!r}")
    return [float(aspect)]


def _offsets(rows: int, cols: int) -> np.ndarray:
    """Each window position's distance from the centred position, as a share of the farthest
    position's (0 centred, 1 at a corner of the slide; 0 everywhere when the window cannot move)."""
    def axis(n: int) -> np.ndarray:
        return np.abs(np.arange(n) - (n - 1) / 2) / ((n - 1) / 2) if n > 1 else np.zeros(1)
    d: np.ndarray = np.sqrt(axis(rows)[:, None] ** 2 + axis(cols)[None, :] ** 2)
    return d / max(1.0, float(d.max()))


# Below this offset (a share of the window's slide) a window counts as centred in driven_by.
CENTRED_OFFSET = 0.1


def _drivers(layers: Layers, weights: dict[str, float], cells: tuple[int, int],
             at: tuple[int, int]) -> tuple[dict[str, float], float, str]:
    """What moved the window off the centred position: each weighted cue's share inside it less
    that inside the centred window of the same size, its offset from centre, and one line."""
    cw, ch = cells
    col, row = at
    gain: dict[str, float] = {}
    shape = (0, 0)
    for name, layer in layers.items():
        if not weights.get(name):
            continue
        # a handful of windows, summed directly: a whole integral image per cue cost as much as
        # the search itself, and the evaluation plans thousands of crops
        rows, cols = shape = (layer.shape[0] - ch + 1, layer.shape[1] - cw + 1)
        # the centred position sits between grid positions when the slack is odd: average them
        centred = float(np.mean([layer[r:r + ch, c:c + cw].sum()
                                 for r in sorted({(rows - 1) // 2, rows // 2})
                                 for c in sorted({(cols - 1) // 2, cols // 2})]))
        gain[name] = weights[name] * (float(layer[row:row + ch, col:col + cw].sum()) - centred)
    if shape[0] * shape[1] <= 1:
        return gain, 0.0, "frame: a window of this shape and size cannot move"
    offset = float(_offsets(*shape)[row, col])
    if offset < CENTRED_OFFSET:
        return gain, offset, "centre: no cue pulls the window off the centre"
    name = max(gain, key=lambda k: gain[k])
    rows, cols = shape
    where = [w for w, d in (("left", -(col - (cols - 1) / 2)), ("right", col - (cols - 1) / 2),
                            ("up", -(row - (rows - 1) / 2)), ("down", row - (rows - 1) / 2))
             if d > CENTRED_OFFSET * (cols - 1 if w in ("left", "right") else rows - 1) / 2]
    return gain, offset, (f"{name}: moved {' and '.join(where) or 'off-centre'} to keep "
                          f"{gain[name]:+.3f} more of the weighted {name} cue than the centred window")


def _window_boxes(cells: tuple[int, int], pixels: tuple[int, int], grid: tuple[int, int],
                  image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The pixel left edges (per grid column) and top edges (per grid row) of every position of
    a window of `cells` on the grid, as _search turns its choice into a box."""
    (cw, ch), (pw, ph), (gh, gw) = cells, pixels, grid
    w, h = image_size
    cols, rows = np.arange(gw - cw + 1), np.arange(gh - ch + 1)
    lefts = np.clip(np.round((cols + cw / 2) * (w / gw) - pw / 2), 0, w - pw)
    tops = np.clip(np.round((rows + ch / 2) * (h / gh) - ph / 2), 0, h - ph)
    return lefts, tops


def heads_cut(box: Box, heads: list[Box]) -> int:
    """How many heads the box holds in part but not whole although a box of its size could hold
    them whole (a head wholly outside is left out, not cut)."""
    left, top, right, bottom = box
    return int(_cut_counts(np.array([left]), np.array([top]), (right - left, bottom - top), heads)[0, 0])


def _cut_counts(lefts: np.ndarray, tops: np.ndarray, pixels: tuple[int, int],
                heads: list[Box]) -> np.ndarray:
    """heads_cut of a window of `pixels` at every (top, left) pair, (rows, cols)."""
    pw, ph = pixels
    out = np.zeros((len(tops), len(lefts)), dtype=np.int32)
    for x0, y0, x1, y1 in heads:
        if x1 - x0 > pw or y1 - y0 > ph:
            continue
        in_x, in_y = (lefts <= x0) & (x1 <= lefts + pw), (tops <= y0) & (y1 <= tops + ph)
        hit_x, hit_y = (x0 < lefts + pw) & (lefts < x1), (y0 < tops + ph) & (tops < y1)
        out += (hit_y[:, None] & hit_x[None, :]) & ~(in_y[:, None] & in_x[None, :])
    return out


def _search(evidence: np.ndarray, negative: np.ndarray, mu: float, image_size: tuple[int, int],
            aspect: float | None, tightness: float,
            summer: Summer, heads: list[Box] | None = None) -> tuple[Box, _Candidates, tuple[int, int]]:
    """The best window for J on the working grid; returns the pixel box, its candidate set and
    its (col, row) on the grid. With `heads`, the positions of each window size that cut more
    heads than the fewest that size can are left out (CropSettings.heads_whole)."""
    if not 0 <= tightness <= 1:
        raise ValueError("tightness must lie in [0, 1]")
    w, h = int(image_size[0]), int(image_size[1])
    gh, gw = evidence.shape
    cx, cy = w / gw, h / gh
    e_sums, n_sums = summer(evidence), summer(negative)
    min_scale = 1.0 - (1.0 - MIN_SCALE_AT_FULL_TIGHTNESS) * tightness

    cands: list[_Candidates] = []
    for a in _aspects(aspect, w, h):
        pw, ph = _max_box(w, h, a)
        fw, fh = pw / cx, ph / cy                      # largest window in (fractional) cells
        top = max(1, round(max(fw, fh)))
        seen = set()
        for k in range(top, max(1, math.ceil(min_scale * top - 1e-9)) - 1, -1):
            s = k / top
            cells = (max(1, min(gw, round(s * fw))), max(1, min(gh, round(s * fh))))
            if cells in seen:
                continue
            seen.add(cells)
            score = e_sums(*cells) - mu * n_sums(*cells) - tightness * s * s
            pixels = _scaled_box(w, h, a, s)
            if heads:
                cuts = _cut_counts(*_window_boxes(cells, pixels, (gh, gw), (w, h)), pixels, heads)
                score = np.where(cuts > cuts.min(), -np.inf, score)
            cands.append(_Candidates(a, s, cells, pixels, score))

    best = max(float(c.score.max()) for c in cands)
    tol = 1e-9 * max(1.0, float(evidence.sum()) + mu * float(negative.sum()) + tightness)
    near = [c for c in cands if c.score.max() >= best - tol]
    area = max(c.pixels[0] * c.pixels[1] for c in near)
    near = [c for c in near if c.pixels[0] * c.pixels[1] == area]

    total = float(evidence.sum())
    if total > 0:
        ys, xs = np.mgrid[0:gh, 0:gw] + 0.5
        centroid = (float((evidence * xs).sum() / total), float((evidence * ys).sum() / total))
    else:
        centroid = (gw / 2, gh / 2)
    choice, choice_d = None, math.inf
    for c in near:
        rows, cols = np.nonzero(c.score >= best - tol)
        d = (cols + c.cells[0] / 2 - centroid[0]) ** 2 + (rows + c.cells[1] / 2 - centroid[1]) ** 2
        i = int(np.argmin(d))
        if d[i] < choice_d - 1e-12:
            choice, choice_d = (c, int(cols[i]), int(rows[i])), float(d[i])

    assert choice is not None
    c, col, row = choice
    pw, ph = c.pixels
    centre_x = (col + c.cells[0] / 2) * cx
    centre_y = (row + c.cells[1] / 2) * cy
    left = min(max(0, round(centre_x - pw / 2)), w - pw)
    top_ = min(max(0, round(centre_y - ph / 2)), h - ph)
    return (int(left), int(top_), int(left + pw), int(top_ + ph)), c, (col, row)


def _resolve_aspect(aspect: float | str | None, image_size: tuple[int, int]) -> float | None:
    return parse_aspect(aspect, image_size) if isinstance(aspect, str) else aspect


def head_boxes(maps: CropMaps, head_box: tuple[float, float, float]) -> list[Box]:
    """The face boxes widened by head_box = (each side, above, below), as shares of each face
    box's size, clipped to the photo (upright full-resolution pixels)."""
    return [_widened(f[:4], head_box, maps.image_size) for f in getattr(maps, "faces", [])]


def _widened(box: tuple[float, float, float, float], head_box: tuple[float, float, float],
             image_size: tuple[int, int]) -> Box:
    """`box` widened by head_box = (each side, above, below), shares of its size, in whole pixels
    inside the photo."""
    left, top, right, bottom = box
    side, above, below = head_box
    fw, fh = right - left, bottom - top
    w, h = image_size
    return (max(0, round(left - side * fw)), max(0, round(top - above * fh)),
            min(w, round(right + side * fw)), min(h, round(bottom + below * fh)))


def face_layer(maps: CropMaps, shape: tuple[int, int],
               head_box: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """1 over every working-grid cell a head box (head_boxes) touches, summed where they overlap."""
    return _box_layer(head_boxes(maps, head_box), maps.image_size, shape)


def people_boxes(maps: CropMaps, head_box: tuple[float, float, float]) -> list[Box]:
    """The people cue's boxes (core.people), clipped to the photo (upright full-resolution
    pixels): each MediaPipe face widened to the head like MTCNN's (head_box), each
    head-and-shoulders box as found."""
    return [_widened(p[:4], head_box if p[5] == "face" else (0.0, 0.0, 0.0), maps.image_size)
            for p in getattr(maps, "people", [])]


def all_heads(maps: CropMaps, head_box: tuple[float, float, float]) -> list[Box]:
    """Every head a crop should not cut: MTCNN's faces and MediaPipe's, each widened to the head."""
    return head_boxes(maps, head_box) + [_widened(p[:4], head_box, maps.image_size)
                                         for p in getattr(maps, "people", []) if p[5] == "face"]


def _box_layer(boxes: list[Box], image_size: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    gh, gw = shape
    out = np.zeros(shape)
    w, h = image_size
    for left, top, right, bottom in boxes:
        c0, c1 = max(0, int(left / w * gw)), min(gw, math.ceil(right / w * gw))
        r0, r1 = max(0, int(top / h * gh)), min(gh, math.ceil(bottom / h * gh))
        out[r0:r1, c0:c1] += 1.0
    return out


def people_layer(maps: CropMaps, shape: tuple[int, int],
                 head_box: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """1 over every working-grid cell a people box (people_boxes) touches, summed where they overlap."""
    return _box_layer(people_boxes(maps, head_box), maps.image_size, shape)


def _peaked(m: np.ndarray, gamma: float) -> np.ndarray:
    """m over its peak, to the power gamma (sharpened towards the peak); unchanged if m <= 0."""
    peak = float(m.max())
    return (np.maximum(m, 0) / peak) ** gamma if peak > 0 else m


def cue_layers(maps: CropMaps, settings: CropSettings = DEFAULT_SETTINGS) -> tuple[Layers, np.ndarray]:
    """The normalised cues (name -> working-grid map) and the normalised negative AesAM."""
    shape = _grid_shape(maps.image_size, settings.grid)
    aes = _clean(maps.aesam, "aesthetic")
    subject = _clean(maps.subject, "subject")
    learned = getattr(maps, "learned", None)
    layers = {
        "subject": _share(_resample(_peaked(subject, settings.subject_gamma), shape)),
        "aesam": _share(_resample(np.maximum(aes, 0), shape)),
        "detail": _share(_resample(_clean(maps.detail, "detail"), shape)),
        "centre": _share(centre_prior(shape)),
        "face": _share(face_layer(maps, shape, settings.head_box)),
        "people": _share(people_layer(maps, shape, settings.head_box)),
        "learned": (np.zeros(shape) if learned is None else
                    _share(_resample(_peaked(_clean(learned, "learned"), settings.learned_gamma), shape))),
    }
    return layers, _share(_resample(np.maximum(-aes, 0), shape))


def plan_crop(maps: CropMaps, aspect: float | str | None = "original", *, tightness: float = 0.0,
              settings: CropSettings = DEFAULT_SETTINGS, summer: Summer = _integral_sums) -> CropPlan:
    """The crop for `maps` (a subject.CropMaps) at `aspect`, with what drove it."""
    layers, negative = cue_layers(maps, settings)
    heads = all_heads(maps, settings.head_box)
    plan = plan_from_layers(layers, negative, maps.image_size, aspect, tightness=tightness,
                            settings=settings, summer=summer, heads=heads)
    ws = list(maps.working_size)
    learned = getattr(maps, "learned", None)
    plan.sources = {
        "subject": {"what": "class activation map of the ImageNet classifier (EfficientNet-Lite0 "
                            "wheel), top classes weighted by probability",
                    "grid": list(np.shape(maps.subject)), "network_input": ws,
                    "top_classes": [[i, round(p, 4)] for i, p in maps.classes]},
        "aesam": {"what": "the aesthetic model's AesAM, positive part (negative part weighted by mu)",
                  "grid": list(np.shape(maps.aesam)), "network_input": ws},
        "detail": {"what": "mean luminance-gradient magnitude per 8x8 block",
                   "grid": list(np.shape(maps.detail))},
        "centre": {"what": "Gaussian centre prior, sigma = half the frame"},
        "face": {"what": f"face boxes found by {getattr(maps, 'face_finder', '') or 'no face detector'}"
                         ", each widened to the head (head_box: each side, above, below)",
                 "faces": [[round(v) for v in f[:4]] + [round(f[4], 3)] for f in getattr(maps, "faces", [])],
                 "head_box": list(settings.head_box),
                 "heads": [list(b) for b in head_boxes(maps, settings.head_box)]},
        "people": {"what": f"people found by {getattr(maps, 'people_finder', '') or 'no people detector'}"
                           ": faces widened to the head (head_box) and the most prominent person's "
                           "head and shoulders",
                   "found": [[round(v) for v in p[:4]] + [round(p[4], 3), p[5]]
                             for p in getattr(maps, "people", [])],
                   "boxes": [list(b) for b in people_boxes(maps, settings.head_box)]},
        "learned": {"what": "where people marked the subject in photos like this one: "
                            + (f"{maps.learned_head}, a logistic regression on the ImageNet "
                               "classifier's last features and the cell's position, fitted on "
                               "hand-marked photos (docs/CROP.md)"
                               if learned is not None else "no learned head"),
                    "grid": list(np.shape(learned)) if learned is not None else [],
                    "gamma": settings.learned_gamma},
        "heads": {"what": "MTCNN's and MediaPipe's faces widened to the head (head_box)",
                  "boxes": [list(b) for b in heads], "cut": heads_cut(plan.box, heads),
                  "kept_whole_where_possible": settings.heads_whole},
        "working_grid": list(plan.evidence.shape),
    }
    return plan


def plan_from_layers(layers: Layers, negative: np.ndarray, image_size: tuple[int, int],
                     aspect: float | str | None, *, tightness: float = 0.0,
                     settings: CropSettings = DEFAULT_SETTINGS, summer: Summer = _integral_sums,
                     heads: list[Box] | None = None) -> CropPlan:
    """plan_crop once cue_layers are known (the evaluation reuses them across settings); `heads`
    (all_heads) are kept whole where the window's size allows if settings.heads_whole."""
    a = _resolve_aspect(aspect, image_size)
    weights = {name: float(getattr(settings, name)) for name in layers}
    evidence = np.zeros_like(negative)
    for n, layer in layers.items():
        evidence += weights[n] * layer
    box, c, (col, row) = _search(evidence, negative, settings.mu, image_size, a, tightness, summer,
                                 heads if settings.heads_whole else None)
    cw, ch = c.cells

    def kept(m: np.ndarray) -> float:
        return float(m[row:row + ch, col:col + cw].sum())
    shares = {n: kept(m) for n, m in layers.items()}
    shares["negative"] = kept(negative)
    gain, offset, driven_by = _drivers(layers, weights, c.cells, (col, row))
    return CropPlan(box=box, aspect=c.aspect, scale=c.scale, tightness=tightness,
                    objective=float(c.score[row, col]), kept=shares,
                    weights={**weights, "mu": settings.mu, "subject_gamma": settings.subject_gamma},
                    evidence=evidence.astype(np.float32), gain=gain, offset=offset, driven_by=driven_by)


def _map_only(aesam: np.ndarray, image_size: tuple[int, int],
              grid: int) -> tuple[np.ndarray, np.ndarray]:
    shape = _grid_shape(image_size, grid)
    m = _clean(aesam, "aesthetic")
    return _share(_resample(np.maximum(m, 0), shape)), _share(_resample(np.maximum(-m, 0), shape))


def best_crop(aesam: np.ndarray, image_size: tuple[int, int],
              aspect: float | str | None = "original", *, tightness: float = 0.0, mu: float = 1.0,
              grid: int = 64) -> Box:
    """The crop (left, top, right, bottom) in full-resolution pixels of the upright photo from
    the scoring AesAM alone: J = P(W) - mu * N(W) - tightness * s^2 with P, N the normalised
    positive and negative parts. Prefer plan_crop with CropMaps: it knows the subject."""
    a = _resolve_aspect(aspect, image_size)
    pos, neg = _map_only(aesam, image_size, grid)
    return _search(pos, neg, mu, image_size, a, tightness, _integral_sums)[0]


def brute_force_crop(aesam: np.ndarray, image_size: tuple[int, int],
                     aspect: float | str | None = "original", *, tightness: float = 0.0,
                     mu: float = 1.0, grid: int = 64) -> Box:
    """best_crop with every window summed directly (no summed-area table): the reference the
    tests hold the fast search to. Slow; use small grids."""
    a = _resolve_aspect(aspect, image_size)
    pos, neg = _map_only(aesam, image_size, grid)
    return _search(pos, neg, mu, image_size, a, tightness, _direct_sums)[0]


def centre_crop(image_size: tuple[int, int], aspect: float | str | None) -> Box:
    """The largest centred window of the aspect: the baseline the evaluation compares with."""
    w, h = image_size
    a = _resolve_aspect(aspect, image_size)
    pw, ph = _max_box(w, h, w / h if a is None else a)
    left, top = (w - pw) // 2, (h - ph) // 2
    return left, top, left + pw, top + ph
