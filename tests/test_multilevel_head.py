"""The multi-level GAP head (card `head.levels`): earlier stages' outputs pooled to the last map's
grid before the heads. Its maps stay exact, its card round-trips, models without it are
unchanged, the training cache completes an older cache, and a training run resumes."""

import dataclasses
import json
import logging

import numpy as np
import pytest
import torch

from aesview.core import maps
from aesview.core.backbones import build_backbone, group_ends, stage_channels
from aesview.core.head_spec import HeadSpec
from aesview.core.model import HIGH, LOW, Staged, build_model
from aesview.core.weights import InputSpec, ModelCard, ModelError, load_model, read_card, resolve, save_model
from aesview.training import degradations as D
from aesview.training import loop

from .interrupt import stop_after_first_checkpoint

LEVELS = (1, 3, 5, 8, 11, 15, 16)
SCALES = (0.4, 0.35, 0.3, 0.27, 0.25, 0.15, 0.5)
CARD = {
    "name": "test-levels", "architecture": "efficientnet_lite0",
    "input": {"long_side": 96, "multiple": 32},
    "normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}, "labels": ["low", "high"],
    "attributes": ["a", "b"], "trained": False, "training": {"data": "nothing"}, "metrics": {},
}


def _net(n_att=2, seed=0):
    """Random Lite0 weights with heads of realistic scale, so maps are not trivially flat."""
    torch.manual_seed(seed)
    net = build_model("efficientnet_lite0", n_att, head=HeadSpec(LEVELS, SCALES)).eval()
    for lin in (net.aes_head, net.att_head):
        torch.nn.init.normal_(lin.weight, std=1.0)
        torch.nn.init.normal_(lin.bias, std=0.5)
    return net


def _spec(net) -> HeadSpec:
    spec = net.head_spec
    assert spec is not None
    return spec


@pytest.fixture(scope="module")
def net():
    return _net()


def _x(h=64, w=96, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, h, w, generator=g) * 2 - 1


def test_levels_are_the_channel_groups_ends():
    b = build_backbone("efficientnet_lite0").eval()
    assert group_ends(b) == list(LEVELS)
    x = _x()[:1]
    with torch.no_grad():
        for stage in b.stages:
            x = stage(x)
            assert x.shape[1] == stage_channels(stage)


def test_score_is_the_mean_of_its_map_and_level_means_are_the_unpooled_means(net):
    x = _x()
    with torch.no_grad():
        out = net(x)
        # the levels, run unpooled by the backbone's own stages
        y, level_means = x, []
        for i, stage in enumerate(net.backbone.stages):
            y = stage(y)
            if i in LEVELS:
                level_means.append(y.double().mean(dim=(2, 3)))
    f = out.features.double()
    assert f.shape[1] == 1280 + sum(stage_channels(net.backbone.stages[i]) for i in LEVELS)
    assert f.shape[2:] == (2, 3)          # the last map's grid: 64 x 96 / 32
    at = 0
    for s, m in zip(SCALES, level_means):
        got = f[:, at:at + m.shape[1]].mean(dim=(2, 3))
        torch.testing.assert_close(got, s * m, rtol=1e-5, atol=1e-6)
        at += m.shape[1]
    torch.testing.assert_close(f[:, at:], y.double(), rtol=1e-5, atol=1e-6)   # the last map
    w_aes, b_aes, w_att, b_att = (a.astype(np.float64) for a in net.head_weights())
    for k in range(len(x)):
        fk = f[k].numpy()
        m = maps.aesam(fk, w_aes)
        assert m.std() > 1e-3          # not a flat map, for which the identity proves nothing
        z = m.mean() + b_aes[HIGH] - b_aes[LOW]
        assert float(out.score[k]) == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-6)
        a = maps.attam(fk, w_att)
        np.testing.assert_allclose(a.mean(axis=(1, 2)) + b_att, out.att_logits[k].double().numpy(),
                                   atol=1e-5)


