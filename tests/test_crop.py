"""Map-guided crop search: equals brute force, keeps the evidence, exact aspect, in bounds."""

from __future__ import annotations

import numpy as np
import pytest

from aesview.core.crop import ASPECT_KEYS, best_crop, brute_force_crop, parse_aspect
from aesview.core.maps import upsample

SIZES = [(640, 480), (480, 640), (500, 500), (1200, 300), (4000, 3000)]


def _aspect_ok(box, aspect):
    left, top, right, bottom = box
    w, h = right - left, bottom - top
    return abs(w - aspect * h) <= 1 and abs(h - w / aspect) <= 1


def test_parse_aspect():
    assert parse_aspect("original", (4000, 3000)) == pytest.approx(4 / 3)
    assert parse_aspect("Original", (3000, 4000)) == pytest.approx(3 / 4)
    assert parse_aspect("free", (10, 10)) is None
    assert parse_aspect("3:2", (3000, 4000)) == pytest.approx(1.5)     # as written: W:H
    assert parse_aspect("9:16", (4000, 3000)) == pytest.approx(9 / 16)
    assert parse_aspect("16x9", (1, 1)) == pytest.approx(16 / 9)
    assert parse_aspect(" 4 / 5 ", (1, 1)) == pytest.approx(0.8)
    assert parse_aspect("2.39:1", (1, 1)) == pytest.approx(2.39)
    assert parse_aspect("1.5", (1, 1)) == pytest.approx(1.5)
    for bad in ("", "square", "3:0", "0:3", "-1", "nan", "inf", "1:2:3"):
        with pytest.raises(ValueError):
            parse_aspect(bad, (100, 100))


@pytest.mark.parametrize("seed", range(4))
def test_integral_search_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    shape = [(5, 7), (7, 5), (6, 6), (3, 9)][seed]
    m = rng.normal(0.2, 1.0, shape)
    for size in SIZES[:4]:
        for aspect in ("original", "free", "1:1", "9:16", "3:2"):
            for tightness, mu in ((0.0, 1.0), (0.5, 1.0), (1.0, 0.3), (0.3, 0.0)):
                kw = dict(tightness=tightness, mu=mu, grid=12)
                fast = best_crop(m, size, aspect, **kw)
                assert fast == brute_force_crop(m, size, aspect, **kw), (size, aspect, tightness, mu)


def test_brute_force_box_maximises_the_stated_objective():
    """The winner's J, recomputed from the definition on the working grid, beats every other
    window of the largest 1:1 size (tightness 0 allows no other size)."""
    rng = np.random.default_rng(11)
    m = rng.normal(0, 1, (6, 8))
    size, mu = (800, 600), 1.0
    box = best_crop(m, size, "1:1", mu=mu, grid=16)
    work = upsample(m.astype(np.float32), (12, 16)).astype(float)
    pos, neg = np.maximum(work, 0), np.maximum(-work, 0)
    pos, neg = pos / pos.sum(), neg / neg.sum()

    def J(x0, y0, c):
        return pos[y0:y0 + c, x0:x0 + c].sum() - mu * neg[y0:y0 + c, x0:x0 + c].sum()
    x0, y0, x1, y1 = box                               # cells are 50 px here
    assert (x1 - x0, y1 - y0) == (600, 600)
    winner = J(round(x0 / 50), round(y0 / 50), 12)
    for x in range(0, 16 - 12 + 1):
        assert J(x, 0, 12) <= winner + 1e-9


def test_box_in_bounds_and_aspect_exact():
    rng = np.random.default_rng(3)
    for size in SIZES:
        m = rng.normal(0, 1, (7, 9))
        for text in ("original", "1:1", "4:5", "3:2", "16:9", "9:16", "7:3", "1:3", "2.39:1"):
            box = best_crop(m, size, text)
            left, top, right, bottom = box
            assert all(isinstance(v, int) for v in box)
            assert 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]
            assert _aspect_ok(box, parse_aspect(text, size)), (size, text, box)
        left, top, right, bottom = best_crop(m, size, None)
        assert 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]


@pytest.mark.parametrize("size", [(4000, 3000), (3000, 4000), (1200, 300)])
def test_uniform_positive_map_keeps_the_full_frame(size):
    m = np.full((6, 8), 0.7)
    assert best_crop(m, size, "original") == (0, 0, *size)
    assert best_crop(m, size, "free") == (0, 0, *size)


