"""The crop pass's speed-ups change nothing it computes: the BN-folded, channels-last copies of the
network (core.fused) give the model's own stages' output, the maps equal those of a pass through
the model itself, the model is left as it was, and the pass's thread count is its own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from aesview.core.fused import FusedStages, fuse_stages
from aesview.core.imaging import load_image
from aesview.core.preprocess import normalize, target_size, to_array
from aesview.core.subject import TOP_CLASSES, CropAnalyzer
from aesview.core.weights import load_model

from .photos import shared_photo


@pytest.fixture(scope="module")
def analyzer():
    return CropAnalyzer(load_model(device="cpu"))


def _reference(analyzer, photo):
    """AesAM, subject CAM and top classes through the model's own (unfused) stages. The AesAM is
    made from the map the heads read (`features`: the last map, after the pooled levels of a
    multi-level head), as the model itself builds it."""
    net = analyzer.model.net
    size = target_size(*photo.image.size, analyzer.long_side, analyzer.multiple)
    arr = to_array(photo.image, size)
    with torch.inference_mode():
        x = normalize(arr[None], analyzer.norm)
        assert analyzer.shared > 0, "the shipped model shares its frozen ImageNet stages"
        mid = net.backbone(x, stop=analyzer.shared)
        feats = net.features(x)[0]
        f = analyzer.imagenet(mid, start=analyzer.shared)[0]
        aesam = torch.einsum("c,chw->hw", analyzer.w_diff, feats)
        probs = torch.softmax(analyzer.fc_w @ f.mean(dim=(1, 2)) + analyzer.fc_b, dim=0)
        top = torch.topk(probs, TOP_CLASSES)
        cams = torch.einsum("kc,chw->khw", analyzer.fc_w[top.indices], f)
        subject = torch.einsum("k,khw->hw", top.values, cams.clamp(min=0))
    return aesam.numpy(), subject.numpy(), [int(i) for i in top.indices]


@pytest.mark.parametrize("name", ["Kleiber_by_Lukas_Baubkus.jpg", "skimage_astronaut.jpg"])
def test_maps_equal_a_pass_through_the_models_own_stages(analyzer, name):
    photo = load_image(shared_photo(name), max_side=analyzer.long_side)
    aesam, subject, classes = _reference(analyzer, photo)
    maps = analyzer.analyze_photo(photo)
    assert maps.aesam.shape == aesam.shape and maps.subject.shape == subject.shape
    assert abs(maps.aesam - aesam).max() <= 1e-4 * abs(aesam).max()
    assert abs(maps.subject - subject).max() <= 1e-4 * abs(subject).max()
    assert [c for c, _ in maps.classes] == classes


def test_the_fused_copies_hold_no_batchnorm_and_leave_the_model_alone(analyzer):
    for net in (analyzer._prefix, analyzer._aes_tail, analyzer._subject_net):
        assert isinstance(net, FusedStages)
        assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    own = analyzer.model.net.backbone
    assert sum(isinstance(m, nn.BatchNorm2d) for m in own.modules()) > 40
    assert not any(p is q for p in own.parameters() for q in analyzer._prefix.parameters())


def test_a_stage_that_cannot_be_folded_is_used_as_it_is():
    """A BatchNorm in training mode normalises by the batch: folding it would change the
    output, so the check hands back the original modules."""
    conv, bn = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    stage = nn.Sequential(conv, bn, nn.ReLU())
    x = torch.randn(2, 3, 16, 24)
    assert isinstance(fuse_stages([stage.eval()], x), FusedStages)
    kept = fuse_stages([stage.train()], x)
    assert not isinstance(kept, FusedStages) and kept[0] is stage


def test_the_pass_runs_on_its_own_thread_count_and_restores_the_callers():
    analyzer = CropAnalyzer(load_model(device="cpu"), faces=False, threads=1)
    seen: list[int] = []
    hook = analyzer._prefix.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        analyzer.analyze(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"))
        assert seen == [1] and torch.get_num_threads() == 2
        assert {"decode", "shared_stages", "faces", "detail"} <= set(analyzer.stage_ms)
    finally:
        hook.remove()
        torch.set_num_threads(before)


@pytest.mark.parametrize("side", [130, 200])
def test_a_face_over_the_smallest_size_is_found_as_from_16_px(side):
    """The face pyramid starts one level later than MTCNN's from 16 px (core.faces.MIN_FACE_PX):
    a face of 6-9 % of the frame's long side is found, with the box the full pyramid gives."""
    pytest.importorskip("facenet_pytorch")
    from facenet_pytorch import MTCNN
    from PIL import Image

    from aesview.core.faces import MIN_FACE_PX, FaceFinder
    astro = Image.open(shared_photo("skimage_astronaut.jpg")).convert("RGB")
    frame = Image.new("RGB", (448, 448), (128, 128, 128))
    frame.paste(astro.resize((side, side), Image.Resampling.LANCZOS), (300, 40))
    found = FaceFinder().find(frame)
    boxes, probs = MTCNN(keep_all=True, min_face_size=16).detect(frame)
    assert len(found) == 1 and found[0][4] >= 0.9
    assert found[0][3] - found[0][1] > MIN_FACE_PX
    assert max(abs(a - b) for a, b in zip(found[0][:4], boxes[0])) < 0.5