def test_resuming_from_a_staged_prefix_equals_the_whole_pass(net):
    x = _x(seed=2)
    with torch.no_grad():
        full = net(x).features
        staged = net.prefix(x, stop=9)
        assert isinstance(staged, Staged)
        assert staged.pooled.shape == (2, 16 + 24 + 40 + 80, 2, 3)
        resumed = net(staged, start=9).features
        # a batch picked out of a staged prefix, as the map check picks samples
        one = net(staged[[1]], start=9).features
    torch.testing.assert_close(resumed, full, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(one, full[1:], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="pooled outputs of levels"):
        net(staged.x, start=9)


def test_sides_that_do_not_tile_the_last_grid_are_refused(net):
    with torch.no_grad(), pytest.raises(ValueError, match="multiples"):
        net(torch.zeros(1, 3, 100, 70))


def test_card_round_trip_keeps_levels_scales_and_scores(net, tmp_path):
    card = save_model(net, dict(CARD, head=net.head_spec.to_dict()), tmp_path / "m.pt")
    assert json.loads((tmp_path / "m.json").read_text())["head"] == {
        "levels": list(LEVELS), "level_scales": pytest.approx(list(SCALES))}
    loaded = load_model(str(tmp_path / "m.pt"), device="cpu")
    assert loaded.card.head == net.head_spec and loaded.net.levels == LEVELS
    x = _x(seed=3)
    with torch.no_grad():
        torch.testing.assert_close(loaded.net(x).aes_logits, net(x).aes_logits)
    # a card whose scales differ from the weights' is refused, as is a malformed head
    (tmp_path / "m.json").write_text(json.dumps(dict(card, head={"levels": list(LEVELS),
                                                                 "level_scales": [1.0] * 7})))
    with pytest.raises(ModelError, match="level scales"):
        load_model(str(tmp_path / "m.pt"))
    (tmp_path / "m.json").write_text(json.dumps(dict(card, head={"levels": [3, 1]})))
    with pytest.raises(ModelError, match="malformed"):
        load_model(str(tmp_path / "m.pt"))
    (tmp_path / "m.json").write_text(json.dumps(dict(card, head={"levels": [17]})))
    with pytest.raises(ModelError, match="head does not fit"):
        load_model(str(tmp_path / "m.pt"))
    # sides rounded to less than the stride would not tile the levels: refused at load
    (tmp_path / "m.json").write_text(json.dumps(dict(card, input={"long_side": 96, "multiple": 16})))
    with pytest.raises(ModelError, match="input.multiple"):
        load_model(str(tmp_path / "m.pt"))


def test_models_without_levels_are_unchanged(tmp_path):
    """Whether or not the shipped default reads levels: its card reads as stored, and the
    same card without `head` reads as a model of the last map alone, all else alike.
    Checked on the parsed fields: `to_dict()` hands back `raw`, the JSON as stored, so
    comparing it with the file proves nothing about what was read."""
    _, card_path, card = resolve(None)          # the shipped default
    stored = json.loads(card_path.read_text())
    assert ModelCard.from_dict(stored) == card   # every parsed field (`raw` is not compared)
    assert (card.name, card.file, card.sha256, card.architecture, card.trained) == (
        stored["name"], stored["file"], stored["sha256"], stored["architecture"], stored["trained"])
    assert card.input == InputSpec(stored["input"]["long_side"], stored["input"].get("multiple", 32))
    assert [list(card.normalization.mean), list(card.normalization.std)] == [
        stored["normalization"]["mean"], stored["normalization"]["std"]]
    assert [list(card.labels), list(card.attributes)] == [stored["labels"], stored["attributes"]]
    assert (card.training, card.metrics) == (stored["training"], stored["metrics"])
    # the sections re-serialised from their parsed fields say what the stored ones say
    for name, section in (("detail", card.detail), ("head", card.head)):
        assert (section is None) == (not stored.get(name)), name
        if section is not None:
            again = section.to_dict()
            assert {k: again[k] for k in stored[name]} == stored[name], name
    stored.pop("head", None)
    (tmp_path / "plain.json").write_text(json.dumps(stored, indent=2) + "\n")
    without = read_card(tmp_path / "plain.json")
    assert without.head is None
    assert dataclasses.replace(card, head=None) == without     # all else read alike
    torch.manual_seed(0)
    plain = build_model("efficientnet_lite0", 2).eval()
    assert plain.levels == () and plain.head_spec is None
    assert not any("level" in k for k in plain.state_dict())
    x = _x(seed=4)
    with torch.no_grad():
        torch.testing.assert_close(plain(x).features, plain.backbone(x))
        torch.testing.assert_close(plain.prefix(x, 9), plain.backbone(x, stop=9))
        with pytest.raises(ValueError, match="last map alone"):
            plain(Staged(x, x), start=0)
    saved = save_model(plain, CARD, tmp_path / "p.pt")
    assert "head" not in saved and "head" not in json.loads((tmp_path / "p.json").read_text())
    loaded = load_model(str(tmp_path / "p.pt"), device="cpu")
    assert loaded.card.head is None and loaded.net.levels == () and loaded.net.head_spec is None
    assert loaded.net.aes_head.weight.shape[1] == 1280
    with torch.no_grad():
        assert torch.equal(loaded.net(x).aes_logits, plain(x).aes_logits)


def test_scorer_records_keep_the_exact_identity(net, tmp_path):
    from aesview.core.scoring import Scorer, embedding_stage
    save_model(net, dict(CARD, head=net.head_spec.to_dict()), tmp_path / "m.pt")
    model = load_model(str(tmp_path / "m.pt"), device="cpu")
    scorer = Scorer(model, workers=0)
    assert scorer._taps is not None
    # the levels are read by taps, not by cuts: the pass is cut where a plain model's is
    assert scorer._bounds == sorted({0, 18, embedding_stage(18) + 1, scorer._tail.shared})
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    rec = scorer.score_array(arr)
    w_aes, b_aes, _, _ = model.net.head_weights()
    assert rec.aesam is not None
    z = float(rec.aesam.astype(np.float64).mean()) + float(b_aes[HIGH] - b_aes[LOW])
    assert rec.score == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-5)
    assert rec.aesam.shape == (2, 3)
    # the fused segments give what the model's own stages give
    from aesview.core.preprocess import normalize
    with torch.no_grad():
        want = model.net(normalize(arr[None], model.card.normalization))
    assert rec.score == pytest.approx(float(want.score[0]), abs=1e-5)