def _hot(shape, cell, background):
    m = np.full(shape, background, dtype=float)
    m[cell] = 5.0
    return m


@pytest.mark.parametrize("background", [0.0, -0.5])
def test_hot_spot_is_kept_at_every_preset(background):
    shape = (7, 10)
    for size in [(4000, 3000), (3000, 4000)]:
        for cell in [(0, 0), (3, 5), (6, 9), (1, 8), (5, 1)]:
            m = _hot(shape, cell, background)
            spot = ((cell[1] + 0.5) * size[0] / shape[1], (cell[0] + 0.5) * size[1] / shape[0])
            for preset in ASPECT_KEYS:
                left, top, right, bottom = best_crop(m, size, preset)
                assert left <= spot[0] <= right and top <= spot[1] <= bottom, \
                    (size, cell, preset, background)


def test_negative_region_is_cut_away():
    m = np.full((6, 8), 1.0)
    m[:, :4] = -3.0                                            # left half argues against
    assert best_crop(m, (800, 600), "1:1") == (200, 0, 800, 600)
    assert best_crop(m, (800, 600), "original") == (0, 0, 800, 600)   # no room to move


def test_window_is_as_large_as_the_aspect_allows_unless_tightness_asks():
    m = np.full((6, 8), -1.0)                                 # nothing to keep
    assert best_crop(m, (800, 600), "original") == (0, 0, 800, 600)
    m = np.zeros((6, 8))
    m[1, 6] = 5.0                                             # one hot cell, upper right
    spot = (6.5 * 100, 1.5 * 100)
    for tightness in (0.0, 0.5, 1.0):
        left, top, right, bottom = best_crop(m, (800, 600), "original", tightness=tightness)
        assert left <= spot[0] <= right and top <= spot[1] <= bottom
        floor = 1 - 0.75 * tightness
        assert right - left >= floor * 800 - 50 and bottom - top >= floor * 600 - 50
        if tightness == 0:
            assert (right - left, bottom - top) == (800, 600)
        else:
            assert right - left < 800                           # asked tighter: it is tighter
    with pytest.raises(ValueError):
        best_crop(m, (800, 600), "original", tightness=1.5)


def test_portrait_photo_landscape_aspect_and_bad_input():
    m = np.zeros((10, 7))
    m[2, 3] = 1.0
    left, top, right, bottom = best_crop(m, (3000, 4000), "3:2")
    assert (right - left) == 3000 and abs((right - left) - 1.5 * (bottom - top)) <= 1
    with pytest.raises(ValueError):
        best_crop(np.zeros(5), (100, 100), "1:1")
    with pytest.raises(ValueError):
        best_crop(np.zeros((3, 3)), (100, 100), "wide")
    m[0, 0] = np.nan                                          # NaN cells count as no evidence
    assert _aspect_ok(best_crop(m, (3000, 4000), "1:1"), 1.0)


def test_aspect_declaration_is_complete_and_cycles():
    from aesview.core.crop import ASPECT_PRESETS, aspect_label, is_aspect_key, next_aspect
    keys = [p.key for p in ASPECT_PRESETS]
    assert keys == ["original", "1:1", "4:5", "5:4", "2:3", "3:2", "16:9", "9:16", "free", "custom"]
    assert all(p.label for p in ASPECT_PRESETS)
    for key in ASPECT_KEYS:                       # every key but "custom" is accepted as is
        parse_aspect(key, (400, 300))
    assert is_aspect_key("7:3") and is_aspect_key("4:5") and not is_aspect_key("custom")
    assert not is_aspect_key("wide") and aspect_label("7:3") == "Custom 7:3"
    seen, key = [], "original"
    for _ in ASPECT_KEYS:
        seen.append(key)
        key = next_aspect(key)
    assert key == "original" and sorted(seen) == sorted(ASPECT_KEYS)
    assert next_aspect("7:3") == "original" and next_aspect("original", -1) == "free"


