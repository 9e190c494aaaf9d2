"""'What if' experiments: change one thing about a photo in memory and score it again.

The photo is decoded once, the way scoring decodes it, so the untouched photo scores exactly
as it does in the shoot; each experiment then applies one of the defect families the trainer
knows (aesview/core/defects.py, the same operations at the same working size) or re-frames it,
and reruns the network: new score, the change, new maps. Nothing is written to disk.

Strength is on the trainer's severity scale: 1, 2, 3 are its three severities, values between
interpolate the defect's parameter linearly (0 = unchanged). Exposure and tilt are signed:
negative darkens / turns clockwise, positive brightens / turns counter-clockwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from . import defects as D
from .imaging import load_image
from .records import ScoreRecord

if TYPE_CHECKING:
    from .scoring import Scorer  # the GUI names FAMILIES at start-up; torch waits for a worker

MAX_STRENGTH = 3.0
NOISE_SEED = 0  # the same strength always draws the same grain, so repeated runs agree


@dataclass(frozen=True)
class Family:
    label: str
    table: tuple[float, ...]         # the trainer's values at severities 1, 2, 3
    identity: float                  # the value that leaves the photo unchanged
    describe: Callable[[float], str]
    signed: bool = False
    negative_table: tuple[float, ...] | None = None  # signed families: the table below 0
    reframes: bool = False           # works on the decoded photo's frame, not on pixels


def _motion(img: np.ndarray, length: float) -> np.ndarray:
    return D.convolve(img, D.line_kernel(length, 0.0))


def _pixels(name: str, img: np.ndarray, v: float) -> np.ndarray:
    if name == "blur":
        return D.gaussian_blur(img, v)
    if name == "motion_blur":
        return _motion(img, v)
    if name == "noise":
        return D.add_noise(img, v, np.random.default_rng(NOISE_SEED))
    if name == "jpeg":
        return D.jpeg_compress(img, round(v))
    if name == "exposure":
        return D.exposure(img, v)
    if name == "contrast":
        return D.flatten_contrast(img, v)
    if name == "tilt":
        return D.rotate(img, v)
    raise ValueError(name)


def _at_scale(name: str, v: float, fine: tuple[int, ...], work: tuple[int, ...]) -> float:
    """A working-size parameter for the detail image: lengths (blur, motion) grow with its
    scale, so the change looks the same in both views; strengths per pixel (noise sigma,
    exposure, contrast, JPEG quality, an angle) stay as they are."""
    if name in ("blur", "motion_blur"):
        return v * max(fine[:2]) / max(work[:2])
    return v


FAMILIES: dict[str, Family] = {
    "blur": Family("Blur (defocus)", D.BLUR_SIGMA, 0.0,
                   lambda v: f"Gaussian blur, sigma {v:.1f} px at the network's working size"),
    "motion_blur": Family("Motion blur", D.MOTION_LENGTH, 0.0,
                          lambda v: f"horizontal motion blur {v:.1f} px long"),
    "noise": Family("Noise", D.NOISE_SIGMA, 0.0,
                    lambda v: f"sensor-like noise, sigma {v * 100:.1f} % of full scale"),
    "jpeg": Family("JPEG compression", D.JPEG_QUALITY, 95.0,
                   lambda v: f"JPEG at quality {round(v)}"),
    "exposure": Family("Exposure", D.OVER_EV, 0.0, lambda v: f"exposure {v:+.1f} EV",
                       signed=True, negative_table=tuple(-e for e in D.UNDER_EV)),
    "contrast": Family("Flat contrast", D.CONTRAST_KEEP, 1.0,
                       lambda v: f"contrast reduced to {v * 100:.0f} %"),
    "tilt": Family("Tilt", D.TILT_DEG, 0.0,
                   lambda v: f"turned {abs(v):.1f} deg {'counter-' if v > 0 else ''}clockwise",
                   signed=True, negative_table=tuple(-d for d in D.TILT_DEG)),
    "tighter": Family("Tighter framing", D.TIGHT_FRACTION, 1.0,
                      lambda v: f"centred crop keeping {v * 100:.0f} % of width and height",
                      reframes=True),
}
CROP = "crop"  # the suggested (or any given) crop box


def parameter(name: str, strength: float) -> float:
    """The defect's parameter at `strength` (0 = identity; 1, 2, 3 = the trainer's severities)."""
    fam = FAMILIES.get(name)
    if fam is None:
        raise ValueError(f"unknown what-if {name!r}; choose one of {', '.join(list(FAMILIES) + [CROP])}")
    s = float(strength)
    if not np.isfinite(s) or abs(s) > MAX_STRENGTH or (s < 0 and not fam.signed):
        lo = -MAX_STRENGTH if fam.signed else 0.0
        raise ValueError(f"strength for {name} must lie in [{lo:g}, {MAX_STRENGTH:g}], got {strength}")
    table = fam.negative_table if s < 0 and fam.negative_table else fam.table
    xs = [0.0, 1.0, 2.0, 3.0]
    return float(np.interp(abs(s), xs, [fam.identity, *table]))


@dataclass
class Result:
    what: str                     # family name or "crop"
    strength: float
    setting: str                  # the change in words ("exposure -1.7 EV")
    before: ScoreRecord
    after: ScoreRecord
    image: np.ndarray             # what the network saw after the change (RGB uint8)
    before_image: np.ndarray      # what it saw before
    box: tuple[float, float, float, float] | None = None  # crops: in full-resolution pixels

    @property
    def change(self) -> float:
        assert self.after.score is not None and self.before.score is not None
        return self.after.score - self.before.score


class WhatIf:
    """One photo held in memory, ready for experiments. Construct it (and run it) on the thread
    that owns the model: decoding and inference happen here."""

    def __init__(self, scorer: Scorer, image: Image.Image, image_size: tuple[int, int],
                 path: str = "", detail: Image.Image | None = None):
        """`image`: the photo decoded as scoring decodes it; `detail`: a larger decode for
        re-framings (loaded from `path` on the first crop when not given)."""
        self.scorer = scorer
        self.path = path
        self.decoded = image if image.mode == "RGB" else image.convert("RGB")
        self.image_size = image_size          # full-resolution (w, h): crop boxes live here
        self._detail = detail
        self.base = scorer.working_array(self.decoded)
        # A model with a detail view also looks at this decode's pixels (core/detail.py).
        self.fine = np.asarray(self.decoded) if scorer.detail is not None else None
        self.before = scorer.score_array(self.base, path, image_size, detail=self.fine)

    @classmethod
    def open(cls, scorer: Scorer, path: str | os.PathLike[str]) -> WhatIf:
        """Decode `path` once, at the size scoring decodes it (so the untouched photo scores as
        it does in the shoot); ImageLoadError for a file that cannot be shown."""
        photo = load_image(path, max_side=scorer.decode_side)
        return cls(scorer, photo.image, photo.size, os.fspath(path))

    @property
    def detail(self) -> Image.Image:
        """A decode with pixels to spare for crops down to half the side, so a crop is scored at
        the working size's full sharpness, as the exported crop would be (the scoring decode
        upscaled would blur it). Decoded once, on first use; JPEGs decode at 1/8 or 1/4 scale."""
        if self._detail is None:
            want = 2 * self.scorer.long_side
            if self.path and max(self.decoded.size) < min(want, max(self.image_size)):
                self._detail = load_image(self.path, max_side=want).image.convert("RGB")
            else:
                self._detail = self.decoded
        return self._detail

    def _reframe(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """The window `box` (full-resolution pixels) cut from the detail decode at working size."""
        w, h = self.image_size
        dw, dh = self.detail.size
        sx, sy = dw / w, dh / h
        left, top, right, bottom = box
        if not (0 <= left < right <= w and 0 <= top < bottom <= h):
            raise ValueError(f"crop box {box} lies outside the {w}x{h} photo")
        if left < 0.5 and top < 0.5 and right > w - 0.5 and bottom > h - 0.5:
            return self.base  # the whole frame: exactly what scoring saw
        piece = self.detail.crop((round(left * sx), round(top * sy),
                                   max(round(left * sx) + 1, round(right * sx)),
                                   max(round(top * sy) + 1, round(bottom * sy))))
        return self.scorer.working_array(piece)

    def _fine_window(self, box: tuple[float, float, float, float]) -> np.ndarray | None:
        """The detail image's part under `box` (full-resolution pixels), for the detail view."""
        if self.fine is None:
            return None
        w, h = self.image_size
        fh, fw = self.fine.shape[:2]
        left, top, right, bottom = box
        x0, y0 = round(left * fw / w), round(top * fh / h)
        x1, y1 = max(x0 + 1, round(right * fw / w)), max(y0 + 1, round(bottom * fh / h))
        return np.ascontiguousarray(self.fine[y0:y1, x0:x1])

    def run(self, what: str, strength: float = 1.0,
            box: tuple[float, float, float, float] | None = None) -> Result:
        """Apply `what` (a FAMILIES name at `strength`, or "crop" with `box` in full-resolution
        pixels) and score the result."""
        if what == CROP:
            if box is None:
                raise ValueError("a crop needs its box")
            img = self._reframe(box)
            fine = self._fine_window(box)
            w, h = self.image_size
            setting = f"crop to {round(box[2] - box[0])} x {round(box[3] - box[1])} of {w} x {h}"
            used_box: tuple[float, float, float, float] | None = tuple(float(v) for v in box)  # type: ignore[assignment]
        else:
            v = parameter(what, strength)
            fam = FAMILIES[what]
            if fam.reframes:
                w, h = self.image_size
                cw, ch = w * v, h * v
                used_box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
                img = self._reframe(used_box) if v < 1.0 else self.base
                fine = self._fine_window(used_box) if v < 1.0 else self.fine
            else:
                used_box = None
                img = self.base if v == fam.identity else _pixels(what, self.base, v)
                fine = self.fine if self.fine is None or v == fam.identity else \
                    _pixels(what, self.fine, _at_scale(what, v, self.fine.shape, self.base.shape))
            setting = fam.describe(v)
        size = self.image_size if used_box is None else \
            (round(used_box[2] - used_box[0]), round(used_box[3] - used_box[1]))
        after = self.scorer.score_array(img, self.path, size, detail=fine)
        return Result(what, float(strength), setting, self.before, after, img, self.base, used_box)

    def suggested_crop(self, aspect: float | str | None = "original",
                       tightness: float = 0.5) -> Result:
        """The AesAM-guided crop (core.crop.best_crop on this photo's map) at `aspect`, scored.
        The app passes its own suggestion (which also knows the subject) to run(CROP, box=...)."""
        from .crop import best_crop
        assert self.before.aesam is not None
        box = best_crop(self.before.aesam, self.image_size, aspect, tightness=tightness)
        return self.run(CROP, box=tuple(float(v) for v in box))  # type: ignore[arg-type]


