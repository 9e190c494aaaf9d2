"""The detail view at the frame's white point (core/detail.py, `white_point`): one stop under,
the same patches must not read as cleaner — exposure is the global view's to judge. Real photo,
the shipped network and head, the defect made at full resolution and decoded as the app does."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from PIL import Image

from aesview.core import defects as K
from aesview.core import detail as DV
from aesview.core.cache import ScoreCache
from aesview.core.imaging import load_image
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model
from aesview.paths import resources_dir

SAMPLES = resources_dir() / "samples"


@pytest.fixture(scope="module")
def views():
    spec = load_model(device="cpu").card.detail
    return DV.decode_views(SAMPLES / "pagoda.jpg", 320, 32, spec)


def test_gain_takes_highlights_to_white_and_undoes_one_stop_under(views):
    g = DV.white_point_gain(views.work)
    assert 1.0 <= g < 2.0, g            # a daylight frame: its highlights are near white already
    under = K.exposure(views.work, -1.0)
    g_under = DV.white_point_gain(under)
    assert g_under == pytest.approx(2 * g, rel=0.03)
    # both looked at alike: within a level on average (8-bit rounding of the darker take)
    diff = np.abs(DV.brighten(under, g_under).astype(int) - DV.brighten(views.work, g).astype(int))
    assert diff.mean() < 1.5, diff.mean()


def test_brighten_is_an_exposure_change_in_linear_light(views):
    for g in (1.3, 2.0, 3.7):
        ref = K.exposure(views.work, math.log2(g)).astype(int)
        assert np.abs(DV.brighten(views.work, g).astype(int) - ref).max() <= 1
    assert DV.brighten(views.work, 1.0) is views.work
    assert DV.brighten(views.work, 0.5) is views.work      # never darkens


def test_a_dark_frame_is_brightened_by_two_stops_at_most():
    night = np.full((64, 96, 3), 12, np.uint8)
    assert DV.white_point_gain(night) == 4.0
    white = np.full((64, 96, 3), 255, np.uint8)
    assert DV.white_point_gain(white) == 1.0


def test_the_card_says_whether_the_view_is_taken_at_the_white_point():
    base = load_model(device="cpu").card.detail
    assert base is not None
    d = base.to_dict()
    d.pop("white_point", None)
    assert DV.DetailSpec.from_dict(d).white_point is False          # cards made before it
    assert "white_point" not in dataclasses.replace(base, white_point=False).to_dict()
    on = dataclasses.replace(base, white_point=True)
    assert DV.DetailSpec.from_dict(on.to_dict()) == on


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_white_point_is_a_json_bool_or_the_card_is_malformed(value):
    """bool("false") is True: anything but true/false (or no key) is refused, by name."""
    from aesview.core.weights import ModelCard, ModelError
    card = load_model(device="cpu").card
    assert card.detail is not None
    raw = dict(card.raw, detail=dict(card.detail.to_dict(), white_point=value))
    with pytest.raises(ValueError, match="white_point must be true or false"):
        DV.DetailSpec.from_dict(raw["detail"])
    with pytest.raises(ModelError, match="malformed model card.*white_point"):
        ModelCard.from_dict(raw)
    for ok in (False, True):
        assert ModelCard.from_dict(dict(raw, detail=dict(raw["detail"], white_point=ok))
                                   ).detail.white_point is ok


def test_one_stop_under_no_longer_reads_as_cleaner(tmp_path):
    model = load_model(device="cpu")
    assert model.card.detail is not None
    full = np.asarray(load_image(SAMPLES / "pagoda-high-iso-noise.jpg").image.convert("RGB"))
    files = {}
    for name, img in (("clean", full), ("under", K.exposure(full, -1.0))):
        files[name] = tmp_path / f"{name}.jpg"
        Image.fromarray(img).save(files[name], quality=92)
    evidence, results = {}, {}
    cache = ScoreCache(tmp_path / "cache.sqlite")
    for wp in (False, True):
        scorer = Scorer(model, cache=None, workers=0)
        scorer.detail = dataclasses.replace(model.card.detail, white_point=wp)
        for name, f in files.items():
            rec = scorer.score_one(f)
            d = rec.detail
            assert d is not None
            evidence[wp, name], results[wp, name] = d.evidence, d
            if wp:      # the gain is part of the record: it survives the cache
                cache.put(rec, f"wp-{name}")
                back = cache.get(str(f), f"wp-{name}")
                assert back is not None and back.detail is not None and back.detail.gain == d.gain
    cache.close()
    assert results[False, "under"].gain == 1.0
    assert results[True, "under"].gain == pytest.approx(2 * results[True, "clean"].gain, rel=0.05)
    # the words say the darker take was looked at brighter, and by how much
    stops = math.log2(results[True, "under"].gain)
    assert f"patches looked at {stops:.1f} stops brighter)" in results[True, "under"].sentence()
    assert "brighter" not in results[True, "clean"].sentence()
    assert results[True, "under"].explain()["gain"] == results[True, "under"].gain
    # As decoded, the darker take shows less grain and is judged cleaner (measured 4.80 against
    # 5.69); at the white point most of that gap closes (5.50 against 5.75) — what is left is
    # grain the darker take's 8 bits lost for good.
    gap = {wp: evidence[wp, "clean"] - evidence[wp, "under"] for wp in (False, True)}
    assert evidence[False, "under"] < 0.9 * evidence[False, "clean"], evidence
    assert abs(gap[True]) < 0.5 * gap[False], evidence


def test_training_tile_sets_are_built_as_the_app_looks(tmp_path):
    """training/detail.py's builders with `white_point`: the tiles' features are those of the
    brightened frame where it needs a gain and untouched where it doesn't; the global z is the
    decoded frame's either way."""
    import torch

    from aesview.training.detail import build_file_set

    model = load_model(device="cpu")
    full = np.asarray(load_image(SAMPLES / "pagoda.jpg").image.convert("RGB"))
    white = full.copy()
    white[: white.shape[0] // 20] = 255                  # highlights at white: gain 1
    files = []
    for name, img in (("white", white), ("under", K.exposure(full, -1.5))):
        f = tmp_path / f"{name}.png"
        Image.fromarray(img).save(f)
        files.append((str(f), 50.0))
    sets = {wp: build_file_set(model.net, files, 960, model.card.normalization, white_point=wp)
            for wp in (False, True)}
    assert [i["z"] for i in sets[False]["images"]] == [i["z"] for i in sets[True]["images"]]
    feats = {wp: sets[wp]["feats"][9] for wp in sets}
    img = sets[False]["image"]
    assert torch.equal(feats[False][img == 0], feats[True][img == 0])
    assert not torch.equal(feats[False][img == 1], feats[True][img == 1])