def test_a_face_box_is_widened_to_the_head_a_crop_keeps():
    """MTCNN's box ends at the brows; the crop keeps the head above it (CropSettings.head_box)."""
    from aesview.core.crop import CropSettings, head_boxes, plan_crop
    from aesview.core.subject import CropMaps

    size = (900, 900)                                  # a square frame, face high up
    maps = CropMaps(image_size=size, aesam=np.zeros((14, 14), np.float32),
                    subject=np.zeros((14, 14), np.float32), detail=np.zeros((56, 56), np.float32),
                    working_size=(448, 448), faces=[(400.0, 150.0, 500.0, 270.0, 0.99)])
    maps.detail[:] = np.linspace(0, 1, 56)[:, None]    # busier towards the bottom: pulls the window down
    assert head_boxes(maps, (0.2, 0.5, 0.1)) == [(380, 90, 520, 282)]
    assert head_boxes(maps, (0.0, 0.0, 0.0)) == [(400, 150, 500, 270)]
    assert head_boxes(maps, (0.2, 2.0, 0.1))[0][1] == 0            # clipped to the frame
    weights = {"subject": 0.0, "aesam": 0.0, "detail": 0.1, "centre": 0.0, "face": 1.0}
    plan = plan_crop(maps, "16:9", settings=CropSettings(**weights))
    head = plan.explain()["maps"]["face"]["heads"][0]
    assert plan.box[1] <= head[1] and head[3] <= plan.box[3]
    assert plan.kept["face"] == pytest.approx(1.0)
    tight = plan_crop(maps, "16:9", settings=CropSettings(**weights, head_box=(0.0, 0.0, 0.0)))
    assert tight.box[1] > head[1]                      # the bare face box lets the hair go


def test_people_boxes_widen_faces_to_heads_and_keep_pose_boxes_as_found():
    """core.people's faces are widened like MTCNN's (head_box), its head-and-shoulders boxes
    are used as found, both clipped to the frame; the people cue then holds a 16:9 crop on them."""
    from aesview.core.crop import CropSettings, people_boxes, plan_crop
    from aesview.core.subject import CropMaps

    size = (900, 900)
    maps = CropMaps(image_size=size, aesam=np.zeros((14, 14), np.float32),
                    subject=np.zeros((14, 14), np.float32), detail=np.zeros((56, 56), np.float32),
                    working_size=(448, 448),
                    people=[(400.0, 150.0, 500.0, 270.0, 0.9, "face"), (-5.0, 100.0, 300.0, 950.0, 0.8, "pose")])
    maps.detail[:] = np.linspace(0, 1, 56)[:, None]    # busier towards the bottom: pulls the window down
    assert people_boxes(maps, (0.2, 0.5, 0.1)) == [(380, 90, 520, 282), (0, 100, 300, 900)]
    maps.people = maps.people[:1]
    weights = {"subject": 0.0, "aesam": 0.0, "detail": 0.1, "centre": 0.0, "face": 0.0, "people": 1.0}
    plan = plan_crop(maps, "16:9", settings=CropSettings(**weights))
    assert plan.box[1] <= 90 and 282 <= plan.box[3] and plan.kept["people"] == pytest.approx(1.0)
    info = plan.explain()["maps"]["people"]
    assert info["found"] == [[400, 150, 500, 270, 0.9, "face"]] and info["boxes"] == [[380, 90, 520, 282]]
    alone = plan_crop(maps, "16:9", settings=CropSettings(**{**weights, "people": 0.0}))
    assert alone.box[1] > 90                           # without the cue the detail map wins


def test_the_plan_says_what_drove_the_crop():
    """explain()'s driven_by names the cue that moved the window off the centred one (and which
    way), says "centre" when nothing did and "frame" when the window cannot move; the gains
    are each weighted cue's share over the centred window's."""
    from aesview.core.crop import DEFAULT_SETTINGS, plan_crop
    from aesview.core.subject import CropMaps

    def maps_with(subject: np.ndarray) -> CropMaps:
        return CropMaps(image_size=(1600, 900), aesam=np.zeros((9, 16), np.float32), subject=subject,
                        detail=np.ones((36, 64), np.float32), working_size=(448, 252))

    right = np.zeros((9, 16), np.float32)
    right[3:6, 13:15] = 1.0                                   # a subject near the right edge
    plan = plan_crop(maps_with(right), "9:16")
    info = plan.explain()
    assert info["driven_by"].startswith("subject: moved right")
    assert info["gain_over_centred"]["subject"] > 0.3 and info["offset_from_centre"] > 0.5
    assert plan.box[2] > 1400

    middle = np.zeros((9, 16), np.float32)
    middle[3:6, 7:9] = 1.0                                    # the subject in the middle
    centred = plan_crop(maps_with(middle), "9:16").explain()
    assert centred["driven_by"].startswith("centre") and centred["offset_from_centre"] < 0.1
    whole = plan_crop(maps_with(right), "original", settings=DEFAULT_SETTINGS).explain()
    assert whole["driven_by"].startswith("frame")
