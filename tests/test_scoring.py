"""The scoring pipeline on real photos with the shipped model."""

import math
import threading

import numpy as np
import pytest
from PIL import Image

from aesview.core.cache import ScoreCache
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model

from .photos import shared_photo

NAMES = ["sklearn_flower.jpg", "mate_Storm.jpg", "Dragonfly_by_Bolly.jpg", "skimage_rocket.jpg"]


@pytest.fixture(scope="module")
def model():
    return load_model(device="cpu")


@pytest.fixture()
def folder(tmp_path):
    paths = []
    for i, name in enumerate(NAMES):
        im = Image.open(shared_photo(name)).convert("RGB")
        if i == 3:
            im = im.rotate(90, expand=True)        # a portrait: another shape, another batch
        p = tmp_path / name
        im.thumbnail((800, 800))
        im.save(p, quality=90)
        paths.append(p)
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(paths[0].read_bytes()[:2000])
    return paths, bad


def test_every_photo_gets_one_record_and_bad_ones_fail_alone(model, folder):
    paths, bad = folder
    recs = {r.path: r for r in Scorer(model, batch_size=2).score_paths(paths[:2] + [bad] + paths[2:])}
    assert set(recs) == {str(p) for p in paths + [bad]}
    assert recs[str(bad)].error and recs[str(bad)].score is None
    for p in paths:
        r = recs[str(p)]
        assert r.ok and 0 <= r.score <= 1 and r.image_size == Image.open(p).size
        assert np.isfinite(r.aesam).all() and r.attam.shape[0] == len(model.attributes)


def test_score_is_the_mean_of_the_map(model, folder):
    paths, _ = folder
    _, b_aes, _, _ = model.net.head_weights()
    for r in Scorer(model).score_paths(paths):
        logit_diff = float(r.aesam.astype(np.float64).mean() + b_aes[1] - b_aes[0])
        if r.detail is not None:
            # The global view's logit is the map's mean; the detail view adds its own exact
            # shift (core/detail.py; tests/test_detail.py checks that part).
            assert r.detail.global_logit == pytest.approx(logit_diff, abs=1e-4)
            logit_diff += r.detail.shift
        assert r.score == pytest.approx(1 / (1 + math.exp(-logit_diff)), abs=1e-4)


def test_batching_does_not_change_results(model, folder):
    paths, _ = folder
    one = {r.path: r for r in Scorer(model, batch_size=1, workers=0).score_paths(paths)}
    many = {r.path: r for r in Scorer(model, batch_size=8).score_paths(paths)}
    for path, r in one.items():
        assert many[path].score == pytest.approx(r.score, abs=1e-4)
        np.testing.assert_allclose(many[path].aesam, r.aesam, atol=1e-3)


def test_cache_hits_first_and_changed_files_rescored(model, folder, tmp_path):
    paths, _ = folder
    cache = ScoreCache(tmp_path / "cache.sqlite")
    first = list(Scorer(model, cache=cache).score_paths(paths[:2]))
    assert not any(r.cached for r in first)
    Image.open(paths[1]).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(paths[1])
    again = list(Scorer(model, cache=cache).score_paths(paths[:3]))
    assert again[0].path == str(paths[0]) and again[0].cached
    assert {r.path for r in again if not r.cached} == {str(paths[1]), str(paths[2])}
    # Another working size is another key: its maps have another shape.
    other = list(Scorer(model, long_side=224, cache=cache).score_paths(paths[:1]))
    assert not other[0].cached


def test_cancel_stops_early(model, folder):
    paths, _ = folder
    cancel = threading.Event()
    seen = []
    for rec in Scorer(model, batch_size=1).score_paths(paths * 3, cancel=cancel):
        seen.append(rec)
        cancel.set()
    assert len(seen) < len(paths) * 3
