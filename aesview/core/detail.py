"""The detail view: what a photographer checks at 100 % — grain, slightly missed focus, blocky
compression — which the 320 px global view shrinks away.

How it works, exactly:

1. One decode serves both views. JPEGs are decoded by libjpeg at the smallest 1/2, 1/4 or 1/8
   scale whose long side is still >= `decode_side` (never above the file's own size); the
   global view is that decode resized to the working size; the *detail image* is the decode as
   it comes (a 12-MP frame: 1/4 scale, 1000 px; a 2048 px photo: 1/2; a 640 px one: itself).
2. `patches` square windows of `patch` detail pixels are chosen on a fixed grid (tiles of the
   patch's size, on multiples of the feature cell): the tiles with the most fine detail in the
   global view (mean |Laplacian| of its grey image under the tile), overlapping no chosen tile —
   where focus shows — and, when `smooth` > 0, that many of the flattest mid-tone tiles — where
   grain shows. The choice depends on the global view only, so the takes of one burst are looked
   at in the same places.
   With `white_point`, the frame is first brightened in linear light until its highlights (the
   99th percentile of linear luminance on the working view) reach white, by at most MAX_GAIN:
   one stop under, the same patches would otherwise show less grain and read as cleaner, and
   exposure is the global view's to judge. The same gain serves the tile choice and the patches.
3. Each patch goes through the model's own frozen ImageNet prefix (`backbone(x, stop=stage)`,
   the same weights as the global view) and a 1x1 convolution with a ReLU: one non-negative
   evidence map per channel (noise, blur, compression) per patch, GAP-CNN style.
4. Fusion: with e = the mean over patches and cells of the channel-summed maps,
       logit = global_logit - alpha * e,     score = sigmoid(logit).
   So the detail view can only lower a score, by exactly alpha times the mean of its maps; each
   patch moves the logit by alpha * (mean of its own map) / patches. `alpha` was chosen on
   validation photos (the card says how).

The maps pasted at their frame positions (`frame_map`) are what the GUI shows as "detail".
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .defects import _linear_to_srgb, _srgb_to_linear
from .imaging import load_image
from .preprocess import target_size, to_array

if TYPE_CHECKING:
    from .detail_net import DetailHead as DetailHead
    from .detail_net import patch_features as patch_features

CHANNELS = ("noise", "blur", "compression")
# what the words call each channel
CHANNEL_WORDS = {"noise": "grain", "blur": "softness", "compression": "compression artefacts"}
# A channel is named in words when it costs at least a tenth of a logit (a few points of score
# around the middle of the scale).
NAMED_SHIFT = 0.1


@dataclass(frozen=True)
class DetailSpec:
    """The card's `detail` section: how the detail view is taken and fused."""
    decode_side: int          # the detail decode's long side is >= this (or the file's own)
    patch: int                # patch side, detail pixels
    patches: int              # windows per photo (detail ones + smooth ones)
    stage: int                # the prefix runs backbone stages [0, stage)
    channels_in: int          # feature channels at that cut
    cell: int                 # detail pixels per evidence-map cell (the prefix's stride)
    alpha: float              # logit cost of one unit of mean evidence
    smooth: int = 0           # how many of the windows are the flattest mid-tone tiles
    channels: tuple[str, ...] = CHANNELS
    white_point: bool = False  # patches looked at with the frame's highlights brought to white
    # The channels the smooth windows count (None: all). A flat tile is there to show grain; on
    # a shallow-depth-of-field photo it is the bokeh, which the head reads as softness.
    smooth_channels: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DetailSpec:
        # A JSON bool only: bool("false") is True, and a card must not switch the view on by
        # a quoted value.
        white_point = d.get("white_point", False)
        if not isinstance(white_point, bool):
            raise ValueError(f"detail.white_point must be true or false, not {white_point!r}")
        smooth_channels = d.get("smooth_channels")
        if smooth_channels is not None and (
                not isinstance(smooth_channels, list)
                or not set(smooth_channels) <= set(d.get("channels", CHANNELS))):
            raise ValueError(f"detail.smooth_channels must list some of the detail channels, "
                             f"not {smooth_channels!r}")
        spec = cls(decode_side=int(d["decode_side"]), patch=int(d["patch"]),
                   patches=int(d["patches"]), stage=int(d["stage"]),
                   channels_in=int(d["channels_in"]), cell=int(d["cell"]),
                   alpha=float(d["alpha"]), smooth=int(d.get("smooth", 0)),
                   channels=tuple(str(c) for c in d.get("channels", CHANNELS)),
                   white_point=white_point,
                   smooth_channels=None if smooth_channels is None else tuple(smooth_channels))
        if not (32 <= spec.patch <= 1024 and 1 <= spec.patches <= 16 and 0 <= spec.smooth
                <= spec.patches and 1 <= spec.stage and spec.cell >= 1 and spec.patch % spec.cell == 0
                and spec.alpha >= 0 and math.isfinite(spec.alpha) and spec.decode_side >= 32
                and spec.channels):
            raise ValueError(f"implausible detail settings {dict(d)}")
        return spec

    def to_dict(self) -> dict[str, Any]:
        return {"decode_side": self.decode_side, "patch": self.patch, "patches": self.patches,
                "stage": self.stage, "channels_in": self.channels_in, "cell": self.cell,
                "alpha": self.alpha, "smooth": self.smooth, "channels": list(self.channels)} | (
                    {"white_point": True} if self.white_point else {}) | (
                    {"smooth_channels": list(self.smooth_channels)}
                    if self.smooth_channels is not None else {})

    def smooth_mask(self, n_patches: int) -> np.ndarray:
        """(n_patches, channels) 1/0: which maps count. The windows come detail tiles first,
        then smooth ones (`choose`); a frame with fewer tiles than windows has fewer smooth ones.
        A smooth window counts only `smooth_channels` (all when None)."""
        mask = np.ones((n_patches, len(self.channels)), np.float32)
        if self.smooth_channels is not None:
            first_smooth = min(self.patches - self.smooth, n_patches)
            off = [i for i, c in enumerate(self.channels) if c not in self.smooth_channels]
            mask[first_smooth:, off] = 0.0
        return mask