def _crop_aesam_is_the_networks(model, analyzer):
    """The crop pass's AesAM of a shared photo equals the one made from the unfused network's
    features (levels and all)."""
    from aesview.core.imaging import load_image
    from aesview.core.preprocess import normalize, target_size, to_array

    from .photos import shared_photo
    photo = load_image(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"), max_side=analyzer.long_side)
    arr = to_array(photo.image, target_size(*photo.image.size, analyzer.long_side, analyzer.multiple))
    with torch.inference_mode():
        feats = model.net.features(normalize(arr[None], analyzer.norm))[0]
        aesam = torch.einsum("c,chw->hw", analyzer.w_diff, feats).numpy()
    got = analyzer.analyze_photo(photo).aesam
    assert got.shape == aesam.shape
    assert abs(got - aesam).max() <= 1e-4 * abs(aesam).max()


def test_owners_over_one_model_tap_their_own_containers_not_the_model(net, tmp_path, monkeypatch):
    """Where fusing falls back to the model's own stages (a backbone it does not know), the
    taps go into each owner's own container, never onto the shared stages: two scorers and a
    crop analyzer over one model leave no hook or tap on it, one tap per level in each owner,
    and each owner's pass collects its own levels only, giving the unfused network's maps."""
    from aesview.core import fused
    from aesview.core.level_taps import Tap
    from aesview.core.preprocess import normalize
    from aesview.core.scoring import Scorer
    from aesview.core.subject import CropAnalyzer

    def no_copies(stages):
        raise RuntimeError("this test runs the model's own stages")

    monkeypatch.setattr(fused, "FusedStages", no_copies)
    save_model(net, dict(CARD, head=_spec(net).to_dict()), tmp_path / "m.pt")
    model = load_model(str(tmp_path / "m.pt"), device="cpu")
    own = list(model.net.modules())
    scorers = [Scorer(model, workers=0) for _ in range(2)]
    analyzer = CropAnalyzer(model, faces=False, people=False, threads=1)
    owners = {"scorer 0": scorers[0]._segments, "scorer 1": scorers[1]._segments,
              "analyzer": [analyzer._prefix, analyzer._aes_tail]}
    taps = [scorers[0]._taps, scorers[1]._taps, analyzer._taps]
    assert all(t is not None for t in taps)
    for name, segs in owners.items():
        assert all(type(seg) is torch.nn.Sequential for seg in segs), name   # fell back
        assert sum(isinstance(m, Tap) for seg in segs for m in seg.modules()) == len(LEVELS), name
    assert list(model.net.modules()) == own and not any(isinstance(m, Tap) for m in own)
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in own)
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    with torch.no_grad():
        want = float(model.net(normalize(arr[None], model.card.normalization)).score[0])
    for i in (0, 1, 0):
        assert scorers[i].score_array(arr).score == pytest.approx(want, abs=1e-5)
        assert all(t.pending == 0 for t in taps)      # nothing left over, in any owner
    _crop_aesam_is_the_networks(model, analyzer)
    assert all(t.pending == 0 for t in taps)
    assert scorers[1].score_array(arr).score == pytest.approx(want, abs=1e-5)


