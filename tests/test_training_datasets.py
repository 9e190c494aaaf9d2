import numpy as np
import pytest
from PIL import Image

from aesview.training.avasynth import write_ava
from aesview.training.datasets import (
    AADB_ATTRIBUTES,
    DatasetError,
    image_shape,
    load_rgb,
    read_aadb,
    read_ava,
    read_csv,
)
from aesview.training.weighting import mean_score


def test_ava_reader_on_the_exact_layout(tmp_path):
    planted = write_ava(tmp_path, n_train=10, n_test=6, size=(64, 48))
    # One listed image is missing on disk (as in the real AVA): skipped, not fatal.
    missing_id = sorted(planted)[2]
    (tmp_path / "images" / f"{missing_id}.jpg").unlink()
    train = read_ava(tmp_path, "train")
    test = read_ava(tmp_path, "test")
    assert len(train) == 9 and len(test) == 6
    ids_train = {int(s.path.rsplit("/", 1)[1][:-4]) for s in train}
    ids_test = {int(s.path.rsplit("/", 1)[1][:-4]) for s in test}
    assert not ids_train & ids_test and missing_id not in ids_train
    line = (tmp_path / "AVA.txt").read_text().splitlines()[0].split()
    assert len(line) == 15
    first = next(s for s in train if s.path.endswith(f"{line[1]}.jpg"))
    assert first.votes.tolist() == [float(v) for v in line[2:12]]
    assert set(first.tags) <= {"Abstract", "Nature", "Texture"} and first.tags
    # Sharp images were given high votes, half-blurred ones low votes.
    for s in train + test:
        side = planted[int(s.path.rsplit("/", 1)[1][:-4])]
        mu = mean_score(s.votes)[0]
        assert (mu < 5.5) if side else (mu > 4.5)


def test_ava_reader_accepts_the_ava_dataset_subfolder_and_a_given_list(tmp_path):
    write_ava(tmp_path / "AVA_dataset", n_train=4, n_test=2, size=(32, 32))
    lst = tmp_path / "mine.jpgl"
    first = (tmp_path / "AVA_dataset" / "AVA.txt").read_text().split()[1]
    lst.write_text(first + "\n")
    got = read_ava(tmp_path, "train", split_list=lst)
    assert [s.path.endswith(f"{first}.jpg") for s in got] == [True]


def test_ava_reader_says_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match="AVA.txt"):
        read_ava(tmp_path)
    write_ava(tmp_path, n_train=2, n_test=1, size=(32, 32))
    (tmp_path / "AVA.txt").write_text("1 2 3\n")
    with pytest.raises(DatasetError, match="15 columns"):
        read_ava(tmp_path)


def _img(path, size=(40, 30)):
    Image.new("RGB", size, (120, 60, 30)).save(path)


def test_aadb_official_label_files(tmp_path):
    imgs = tmp_path / "datasetImages_warp256"
    imgs.mkdir()
    labels = tmp_path / "imgListFiles_label"
    labels.mkdir()
    names = ["farm1_1_a.jpg", "farm1_2_b.jpg", "farm1_3_c.jpg"]
    for n in names[:2]:
        _img(imgs / n)
    (labels / "imgListTrainRegression_score.txt").write_text(
        "farm1_1_a.jpg 0.9\nfarm1_2_b.jpg 0.1\nfarm1_3_c.jpg 0.5\n")
    (labels / "imgListTrainRegression_DoF.txt").write_text("farm1_1_a.jpg 0.6\nfarm1_2_b.jpg -1\n")
    got = read_aadb(tmp_path, "train")
    assert len(got) == 2  # the third image is missing
    by = {s.path.rsplit("/", 1)[1]: s for s in got}
    assert mean_score(by["farm1_1_a.jpg"].votes)[0] == pytest.approx(1 + 9 * 0.9, abs=1e-6)
    dof = AADB_ATTRIBUTES.index("DoF")
    assert by["farm1_1_a.jpg"].attributes[dof] == pytest.approx(0.8)
    assert by["farm1_2_b.jpg"].attributes[dof] == pytest.approx(0.0)
    assert np.isnan(by["farm1_1_a.jpg"].attributes[AADB_ATTRIBUTES.index("Light")])


def test_aadb_single_csv(tmp_path):
    (tmp_path / "images").mkdir()
    _img(tmp_path / "images" / "x.jpg")
    cols = ["ImageFile", "score"] + AADB_ATTRIBUTES
    (tmp_path / "labels.csv").write_text(",".join(cols) + "\n"
                                         + ",".join(["x.jpg", "0.3"] + ["0.2"] * 11) + "\n")
    (s,) = read_aadb(tmp_path)
    assert mean_score(s.votes)[0] == pytest.approx(3.7, abs=1e-6)
    assert np.allclose(s.attributes, 0.6)


def test_csv_votes_and_mean_on_a_stated_scale(tmp_path):
    _img(tmp_path / "a.jpg")
    _img(tmp_path / "b.jpg")
    votes = tmp_path / "votes.csv"
    votes.write_text("path," + ",".join(f"votes_{i}" for i in range(1, 11)) + ",sharp\n"
                     "a.jpg,0,0,0,1,2,5,2,0,0,0,0.9\n"
                     "missing.jpg,0,0,0,1,2,5,2,0,0,0,0.9\n")
    (s,) = read_csv(votes, ["sharp"])
    assert s.votes.tolist() == [0, 0, 0, 1, 2, 5, 2, 0, 0, 0] and s.attributes.tolist() == [
        pytest.approx(0.9)]
    means = tmp_path / "means.csv"
    means.write_text("path,mean\na.jpg,0.75\nb.jpg,7\n")  # 7 is off the 0:1 scale: skipped
    (m,) = read_csv(means, scale=(0.0, 1.0))
    assert mean_score(m.votes)[0] == pytest.approx(1 + 9 * 0.75, abs=1e-6)
    with pytest.raises(DatasetError, match="votes_1..votes_10 or a 'mean'"):
        (tmp_path / "bad.csv").write_text("path,score\na.jpg,3\n")
        read_csv(tmp_path / "bad.csv")


def test_load_rgb_keeps_aspect_and_applies_exif_orientation(tmp_path):
    p = tmp_path / "rot.jpg"
    img = Image.new("RGB", (400, 200), (200, 10, 10))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90: displayed upright as 200 x 400
    img.save(p, exif=exif)
    arr = load_rgb(p, 320)
    assert arr.shape == (320, 160, 3)
    from aesview.training.datasets import Sample
    assert image_shape(Sample(np.ones(10), np.zeros(0), path=str(p)), 320) == (320, 160)
