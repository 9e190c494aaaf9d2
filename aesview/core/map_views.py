"""Ways to look at one activation map, each with a legend that says what its colours mean.

A signed AesAM answers "does this region raise or lower the score?" (absolute: centred on 0).
On a photo the network likes, it is positive everywhere and an absolute view is red all over,
saying nothing about *where* the evidence concentrates; the relative view (centred on the
photo's own mean) and the normalised view (min..max of the photo, as the figures of Zhang et al.
and of CAM papers show class maps) answer that instead. Numpy in, numpy (RGBA/RGB uint8) out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .maps import blend, colorize, symmetric_limit, upsample

ABSOLUTE, RELATIVE, NORMALISED = "absolute", "relative", "normalised"
MODES = (ABSOLUTE, RELATIVE, NORMALISED)
MODE_LABELS = {ABSOLUTE: "Absolute (0 = neutral)", RELATIVE: "Relative to the photo's mean",
               NORMALISED: "Normalised (paper)"}
DIVERGING = "RdBu_r"
SEQUENTIAL = "jet"  # the colour map of the CAM papers' figures (Zhou et al. 2016, Zhang et al.)


@dataclass(frozen=True)
class MapView:
    """A map prepared for display: `values` are what the colours show, `limit` their scale."""
    values: np.ndarray      # (h, w) float32
    mode: str
    signed: bool            # diverging around 0 (absolute, relative) or 0..1 (normalised)
    limit: float            # |values| <= limit maps to the full colour range (signed views)
    low_text: str
    centre_text: str
    high_text: str
    title: str

    @property
    def legend(self) -> str:
        """One line for a caption: what the two ends and the middle of the colour bar mean."""
        mid = f", middle: {self.centre_text}" if self.centre_text else ""
        return f"{self.title}. Blue/left: {self.low_text}{mid}; red/right: {self.high_text}." \
            if self.signed else f"{self.title}. Dark blue: {self.low_text}; dark red: {self.high_text}."


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown map mode {mode!r}; choose one of {', '.join(MODES)}")


def view(m: np.ndarray, mode: str = ABSOLUTE, what: str = "aesthetic evidence",
         limit: float | None = None) -> MapView:
    """The map `m` (h, w) seen in `mode`. `what` names the evidence in the legend; `limit`
    overrides the colour scale of signed views (small multiples share one)."""
    _check_mode(mode)
    m = np.asarray(m, dtype=np.float32)
    if mode == ABSOLUTE:
        return MapView(m, mode, True, limit or symmetric_limit(m),
                       "lowers the score", "0 (neutral)", "raises the score",
                       f"Absolute {what}: the sign says which way each region pushes")
    if mode == RELATIVE:
        mean = float(m.mean()) if m.size else 0.0
        v = m - mean
        return MapView(v, mode, True, limit or symmetric_limit(v),
                       "less than the photo's average", f"the photo's average ({mean:+.2f})",
                       "more than the photo's average",
                       f"Relative {what}: where it concentrates within this photo")
    lo, hi = (float(m.min()), float(m.max())) if m.size else (0.0, 0.0)
    v = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    return MapView(v.astype(np.float32), mode, False, 1.0,
                   f"the photo's weakest ({lo:+.2f})", "", f"its strongest ({hi:+.2f})",
                   f"Normalised {what} (min to max of this photo, as in the paper's figures)")


def shared_limit(maps: np.ndarray, mode: str) -> float | None:
    """One colour scale for a stack of maps (K, h, w), so small multiples compare honestly."""
    _check_mode(mode)
    if mode == NORMALISED or maps.size == 0:
        return None
    if mode == RELATIVE:
        maps = maps - maps.mean(axis=(1, 2), keepdims=True)
    return symmetric_limit(maps)


def render(v: MapView, size: tuple[int, int], cmap: str | None = None,
           fade_neutral: bool = True) -> np.ndarray:
    """RGBA uint8 overlay of size (height, width). Signed views fade to transparent where the
    map is neutral, so the photo shows through; the normalised view fades its low end."""
    big = upsample(v.values, size)
    if v.signed:
        rgba = colorize(big, cmap=cmap or DIVERGING, limit=v.limit, signed=True)
        strength = np.clip(np.abs(big) / v.limit, 0.0, 1.0)
    else:
        from matplotlib import colormaps
        clipped = np.clip(big, 0.0, 1.0)
        rgba = (colormaps[cmap or SEQUENTIAL](clipped) * 255).astype(np.uint8)
        strength = clipped
    if fade_neutral:
        rgba[..., 3] = (235 * strength ** 0.7).astype(np.uint8)
    return rgba


def colorbar(v: MapView, width: int = 256, height: int = 12, cmap: str | None = None) -> np.ndarray:
    """RGBA uint8 colour bar for the legend, low end on the left."""
    from matplotlib import colormaps
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)
    rgba = (colormaps[cmap or (DIVERGING if v.signed else SEQUENTIAL)](ramp) * 255).astype(np.uint8)
    return np.repeat(rgba[None], height, axis=0)


def colour_stops(v: MapView, n: int = 11, cmap: str | None = None) -> list[str]:
    """CSS colours along the colour bar (for a legend drawn as a CSS gradient)."""
    bar = colorbar(v, n, 1, cmap)[0]
    return [f"rgb({r},{g},{b})" for r, g, b, _ in bar]


def overlay_on(photo: np.ndarray, v: MapView, opacity: float = 0.75,
               cmap: str | None = None) -> np.ndarray:
    """The photo (H, W, 3) with the view drawn over it: RGB uint8 of the photo's size."""
    return blend(photo, render(v, photo.shape[:2], cmap), opacity)


