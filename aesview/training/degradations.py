"""Graded photographic defects for the self-supervised set (RankIQA, Liu et al. 2017; awkward
re-framings after Chen et al. 2017), applied to a photo already at the network's working size.

Every defect takes an RGB uint8 array (H, W, 3), a severity 1..3 and a numpy Generator and
returns ``(image uint8 of the same shape, mask)`` where ``mask`` is a float32 (H, W) array in
[0, 1] marking where the defect lies (local defects) or None (whole-frame defects). Severity
grows the defect monotonically; the random draw only picks directions and places.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ..core.defects import (  # noqa: F401
    BLUR_SIGMA,
    CAST_STRENGTH,
    CONTRAST_KEEP,
    DISK_RADIUS,
    JPEG_QUALITY,
    LOCAL_BLUR_SIGMA,
    LOCAL_NOISE_SIGMA,
    MOTION_LENGTH,
    NOISE_SIGMA,
    OVER_EV,
    TIGHT_FRACTION,
    TILT_DEG,
    UNDER_EV,
    _to_float,
    _to_uint8,
    add_noise,
    convolve,
    crop_to,
    disk_kernel,
    exposure,
    flatten_contrast,
    gaussian_kernel,
    jpeg_compress,
    line_kernel,
    rotate,
)

# The pure operations and their severity tables live in aesview/core/defects.py (the app's
# "what if" applies them too); this module adds the random draws and the severity scale.
SEVERITIES = (1, 2, 3)


def _sev(table, severity):
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be 1, 2 or 3, got {severity}")
    return table[severity - 1]


def defocus(img, severity, rng):
    if rng.random() < 0.5:
        return convolve(img, gaussian_kernel(_sev(BLUR_SIGMA, severity))), None
    return convolve(img, disk_kernel(_sev(DISK_RADIUS, severity))), None


def motion_blur(img, severity, rng):
    return convolve(img, line_kernel(_sev(MOTION_LENGTH, severity), rng.uniform(0, 180))), None


def noise(img, severity, rng):
    return add_noise(img, _sev(NOISE_SIGMA, severity), rng), None


def jpeg(img, severity, rng):
    return jpeg_compress(img, _sev(JPEG_QUALITY, severity)), None


def underexpose(img, severity, rng):
    return exposure(img, -_sev(UNDER_EV, severity)), None


def overexpose(img, severity, rng):
    return exposure(img, _sev(OVER_EV, severity)), None


def flat_contrast(img, severity, rng):
    return flatten_contrast(img, _sev(CONTRAST_KEEP, severity)), None


def color_cast(img, severity, rng):
    x = _to_float(img)
    a = rng.uniform(0, 2 * math.pi)
    # A zero-sum direction in RGB: the cast changes hue, not overall brightness.
    d = np.array([math.cos(a), math.cos(a - 2 * math.pi / 3), math.cos(a + 2 * math.pi / 3)],
                 np.float32)
    s = _sev(CAST_STRENGTH, severity)
    y = x * (1.0 + s * d) + 0.5 * s * d * 0.3
    return _to_uint8(y), None


def tilt(img, severity, rng):
    deg = _sev(TILT_DEG, severity) * (1 if rng.random() < 0.5 else -1)
    return rotate(img, deg), None


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
    return crop_to(img, box), None


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
    blurred = convolve(img, gaussian_kernel(_sev(LOCAL_BLUR_SIGMA, severity)))
    return _paste(img, blurred, mask), mask


def local_noise(img, severity, rng):
    mask = region_mask(img.shape, rng)
    noisy = add_noise(img, _sev(LOCAL_NOISE_SIGMA, severity), rng)
    return _paste(img, noisy, mask), mask


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
        return jpeg_compress(img, int(rng.integers(92, 99)))
    if kind == 1:
        h, w = img.shape[:2]
        f = rng.uniform(0.9, 0.97)
        small = Image.fromarray(img).resize((max(1, int(w * f)), max(1, int(h * f))),
                                            Image.Resampling.LANCZOS)
        return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))
    if kind == 2:
        return _to_uint8(_to_float(img) * rng.uniform(0.97, 1.03))
    return np.ascontiguousarray(img[:, ::-1])