def _samples(n=6, seed=0):
    from aesview.training.datasets import Sample
    from aesview.training.weighting import pseudo_votes
    rng = np.random.default_rng(seed)
    k = len(D.ATTRIBUTES)
    return [Sample(pseudo_votes(3.0 + i), np.ones(k, np.float32),
                   image=rng.integers(0, 256, (64, 96, 3), dtype=np.uint8), group=i, mean=3.0 + i,
                   std=1.0) for i in range(n)]


def test_an_older_cache_is_completed_and_its_entries_kept(tmp_path, caplog):
    samples = _samples()
    cfg = loop.TrainConfig(long_side=96, freeze=9, imagenet=False, device="cpu",
                           cache_file=str(tmp_path / "cache.pt"), attributes=list(D.ATTRIBUTES))
    torch.manual_seed(0)
    plain = build_model("efficientnet_lite0", len(D.ATTRIBUTES)).eval()
    loop.Inputs(samples, plain, cfg, "cpu")                 # a cache as written before levels
    old = torch.load(tmp_path / "cache.pt", weights_only=True)
    assert len(old) == len(samples)
    leveled = build_model("efficientnet_lite0", len(D.ATTRIBUTES), head=HeadSpec(LEVELS, SCALES))
    leveled.backbone.load_state_dict(plain.backbone.state_dict())
    leveled.eval()
    logging.getLogger("aesview.training").propagate = True
    with caplog.at_level(logging.INFO, logger="aesview.training"):
        inputs = loop.Inputs(samples, leveled, cfg, "cpu")
    assert "not the pooled levels [1, 3, 5, 8] for 6 samples" in caplog.text
    new = torch.load(tmp_path / "cache.pt", weights_only=True)
    assert len(new) == 2 * len(samples)
    assert all(torch.equal(new[k], v) for k, v in old.items())     # old entries bit for bit
    batches = inputs.batches(np.random.default_rng(0), shuffle=False)
    (batch, x, _), = list(inputs.epoch(batches, np.random.default_rng(0)))
    assert isinstance(x, Staged)
    from aesview.core.preprocess import normalize
    with torch.no_grad():
        direct = leveled(normalize(np.stack([samples[i].image for i in batch]),
                                   {"mean": [0.5] * 3, "std": [0.5] * 3})).features
        cached = leveled(x, start=9).features
    torch.testing.assert_close(cached, direct, rtol=0.02, atol=0.02)       # fp16 cache
    # a third reader finds everything on disk and runs no stage
    again = loop.Inputs.__new__(loop.Inputs)
    again._prefix = lambda arrays: pytest.fail("recomputed a cached sample")   # type: ignore
    loop.Inputs.__init__(again, samples, leveled, cfg, "cpu")
    assert len(again.pooled) == len(samples)
    # the plain model still reads the same file as before
    assert len(loop.Inputs(samples, plain, cfg, "cpu").pooled) == 0


