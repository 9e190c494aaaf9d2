"""Graded photographic defects for the self-supervised set (RankIQA, Liu et al. 2017; awkward
re-framings after Chen et al. 2017), applied to a photo already at the network's working size.

Every defect takes an RGB uint8 array (H, W, 3), a severity 1..3 and a numpy Generator and
returns ``(image uint8 of the same shape, mask)`` where ``mask`` is a float32 (H, W) array in
[0, 1] marking where the defect lies (local defects) or None (whole-frame defects). Severity
grows the defect monotonically; the random draw only picks directions and places.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SEVERITIES = (1, 2, 3)


def _to_float(img):
    return img.astype(np.float32) / 255.0


def _to_uint8(x):
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)


def _srgb_to_linear(x):
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x):
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _convolve(img, kernel):
    """Per-channel 2-D convolution with reflect padding (torch: fast on CPU)."""
    k = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32))
    k = (k / k.sum())[None, None].repeat(3, 1, 1, 1)
    x = torch.from_numpy(_to_float(img)).permute(2, 0, 1)[None]
    ph, pw = k.shape[2] // 2, k.shape[3] // 2
    x = F.pad(x, (pw, pw, ph, ph), mode="reflect")
    y = F.conv2d(x, k, groups=3)[0].permute(1, 2, 0).numpy()
    return _to_uint8(y)


def gaussian_kernel(sigma):
    r = max(1, int(math.ceil(3 * sigma)))
    ax = np.arange(-r, r + 1, dtype=np.float32)
    g = np.exp(-0.5 * (ax / sigma) ** 2)
    return np.outer(g, g)


def disk_kernel(radius):
    r = int(math.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    # Anti-aliased edge: coverage falls from 1 to 0 over one pixel around the radius.
    return np.clip(radius + 0.5 - np.sqrt(xx ** 2 + yy ** 2), 0.0, 1.0)


def line_kernel(length, angle_deg):
    r = int(math.ceil(length / 2))
    size = 2 * r + 1
    k = np.zeros((size * 4, size * 4), np.float32)
    t = np.linspace(-length / 2, length / 2, 8 * size)
    a = math.radians(angle_deg)
    xs = np.round((r + t * math.cos(a)) * 4 + 2).astype(int).clip(0, size * 4 - 1)
    ys = np.round((r + t * math.sin(a)) * 4 + 2).astype(int).clip(0, size * 4 - 1)
    k[ys, xs] = 1.0
    return k.reshape(size, 4, size, 4).sum(axis=(1, 3))


# Severity tables: index 0 is severity 1. Sizes are for a ~320 px long side.
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


def _sev(table, severity):
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be 1, 2 or 3, got {severity}")
    return table[severity - 1]


def defocus(img, severity, rng):
    if rng.random() < 0.5:
        return _convolve(img, gaussian_kernel(_sev(BLUR_SIGMA, severity))), None
    return _convolve(img, disk_kernel(_sev(DISK_RADIUS, severity))), None


def motion_blur(img, severity, rng):
    return _convolve(img, line_kernel(_sev(MOTION_LENGTH, severity), rng.uniform(0, 180))), None


def _noise_field(shape, sigma, rng):
    """Sensor-like noise: luminance grain plus coarser chroma blotches, stronger in shadows."""
    h, w = shape[:2]
    lum = rng.normal(0.0, 1.0, (h, w, 1)).astype(np.float32)
    ch, cw = max(1, h // 2), max(1, w // 2)
    chroma = rng.normal(0.0, 0.6, (ch, cw, 3)).astype(np.float32)
    chroma = np.asarray(Image.fromarray(chroma[..., 0]).resize((w, h), Image.BILINEAR))[..., None] \
        * np.array([1.0, -0.5, 0.3], np.float32) + \
        np.asarray(Image.fromarray(chroma[..., 1]).resize((w, h), Image.BILINEAR))[..., None] \
        * np.array([-0.3, 0.4, 1.0], np.float32)
    return sigma * (lum + chroma)


def noise(img, severity, rng):
    x = _to_float(img)
    shade = 1.25 - 0.5 * x.mean(axis=2, keepdims=True)
    return _to_uint8(x + shade * _noise_field(img.shape, _sev(NOISE_SIGMA, severity), rng)), None


def jpeg(img, severity, rng):
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(_sev(JPEG_QUALITY, severity)))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB")), None


def _exposure(img, ev):
    lin = _srgb_to_linear(_to_float(img)) * (2.0 ** ev)
    return _to_uint8(_linear_to_srgb(lin))


def underexpose(img, severity, rng):
    return _exposure(img, -_sev(UNDER_EV, severity)), None


def overexpose(img, severity, rng):
    return _exposure(img, _sev(OVER_EV, severity)), None


def flat_contrast(img, severity, rng):
    x = _to_float(img)
    keep = _sev(CONTRAST_KEEP, severity)
    m = x.mean()
    return _to_uint8(m + (x - m) * keep), None


def color_cast(img, severity, rng):
    x = _to_float(img)
    a = rng.uniform(0, 2 * math.pi)
    # A zero-sum direction in RGB: the cast changes hue, not overall brightness.
    d = np.array([math.cos(a), math.cos(a - 2 * math.pi / 3), math.cos(a + 2 * math.pi / 3)],
                 np.float32)
    s = _sev(CAST_STRENGTH, severity)
    y = x * (1.0 + s * d) + 0.5 * s * d * 0.3
    return _to_uint8(y), None


def _inscribed(w, h, angle_rad):
    """Largest axis-aligned rectangle of aspect w:h inside a w x h frame rotated by angle."""
    c, s = abs(math.cos(angle_rad)), abs(math.sin(angle_rad))
    scale = min(w / (w * c + h * s), h / (w * s + h * c))
    return w * scale, h * scale


def tilt(img, severity, rng):
    h, w = img.shape[:2]
    deg = _sev(TILT_DEG, severity) * (1 if rng.random() < 0.5 else -1)
    big = Image.fromarray(img).resize((w * 2, h * 2), Image.BICUBIC)
    rot = big.rotate(deg, resample=Image.BICUBIC)
    cw, chh = _inscribed(w * 2, h * 2, math.radians(deg))
    left, top = (w * 2 - cw) / 2, (h * 2 - chh) / 2
    out = rot.resize((w, h), Image.LANCZOS, box=(left, top, left + cw, top + chh))
    return np.asarray(out), None


def reframe(img, severity, rng):
    """An awkward re-framing of the same aspect: a too-tight window pushed off-centre towards an
    edge or corner, so the composition's subject is cut or crammed (Chen et al. 2017)."""
    h, w = img.shape[:2]
    f = _sev(TIGHT_FRACTION, severity)
    cw, chh = w * f, h * f
    # Push towards a random side/corner: the farther off-centre, the more of the subject is cut.
    ux, uy = rng.choice([-1.0, 0.0, 1.0]), rng.choice([-1.0, 1.0])
    push = 0.6 + 0.4 * rng.random()
    cx = w / 2 + ux * push * (w - cw) / 2
    cy = h / 2 + uy * push * (h - chh) / 2
    box = (cx - cw / 2, cy - chh / 2, cx + cw / 2, cy + chh / 2)
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC, box=box)), None