@dataclass
class DetailResult:
    """One photo's detail evidence. `maps` are the head's outputs, unscaled; `boxes` are the
    patches in full-resolution frame pixels (left, top, right, bottom); `detail_size` is the
    detail image's (width, height) and `cell` its detail pixels per map cell."""
    maps: np.ndarray               # (P, C, h, w) float32, >= 0
    boxes: np.ndarray              # (P, 4) float32, full-resolution pixels
    alpha: float
    global_logit: float            # logit_high - logit_low of the global view alone
    detail_size: tuple[int, int]
    cell: int
    channels: tuple[str, ...] = field(default=CHANNELS)
    scale: tuple[float, float] = (1.0, 1.0)   # full-resolution pixels -> detail pixels (x, y)
    gain: float = 1.0              # linear-light gain the patches were looked at with (white point)

    @property
    def evidence(self) -> float:
        """The mean over patches and cells of the channel-summed maps."""
        return float(self.maps.sum(axis=1).mean()) if self.maps.size else 0.0

    @property
    def shift(self) -> float:
        """What the detail view did to the logit (<= 0)."""
        return -self.alpha * self.evidence

    @property
    def logit(self) -> float:
        return self.global_logit + self.shift

    @property
    def global_score(self) -> float:
        return sigmoid(self.global_logit)

    @property
    def score(self) -> float:
        return sigmoid(self.logit)

    def per_patch(self) -> np.ndarray:
        """(P, C): each patch's mean evidence per channel."""
        out: np.ndarray = self.maps.mean(axis=(2, 3))
        return out

    def per_channel_shift(self) -> dict[str, float]:
        """Each channel's share of `shift` (they sum to it)."""
        if not self.maps.size:
            return {c: 0.0 for c in self.channels}
        means = self.maps.mean(axis=(0, 2, 3))
        return {c: float(-self.alpha * m) for c, m in zip(self.channels, means)}

    def named(self) -> dict[str, float]:
        """The channels the words name, with what each cost (>= NAMED_SHIFT of logit)."""
        return {c: -v for c, v in self.per_channel_shift().items() if -v >= NAMED_SHIFT}

    def frame_map(self) -> np.ndarray:
        """The logit cost per cell pasted at the patches' frame positions, on the detail image's
        cell grid (0 outside the patches): alpha * the channel-summed map. Its sum over the
        covered cells divided by their number is -shift."""
        w, h = self.detail_size
        out = np.zeros((math.ceil(h / self.cell), math.ceil(w / self.cell)), np.float32)
        cover = np.zeros_like(out)
        sx, sy = self.scale
        for m, (left, top, _, _) in zip(self.maps.sum(axis=1), self.boxes):
            r, c = round(top * sy / self.cell), round(left * sx / self.cell)
            ph, pw = m.shape
            out[r:r + ph, c:c + pw] += self.alpha * m
            cover[r:r + ph, c:c + pw] += 1
        np.divide(out, cover, out=out, where=cover > 0)
        return out

    def sentence(self) -> str:
        """E.g. "At 100 %: grain lowers the score from 0.93 to 0.62 (3 patches looked at)."."""
        n = len(self.boxes)
        if not n:
            return "At 100 %: the photo is too small for a detail view."
        # Said only when it is worth a photographer's notice: a third of a stop or more.
        stops = math.log2(self.gain) if self.gain > 0 else 0.0
        brighter = f" {stops:.1f} stops brighter" if stops >= 1 / 3 else ""
        found = [(CHANNEL_WORDS.get(c, c), cost) for c, cost in self.named().items()]
        seen = f"({n} patch{'es' if n > 1 else ''} looked at{brighter})"
        if not found:
            return f"At 100 %: no grain, softness or compression found {seen}."
        found.sort(key=lambda kv: -kv[1])
        what = " and ".join(w for w, _ in found)
        # "compression artefacts" is plural on its own: "artefacts lower", "grain lowers"
        verb = "lower" if len(found) > 1 or found[0][0].endswith("artefacts") else "lowers"
        return (f"At 100 %: {what} {verb} the score from {self.global_score:.2f} to "
                f"{self.score:.2f} {seen}.")

    def explain(self) -> dict[str, Any]:
        """Plain numbers for `--json` and the GUI: how much the detail view moved the score."""
        return {"global_score": self.global_score, "score": self.score, "words": self.sentence(),
                "logit_shift": self.shift, "alpha": self.alpha, "evidence": self.evidence,
                "gain": self.gain,
                "by_channel": self.per_channel_shift(),
                "patches": [{"box": [float(v) for v in b],
                             "logit_shift": float(-self.alpha * pm.sum() / len(self.boxes)),
                             "evidence": {c: float(v) for c, v in zip(self.channels, pm)}}
                            for b, pm in zip(self.boxes, self.per_patch())]}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


