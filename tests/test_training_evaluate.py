import json
import shutil

import numpy as np
import pytest

from aesview.training.cli import main
from aesview.training.evaluate import auc, cross_scene_beats, rankdata, spearman

from .photos import shared_photo


def test_rankdata_averages_ties():
    assert rankdata([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]


def test_spearman_against_hand_computed_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = ranks differ by (0, 2, -1, -1): rho = 1 - 6 * 6 / (4 * 15) = 0.4
    assert spearman([1, 2, 3, 4], [1, 4, 2, 3]) == pytest.approx(0.4)
    # Monotone transforms don't change it.
    x = np.random.default_rng(0).random(50)
    y = x + np.random.default_rng(1).random(50)
    assert spearman(x, y) == pytest.approx(spearman(np.exp(x), y ** 3))


def test_auc_is_the_mann_whitney_probability():
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    assert auc([1, 3], [2, 2]) == 0.5
    assert auc([2], [2]) == 0.5


def test_cross_scene_pairs_only_clean_photos_with_other_photos_severe_defects():
    meta = [("a", "clean", 0), ("a", "defocus", 3), ("a", "noise", 2),
            ("b", "clean", 0), ("b", "defocus", 2), ("b", "noise", 1), ("b", "tilt", 3),
            ("c", "clean", 0), ("c", "jpeg", 3)]
    s = [5.0, 9.0, 9.0, 1.0, 4.0, 9.0, 9.0, 3.0, 3.0]
    # a (5) vs b/defocus2 (4) win, c/jpeg3 (3) win; b (1) vs a/defocus3, a/noise2 (9, 9), c/jpeg3
    # (3): three losses; c (3) vs a's two (9, 9) losses, b/defocus2 (4) loss. Own defects, severity
    # 1 and the non-technical tilt are never paired. 2 wins of 8.
    assert cross_scene_beats(s, meta) == pytest.approx(2 / 8)
    s[8] = 1.0   # c/jpeg3 now ties b's clean photo
    assert cross_scene_beats(s, meta) == pytest.approx(2.5 / 8)
    assert np.isnan(cross_scene_beats([1.0, 0.0], [("a", "clean", 0), ("a", "noise", 3)]))


def test_evaluate_cli_on_a_held_out_photo_writes_figures(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(shared_photo("skimage_coffee.jpg"), folder)
    out = tmp_path / "eval.json"
    rc = main(["evaluate", "--dataset", "selfsup", "--data", str(folder),
               "--held-out", "skimage_coffee.jpg", "--json", str(out), "--device", "cpu"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "laplacian_var" in printed and "AesAM AUC local blur" in printed
    res = json.loads(out.read_text())
    assert res["photos"] == ["skimage_coffee.jpg"]
    fam = res["families"]["model"]["defocus"]
    assert set(fam["by_severity"]) == {"1", "2", "3"}
    assert 0.0 <= res["model"]["local_blur_map_auc"] <= 1.0
    # The baseline sharpness measure must see defocus (it is computed in the same run).
    assert res["families"]["laplacian_var"]["defocus"]["clean_beats"] == 1.0
    # One photo has no other scene to be compared with.
    assert "cross-scene" in printed
    assert np.isnan(res["model"]["cross_scene_clean_beats_technical"])
