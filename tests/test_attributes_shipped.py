"""The shipped model's named attributes answer their own defect on real photos (issue 8: the
exposure bar rose on a darker frame with the joint run's attribute head)."""

from pathlib import Path

import numpy as np
import pytest

from aesview.core.defects import CAST_STRENGTH, UNDER_EV, exposure
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model
from aesview.training import degradations as D

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


@pytest.fixture(scope="module")
def scorer():
    return Scorer(load_model(None, device="cpu"), workers=0, detail=False)


def _attributes(scorer, array):
    return scorer.score_array(array).attributes


def _working(scorer, name):
    from aesview.core.imaging import load_image
    return scorer.working_array(load_image(SAMPLES / name, max_side=scorer.decode_side).image)


def test_bundled_underexposed_sample_reads_darker(scorer):
    """The pair bundled with the app (3 stops under in linear light): the student's case."""
    clean, dark = (next(iter(scorer.score_paths([SAMPLES / n]))) for n in
                   ("picos-de-europa.jpg", "picos-de-europa-underexposed.jpg"))
    assert dark.attributes["exposure"] < clean.attributes["exposure"] - 0.1


@pytest.mark.parametrize("name", ["coffee.jpg", "ladybird.jpg"])   # held out of all training
def test_exposure_drops_on_a_darker_frame(scorer, name):
    img = _working(scorer, name)
    clean = _attributes(scorer, img)["exposure"]
    for ev in UNDER_EV[1:]:
        assert _attributes(scorer, exposure(img, -ev))["exposure"] < clean, ev


@pytest.mark.parametrize("name", ["coffee.jpg", "ladybird.jpg"])
def test_colour_drops_on_a_cast_frame(scorer, name):
    img = _working(scorer, name)
    clean = _attributes(scorer, img)["color"]
    cast = [_attributes(scorer, D.color_cast(img, 3, np.random.default_rng(seed))[0])["color"]
            for seed in range(3)]
    assert max(cast) < clean, (clean, cast, CAST_STRENGTH[2])
