"""Map views: absolute / relative / normalised, their legends, the side-by-side and the small
multiples (numpy in, numpy out), and the paper's high-class map from the real model."""

import numpy as np
import pytest

from aesview.core import map_views as V


@pytest.fixture(scope="module")
def shared_scorer():
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    return Scorer(load_model(device="cpu"), cache=None)


def _good_photo_map():
    """Positive everywhere (as on a photo the network likes), strongest in the lower third."""
    m = np.full((9, 12), 1.6, np.float32)
    m[6:, 4:8] = 3.0
    return m


def test_absolute_is_all_red_on_a_good_photo_but_relative_says_where():
    m = _good_photo_map()
    size = (90, 120)
    ab = V.render(V.view(m, V.ABSOLUTE), size)
    assert (ab[..., 0].astype(int) > ab[..., 2]).all()          # red everywhere: says nothing
    rel = V.view(m, V.RELATIVE)
    assert abs(float(rel.values.mean())) < 1e-5
    ov = V.render(rel, size)
    inside, outside = ov[80, 60], ov[10, 10]
    assert inside[0] > inside[2] and outside[2] > outside[0]    # above the mean red, below blue
    assert "average" in rel.low_text and f"{m.mean():+.2f}" in rel.centre_text


def test_legends_say_which_mode():
    m = _good_photo_map()
    ab, rel, norm = (V.view(m, mode) for mode in V.MODES)
    assert ab.low_text == "lowers the score" and ab.high_text == "raises the score"
    assert "Absolute" in ab.legend and "0 (neutral)" in ab.legend
    assert "Relative" in rel.legend and "average" in rel.legend
    assert "paper" in norm.legend and not norm.signed
    assert norm.values.min() == 0.0 and norm.values.max() == pytest.approx(1.0)
    assert f"{m.max():+.2f}" in norm.high_text
    with pytest.raises(ValueError, match="map mode"):
        V.view(m, "log")


def test_normalised_view_of_a_flat_map_is_zero_not_nan():
    v = V.view(np.full((4, 4), 2.0), V.NORMALISED)
    assert np.isfinite(v.values).all() and v.values.max() == 0.0


def test_colourbar_and_css_stops_run_from_low_to_high():
    v = V.view(_good_photo_map(), V.ABSOLUTE)
    bar = V.colorbar(v, 64, 3)
    assert bar.shape == (3, 64, 4) and bar[0, 0, 2] > bar[0, 0, 0] and bar[0, -1, 0] > bar[0, -1, 2]
    stops = V.colour_stops(v, 5)
    assert len(stops) == 5 and all(s.startswith("rgb(") for s in stops)


def test_side_by_side_shows_both_maps_over_the_photo():
    photo = np.full((60, 90, 3), 128, np.uint8)
    aes = np.zeros((6, 9), np.float32)
    aes[:, :4] = -2.0
    aes[:, 5:] = 2.0
    high = np.linspace(0, 1, 54, dtype=np.float32).reshape(6, 9)
    out = V.side_by_side(photo, aes, high)
    assert out.dtype == np.uint8 and out.shape[1] == 2 * 90 + 8 and out.shape[0] > 60
    top = out.shape[0] - 60                                      # caption strip height
    left_panel = out[top:, :90]
    assert left_panel[30, 80, 0] > left_panel[30, 80, 2]         # raises: red
    assert left_panel[30, 5, 2] > left_panel[30, 5, 0]           # lowers: blue
    assert (out[top:, :90] != out[top:, 98:]).any()


def test_small_multiples_share_one_scale():
    photo = np.full((60, 90, 3), 128, np.uint8)
    att = np.zeros((3, 6, 9), np.float32)
    att[0] += 4.0      # strong
    att[1] += 0.5      # weak: must look paler than the strong one on a shared scale
    att[2] -= 4.0
    grid = V.small_multiples(photo, att, ["sharpness", "noise", "exposure"], columns=2, tile=90,
                             values={"sharpness": 0.9, "noise": 0.6, "exposure": 0.1})
    assert grid.dtype == np.uint8 and grid.ndim == 3
    strip = 12 + 8
    strong, weak = grid[strip + 30, 45], grid[strip + 30, 98 + 45]
    assert int(strong[0]) - int(strong[2]) > int(weak[0]) - int(weak[2]) + 40
    assert grid.shape[0] > 2 * (60 + strip)                       # two rows of tiles
    with pytest.raises(ValueError, match="names"):
        V.small_multiples(photo, att, ["a", "b"])


def test_high_class_map_mean_plus_bias_is_the_high_logit(shared_scorer, tmp_path):
    import torch

    from aesview.core.model import HIGH
    from aesview.core.preprocess import normalize

    from .photos import shared_photo
    scorer = shared_scorer
    photo = shared_photo("skimage_coffee.jpg")
    rec = scorer.score_one(photo)
    assert rec.highmap is not None and rec.highmap.shape == rec.aesam.shape
    from aesview.core.imaging import load_image
    arr = scorer.working_array(load_image(photo, max_side=scorer.long_side).image)
    with torch.inference_mode():
        out = scorer.model.net(normalize(arr[None], scorer.model.card.normalization))
    b_high = scorer.model.net.head_weights()[1][HIGH]
    assert float(rec.highmap.mean()) + b_high == pytest.approx(float(out.aes_logits[0, HIGH]), abs=1e-3)