def comparison_image(result: Result, mode: str = "absolute", side: int = 480,
                     opacity: float = 0.75, vertical: bool = False) -> np.ndarray:
    """Before | after (or before above after), each what the network saw with its AesAM over
    it, captioned with the score and the change. Signed views share one colour scale, so a map
    that weakens looks weaker. RGB uint8."""
    from . import map_views as V
    assert result.before.aesam is not None and result.after.aesam is not None
    limit = None
    if mode != V.NORMALISED:
        views = [V.view(result.before.aesam, mode), V.view(result.after.aesam, mode)]
        limit = max(v.limit for v in views)
    panels = []
    for rec, img, caption in (
            (result.before, result.before_image, f"before: score {result.before.score:.2f}"),
            (result.after, result.image,
             f"after: {result.after.score:.2f} ({result.change:+.2f})" if vertical else
             f"after ({result.setting}): {result.after.score:.2f} ({result.change:+.2f})")):
        h, w = img.shape[:2]
        s = side / max(h, w)
        big = np.asarray(Image.fromarray(img).resize((max(1, round(w * s)), max(1, round(h * s))),
                                                     Image.Resampling.BICUBIC))
        assert rec.aesam is not None
        panels.append(V.labelled(V.overlay_on(big, V.view(rec.aesam, mode, limit=limit), opacity),
                                 caption, 14))
    if vertical:
        width = max(p.shape[1] for p in panels)
        padded = [np.pad(p, ((0, 12), (0, width - p.shape[1]), (0, 0)), constant_values=255)
                  for p in panels]
        return np.concatenate(padded, axis=0)[:-12]
    return V.hstack(panels, gap=12)