def test_training_estimates_scales_checkpoints_and_resumes(tmp_path):
    samples = _samples(8)
    cfg = loop.TrainConfig(long_side=96, freeze=9, epochs=2, batch_size=4, imagenet=False,
                           device="cpu", attributes=list(D.ATTRIBUTES), seed=1,
                           backbone_lr_scale=0.1, levels=list(LEVELS), rank_weight=0,
                           map_weight=0, human_rank_weight=1.0, threshold=5.5)
    loop.setup_logging(None)
    straight, s = loop.train(samples, cfg, tmp_path / "a")
    spec = straight.head_spec
    assert spec is not None and spec.levels == LEVELS
    assert all(0 < v < 1e3 for v in spec.scales) and len(set(spec.scales)) > 1
    ck = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    assert ck["config"]["levels"] == list(LEVELS)
    torch.testing.assert_close(ck["model"]["level_scale"], torch.tensor(spec.scales))
    # the heads moved and read every level
    assert straight.aes_head.weight.shape[1] == 1280 + 16 + 24 + 40 + 80 + 112 + 192 + 320
    # interrupted after epoch 1, then resumed with the same config: the same network
    with stop_after_first_checkpoint(loop), pytest.raises(KeyboardInterrupt):
        loop.train(samples, cfg, tmp_path / "b")
    resumed, s2 = loop.train(samples, cfg, tmp_path / "b", resume=True)
    assert [h["epoch"] for h in s2["history"]] == [1, 2]
    for (k, v), v2 in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(v.float(), v2.float(), atol=1e-5, rtol=1e-5, msg=k)


def test_variant_levels_argument():
    from aesview.training.variant import parse_levels
    assert parse_levels("all", "efficientnet_lite0") == list(LEVELS)
    assert parse_levels("8, 3", "efficientnet_lite0") == [3, 8]
    for bad in ("17", "x", "-1"):
        with pytest.raises(SystemExit):
            parse_levels(bad, "efficientnet_lite0")


def test_train_refuses_levels_outside_livec(tmp_path):
    """Only `--dataset livec` builds the head: elsewhere the flag is refused before any work,
    not ignored (the saved card would otherwise describe a plain model as asked for)."""
    from aesview.training.cli import main
    rc = main(["train", "--dataset", "ava", "--data", str(tmp_path / "none"), "--out",
               str(tmp_path / "run"), "--levels", "all"])
    assert rc == 2
    assert not (tmp_path / "run").exists()


def test_train_livec_reads_levels_on_the_recipes_architecture(tmp_path, monkeypatch):
    """`--levels` is checked against the backbone the recipe trains (protocol.DEFAULTS), not a
    fixed one: 'all' on another recipe's backbone means that backbone's stages."""
    from aesview.training import protocol, variant
    from aesview.training.cli import main
    seen = []

    class Stop(Exception):
        pass

    def parse(text, architecture):
        seen.append((text, architecture))
        raise Stop     # nothing past the flags is needed here

    monkeypatch.setitem(protocol.DEFAULTS, "architecture", "efficientnet_lite2")
    monkeypatch.setattr(variant, "parse_levels", parse)
    with pytest.raises(Stop):
        main(["train", "--dataset", "livec", "--data", str(tmp_path / "none"), "--photos",
              str(tmp_path / "photos"), "--out", str(tmp_path / "run"), "--levels", "all"])
    assert seen == [("all", "efficientnet_lite2")]