# ------------------------------------------------------------------------------------ decoding

@dataclass
class Views:
    work: np.ndarray                # (H, W, 3) uint8 at the working size
    detail: np.ndarray | None       # (h, w, 3) uint8 detail image, None without a detail view
    size: tuple[int, int]           # full-resolution (width, height)


def decode_side(long_side: int, spec: DetailSpec | None) -> int:
    """The long side a photo is decoded at (at least) for both views."""
    return max(long_side, spec.decode_side) if spec is not None else long_side


def decode_views(path: str | os.PathLike[str], long_side: int, multiple: int,
                 spec: DetailSpec | None, reduced: bool = True) -> Views:
    """The one decode scoring (and the trainer's app-path check) does for a photo."""
    side = decode_side(long_side, spec)
    photo = load_image(path, max_side=side if reduced else None)
    img = photo.image if photo.image.mode == "RGB" else photo.image.convert("RGB")
    work = to_array(img, target_size(*img.size, long_side, multiple))
    detail = np.asarray(img, dtype=np.uint8) if spec is not None else None
    return Views(work, detail, photo.size)


# ----------------------------------------------------------------------------------- selection

def _grey(img: np.ndarray) -> np.ndarray:
    out: np.ndarray = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    return out


def _laplacian_abs(g: np.ndarray) -> np.ndarray:
    p = np.pad(g, 1, mode="edge")
    lap = 4 * p[1:-1, 1:-1] - p[:-2, 1:-1] - p[2:, 1:-1] - p[1:-1, :-2] - p[1:-1, 2:]
    out: np.ndarray = np.abs(lap)
    return out


def grid_boxes(width: int, height: int, patch: int, cell: int) -> np.ndarray:
    """Candidate tiles (N, 4) = (left, top, right, bottom) in detail pixels: the frame tiled by
    patch-sized squares whose corners sit on multiples of `cell`, the last row and column moved
    in to end at the frame's edge (rounded down to a cell). Empty if the image is too small."""
    if width < patch or height < patch:
        return np.zeros((0, 4), np.int64)

    def starts(n: int) -> list[int]:
        last = (n - patch) // cell * cell
        k = max(1, math.ceil(n / patch))
        return sorted({min(last, i * patch) for i in range(k)} | {last})
    out = [(x, y, x + patch, y + patch) for y in starts(height) for x in starts(width)]
    return np.array(out, np.int64)


