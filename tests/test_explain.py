"""Plain words and overlay rendering for "why this score" (numpy in, numpy/text out)."""

import numpy as np
import pytest

from aesview.core.explain import (
    colorbar_rgba,
    describe,
    display_size,
    overlay_rgba,
    region_contributions,
    region_sentences,
    strongest_regions,
)


def test_cells_sum_to_the_map_mean_for_any_grid():
    rng = np.random.default_rng(0)
    for shape in ((7, 10), (9, 9), (10, 7), (3, 5)):
        m = rng.normal(size=shape).astype(np.float32)
        c = region_contributions(m)
        assert c.shape == (3, 3)
        assert c.sum() == pytest.approx(float(m.mean()), abs=1e-4)


def test_words_name_the_right_regions():
    m = np.zeros((9, 12), np.float32)
    m[:3, :4] = -2.0          # upper left lowers
    m[6:, 4:8] = 3.0          # bottom raises
    assert region_sentences(m) == ["The bottom raises the score most.",
                                   "The upper left lowers it most."]
    assert [r for r, _ in strongest_regions(m)] == ["bottom", "upper left"]
    mirrored = region_sentences(m[:, ::-1])
    assert mirrored == ["The bottom raises the score most.", "The upper right lowers it most."]
    assert region_sentences(np.zeros((7, 7))) == ["No part of the frame moves the score much."]


def test_describe_mentions_score_percentile_and_attributes():
    m = np.ones((6, 6), np.float32)
    text = describe(0.8123, 75.0, m, {"sharp": 0.9, "vivid_color": 0.1, "symmetry": 0.5})
    assert text.startswith("Score 0.81, better than 75 % of the other photos in this shoot.")
    assert "raises the score most" in text and "lowers" not in text
    assert "sharp (0.90)" in text and "weakest: vivid color (0.10)" in text
    assert describe(0.9, 100.0, m, {}).startswith("Score 0.90, the best of this shoot.")
    assert describe(0.1, 0.0, m, {}).startswith("Score 0.10, the lowest of this shoot.")


def test_overlay_is_photo_shaped_and_fades_where_the_map_is_neutral():
    m = np.zeros((7, 10), np.float32)
    m[3, 8] = 5.0
    m[3, 1] = -5.0
    h, w = display_size((1600, 1066), 512)
    assert (h, w) == (341, 512)
    rgba = overlay_rgba(m, (h, w), "RdBu_r")
    assert rgba.shape == (h, w, 4) and rgba.dtype == np.uint8
    right, left, corner = rgba[h // 2, int(w * 0.85)], rgba[h // 2, int(w * 0.15)], rgba[2, 2]
    assert right[0] > right[2] and left[2] > left[0]        # red raises, blue lowers
    assert corner[3] < 60 < right[3] and left[3] > 60       # neutral stays see-through
    bar = colorbar_rgba("RdBu_r", 256, 4)
    assert bar[0, 0, 2] > bar[0, 0, 0] and bar[0, -1, 0] > bar[0, -1, 2]
