"""Where a photo's subject is, from the score pass: the point Z (100 %) and compare zoom to.

The aesthetic model's own maps answer "what raises the score", which since it learnt from
LIVE-C's quality ratings is often a smooth, pleasant background (the ladybird sample: its peak
sits on the blurred flowers). The ImageNet classifier knows ladybirds, birds and cups. The
shipped model's first stages are the frozen ImageNet ones, so the classifier's tail (last block,
head conv, fc) runs from the score pass's own stage output: the CAM of its top classes,
weighted by their probabilities, as the crop's subject cue (core.subject), plus a quarter of
the in-focus gradient map (a subject is sharp; it lifts the subject the classifier half sees).
Chosen on the validation split of the marked set, tools/zoom_benchmark.py (docs/GUI.md).

A model that fine-tunes more stages shares fewer, and the tail starts earlier (freeze 12: stages
12-17, about 9 ms of CPU a photo against 3.6 from stage 16, tools/score_cpu.py). There is no
exact way around that second copy: from the first fine-tuned stage on, the two networks'
weights differ, and the top classes need the whole 1280-channel head map at every cell. A
cheaper cue (fewer stages, a coarser input) would move the zoom point, so it would have to win
on the zoom benchmark's validation split first.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .backbones import SPECS, Backbone, BackboneError, imagenet_classifier, shared_stages
from .fused import fuse_stages
from .subject import detail_map

IMAGENET_BACKBONE = "efficientnet_lite0"
TOP_CLASSES = 5
DETAIL_WEIGHT = 0.25


class ImageNetTail:
    """The ImageNet classifier's stages after those it shares with an aesthetic backbone, as an
    inference copy (core.fused; `stages` is None when there is no tail to run)."""

    def __init__(self, mine: Backbone, architecture: str, mean: tuple[float, ...],
                 std: tuple[float, ...], device: torch.device):
        spec = SPECS[IMAGENET_BACKBONE]
        self.shared = 0
        self.stages: torch.nn.Module | None = None
        if architecture != IMAGENET_BACKBONE or list(mean) != spec.normalization["mean"] \
                or list(std) != spec.normalization["std"]:
            return
        try:
            net, fc_w, fc_b = imagenet_classifier(IMAGENET_BACKBONE)
        except BackboneError:      # no classifier weights: the zoom uses the model's own map
            return
        self.shared = shared_stages(mine, net)
        if self.shared == 0 or self.shared >= len(net.stages):
            self.shared = 0
            return
        net = net.eval().to(device)
        # A BN-folded, channels-last copy of the tail (core.fused), checked against the
        # classifier's own stages on a small input cut where the tail starts.
        with torch.inference_mode():
            ex = net(torch.rand(1, 3, 64, 96, device=device) * 2 - 1, stop=self.shared)
        self.stages = fuse_stages(list(net.stages)[self.shared:], ex)
        self.fc_w = fc_w.to(device)      # (1000, C)
        self.fc_b = fc_b.to(device)

    @property
    def available(self) -> bool:
        return self.stages is not None

    def cams(self, shared_out: torch.Tensor) -> torch.Tensor:
        """(N, h, w) >= 0: each photo's top classes' CAMs weighted by their probabilities, from
        the output of the `shared` stages."""
        assert self.stages is not None
        f = self.stages(shared_out).float()
        probs = torch.softmax(f.mean(dim=(2, 3)) @ self.fc_w.T + self.fc_b, dim=1)
        top = torch.topk(probs, TOP_CLASSES, dim=1)
        cams = torch.einsum("nkc,nchw->nkhw", self.fc_w[top.indices], f).clamp(min=0)
        return torch.einsum("nk,nkhw->nhw", top.values, cams)


def gradient_map(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Mean luminance gradient magnitude of a (H, W, 3) uint8 image, pooled to `shape` (h, w)."""
    t = torch.from_numpy(detail_map(rgb, cell=1))[None, None]   # the crop's gradient magnitude
    out: np.ndarray = F.adaptive_avg_pool2d(t, shape)[0, 0].numpy()
    return out


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.maximum(np.asarray(a, np.float32), 0)
    top = float(a.max()) if a.size else 0.0
    return a / top if top > 0 else a


def subject_map(cam: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The map whose peak is the zoom point: the unit-scaled CAM plus DETAIL_WEIGHT times the
    unit-scaled gradient map on the CAM's grid."""
    cam = np.asarray(cam, np.float32)
    mixed = _unit(cam) + DETAIL_WEIGHT * _unit(gradient_map(rgb, (cam.shape[0], cam.shape[1])))
    return mixed.astype(np.float32)
