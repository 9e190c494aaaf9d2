"""The learned subject head (core.subject_head): the shipped file loads only as its card says,
the analyzer's folded copy gives the reference map, it points at subjects on real photos, and the
head-keeping search never cuts a head a window could hold whole."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from aesview.core.crop import (
    DEFAULT_SETTINGS,
    _cut_counts,
    _window_boxes,
    heads_cut,
    plan_crop,
)
from aesview.core.crop_eval import load_marked
from aesview.core.subject import CropAnalyzer, CropMaps
from aesview.core.subject_head import (
    SubjectHeadError,
    head_files,
    load_subject_head,
)
from aesview.core.weights import load_model
from aesview.training.crop_subject import Photo, cell_targets, fit, folds

from .photos import ladybird_on_plain, shared_photo


@pytest.fixture(scope="module")
def analyzer():
    a = CropAnalyzer(load_model(device="cpu"))
    a.keep_features = True
    return a


def test_the_shipped_head_matches_its_card():
    head = load_subject_head()
    assert head is not None, "weights/crop/subject-head.npz is part of the app"
    assert head.channels == 1280 and head.beta.shape == (1285,)
    card = head.card
    assert card["trained_on"]["photos"] >= 400
    assert "test11" not in card["trained_on"]["splits"]
    # the photos it was fitted on are named, and none of them is in a part drawn after it
    trained = set(card["trained_on"]["photo_names"])
    fresh = {m.path.name for m in load_marked() if m.split not in card["trained_on"]["splits"]}
    assert fresh and not trained & fresh


def test_a_damaged_or_missing_head_is_refused_or_absent(tmp_path):
    data, card = head_files()
    assert load_subject_head(tmp_path) is None                    # not installed: no learned cue
    shutil.copy(card, tmp_path / card.name)
    with pytest.raises(SubjectHeadError, match="cannot read"):    # a card without its file
        load_subject_head(tmp_path)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / data.name).write_bytes(bytes(raw))
    with pytest.raises(SubjectHeadError, match="sha256"):
        load_subject_head(tmp_path)
    shutil.copy(data, tmp_path / data.name)
    assert load_subject_head(tmp_path) is not None


def test_a_damaged_head_leaves_the_crop_on_its_other_cues(tmp_path, monkeypatch, caplog):
    """A damaged shipped head is not used and not fatal: the analyzer warns, says why, and its
    crops run on the other cues."""
    from aesview.core import subject_head

    data, card = head_files()
    shutil.copy(card, tmp_path / card.name)
    (tmp_path / data.name).write_bytes(b"not a head")
    monkeypatch.setattr(subject_head, "head_dir", lambda: tmp_path)
    with caplog.at_level("WARNING", logger="aesview.crop"):
        damaged = CropAnalyzer(load_model(device="cpu"), faces=False, people=False)
    assert damaged.subject_head is None and "sha256" in damaged.subject_head_problem
    assert "without the learned subject map" in caplog.text
    maps = damaged.analyze(shared_photo("skimage_coffee.jpg"))
    assert maps.learned is None and maps.learned_head == ""
    assert plan_crop(maps, "9:16").explain()["maps"]["learned"]["what"].endswith("no learned head")


def test_the_analyzer_runs_the_reference_head(analyzer):
    maps = analyzer.analyze(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"))
    head = load_subject_head()
    assert head is not None and maps.learned is not None and analyzer.last_features is not None
    ref = head.predict(analyzer.last_features)
    assert maps.learned.shape == ref.shape == analyzer.last_features.shape[1:]
    assert np.abs(maps.learned - ref).max() < 1e-4
    assert maps.learned_head == head.label


@pytest.mark.parametrize("where", [(0.15, 0.2), (0.85, 0.75), (0.5, 0.5)])
def test_the_learned_map_finds_a_small_subject_off_centre(tmp_path, analyzer, where):
    path, box = ladybird_on_plain(tmp_path, where)
    maps = analyzer.analyze(path)
    m = maps.learned
    assert m is not None
    x0, x1 = box[0] / maps.image_size[0], box[2] / maps.image_size[0]
    y0, y1 = box[1] / maps.image_size[1], box[3] / maps.image_size[1]
    h, w = m.shape
    peak = np.unravel_index(int(np.argmax(m)), m.shape)
    cy, cx = (peak[0] + 0.5) / h, (peak[1] + 0.5) / w
    assert x0 - 1 / w <= cx <= x1 + 1 / w and y0 - 1 / h <= cy <= y1 + 1 / h, (peak, m.round(2))


def _maps(size, faces, subject):
    h, w = subject.shape
    return CropMaps(image_size=size, aesam=np.zeros((h, w), np.float32), subject=subject,
                    detail=np.zeros((h * 4, w * 4), np.float32), working_size=(448, 448),
                    faces=faces, face_finder="test")


def test_heads_cut_counts_only_heads_a_window_could_hold():
    heads = [(100, 100, 200, 220)]
    assert heads_cut((0, 0, 300, 300), heads) == 0          # whole
    assert heads_cut((0, 150, 300, 450), heads) == 1        # through the head
    assert heads_cut((300, 0, 600, 300), heads) == 0        # not in it at all
    assert heads_cut((0, 0, 90, 300), [(0, 0, 100, 50)]) == 0   # wider than the window: no whole one


def test_cut_counts_agree_with_heads_cut_at_every_position():
    rng = np.random.default_rng(3)
    size, grid = (900, 500), (36, 64)
    heads = [(int(x), int(y), int(x) + 90, int(y) + 110) for x, y in rng.integers(0, 380, (4, 2))]
    for cells, pixels in (((20, 36), (281, 500)), ((64, 20), (900, 278))):
        lefts, tops = _window_boxes(cells, pixels, grid, size)
        counts = _cut_counts(lefts, tops, pixels, heads)
        for r, top in enumerate(tops):
            for c, left in enumerate(lefts):
                box = (int(left), int(top), int(left) + pixels[0], int(top) + pixels[1])
                assert counts[r, c] == heads_cut(box, heads)


def test_heads_whole_moves_the_window_off_a_head_it_would_cut():
    """A CAM below a face pulls a 16:9 crop of a square photo down through the head; with
    heads_whole the window keeps the head (the evidence still decides among the windows that do)."""
    subject = np.zeros((14, 14), np.float32)
    subject[9:14, 4:10] = 1.0
    maps = _maps((1000, 1000), [(420.0, 300.0, 580.0, 480.0, 0.99)], subject)
    loose = replace(DEFAULT_SETTINGS, face=0.1, people=0.0, learned=0.0, heads_whole=False)
    plan = plan_crop(maps, "16:9", settings=loose)
    heads = plan.sources["heads"]["boxes"]
    assert plan.sources["heads"]["cut"] == 1 == heads_cut(plan.box, [tuple(b) for b in heads])
    kept = plan_crop(maps, "16:9", settings=replace(loose, heads_whole=True))
    assert kept.sources["heads"]["cut"] == 0
    top, bottom = kept.box[1], kept.box[3]
    assert top <= heads[0][1] and heads[0][3] <= bottom and kept.box[3] - kept.box[1] == plan.box[3] - plan.box[1]


def test_without_a_head_the_crop_is_the_one_of_before(analyzer):
    """learned 0 with the old face and people weights is the crop before the learned cue: the
    layers it adds change nothing else (checked over the validation photos in docs/CROP.md)."""
    maps = analyzer.analyze(shared_photo("skimage_coffee.jpg"))
    old = replace(DEFAULT_SETTINGS, learned=0.0, face=0.4, people=0.4)
    no_head = replace(maps, learned=None, learned_head="")
    for aspect in ("9:16", "16:9", "4:5", "1:1"):
        assert plan_crop(maps, aspect, settings=old).box == plan_crop(no_head, aspect, settings=old).box
    info = plan_crop(no_head, "9:16").explain()
    assert info["maps"]["learned"]["what"].endswith("no learned head") and info["kept"]["learned"] == 0


def test_fitting_recovers_where_the_subject_is():
    """The fit on rows whose first feature marks the subject's cells learns a positive weight for
    it and predicts the box; folds keep a source's photos together."""
    rng = np.random.default_rng(0)
    photos = []
    for i in range(24):
        x0, x1 = sorted(rng.uniform(0, 1, 2))
        y0, y1 = sorted(rng.uniform(0, 1, 2))
        t = cell_targets((x0, y0, x1, y1), 6, 6)
        f = rng.normal(0, 1, (3, 6, 6)).astype(np.float32)
        f[0] = 2 * t + rng.normal(0, 0.1, (6, 6))
        photos.append(Photo(f"p{i}", f"s{i // 2}", f, (x0, y0, x1, y1)))
    model = fit(photos, 1e-3)
    assert model.beta[0] > 0 and abs(model.beta[0]) > 3 * np.abs(model.beta[1:3]).max()
    parts = folds(photos, 4, seed=1)
    assert sorted(i for p in parts for i in p) == list(range(24))
    for part in parts:
        groups = {photos[i].group for i in part}
        assert all(photos[j].group not in groups for other in parts if other is not part for j in other)
    assert json.dumps(cell_targets((0.0, 0.0, 0.5, 0.5), 2, 2).tolist()) == "[[1.0, 0.0], [0.0, 0.0]]"