def tile_scores(work: np.ndarray, boxes: np.ndarray, detail_size: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """(fine detail, mean luminance) of each tile, measured on the working-size view."""
    g = _grey(work)
    lap = _laplacian_abs(g)
    h, w = g.shape
    sx, sy = w / detail_size[0], h / detail_size[1]
    ii = np.pad(lap.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    jj = np.pad(g.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    det, lum = np.zeros(len(boxes)), np.zeros(len(boxes))
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        a, b = int(round(y0 * sy)), max(int(round(y0 * sy)) + 1, int(round(y1 * sy)))
        c, d = int(round(x0 * sx)), max(int(round(x0 * sx)) + 1, int(round(x1 * sx)))
        b, d = min(b, h), min(d, w)
        n = max(1, (b - a) * (d - c))
        det[i] = (ii[b, d] - ii[a, d] - ii[b, c] + ii[a, c]) / n
        lum[i] = (jj[b, d] - jj[a, d] - jj[b, c] + jj[a, c]) / n
    return det, lum


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return float(ix * iy) / float((a[2] - a[0]) * (a[3] - a[1]))


def choose(boxes: np.ndarray, detail: np.ndarray, lum: np.ndarray, n_detail: int, n_smooth: int,
           max_overlap: float = 0.25) -> np.ndarray:
    """Indices of the chosen tiles: the `n_detail` with most fine detail, then the `n_smooth`
    flattest among mid-tones (mean grey 0.15..0.85: clipped areas show no grain), greedily, each
    overlapping the chosen ones by at most `max_overlap` of its area (relaxed when the frame has
    too few tiles)."""
    picked: list[int] = []

    def take(order: Sequence[int], n: int) -> None:
        for limit in (max_overlap, 1.0):
            for i in order:
                if n <= 0:
                    return
                if i in picked or any(_overlap(boxes[i], boxes[j]) > limit for j in picked):
                    continue
                picked.append(int(i))
                n -= 1
            if n <= 0:
                return
    take([int(i) for i in np.argsort(-detail, kind="stable")], n_detail)
    mid = (lum >= 0.15) & (lum <= 0.85)
    flat = np.where(mid, detail, detail + 1e6)   # mid-tones first, then anything
    take([int(i) for i in np.argsort(flat, kind="stable")], n_smooth)
    return np.array(picked, np.int64)


def select_patches(work: np.ndarray, detail_size: tuple[int, int], spec: DetailSpec) -> np.ndarray:
    """The chosen patches (P, 4) in detail pixels (see the module's step 2)."""
    boxes = grid_boxes(detail_size[0], detail_size[1], spec.patch, spec.cell)
    if not len(boxes):
        return boxes
    det, lum = tile_scores(work, boxes, detail_size)
    idx = choose(boxes, det, lum, spec.patches - spec.smooth, spec.smooth)
    chosen: np.ndarray = boxes[idx]
    return chosen


# Two stops: a darker frame is a night scene or a low-key photo, not a missed exposure, and
# brightening it further only invents grain no photographer would push it to.
MAX_GAIN = 4.0


def white_point_gain(work: np.ndarray) -> float:
    """The linear-light gain that brings the working view's 99th percentile of linear
    luminance to white, between 1 and MAX_GAIN."""
    lin = _srgb_to_linear(work.astype(np.float32) / 255.0) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    p99 = float(np.percentile(lin, 99))
    return float(min(MAX_GAIN, 1.0 / max(p99, 1.0 / MAX_GAIN)))


def brighten(img: np.ndarray, gain: float) -> np.ndarray:
    """uint8 sRGB `img` with its linear light multiplied by `gain` (clipped at white)."""
    if gain <= 1.0:
        return img
    levels = _srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0) * gain
    lut = np.clip(np.round(_linear_to_srgb(levels) * 255.0), 0, 255).astype(np.uint8)
    out: np.ndarray = lut[img]
    return out


def patches_for(work: np.ndarray, detail: np.ndarray, spec: DetailSpec
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """The chosen patches' boxes (P, 4, detail pixels) and pixels (P, S, S, 3) of one photo,
    at its white point when the spec says so (module docstring, step 2), and that gain."""
    gain = white_point_gain(work) if spec.white_point else 1.0
    boxes = select_patches(brighten(work, gain), (detail.shape[1], detail.shape[0]), spec)
    return boxes, brighten(cut(detail, boxes), gain), gain


def cut(detail: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(P, S, S, 3) uint8 patches."""
    return np.stack([detail[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes]) if len(boxes) else \
        np.zeros((0, 1, 1, 3), np.uint8)


# ------------------------------------------------------------------------------------ the pass

# The network parts (DetailHead, patch_features) live in detail_net, which imports torch;
# this module stays torch-free so the GUI can read results and cards without loading it. The
# names still resolve here, on first use, for callers that import them from core.detail.
_NET = ("DetailHead", "patch_features")


def __getattr__(name: str) -> Any:
    if name in _NET:
        from . import detail_net
        return getattr(detail_net, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_result(maps: np.ndarray, boxes_detail: np.ndarray, spec: DetailSpec, global_logit: float,
                 detail_size: tuple[int, int], image_size: tuple[int, int],
                 gain: float = 1.0) -> DetailResult:
    sx, sy = detail_size[0] / image_size[0], detail_size[1] / image_size[1]
    boxes = boxes_detail.astype(np.float32) / np.array([sx, sy, sx, sy], np.float32)
    maps = maps.astype(np.float32) * spec.smooth_mask(len(maps))[:, :, None, None]
    return DetailResult(maps=maps, boxes=boxes, alpha=spec.alpha,
                        global_logit=float(global_logit), detail_size=detail_size, cell=spec.cell,
                        channels=spec.channels, scale=(sx, sy), gain=gain)