def test_a_model_that_changed_its_early_stages_gets_two_full_passes_with_the_same_maps():
    """A retrained model whose first stages differ from ImageNet's shares nothing: both networks
    run whole (each fused), and the maps equal passes through the unfused networks."""
    model = load_model(device="cpu")
    with torch.no_grad():
        model.net.backbone.stages[0][0].weight.mul_(1.01)
    analyzer = CropAnalyzer(model, faces=False)
    assert analyzer.shared == 0
    assert isinstance(analyzer._aes_tail, FusedStages) and isinstance(analyzer._subject_net, FusedStages)
    photo = load_image(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"), max_side=analyzer.long_side)
    arr = to_array(photo.image, target_size(*photo.image.size, analyzer.long_side, analyzer.multiple))
    with torch.inference_mode():
        feats = model.net.features(normalize(arr[None], analyzer.norm))[0]
        f = analyzer.imagenet(normalize(arr[None], analyzer.imagenet_norm))[0]
        aesam = torch.einsum("c,chw->hw", analyzer.w_diff, feats).numpy()
        probs = torch.softmax(analyzer.fc_w @ f.mean(dim=(1, 2)) + analyzer.fc_b, dim=0)
    maps = analyzer.analyze_photo(photo)
    assert abs(maps.aesam - aesam).max() <= 1e-4 * abs(aesam).max()
    assert [c for c, _ in maps.classes] == [int(i) for i in torch.topk(probs, TOP_CLASSES).indices]


def test_the_detectors_run_beside_the_network_and_find_what_they_find_alone(analyzer):
    """Faces, people and the detail map are computed on the analyzer's detector thread while the
    network runs: the same boxes and map as the finders give called directly on the same input."""
    import threading

    import numpy as np
    from PIL import Image

    from aesview.core.subject import detail_map
    if analyzer.face_finder is None:
        pytest.skip("facenet-pytorch is not installed")
    photo = load_image(shared_photo("skimage_astronaut.jpg"), max_side=analyzer.long_side)
    size = target_size(*photo.image.size, analyzer.long_side, analyzer.multiple)
    arr = to_array(photo.image, size)
    sx, sy = photo.size[0] / size[0], photo.size[1] / size[1]
    finder, callers = analyzer.face_finder, []
    original = finder.find

    def spy(image, *args, **kwargs):
        callers.append(threading.get_ident())
        return original(image, *args, **kwargs)
    finder.find = spy
    try:
        maps = analyzer.analyze_photo(photo)
    finally:
        del finder.find
    assert callers and threading.get_ident() not in callers
    alone = original(Image.fromarray(arr))
    assert alone, "the astronaut's face is found"
    assert maps.faces == [(f[0] * sx, f[1] * sy, f[2] * sx, f[3] * sy, f[4]) for f in alone]
    assert np.array_equal(maps.detail, detail_map(arr))
    assert {"faces", "people", "detail", "detectors_wait"} <= set(analyzer.stage_ms)


def test_a_detector_that_fails_fails_the_analysis_with_its_own_error(analyzer):
    if analyzer.face_finder is None:
        pytest.skip("facenet-pytorch is not installed")
    photo = load_image(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"), max_side=analyzer.long_side)

    def broken(*_args, **_kwargs):
        raise RuntimeError("face finder broke")
    analyzer.face_finder.find = broken
    try:
        with pytest.raises(RuntimeError, match="face finder broke"):
            analyzer.analyze_photo(photo)
    finally:
        del analyzer.face_finder.find
    assert analyzer.analyze_photo(photo).image_size == photo.size   # and the next photo goes on
