"""LIVE-C readers (official release and CSV layouts, on small generated copies), the generic CSV's
spread column, the weighting from a mean and a spread, and the seeded split protocol."""

import csv
import math

import numpy as np
import pytest
from PIL import Image

from aesview.training.datasets import DatasetError, read_csv, read_livec
from aesview.training.joint import split_names
from aesview.training.weighting import (
    Weighting,
    class_balance,
    mixed_weights,
    normal_confidence,
    pseudo_votes,
    rated_weights,
)

ROWS = [("t1.bmp", 63.9, 18.4), ("t2.bmp", 25.3, 13.7), ("3.bmp", 80.0, 10.0),
        ("10.JPG", 20.0, 15.0), ("100.bmp", 50.0, 20.0), ("1001.JPG", 70.0, 5.0)]


def _img(path, shade):
    Image.new("RGB", (50, 40), (shade, 90, 30)).save(path)


def make_release(root):
    """The official layout: ChallengeDB_release/{Images,Images/trainingImages,Data/*.mat}."""
    from scipy.io import savemat
    base = root / "ChallengeDB_release"
    (base / "Images" / "trainingImages").mkdir(parents=True)
    (base / "Data").mkdir()
    for i, (name, _, _) in enumerate(ROWS):
        sub = "trainingImages/" if name.startswith("t") else ""
        fmt = "BMP" if name.endswith(".bmp") else "JPEG"
        Image.new("RGB", (50, 40), (10 * i, 90, 30)).save(base / "Images" / (sub + name), fmt)
    names = np.empty((len(ROWS), 1), dtype=object)
    for i, r in enumerate(ROWS):
        names[i, 0] = np.array([r[0]])
    savemat(base / "Data" / "AllImages_release.mat", {"AllImages_release": names})
    savemat(base / "Data" / "AllMOS_release.mat",
            {"AllMOS_release": np.array([[r[1] for r in ROWS]])})
    savemat(base / "Data" / "AllStdDev_release.mat",
            {"AllStdDev_release": np.array([[r[2] for r in ROWS]])})
    return root


def make_csv_layout(root):
    """The shared layout: images/<file> (BMPs as lossless WebP) and labels.csv."""
    (root / "images").mkdir(parents=True)
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "mos", "mos_std", "official_name"])
        for i, (name, mos, std) in enumerate(ROWS):
            stem, ext = name.rsplit(".", 1)
            file = f"images/{stem}.{'webp' if ext == 'bmp' else ext}"
            _img(root / file, 10 * i)
            official = ("trainingImages/" if name.startswith("t") else "") + name
            w.writerow([file, mos, std, official])
    return root


@pytest.mark.parametrize("make", [make_release, make_csv_layout])
def test_both_layouts_read_the_same_photos_and_scores(tmp_path, make):
    samples = read_livec(make(tmp_path))
    names = sorted(s.name.split("/")[-1].rsplit(".", 1)[0] for s in samples)
    # The 7 rater-training photos (here t1, t2) are left out.
    assert names == ["10", "100", "1001", "3"]
    by = {s.name.split("/")[-1].rsplit(".", 1)[0]: s for s in samples}
    # MOS 0..100 -> 1..10 (1 + 9 mos / 100); the spread scales by 9 / 100.
    assert by["3"].mean == pytest.approx(1 + 9 * 0.80)
    assert by["10"].std == pytest.approx(0.09 * 15.0)
    assert by["1001"].mean == pytest.approx(1 + 9 * 0.70)
    for s in samples:
        assert Image.open(s.path).size == (50, 40)


def test_missing_layout_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="labels.csv"):
        read_livec(tmp_path)


def test_shared_copy_reads_1162_study_photos():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "livec"
    if not (root / "labels.csv").is_file():
        pytest.skip("shared LIVE-C copy not available")
    samples = read_livec(root)
    assert len(samples) == 1162
    assert not any("trainingImages" in s.name for s in samples)


def test_generic_csv_takes_a_mean_and_a_spread_on_a_stated_scale(tmp_path):
    _img(tmp_path / "a.jpg", 10)
    _img(tmp_path / "b.jpg", 200)
    (tmp_path / "r.csv").write_text("path,mean,std\na.jpg,4.0,0.5\nb.jpg,2.0,\n")
    a, b = read_csv(tmp_path / "r.csv", scale=(1.0, 5.0))
    assert a.mean == pytest.approx(1 + 9 * 3 / 4) and a.std == pytest.approx(9 * 0.5 / 4)
    assert b.mean is None and b.std is None     # no spread given: a histogram sample as before


