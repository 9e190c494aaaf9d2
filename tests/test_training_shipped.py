"""Guards the shipped default model: on photos it never saw, the clean photo must outscore its
heavily blurred, noisy and under-exposed versions, and its card must say what it learned from."""

import numpy as np
import pytest

from aesview.core.weights import default_model_name, load_model
from aesview.training import degradations as D
from aesview.training.datasets import load_rgb
from aesview.training.evaluate import predict

from .photos import shared_photo

PHOTOS = ["skimage_chelsea.jpg", "mate_LadyBird.jpg", "Bridge_by_Sander_Klootwijk.jpg"]


@pytest.fixture(scope="module")
def model():
    return load_model(default_model_name(), device="cpu")


def test_card_says_plainly_what_the_model_was_trained_on(model):
    card = model.card
    assert card.trained is True
    tr = card.training
    assert "never shown AVA" in tr["data"]
    held, seen = set(tr["held_out_photos"]), set(tr["train_photos"])
    assert set(PHOTOS) <= held and not held & seen
    # Photos used to pick the epoch are neither trained on nor among the held-out ones.
    val = set(tr.get("validation_photos", []))
    assert not val & held and not val & seen
    assert list(card.attributes) == D.ATTRIBUTES
    assert card.metrics["model"]["clean_beats_technical"] > 0.5


@pytest.mark.parametrize("name", PHOTOS)
def test_clean_held_out_photo_beats_its_heavy_defects(model, name):
    clean = load_rgb(shared_photo(name), model.card.input.long_side)
    rng = np.random.default_rng(0)
    arrays = [clean] + [D.apply(f, clean, 3, rng)[0]
                        for f in ("defocus", "noise", "underexposure")]
    z, att, _ = predict(model.net, arrays, model.card.normalization)
    assert np.all(z[0] > z[1:]), z
    # The attribute blur and noise spoil falls too. (The exposure attribute is not reliable
    # yet: docs/TRAINING.md gives its held-out figures.)
    k = {a: i for i, a in enumerate(model.attributes)}
    assert att[1][k["sharpness"]] < att[0][k["sharpness"]]
    assert att[2][k["noise"]] < att[0][k["noise"]]