@pytest.mark.parametrize("changed", [9, 0])
def test_crop_analyzer_reads_the_levels_and_its_map_stays_exact(tmp_path, changed):
    """A freeze-9-like model (ImageNet stages 0-8, stage 9 on changed), and one that shares no
    stage with ImageNet: the crop's pass reads every level, and its AesAM is the unfused
    network's."""
    from aesview.core.subject import CropAnalyzer

    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", 2, imagenet=True, head=HeadSpec(LEVELS, SCALES)).eval()
    with torch.no_grad():
        first = next(m for m in net.backbone.stages[changed].modules() if isinstance(m, torch.nn.Conv2d))
        first.weight.mul_(1.01)
        torch.nn.init.normal_(net.aes_head.weight, std=0.05)
    save_model(net, dict(CARD, head=_spec(net).to_dict()), tmp_path / "m.pt")
    model = load_model(str(tmp_path / "m.pt"), device="cpu")
    analyzer = CropAnalyzer(model, faces=False, people=False, threads=1)
    assert analyzer.shared == changed and analyzer._taps is not None
    _crop_aesam_is_the_networks(model, analyzer)
    assert analyzer._taps.pending == 0


def test_score_pass_with_a_detail_view_and_a_batch_keeps_the_levels_exact(tmp_path):
    """The shipped network with an 8-level head: the detail patches run through the same fused
    stages as the levels, and must not disturb them; a batch, photo at a time or not, gives
    each photo its own levels."""
    from aesview.core import detail as DV
    from aesview.core.preprocess import normalize
    from aesview.core.scoring import Scorer, _Prepared

    from .photos import shared_photo
    shipped = load_model(device="cpu")
    torch.manual_seed(0)
    net = build_model(shipped.card.architecture, len(shipped.card.attributes),
                      head=HeadSpec(LEVELS, SCALES)).eval()
    net.backbone.load_state_dict(shipped.net.backbone.state_dict())
    net.detail_head = shipped.net.detail_head
    with torch.no_grad():
        torch.nn.init.normal_(net.aes_head.weight, std=0.05)
    save_model(net, dict(shipped.card.raw, name="levels", head=_spec(net).to_dict()),
               tmp_path / "m.pt")
    model = load_model(str(tmp_path / "m.pt"), device="cpu")
    w_aes, b_aes, _, _ = model.net.head_weights()
    views = [DV.decode_views(shared_photo(name), 320, 32, model.card.detail)
             for name in ("Kleiber_by_Lukas_Baubkus.jpg", "skimage_coffee.jpg")]
    h, w = views[0].work.shape[:2]
    arrays = [views[0].work, np.ascontiguousarray(views[1].work[:h, :w])]
    assert arrays[0].shape == arrays[1].shape
    preps = [_Prepared(str(i), size=v.size, array=a, detail=v.detail)
             for i, (v, a) in enumerate(zip(views, arrays))]
    x = normalize(np.stack(arrays), model.card.normalization)
    with torch.no_grad():
        feats = model.net(x).features.double().numpy()
    want, want1 = (maps.aesam(f, w_aes.astype(np.float64)) for f in feats)
    for at_a_time in (True, False):
        scorer = Scorer(model, workers=0)
        scorer.photo_at_a_time = at_a_time
        recs = scorer._infer(preps)
        assert model.card.detail is None or recs[0].detail is not None
        a0, a1 = recs[0].aesam, recs[1].aesam
        assert a0 is not None and a1 is not None
        np.testing.assert_allclose(a0, want, atol=1e-4 * abs(want).max())
        # the second photo gets its own levels, not the first's (both last maps differ anyway)
        np.testing.assert_allclose(a1, want1, atol=1e-4 * abs(want1).max())
        assert scorer._taps is not None and scorer._taps.pending == 0   # nothing left over
        assert abs(a0 - a1).max() > 1e-3
