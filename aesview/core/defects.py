"""Photographic defects as pure image operations (numpy/PIL in, numpy out), at a given strength.

These are the operations the trainer degrades photos with (aesview/training/degradations.py adds
the random draws and severities 1..3 on top) and the ones a "what if" experiment applies to a
photo in the app. They live in the core so both can use them; the core never imports training.
Every operation takes and returns an RGB uint8 array (H, W, 3) of the same shape.

The severity tables below are the trainer's (index 0 is severity 1; sizes are for a ~320 px long
side, the network's working size): change them here and both the trainer and "what if" follow.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

BLUR_SIGMA = (1.3, 2.3, 3.6)
DISK_RADIUS = (2.0, 3.5, 5.5)
MOTION_LENGTH = (6.0, 11.0, 18.0)
NOISE_SIGMA = (0.035, 0.07, 0.12)
JPEG_QUALITY = (22, 12, 6)
UNDER_EV = (1.0, 1.7, 2.5)
OVER_EV = (0.8, 1.4, 2.1)
CONTRAST_KEEP = (0.55, 0.38, 0.22)
CAST_STRENGTH = (0.12, 0.22, 0.34)
TILT_DEG = (3.0, 6.0, 10.0)
TIGHT_FRACTION = (0.68, 0.52, 0.38)
LOCAL_BLUR_SIGMA = (2.3, 3.6, 5.5)
LOCAL_NOISE_SIGMA = (0.07, 0.11, 0.16)


def _to_float(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float32) / 255.0


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-channel 2-D convolution with reflect padding (torch: fast on CPU)."""
    # torch here, not at the top: the GUI names the defect families at start-up, before any
    # worker has loaded torch.
    import torch
    import torch.nn.functional as F

    k = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))
    k = (k / k.sum())[None, None].repeat(3, 1, 1, 1)
    x = torch.from_numpy(_to_float(img)).permute(2, 0, 1)[None]
    ph, pw = k.shape[2] // 2, k.shape[3] // 2
    x = F.pad(x, (pw, pw, ph, ph), mode="reflect")
    y: np.ndarray = F.conv2d(x, k, groups=3)[0].permute(1, 2, 0).numpy()
    return _to_uint8(y)


def gaussian_kernel(sigma: float) -> np.ndarray:
    r = max(1, int(math.ceil(3 * sigma)))
    ax = np.arange(-r, r + 1, dtype=np.float32)
    g = np.exp(-0.5 * (ax / sigma) ** 2)
    return np.outer(g, g)


def disk_kernel(radius: float) -> np.ndarray:
    r = int(math.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    # Anti-aliased edge: coverage falls from 1 to 0 over one pixel around the radius.
    k: np.ndarray = np.clip(radius + 0.5 - np.sqrt(xx ** 2 + yy ** 2), 0.0, 1.0)
    return k


def line_kernel(length: float, angle_deg: float) -> np.ndarray:
    r = int(math.ceil(length / 2))
    size = 2 * r + 1
    k = np.zeros((size * 4, size * 4), np.float32)
    t = np.linspace(-length / 2, length / 2, 8 * size)
    a = math.radians(angle_deg)
    xs = np.round((r + t * math.cos(a)) * 4 + 2).astype(int).clip(0, size * 4 - 1)
    ys = np.round((r + t * math.sin(a)) * 4 + 2).astype(int).clip(0, size * 4 - 1)
    k[ys, xs] = 1.0
    out: np.ndarray = k.reshape(size, 4, size, 4).sum(axis=(1, 3))
    return out


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return convolve(img, gaussian_kernel(sigma))


def noise_field(shape: tuple[int, ...], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor-like noise: luminance grain plus coarser chroma blotches, stronger in shadows."""
    h, w = shape[:2]
    lum = rng.normal(0.0, 1.0, (h, w, 1)).astype(np.float32)
    ch, cw = max(1, h // 2), max(1, w // 2)
    chroma = rng.normal(0.0, 0.6, (ch, cw, 3)).astype(np.float32)
    chroma = np.asarray(Image.fromarray(chroma[..., 0]).resize((w, h), Image.Resampling.BILINEAR))[..., None] \
        * np.array([1.0, -0.5, 0.3], np.float32) + \
        np.asarray(Image.fromarray(chroma[..., 1]).resize((w, h), Image.Resampling.BILINEAR))[..., None] \
        * np.array([-0.3, 0.4, 1.0], np.float32)
    field: np.ndarray = sigma * (lum + chroma)
    return field


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor-like noise of standard deviation `sigma` (0..1 scale), stronger in the shadows."""
    x = _to_float(img)
    shade = 1.25 - 0.5 * x.mean(axis=2, keepdims=True)
    return _to_uint8(x + shade * noise_field(img.shape, sigma, rng))


def jpeg_compress(img: np.ndarray, quality: float) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def exposure(img: np.ndarray, ev: float) -> np.ndarray:
    """Exposure moved by `ev` stops, in linear light."""
    lin = _srgb_to_linear(_to_float(img)) * (2.0 ** ev)
    return _to_uint8(_linear_to_srgb(lin))


def flatten_contrast(img: np.ndarray, keep: float) -> np.ndarray:
    """Contrast about the mean scaled by `keep` (1 = unchanged)."""
    x = _to_float(img)
    m = x.mean()
    return _to_uint8(m + (x - m) * keep)


def inscribed(w: float, h: float, angle_rad: float) -> tuple[float, float]:
    """Largest axis-aligned rectangle of aspect w:h inside a w x h frame rotated by angle."""
    c, s = abs(math.cos(angle_rad)), abs(math.sin(angle_rad))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    return w * scale, h * scale


def rotate(img: np.ndarray, deg: float) -> np.ndarray:
    """The frame turned by `deg` degrees (counter-clockwise) and cropped to the largest upright
    rectangle of the same aspect, resized back: a horizon tilted as a careless shot tilts it."""
    h, w = img.shape[:2]
    big = Image.fromarray(img).resize((w * 2, h * 2), Image.Resampling.BICUBIC)
    rot = big.rotate(deg, resample=Image.Resampling.BICUBIC)
    cw, chh = inscribed(w * 2, h * 2, math.radians(deg))
    left, top = (w * 2 - cw) / 2, (h * 2 - chh) / 2
    out = rot.resize((w, h), Image.Resampling.LANCZOS, box=(left, top, left + cw, top + chh))
    return np.asarray(out)


def crop_to(img: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The window `box` = (left, top, right, bottom) in pixels, resized back to the full frame."""
    h, w = img.shape[:2]
    return np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.BICUBIC, box=box))
