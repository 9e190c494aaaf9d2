"""'What if': one change to a photo in memory, rescored with the real model; nothing on disk."""

import os
import shutil

import numpy as np
import pytest

from aesview.core import defects as D
from aesview.core.whatif import CROP, FAMILIES, WhatIf, parameter

from .photos import shared_photo


@pytest.fixture(scope="module")
def scorer():
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    return Scorer(load_model(device="cpu"), cache=None)


@pytest.fixture(scope="module")
def experiment(scorer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whatif")
    path = folder / "astronaut.jpg"
    shutil.copy(shared_photo("skimage_astronaut.jpg"), path)
    return WhatIf.open(scorer, path)


def test_strength_follows_the_trainers_severities():
    assert parameter("blur", 1) == D.BLUR_SIGMA[0] and parameter("blur", 3) == D.BLUR_SIGMA[2]
    assert parameter("blur", 1.5) == pytest.approx((D.BLUR_SIGMA[0] + D.BLUR_SIGMA[1]) / 2)
    assert parameter("blur", 0) == 0.0 and parameter("tighter", 0) == 1.0
    assert parameter("exposure", -2) == -D.UNDER_EV[1] and parameter("exposure", 2) == D.OVER_EV[1]
    assert parameter("tilt", -1) == -D.TILT_DEG[0]
    assert parameter("jpeg", 3) == D.JPEG_QUALITY[2]
    with pytest.raises(ValueError, match="strength"):
        parameter("blur", -1)
    with pytest.raises(ValueError, match="strength"):
        parameter("noise", 3.5)
    with pytest.raises(ValueError, match="unknown what-if"):
        parameter("sepia", 1)


def test_untouched_photo_scores_as_in_the_shoot(scorer, experiment):
    rec = scorer.score_one(experiment.path)
    assert experiment.before.score == pytest.approx(rec.score, abs=1e-6)
    np.testing.assert_allclose(experiment.before.aesam, rec.aesam, atol=1e-5)
    same = experiment.run("blur", 0.0)
    assert same.change == pytest.approx(0.0, abs=1e-6)
    w, h = experiment.image_size
    whole = experiment.run(CROP, box=(0, 0, w, h))
    assert whole.change == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_each_family_changes_what_the_network_sees_and_its_maps(experiment, name):
    r = experiment.run(name, 2.0)
    assert r.image.dtype == np.uint8 and r.image.ndim == 3
    assert r.after.score is not None and 0.0 <= r.after.score <= 1.0
    assert r.after.aesam is not None and r.after.highmap is not None
    assert r.after.attam.shape[0] == len(experiment.scorer.model.attributes)
    if r.image.shape == experiment.base.shape:
        assert np.abs(r.image.astype(int) - experiment.base).mean() > 0.5
    assert r.setting and r.change == pytest.approx(r.after.score - r.before.score)


def test_heavy_blur_and_noise_lower_the_score_of_a_sharp_photo(experiment):
    # The trainer's strongest technical defects: any model trained on them ranks them lower.
    assert experiment.run("blur", 3).change < 0
    assert experiment.run("noise", 3).change < 0


def test_a_given_run_repeats_exactly(experiment):
    a, b = experiment.run("noise", 1.5), experiment.run("noise", 1.5)
    assert a.after.score == b.after.score and (a.image == b.image).all()


def test_reframing_scores_the_window_at_working_size(experiment):
    w, h = experiment.image_size
    r = experiment.run("tighter", 1)
    left, top, right, bottom = r.box
    assert right - left == pytest.approx(w * D.TIGHT_FRACTION[0])
    assert (left + right) / 2 == pytest.approx(w / 2) and (top + bottom) / 2 == pytest.approx(h / 2)
    assert max(r.image.shape[:2]) == experiment.scorer.long_side
    c = experiment.suggested_crop("1:1")
    cw, ch = c.box[2] - c.box[0], c.box[3] - c.box[1]
    assert cw == pytest.approx(ch, rel=0.02) and c.after.score is not None
    with pytest.raises(ValueError, match="outside"):
        experiment.run(CROP, box=(-5, 0, w, h))
    with pytest.raises(ValueError, match="box"):
        experiment.run(CROP)


def test_nothing_is_written_to_disk(scorer, tmp_path):
    path = tmp_path / "photo.jpg"
    shutil.copy(shared_photo("skimage_chelsea.jpg"), path)
    before = (sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns, path.read_bytes())
    exp = WhatIf.open(scorer, path)
    for name in FAMILIES:
        exp.run(name, 1.0)
    assert (sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns, path.read_bytes()) == before


def test_a_file_that_cannot_be_shown_is_a_clear_error(scorer, tmp_path):
    from aesview.core.imaging import ImageLoadError
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageLoadError):
        WhatIf.open(scorer, bad)


def test_crops_are_scored_from_a_sharper_decode(scorer, tmp_path):
    """A crop is what an exported crop would be: the window at full sharpness, not the scoring
    decode blown up."""
    from PIL import Image

    from aesview.core.imaging import load_image
    big = tmp_path / "big.jpg"
    Image.open(shared_photo("skimage_astronaut.jpg")).resize((2400, 2400), Image.Resampling.LANCZOS) \
        .save(big, quality=95)
    exp = WhatIf.open(scorer, big)
    r = exp.run("tighter", 2)
    # With a detail view (core/detail.py) scoring's own decode already has the pixels to spare.
    assert max(exp.detail.size) >= 2 * scorer.long_side
    assert scorer.detail is not None or 2 * scorer.long_side > max(exp.decoded.size)
    # The reference is a 320-px scoring view blown up (decoded as a model without a detail view
    # decodes: with one, scoring's own decode is larger and its working view a little sharper).
    small = scorer.working_array(load_image(big, max_side=scorer.long_side).image)
    blown_up = D.crop_to(small, tuple(v * small.shape[1] / 2400 for v in r.box))

    def detail(a):
        g = a.astype(np.float64).mean(axis=2)
        return np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean()
    assert r.image.shape == blown_up.shape and detail(r.image) > 1.3 * detail(blown_up)
    assert load_image(big).size == exp.image_size


def test_comparison_picture_side_by_side_or_stacked(experiment):
    from aesview.core.whatif import comparison_image
    r = experiment.run("blur", 2)
    wide = comparison_image(r, side=200)
    tall = comparison_image(r, side=200, vertical=True)
    assert wide.dtype == np.uint8 and wide.shape[1] > 2 * 200 and wide.shape[0] < 260
    assert tall.shape[1] == 200 and tall.shape[0] > 2 * 200
