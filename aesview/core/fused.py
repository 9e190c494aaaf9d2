"""Inference-only copies of backbone stages, for the crop's one-photo pass and the score pass.

In eval mode a BatchNorm after a convolution is an affine map per channel, so it folds into the
convolution's weights and bias (`torch.nn.utils.fusion.fuse_conv_bn_eval`); EfficientNet-Lite's
"same" padding, computed and applied with a copy of the tensor before every convolution, is a
plain symmetric padding for the stride-1 ones and becomes the convolution's own. With the
tensors in channels-last order the depthwise convolutions run on oneDNN's faster path. Together
about a quarter off the 448-px pass on this CPU (tools/crop_benchmark.py --timing); the outputs
equal the original stages' to float rounding, which `fuse_stages` checks before handing a copy out.
A TorchScript trace per input shape, frozen and optimised for inference, took another 7 ms off
the prefix (25 -> 18 ms at 448 x 288) but cost 0.2-0.6 s per new shape and held the GIL for up
to 50 ms while tracing (a stall of the GUI thread): a loss for an export of a few hundred picks,
so it is not used.

The model's own stages are never changed: training keeps using them, and the score pass falls
back to them wherever a copy fails its check.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

# (convolution, its BatchNorm) attribute pairs of efficientnet_lite_pytorch's MBConvBlock
_MB_PAIRS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))
# relative tolerance of the check against the original stages (float32 rounding is ~1e-6)
CHECK_RTOL = 1e-4


def _symmetric_same(conv: nn.Conv2d) -> nn.Conv2d:
    """A stride-1 "same"-padded convolution (efficientnet's Conv2dDynamicSamePadding) as a plain
    Conv2d padding k // 2 on every side: for an odd kernel at stride 1 that is exactly what the
    dynamic padding computes, without copying the input into a padded tensor first."""
    if (type(conv).__name__ != "Conv2dDynamicSamePadding" or tuple(conv.stride) != (1, 1)
            or any(k % 2 == 0 for k in conv.kernel_size) or tuple(conv.dilation) != (1, 1)):
        return conv
    kh, kw = conv.kernel_size[0], conv.kernel_size[-1]
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, (kh, kw), 1, (kh // 2, kw // 2),
                      groups=conv.groups, bias=conv.bias is not None)
    plain.weight = conv.weight
    plain.bias = conv.bias
    return plain


def _fold(module: nn.Module) -> None:
    """Fold every BatchNorm that directly follows a convolution into it, in place, and let the
    ReLU6 after such a pair clamp the convolution's fresh output in place (no new tensor: at
    320 px the first stages' outputs are megabytes each; about a tenth off the pass here)."""
    if all(hasattr(module, c) and hasattr(module, b) for c, b in _MB_PAIRS[1:]):
        for conv_name, bn_name in _MB_PAIRS:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, conv_name, _symmetric_same(fuse_conv_bn_eval(conv, bn)))
                setattr(module, bn_name, nn.Identity())
        # efficientnet_lite's MBConvBlock applies `_swish` only to the output of a conv + BN
        # pair (never to the block's input), so clamping in place changes no other tensor.
        act = getattr(module, "_swish", None)
        if isinstance(act, nn.ReLU6) and type(module).__name__ == "MBConvBlock":
            act.inplace = True
    if isinstance(module, nn.Sequential):
        kids = list(module)
        for i, (a, b) in enumerate(zip(kids, kids[1:])):
            if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                module[i] = _symmetric_same(fuse_conv_bn_eval(a, b))
                module[i + 1] = nn.Identity()
                after = kids[i + 2] if i + 2 < len(kids) else None
                if isinstance(after, nn.ReLU6):
                    after.inplace = True
    for child in module.children():
        _fold(child)


class FusedStages(nn.Module):
    """Stages [start, stop) of a backbone, BN folded, run channels-last; returns a contiguous
    (N, C, h, w) tensor like the original."""

    def __init__(self, stages: list[nn.Module]):
        super().__init__()
        self.stages = nn.ModuleList(copy.deepcopy(s) for s in stages).eval()
        for s in self.stages:
            _fold(s)
        self.stages.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        for stage in self.stages:
            x = stage(x)
        return x.contiguous()


def fuse_stages(stages: list[nn.Module], example: torch.Tensor) -> nn.Module:
    """FusedStages of `stages` when they give the originals' output on `example` (to
    CHECK_RTOL of its largest value); otherwise the original stages, in order, unchanged
    (a backbone this does not know, or a BatchNorm in training mode, costs only the speed)."""
    original = nn.Sequential(*stages)
    if any(m.training for s in stages for m in s.modules()):
        return original      # a training-mode pass would also update the model's BN statistics
    try:
        fused = FusedStages(list(stages))
        with torch.inference_mode():
            want, got = original(example), fused(example)
        scale = float(want.abs().max()) or 1.0
        if want.shape == got.shape and float((want - got).abs().max()) <= CHECK_RTOL * scale:
            return fused
    except Exception:  # noqa: BLE001 - any failure of the copy or its check keeps the original
        pass
    return original


def fuse_segments(stages: list[nn.Module], bounds: list[int], example: torch.Tensor) -> list[nn.Module]:
    """`fuse_stages` of stages[a:b] for each consecutive pair (a, b) of `bounds` (from 0 to
    len(stages)), each checked on the output of the original stages before it: a pass that
    reads intermediate outputs runs the segments in order and keeps what it needs."""
    if bounds[0] != 0 or bounds[-1] != len(stages) or any(a >= b for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"segment bounds {bounds} do not cut {len(stages)} stages in order")
    out: list[nn.Module] = []
    x = example
    for a, b in zip(bounds, bounds[1:]):
        out.append(fuse_stages(stages[a:b], x))
        with torch.inference_mode():
            for stage in stages[a:b]:
                x = stage(x)
    return out
