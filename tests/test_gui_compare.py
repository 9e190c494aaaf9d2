"""Compare, survey and loupe (issue 11): the real PhotoViews, driven through the controller.
Zoom and pan are shared, kept when the right-hand photo changes, Z goes to the subject (the
map's peak), and a pane says it is still loading until its full-resolution pixels arrive."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from aesview.core.records import ScoreRecord
from aesview.core.settings import Settings
from aesview.gui.compare_view import CompareController
from aesview.gui.session import Session
from tests.gui_support import isolate_gui, wait_until


@pytest.fixture
def session(qapp, tmp_path, monkeypatch):
    folder = isolate_gui(tmp_path, monkeypatch)
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (900, 1200, 3), np.uint8)).save(folder / f"p{i}.jpg")
    s = Session(Settings(sort_key="name"))
    s.open_folder(folder)
    ctl = CompareController(s)
    yield s, ctl, sorted(str(p) for p in folder.glob("*.jpg"))
    ctl.shutdown()
    s.shutdown()


def _loaded(view):
    return all(p.loading.isHidden() for p in view.visible_panes())


def _centre(pane):
    v = pane.view
    c = v.mapToScene(v.viewport().rect().center())
    return c.x() / v.full_size[0], c.y() / v.full_size[1]


def test_compare_shares_zoom_and_pan_and_keeps_them_when_the_photo_changes(qapp, session):
    s, ctl, photos = session
    s.select_path(photos[0])
    view = ctl.compare()
    view.resize(1000, 500)
    panes = view.visible_panes()
    assert [p.path for p in panes] == photos[:2]
    assert not panes[0].loading.isHidden()                 # the sign, until the pixels come
    assert wait_until(qapp, lambda: _loaded(view), 30)
    assert all(p.view.full_size == (1200, 900) for p in panes)
    panes[0].view.zoom_by(3.0)
    assert panes[1].view.zoom() == pytest.approx(panes[0].view.zoom(), rel=1e-3)
    panes[1].view.horizontalScrollBar().setValue(panes[1].view.horizontalScrollBar().value() + 120)
    assert _centre(panes[0]) == pytest.approx(_centre(panes[1]), abs=2e-3)
    before = (panes[0].view.zoom(), _centre(panes[0]))
    QTest.keyClick(view, Qt.Key.Key_Right)                  # the right-hand photo moves on
    assert [p.path for p in view.visible_panes()] == [photos[0], photos[2]]
    assert wait_until(qapp, lambda: _loaded(view), 30)
    for p in view.visible_panes():                          # zoom and place kept
        assert p.view.zoom() == pytest.approx(before[0], rel=1e-3)
        assert _centre(p) == pytest.approx(before[1], abs=2e-3)
    QTest.keyClick(view, Qt.Key.Key_F)
    assert all(p.view.fit_mode for p in view.visible_panes())


def test_z_zooms_to_the_subject_of_the_map(qapp, session):
    s, ctl, photos = session
    heat = np.zeros((6, 8), np.float32)
    heat[4, 6] = 5.0                                         # the subject: lower right
    s.model.set_record(ScoreRecord(photos[0], 0.7, {}, heat, None, highmap=heat, image_size=(1200, 900)))
    s.select_path(photos[0])
    view = ctl.compare()
    view.resize(800, 400)
    assert wait_until(qapp, lambda: _loaded(view), 30)
    QTest.keyClick(view, Qt.Key.Key_Z)
    pane = view.visible_panes()[0]
    assert pane.view.zoom() == pytest.approx(1.0, rel=1e-3)   # 100 %
    cx, cy = _centre(pane)
    # the view is clamped at the photo's edge; its centre is as close to the peak as it can be
    assert cx > 0.65 and cy > 0.6


def test_survey_shows_up_to_eight_and_the_loupe_one(qapp, session):
    s, ctl, photos = session
    s.select_all()
    view = ctl.survey()
    assert [p.path for p in view.visible_panes()] == photos
    assert wait_until(qapp, lambda: _loaded(view), 60)
    view.visible_panes()[3].view.zoom_by(2.0, QPointF(10, 10))
    panes = view.visible_panes()
    zooms = {round(p.view.zoom(), 4) for p in panes}         # one size of photo, one zoom
    assert len(zooms) == 1 and zooms.pop() > 1.5 * panes[3].fit_zoom()
    s.select_path(photos[1])
    loupe = ctl.loupe()
    assert [p.path for p in loupe.visible_panes()] == [photos[1]] and loupe.isFullScreen()


def test_survey_panes_share_one_pixel_budget_and_hidden_panes_hold_nothing(qapp, tmp_path,
                                                                           monkeypatch):
    """Issue 13: each pane holds its own frame, so 8 panes of big photos decode reduced (the
    pane says so), compare keeps every pixel, and a pane hidden by a smaller set holds none."""
    from aesview.core.settings import PANES_MAX_MEGAPIXELS, VIEW_MAX_MEGAPIXELS
    from aesview.gui.compare_view import pane_megapixels
    folder = isolate_gui(tmp_path, monkeypatch)
    big = Image.linear_gradient("L").resize((6000, 4000)).convert("RGB")   # 24 MP, fast to write
    for i in range(8):
        big.save(folder / f"b{i}.jpg", quality=70)
    del big
    assert pane_megapixels(2) == VIEW_MAX_MEGAPIXELS and pane_megapixels(1) == VIEW_MAX_MEGAPIXELS
    s = Session(Settings(sort_key="name"))
    s.open_folder(folder)
    ctl = CompareController(s)
    try:
        photos = sorted(str(p) for p in folder.glob("*.jpg"))
        s.select_path(photos[0])
        s.select_all()
        view = ctl.survey()
        assert view is not None
        panes = view.visible_panes()
        assert len(panes) == 8
        assert wait_until(qapp, lambda: _loaded(view), 120)
        budget = PANES_MAX_MEGAPIXELS / 8 * 1e6
        total = 0
        for p in panes:
            full = p.view.photo.full
            assert full is not None and full.width() * full.height() <= budget
            total += full.width() * full.height()
            note = p.view.note_text()
            assert note is not None and note.startswith(
                f"Shown at 1/2 size: {full.width()} × {full.height()} of 6000 × 4000")
        assert total <= PANES_MAX_MEGAPIXELS * 1e6
        view.show_photos(photos[:2], "compare")                  # compare: every pixel, as before
        assert wait_until(qapp, lambda: _loaded(view), 60)
        shown = view.visible_panes()
        assert [p.path for p in shown] == photos[:2]
        for p in shown:
            full = p.view.photo.full
            assert full is not None and (full.width(), full.height()) == (6000, 4000)
            assert p.view.note_text() is None
        hidden = [p for p in view.panes if p.isHidden()]
        assert len(hidden) == 6
        assert all(p.view.photo.full is None and p.view.photo.preview is None and p.path is None
                   for p in hidden)
        view.close()
    finally:
        ctl.shutdown()
        s.shutdown()


def test_survey_pages_stay_full_at_the_ends_of_the_grid(qapp, session):
    s, ctl, photos = session
    s.select_all()
    view = ctl.survey()
    view.show_photos(photos[:4], "survey")
    QTest.keyClick(view, Qt.Key.Key_Right)                  # 2 photos left: the page moves by 2
    assert [p.path for p in view.visible_panes()] == photos[2:6]
    QTest.keyClick(view, Qt.Key.Key_Right)                  # at the end: nothing moves
    assert [p.path for p in view.visible_panes()] == photos[2:6]
    QTest.keyClick(view, Qt.Key.Key_Left)
    assert [p.path for p in view.visible_panes()] == photos[:4]
    QTest.keyClick(view, Qt.Key.Key_Left)                   # at the start: nothing moves
    assert [p.path for p in view.visible_panes()] == photos[:4]


def _says(view, text):
    return lambda: all(text in p.loading.text() for p in view.visible_panes())


def test_a_photo_that_could_not_be_shown_is_tried_again_once_its_file_changed(qapp, session):
    s, ctl, photos = session
    whole = open(photos[2], "rb").read()
    with open(photos[2], "wb") as f:                         # still being copied from the card
        f.write(whole[:400])
    s.select_path(photos[2])
    view = ctl.loupe()
    assert wait_until(qapp, _says(view, "Cannot show"), 30)
    view = ctl.loupe()                                        # the same file: not decoded again
    assert _says(view, "Cannot show")() and not ctl.cache._asked
    with open(photos[2], "wb") as f:                         # the copy finished
        f.write(whole)
    view = ctl.loupe()
    assert wait_until(qapp, lambda: _loaded(view), 30)
    assert view.visible_panes()[0].view.full_size == (1200, 900)


def test_raising_the_pixel_budget_in_preferences_shows_a_refused_photo(qapp, tmp_path, monkeypatch,
                                                                       budget_reset):
    from tests.fault_zoo import png_zeros
    folder = isolate_gui(tmp_path, monkeypatch)
    png_zeros(folder / "scan.png", 4000, 3000, 6)            # 12 MP RGBA: 48 MB decoded
    s = Session(Settings(sort_key="name", max_megapixels=10))
    ctl = CompareController(s)
    try:
        s.apply_settings()
        s.open_folder(folder)
        s.select_path(str(folder / "scan.png"))
        view = ctl.loupe()
        assert wait_until(qapp, _says(view, "decode budget"), 30)
        s.settings.max_megapixels = 20                       # Preferences' OK
        s.apply_settings()
        view = ctl.loupe()
        assert wait_until(qapp, lambda: _loaded(view), 60)
        assert view.visible_panes()[0].view.full_size == (4000, 3000)
    finally:
        ctl.shutdown()
        s.shutdown()