def _font(px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1 has only the bitmap font
        return ImageFont.load_default()


def labelled(panel: np.ndarray, label: str, px: int = 14) -> np.ndarray:
    """The panel with a caption strip above it."""
    h, w = panel.shape[:2]
    strip = px + 8
    canvas = Image.new("RGB", (w, h + strip), (255, 255, 255))
    canvas.paste(Image.fromarray(panel), (0, strip))
    ImageDraw.Draw(canvas).text((4, 3), label, fill=(20, 20, 20), font=_font(px))
    return np.asarray(canvas)


def hstack(panels: list[np.ndarray], gap: int = 8) -> np.ndarray:
    h = max(p.shape[0] for p in panels)
    w = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    out = np.full((h, w, 3), 255, np.uint8)
    x = 0
    for p in panels:
        out[:p.shape[0], x:x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out


def side_by_side(photo: np.ndarray, aesam: np.ndarray, highmap: np.ndarray,
                 mode: str = ABSOLUTE, opacity: float = 0.75) -> np.ndarray:
    """The signed AesAM (in `mode`) beside the paper's high-class map (normalised, as the
    paper shows it), each over the photo, captioned. RGB uint8."""
    a = view(aesam, mode)
    b = view(highmap, NORMALISED, "high-class evidence")
    return hstack([labelled(overlay_on(photo, a, opacity), f"AesAM ({mode})"),
                    labelled(overlay_on(photo, b, opacity), "High-class map (paper)")])


def small_multiples(photo: np.ndarray, attam: np.ndarray, names: list[str],
                    values: dict[str, float] | None = None, mode: str = ABSOLUTE,
                    columns: int = 4, tile: int = 200, opacity: float = 0.75) -> np.ndarray:
    """Every AttAM over a small copy of the photo, one captioned tile each, in a grid; signed
    modes share one colour scale so the tiles compare. RGB uint8."""
    if len(names) != attam.shape[0]:
        raise ValueError(f"{attam.shape[0]} attribute maps but {len(names)} names")
    h, w = photo.shape[:2]
    s = tile / max(h, w)
    small = np.asarray(Image.fromarray(photo).resize((max(1, round(w * s)), max(1, round(h * s))),
                                                     Image.Resampling.BILINEAR))
    lim = shared_limit(attam, mode)
    tiles = []
    for name, m in zip(names, attam):
        label = name.replace("_", " ")
        if values and name in values:
            label += f" {values[name]:.2f}"
        tiles.append(labelled(overlay_on(small, view(m, mode, name, lim), opacity), label, 12))
    rows = [hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)
