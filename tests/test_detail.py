"""The detail view (core/detail.py) on the shipped weights and real photos: the score is exactly
the fusion of the global logit and the patch maps' mean, the patches sit where the record says,
and grain made at full resolution raises the detail evidence."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from aesview.core import defects as K
from aesview.core import detail as DV
from aesview.core.cache import ScoreCache
from aesview.core.preprocess import normalize
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model
from aesview.paths import resources_dir

SAMPLES = resources_dir() / "samples"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "photos"


@pytest.fixture(scope="module")
def model():
    m = load_model(device="cpu")
    assert m.card.detail is not None and m.net.detail_head is not None, \
        "the default model ships with a detail view"
    return m


@pytest.fixture(scope="module")
def scorer(model):
    return Scorer(model, workers=0)


@pytest.mark.parametrize("white_point", [None, True], ids=["as-shipped", "white-point"])
def test_score_is_the_fusion_of_global_logit_and_patch_maps(model, scorer, white_point):
    path = SAMPLES / "pagoda-high-iso-noise.jpg"
    if white_point is not None:     # the card's setting either way, so both branches run
        assert model.card.detail is not None
        scorer = Scorer(model, workers=0)
        scorer.detail = dataclasses.replace(model.card.detail, white_point=white_point)
    rec = scorer.score_one(path)
    spec, d = scorer.detail, rec.detail
    assert spec is not None
    assert d is not None and len(d.boxes) == spec.patches
    # Recompute every step from the file by hand.
    views = DV.decode_views(path, scorer.long_side, scorer.multiple, spec)
    net = model.net
    with torch.inference_mode():
        out = net(normalize(views.work[None], model.card.normalization))
        z = float(out.aes_logits[0, 1] - out.aes_logits[0, 0])
        size = (views.detail.shape[1], views.detail.shape[0])
        # At the white point (when the card says so) the frame is looked at one exposure change
        # brighter: the gain that takes the 99th percentile of linear luminance to white.
        ev = 0.0
        if spec.white_point:
            lum = K._srgb_to_linear(views.work / 255.0) @ np.array([0.2126, 0.7152, 0.0722])
            ev = math.log2(min(4.0, 1.0 / max(float(np.percentile(lum, 99)), 0.25)))
        if white_point:
            assert ev > 0.01, ev    # the frame is brightened: the branch checks something
        seen_work = K.exposure(views.work, ev) if ev > 0 else views.work
        seen_detail = K.exposure(views.detail, ev) if ev > 0 else views.detail
        boxes = DV.select_patches(seen_work, size, spec)
        feats = net.backbone(normalize(DV.cut(seen_detail, boxes), model.card.normalization),
                             stop=spec.stage)
        maps = net.detail_head(feats).numpy()
    assert d.global_logit == pytest.approx(z, abs=1e-4)
    assert d.gain == pytest.approx(2.0 ** ev, rel=1e-6)
    # The scorer runs the patches through a channels-last copy of the same stages (faster):
    # equal to float rounding.
    np.testing.assert_allclose(d.maps, maps, atol=1e-4)
    assert (d.maps >= 0).all()
    fused = z - spec.alpha * maps.sum(axis=1).mean()
    assert rec.score == pytest.approx(1 / (1 + math.exp(-fused)), abs=1e-5)
    # and exactly the fusion of its own maps
    assert math.log(rec.score / (1 - rec.score)) == pytest.approx(
        d.global_logit - spec.alpha * float(d.maps.astype(np.float64).sum(axis=1).mean()), abs=1e-6)
    assert d.score == pytest.approx(rec.score, abs=1e-7)
    # Each channel's share and each patch's share add up to the whole shift.
    assert sum(d.per_channel_shift().values()) == pytest.approx(d.shift, abs=1e-6)
    assert sum(p["logit_shift"] for p in d.explain()["patches"]) == pytest.approx(d.shift, abs=1e-6)


def test_patches_sit_where_the_record_and_the_frame_map_say(model, scorer):
    path = SAMPLES / "nuthatch.jpg"
    rec = scorer.score_one(path)
    d, spec = rec.detail, model.card.detail
    assert d is not None and rec.image_size is not None
    views = DV.decode_views(path, scorer.long_side, scorer.multiple, spec)
    h, w = views.detail.shape[:2]
    assert d.detail_size == (w, h)
    boxes = d.boxes * np.array([d.scale[0], d.scale[1]] * 2)       # back to detail pixels
    np.testing.assert_allclose(boxes, np.round(boxes), atol=1e-3)
    boxes = np.round(boxes).astype(int)
    assert (boxes[:, 2] - boxes[:, 0] == spec.patch).all() and (boxes[:, 3] - boxes[:, 1] == spec.patch).all()
    assert (boxes[:, :2] % spec.cell == 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    # The first detail patch is the tile with the most fine detail in the global view.
    tiles = DV.grid_boxes(w, h, spec.patch, spec.cell)
    det, _ = DV.tile_scores(views.work, tiles, (w, h))
    assert tuple(boxes[0]) == tuple(tiles[int(np.argmax(det))])
    # The frame map holds each patch's alpha-scaled evidence at its place, nothing elsewhere.
    fm = d.frame_map()
    covered = np.zeros(fm.shape, bool)
    for (x0, y0, _, _), m in zip(boxes, d.maps):
        r, c = y0 // spec.cell, x0 // spec.cell
        np.testing.assert_allclose(fm[r:r + m.shape[1], c:c + m.shape[2]], d.alpha * m.sum(axis=0),
                                   atol=1e-5)
        covered[r:r + m.shape[1], c:c + m.shape[2]] = True
    assert (fm[~covered] == 0).all()
    assert -fm[covered].mean() == pytest.approx(d.shift, abs=1e-5)


def test_grain_made_at_full_resolution_raises_the_detail_evidence(model, scorer, tmp_path):
    photo = SHARED / "Kleiber_by_Lukas_Baubkus.jpg"     # a validation photo, 2048 px
    full = np.asarray(Image.open(photo).convert("RGB"))
    clean, noisy = tmp_path / "clean.jpg", tmp_path / "noisy.jpg"
    Image.fromarray(full).save(clean, quality=92)
    Image.fromarray(K.add_noise(full, 0.04, np.random.default_rng(0))).save(noisy, quality=92)
    a, b = scorer.score_one(clean), scorer.score_one(noisy)
    assert a.detail is not None and b.detail is not None
    noise_a = a.detail.per_channel_shift()["noise"]
    noise_b = b.detail.per_channel_shift()["noise"]
    assert noise_b < noise_a - 0.2, (noise_a, noise_b)
    assert b.detail.evidence > a.detail.evidence
    assert b.score < b.detail.global_score          # the detail view lowered it
    assert "grain" in b.detail.sentence()


def test_cache_keeps_the_detail_view_exactly(model, tmp_path):
    cache = ScoreCache(tmp_path / "c.sqlite")
    scorer = Scorer(model, cache=cache, workers=0)
    path = str(SAMPLES / "pagoda.jpg")
    first = scorer.score_one(path)
    again = scorer.score_one(path)
    assert again.cached and again.detail is not None and first.detail is not None
    np.testing.assert_array_equal(again.detail.maps, first.detail.maps)
    np.testing.assert_array_equal(again.detail.boxes, first.detail.boxes)
    assert again.detail.score == pytest.approx(again.score, abs=1e-9)
    cache.close()


def test_cache_key_changes_with_the_cards_scoring_settings(model, tmp_path):
    """Same weights, another detail alpha or white point, head, rounding, normalisation or
    attribute names: another cache key, so a cached record of the old settings is not served;
    the same settings (a model loaded again) keep the key."""
    from aesview.core.head_spec import HeadSpec
    from aesview.core.preprocess import Normalization
    from aesview.core.weights import LoadedModel
    card, spec = model.card, model.card.detail
    assert spec is not None

    def key(**changes):
        return Scorer(LoadedModel(dataclasses.replace(card, **changes), model.net, model.device),
                      workers=0).model_id

    base = Scorer(model, workers=0).model_id
    assert base == Scorer(load_model(device="cpu"), workers=0).model_id == key()
    assert base.startswith(model.model_id + "+") and base.endswith(f":{card.input.long_side}")
    changed = [key(detail=dataclasses.replace(spec, alpha=spec.alpha * 2)),
               key(detail=dataclasses.replace(spec, white_point=not spec.white_point)),
               key(detail=dataclasses.replace(spec, smooth_channels=("noise",))),
               key(head=HeadSpec((3, 8), (0.5, 0.25))),
               key(input=dataclasses.replace(card.input, multiple=card.input.multiple * 2)),
               key(normalization=Normalization((0.4, 0.5, 0.5), tuple(card.normalization.std))),
               key(attributes=tuple(reversed(card.attributes)))]
    assert len({base, *changed}) == 1 + len(changed), changed
    # a record cached under the card's alpha is not served to a scorer with another alpha
    cache = ScoreCache(tmp_path / "c.sqlite")
    path = str(SAMPLES / "pagoda-high-iso-noise.jpg")
    first = Scorer(model, cache=cache, workers=0).score_one(path)
    other = LoadedModel(dataclasses.replace(card, detail=dataclasses.replace(spec, alpha=spec.alpha * 2)),
                        model.net, model.device)
    rec = Scorer(other, cache=cache, workers=0).score_one(path)
    assert not rec.cached and rec.detail is not None and rec.detail.alpha == spec.alpha * 2
    assert rec.score < first.score
    assert Scorer(model, cache=cache, workers=0).score_one(path).cached     # its own key still hits
    cache.close()


def test_global_only_scorer_is_the_old_path(model):
    off = Scorer(model, detail=False, workers=0)
    rec = off.score_one(SAMPLES / "pagoda.jpg")
    assert rec.detail is None and off.model_id.endswith(":global")


def test_score_json_says_how_much_the_detail_view_moved_the_score(tmp_path, capsys):
    from aesview.cli import main
    assert main(["score", str(SAMPLES / "pagoda-high-iso-noise.jpg"), "--json", "--no-cache",
                 "--quiet", "--device", "cpu", "--maps", str(tmp_path)]) == 0
    entry = json.loads(capsys.readouterr().out)["images"][0]
    d = entry["detail"]
    assert d["score"] == pytest.approx(entry["score"], abs=1e-6)
    z = math.log(d["global_score"] / (1 - d["global_score"])) + d["logit_shift"]
    assert entry["score"] == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-5)
    assert set(d["by_channel"]) == set(DV.CHANNELS) and d["words"].startswith("At 100 %")
    npz = np.load(entry["maps"])
    assert npz["detail_maps"].shape[0] == len(d["patches"]) and npz["detail_map"].ndim == 2


def test_grain_found_at_100_percent_keeps_the_noisy_take_from_being_best(scorer):
    # The bundled sample shoot's pagoda pair: grain inflates the fine-band sharpness the best
    # frame also weighs, and the global view alone scores the two takes alike.
    from aesview.core import bursts as B
    paths = [str(SAMPLES / "pagoda.jpg"), str(SAMPLES / "pagoda-high-iso-noise.jpg")]
    recs = [scorer.score_one(p) for p in paths]
    assert recs[0].score > recs[1].score
    peak = B.group_peak(recs)
    qualities = [B.frame_quality(p, r, peak=peak) for p, r in zip(paths, recs)]
    assert qualities[1].sharpness > qualities[0].sharpness      # what misled the choice
    assert B.best_frame(paths, recs, qualities) == paths[0]


def test_no_detail_flag_scores_with_the_global_view_alone(capsys):
    from aesview.cli import main
    assert main(["score", str(SAMPLES / "pagoda-high-iso-noise.jpg"), "--json", "--no-cache",
                 "--quiet", "--device", "cpu", "--no-detail"]) == 0
    entry = json.loads(capsys.readouterr().out)["images"][0]
    assert "detail" not in entry and 0 <= entry["score"] <= 1


def test_tile_labels_call_a_blurred_sky_clean_and_blurred_detail_soft():
    # With the floor (training/detail.py BLUR_FLOOR; the shipped head was trained without it).
    from aesview.training.detail import BLUR_FLOOR, _grey, _laplacian_abs
    from aesview.training.detail import _labels as labels

    def _labels(family, clean, tiles):
        return labels(family, clean, tiles, blur_floor=BLUR_FLOOR)
    photo = np.asarray(Image.open(SHARED / "Kleiber_by_Lukas_Baubkus.jpg").convert("RGB"))
    tiles = [photo[y:y + 192, x:x + 192] for y in range(0, photo.shape[0] - 191, 192)
             for x in range(0, photo.shape[1] - 191, 192)]
    textured = max(tiles, key=lambda t: _laplacian_abs(_grey(t)).mean())   # the most fine detail
    flat = np.full((192, 192, 3), 128, np.uint8)            # a smooth sky, as flat as it gets
    clean = np.stack([textured, flat])
    blurred = np.stack([K.gaussian_blur(t, 3.0) for t in clean])
    lab = _labels("native_focus", clean, blurred)
    assert lab[0, 1] == 1.0 and lab[1, 1] == 0.0            # softness only where detail was lost
    assert (lab[:, [0, 2]] == 0).all()
    noisy = np.stack([K.add_noise(t, 0.04, np.random.default_rng(1)) for t in clean])
    lab = _labels("native_noise", clean, noisy)
    assert (lab[:, 0] == 1.0).all() and (lab[:, 1:] == 0).all()
    assert (_labels("clean", clean, clean) == 0).all()


@pytest.mark.parametrize("evidence, words", [
    ((0.0, 0.0, 0.5), "compression artefacts lower the score"),
    ((0.5, 0.0, 0.0), "grain lowers the score"),
    ((0.5, 0.0, 0.3), "grain and compression artefacts lower the score")])
def test_the_words_agree_with_what_they_name(evidence, words):
    """"Compression artefacts" is plural on its own: the sentence must not say "artefacts lowers"."""
    maps = np.array(evidence, np.float32).reshape(1, 3, 1, 1) * np.ones((1, 3, 2, 2), np.float32)
    d = DV.DetailResult(maps=maps, boxes=np.zeros((1, 4), np.float32), alpha=1.0, global_logit=2.0,
                        detail_size=(32, 32), cell=16)
    assert words in d.sentence(), d.sentence()


def test_seen_at_100_names_the_attribute_of_each_named_channel():
    """noise -> noise, blur -> sharpness, compression -> compression; only channels the words
    name, and nothing when the sentence isn't shown (the two-decimal scores equal)."""
    from aesview.core.detail_view import seen_at_100
    maps = np.array((0.5, 0.3, 0.0), np.float32).reshape(1, 3, 1, 1) * np.ones((1, 3, 2, 2), np.float32)
    d = DV.DetailResult(maps=maps, boxes=np.zeros((1, 4), np.float32), alpha=1.0, global_logit=2.0,
                        detail_size=(32, 32), cell=16)
    seen = seen_at_100(d)
    assert set(seen) == {"noise", "sharpness"}
    assert seen == {"noise": "grain", "sharpness": "softness"}
    quiet = DV.DetailResult(maps=maps * 0.01, boxes=np.zeros((1, 4), np.float32), alpha=1.0,
                            global_logit=2.0, detail_size=(32, 32), cell=16)
    assert seen_at_100(quiet) == {} and seen_at_100(None) == {}