def region_mask(shape, rng, coverage=(0.2, 0.5)):
    """A feathered rectangle or ellipse covering `coverage` of the frame, at a random place."""
    h, w = shape[:2]
    target = rng.uniform(*coverage)
    aspect = rng.uniform(0.6, 1.6)
    ellipse = rng.random() < 0.5
    area = target * w * h * (4 / math.pi if ellipse else 1.0)
    rw = min(w, math.sqrt(area * aspect))
    rh = min(h, area / rw)
    cx = rng.uniform(rw / 2, w - rw / 2) if rw < w else w / 2
    cy = rng.uniform(rh / 2, h - rh / 2) if rh < h else h / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    if ellipse:
        d = np.sqrt(((xx - cx) / (rw / 2)) ** 2 + ((yy - cy) / (rh / 2)) ** 2)
        m = np.clip((1.0 - d) * min(rw, rh) / 6 + 0.5, 0, 1)
    else:
        dx = rw / 2 - np.abs(xx - cx)
        dy = rh / 2 - np.abs(yy - cy)
        m = np.clip(np.minimum(dx, dy) / 3 + 0.5, 0, 1)
    return m.astype(np.float32)


def _paste(clean, changed, mask):
    m = mask[..., None]
    return _to_uint8(_to_float(clean) * (1 - m) + _to_float(changed) * m)


def local_blur(img, severity, rng):
    mask = region_mask(img.shape, rng)
    blurred = _convolve(img, gaussian_kernel(_sev(LOCAL_BLUR_SIGMA, severity)))
    return _paste(img, blurred, mask), mask


def local_noise(img, severity, rng):
    mask = region_mask(img.shape, rng)
    noisy, _ = _noisy(img, _sev(LOCAL_NOISE_SIGMA, severity), rng)
    return _paste(img, noisy, mask), mask


def _noisy(img, sigma, rng):
    x = _to_float(img)
    shade = 1.25 - 0.5 * x.mean(axis=2, keepdims=True)
    return _to_uint8(x + shade * _noise_field(img.shape, sigma, rng)), None


# name -> (function, attribute it spoils, technical?)
DEFECTS = {
    "defocus": (defocus, "sharpness", True),
    "motion_blur": (motion_blur, "sharpness", True),
    "noise": (noise, "noise", True),
    "jpeg": (jpeg, "compression", True),
    "underexposure": (underexpose, "exposure", True),
    "overexposure": (overexpose, "exposure", True),
    "flat_contrast": (flat_contrast, "contrast", True),
    "color_cast": (color_cast, "color", True),
    "tilt": (tilt, "level_horizon", False),
    "reframe": (reframe, "framing", False),
    "local_blur": (local_blur, "sharpness", True),
    "local_noise": (local_noise, "noise", True),
}
TECHNICAL = tuple(k for k, v in DEFECTS.items() if v[2])
ATTRIBUTES = ["sharpness", "exposure", "contrast", "noise", "color", "level_horizon", "framing",
              "compression"]


def apply(name, img, severity, rng):
    try:
        fn = DEFECTS[name][0]
    except KeyError:
        raise ValueError(f"unknown defect {name!r}; known: {', '.join(DEFECTS)}") from None
    return fn(img, severity, rng)


def near_lossless(img, rng):
    """A variant a photographer would call the same photo: one of mild JPEG (q >= 92), a tiny
    resize, +-3 % exposure or a mirror image."""
    kind = rng.integers(4)
    if kind == 0:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(92, 99)))
        buf.seek(0)
        return np.asarray(Image.open(buf).convert("RGB"))
    if kind == 1:
        h, w = img.shape[:2]
        f = rng.uniform(0.9, 0.97)
        small = Image.fromarray(img).resize((max(1, int(w * f)), max(1, int(h * f))), Image.LANCZOS)
        return np.asarray(small.resize((w, h), Image.BICUBIC))
    if kind == 2:
        return _to_uint8(_to_float(img) * rng.uniform(0.97, 1.03))
    return np.ascontiguousarray(img[:, ::-1])