def test_normal_confidence_is_the_one_sidedness_of_the_ratings():
    rng = np.random.default_rng(0)
    for mu, sig in ((6.0, 1.0), (4.0, 2.0), (5.5, 1.0), (8.0, 0.5)):
        r = rng.normal(mu, sig, 400_000)
        mc = abs((r > 5.5).mean() - (r <= 5.5).mean())
        assert normal_confidence(mu, sig, 5.5)[0] == pytest.approx(mc, abs=0.005)
    # Wider disagreement at the same mean lowers the weight.
    w = rated_weights([7.0, 7.0, 7.0], [0.5, 1.5, 3.0], Weighting(gamma=1.0, threshold=5.5))
    assert np.all(np.diff(w) < 0)


@pytest.mark.parametrize("delta", [0.0, 0.25, 1.0])
def test_gamma_zero_on_rated_samples_is_exactly_the_delta_drop(delta):
    rng = np.random.default_rng(1)
    mu, sig = rng.uniform(1, 10, 300), rng.uniform(0.3, 3, 300)
    w = rated_weights(mu, sig, Weighting(gamma=0.0, delta=delta, threshold=5.5))
    assert np.array_equal(w, (np.abs(mu - 5.5) > delta).astype(float))
    losses = rng.random(300)
    kept = np.abs(mu - 5.5) > delta
    assert np.isclose((w * losses).sum() / w.sum(), losses[kept].mean())


def test_mixed_sets_weigh_rated_samples_by_their_spread_and_the_rest_by_votes():
    votes = np.stack([pseudo_votes(7.5), pseudo_votes(3.3), pseudo_votes(6.0), pseudo_votes(6.0)])
    means = np.array([np.nan, np.nan, 6.0, 6.0])
    stds = np.array([np.nan, np.nan, 0.5, 2.5])
    cfg = Weighting(gamma=2.0, threshold=5.5)
    y, w = mixed_weights(votes, means, stds, cfg)
    assert list(y) == [1, 0, 1, 1]
    assert w[2] == pytest.approx(math.erf(0.5 / (0.5 * math.sqrt(2))) ** 2)
    assert w[3] < w[2]
    b = class_balance(y, w)
    assert (w * b)[y == 1].sum() == pytest.approx((w * b)[y == 0].sum())


def test_splits_are_seeded_disjoint_and_cover_every_photo():
    names = [f"{i}.jpg" for i in range(1162)]
    a = split_names(names, 0)
    assert a == split_names(list(reversed(names)), 0)     # fixed by (seed, split) alone
    assert len(a["test"]) == 232 and len(a["val"]) == 140 and len(a["train"]) == 790
    assert sorted(a["test"] + a["val"] + a["train"]) == sorted(names)
    b = split_names(names, 1)
    assert set(a["test"]) != set(b["test"])


def test_evaluate_livec_scores_the_split_test_part_beside_the_baselines(tmp_path, capsys):
    import json

    from aesview.core.defects import gaussian_blur
    from aesview.training.cli import main
    from aesview.training.datasets import load_rgb

    from .photos import shared_photo
    src = load_rgb(shared_photo("skimage_coffee.jpg"), 320)
    (tmp_path / "images").mkdir()
    rows = ["file,mos,mos_std"]
    for i in range(12):
        img = src if i == 0 else gaussian_blur(src, 0.4 * i)
        Image.fromarray(img).save(tmp_path / "images" / f"{i}.jpg", quality=92)
        rows.append(f"images/{i}.jpg,{90 - 7 * i},12")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "res.json"
    assert main(["evaluate", "--dataset", "livec", "--data", str(tmp_path), "--device", "cpu",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    test = split_names([f"images/{i}.jpg" for i in range(12)], res["split"])["test"]
    assert res["model_figures"]["n"] == len(test) == 2
    for k in ("model_figures", "frozen_ridge", "laplacian_var", "exposure_contrast"):
        assert -1.0 <= res[k]["srcc"] <= 1.0
    assert "SRCC" in capsys.readouterr().out