def test_a_smooth_window_counts_only_the_cards_smooth_channels(model):
    """detail.smooth_channels (default off): the flat windows' other maps are not counted — the
    record's maps hold zeros there, and the score is the fusion of what is counted. The windows
    come detail tiles first, then smooth ones; with fewer tiles than windows, fewer are smooth."""
    spec = model.card.detail
    assert spec is not None and spec.smooth_channels is None and spec.smooth == 1
    only = dataclasses.replace(spec, smooth_channels=("noise", "compression"))
    blur = list(spec.channels).index("blur")
    mask = only.smooth_mask(spec.patches)
    assert mask.shape == (spec.patches, len(spec.channels))
    assert mask[-1, blur] == 0 and mask.sum() == mask.size - 1       # the smooth window's blur only
    assert only.smooth_mask(1).all()                                  # one tile: a detail window
    assert spec.smooth_mask(spec.patches).all()                       # off: everything counts
    path = str(SAMPLES / "nuthatch.jpg")
    full, masked = Scorer(model, workers=0), Scorer(model, workers=0)
    masked.detail = only
    a, b = full.score_one(path).detail, masked.score_one(path).detail
    assert a is not None and b is not None and np.array_equal(a.boxes, b.boxes)
    assert a.maps[-1, blur].max() > 0 and b.maps[-1, blur].max() == 0   # there was blur to drop
    np.testing.assert_array_equal(b.maps[:-1], a.maps[:-1])
    np.testing.assert_array_equal(np.delete(b.maps[-1], blur, 0), np.delete(a.maps[-1], blur, 0))
    assert b.score > a.score
    assert b.logit == pytest.approx(b.global_logit - spec.alpha * float(
        b.maps.astype(np.float64).sum(axis=1).mean()), abs=1e-6)
    # the card: a JSON list of some of the channels, and it round-trips
    d = only.to_dict()
    assert d["smooth_channels"] == ["noise", "compression"] and DV.DetailSpec.from_dict(d) == only
    assert "smooth_channels" not in spec.to_dict()
    for bad in ("noise", ["noise", "grain"]):
        with pytest.raises(ValueError, match="smooth_channels"):
            DV.DetailSpec.from_dict(d | {"smooth_channels": bad})
