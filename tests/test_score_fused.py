"""The score pass's fused inference copies (core.fused) change nothing it computes beyond float
rounding: on real photos the record equals one computed from the model's own stages and the
ImageNet classifier's own stages (score, attributes, AesAM/AttAM, subject map, detail view,
embedding), and a model that shares fewer stages with the classifier than the embedding stage
still gets its subject map from the shared stages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from aesview.core import detail as DV
from aesview.core.backbones import imagenet_classifier, shared_stages
from aesview.core.bursts import make_embedding
from aesview.core.classes import HIGH, LOW
from aesview.core.fused import FusedStages
from aesview.core.preprocess import normalize
from aesview.core.scoring import Scorer, embedding_stage
from aesview.core.subject_cue import IMAGENET_BACKBONE, TOP_CLASSES, subject_map
from aesview.core.weights import load_model

from .photos import SHARED

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
# float32 rounding through ~18 stages: observed |d score| <= 8e-7 and maps within 2.3e-5 of
# their largest value on the 51 sample and shared photos (batches of 1 and 8)
SCORE_TOL = 1e-5
MAP_RTOL = 1e-4


@pytest.fixture(scope="module")
def classifier():
    return imagenet_classifier(IMAGENET_BACKBONE)


def _reference(scorer: Scorer, prep, classifier) -> dict:
    """The record's numbers from the model's and the classifier's own (unfused) stages."""
    net, norm, spec = scorer.model.net, scorer.model.card.normalization, scorer.detail
    head = net.detail_head
    assert spec is not None and head is not None
    imagenet, fc_w, fc_b = classifier
    shared = scorer._tail.shared
    n = len(net.backbone.stages)
    with torch.inference_mode():
        x = normalize(prep.array[None], norm)
        content = net.backbone(x, stop=embedding_stage(n) + 1).mean(dim=(2, 3))[0].numpy()
        out = net(x)        # the heads read the map the model builds (levels and all)
        feats = out.features[0]
        w = net.aes_head.weight
        aesam = torch.einsum("c,chw->hw", w[HIGH] - w[LOW], feats).numpy()
        attam = torch.einsum("kc,chw->khw", net.att_head.weight, feats).numpy()
        f = imagenet(net.backbone(x, stop=shared), start=shared)[0]
        probs = torch.softmax(fc_w @ f.mean(dim=(1, 2)) + fc_b, dim=0)
        top = torch.topk(probs, TOP_CLASSES)
        cam = torch.einsum("k,khw->hw", top.values,
                           torch.einsum("kc,chw->khw", fc_w[top.indices], f).clamp(min=0))
        z = float(out.aes_logits[0, HIGH] - out.aes_logits[0, LOW])
        boxes = DV.select_patches(prep.array, (prep.detail.shape[1], prep.detail.shape[0]), spec)
        pf = net.backbone(normalize(DV.cut(prep.detail, boxes), norm), stop=spec.stage)
        maps = head(pf).numpy()
    return {"z": z, "score": DV.sigmoid(z - spec.alpha * float(maps.sum(axis=1).mean())),
            "attributes": torch.sigmoid(out.att_logits[0]).numpy(), "aesam": aesam,
            "attam": attam, "subject": subject_map(cam.numpy(), prep.array), "maps": maps,
            "embedding": make_embedding(content, prep.array)}


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    return got.shape == want.shape and float(np.abs(got - want).max()) <= MAP_RTOL * float(np.abs(want).max())


def _check(scorer: Scorer, path: Path, classifier) -> None:
    prep = scorer._prepare(str(path))
    assert prep.error is None and prep.detail is not None
    rec = scorer._infer([prep])[0]
    ref = _reference(scorer, prep, classifier)
    assert scorer.detail is not None and rec.detail is not None
    assert len(rec.detail.boxes) == scorer.detail.patches
    assert abs(rec.score - ref["score"]) < SCORE_TOL
    assert abs(rec.detail.global_logit - ref["z"]) < 10 * SCORE_TOL
    assert max(abs(rec.attributes[k] - v) for k, v in zip(scorer._names, ref["attributes"])) < SCORE_TOL
    for name, got in (("aesam", rec.aesam), ("attam", rec.attam), ("subject", rec.subject),
                      ("maps", rec.detail.maps)):
        assert got is not None and _close(got, ref[name]), name
    # float16: at most a unit in the last place apart
    assert rec.embedding is not None
    assert float(np.abs(rec.embedding.astype(np.float32) - ref["embedding"].astype(np.float32)).max()) <= 1e-4


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_model(device="cpu"), cache=None, workers=0)


@pytest.mark.parametrize("path", [SAMPLES / "ladybird.jpg", SHARED / "Kleiber_by_Lukas_Baubkus.jpg"],
                         ids=lambda p: p.name)
def test_the_fused_pass_gives_the_model_stages_record(scorer, classifier, path):
    if not path.is_file():
        pytest.skip(f"{path} not available")
    _check(scorer, path, classifier)
    # the fused copies were really used (not the fallback to the originals), and the model's
    # own stages were left as they were
    # the cut points, sorted and once each (a model whose tail starts at the embedding stage's
    # cut, a freeze-12 one, has one cut fewer)
    cuts = {0, scorer.detail.stage, embedding_stage(18) + 1, scorer._tail.shared, 18}
    assert scorer._bounds == sorted(cuts)
    assert all(isinstance(s, FusedStages) for s in scorer._segments)
    assert isinstance(scorer._tail.stages, FusedStages)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in scorer.model.net.backbone.modules()) > 40


def test_a_model_sharing_only_early_stages_gets_its_subject_map_from_them(classifier):
    """A model fine-tuned from stage 10 on (the embedding reads stage 11): the classifier's tail
    runs from stage 10, and every part of the record still matches the unfused stages."""
    model = load_model(device="cpu")
    # a model trained from an earlier stage on (a freeze-9 one) shares fewer still
    shares = min(10, shared_stages(model.net.backbone, classifier[0]))
    conv = model.net.backbone.get_submodule("stages.10.block._project_conv")
    assert isinstance(conv, nn.Conv2d)
    with torch.no_grad():
        conv.weight.mul_(1.01)
    scorer = Scorer(model, cache=None, workers=0)
    _check(scorer, SAMPLES / "ladybird.jpg", classifier)
    assert 0 < scorer._tail.shared == shares < embedding_stage(18) + 1


def test_a_batch_run_photo_by_photo_gives_the_batched_records(scorer):
    """The one-thread path (each photo of a batch through the stages alone) and the batched
    pass give the same records to float rounding."""
    preps = [scorer._prepare(str(SAMPLES / n)) for n in ("pagoda.jpg", "pagoda-high-iso-noise.jpg")]
    assert preps[0].array.shape == preps[1].array.shape
    runs = {}
    for alone in (True, False):
        scorer.photo_at_a_time = alone
        try:
            runs[alone] = scorer._infer(preps)
        finally:
            scorer.photo_at_a_time = None
    for a, b in zip(runs[True], runs[False]):
        assert abs(a.score - b.score) < SCORE_TOL
        for x, y in ((a.aesam, b.aesam), (a.attam, b.attam), (a.subject, b.subject)):
            assert x is not None and y is not None and _close(x, y)
        assert a.detail is not None and b.detail is not None and _close(a.detail.maps, b.detail.maps)
