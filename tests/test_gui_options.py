"""Two culling options of issue 11, in the real window: keep zoom and place when moving to the
next photo (checking focus along a burst at 100 %), and advance after stars."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF
from PySide6.QtTest import QTest

from aesview.core.culling import Decision
from aesview.core.settings import Settings, load_settings
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui, wait_until


@pytest.fixture
def win(qtbot, qapp, tmp_path, monkeypatch):
    folder = isolate_gui(tmp_path, monkeypatch)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (900, 1200, 3), np.uint8)).save(folder / f"p{i}.jpg")
    w = MainWindow(Settings(sort_key="name", keep_zoom=True, advance_after_stars=True))
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert QTest.qWaitForWindowExposed(w)
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)     # the shortcuts need the active window, as a person's keys do
    w.session.open_folder(folder)
    yield w
    w.close()


def _loaded(w, row):
    """The photo of grid row `row` is current and shown with its full-resolution pixels."""
    v = w.viewer
    return w.session.selection.currentIndex().row() == row and v.photo.full is not None \
        and v.full_size == (1200, 900) and v.path == w.session.current_path()


def _centre(v):
    c = v.mapToScene(v.viewport().rect().center())
    return c.x() / v.full_size[0], c.y() / v.full_size[1]


def test_keep_zoom_then_fit_again_when_switched_off(qapp, win):
    s, v = win.session, win.viewer
    assert win.actions_by_name["keep_zoom"].isChecked()
    assert wait_until(qapp, lambda: _loaded(win, 0), 30)
    v.zoom_100()
    v.centerOn(QPointF(900, 650))
    before = _centre(v)
    s.select_row(1)
    assert wait_until(qapp, lambda: _loaded(win, 1), 30)
    assert v.zoom() == pytest.approx(1.0) and not v.fit_mode
    assert _centre(v) == pytest.approx(before, abs=0.01)
    win.actions_by_name["keep_zoom"].trigger()          # off
    assert load_settings().keep_zoom is False
    s.select_row(2)
    assert wait_until(qapp, lambda: _loaded(win, 2), 30)
    assert v.fit_mode and v.zoom() < 1.0


def test_advance_after_stars(qapp, win):
    s = win.session
    assert wait_until(qapp, lambda: s.current_path() is not None, 30)
    first = s.current_path()
    win.culling.set_stars(3)
    assert wait_until(qapp, win.culling.settled, 30)
    assert win.culling.decision(first) == Decision(stars=3)
    assert s.current_path() != first                    # moved on
    win.actions_by_name["advance_after_stars"].trigger()   # off
    here = s.current_path()
    win.culling.set_stars(2)
    assert wait_until(qapp, win.culling.settled, 30)
    assert s.current_path() == here


def test_z_zooms_the_main_view_to_the_subject(qapp, win):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from aesview.core.records import ScoreRecord
    s, v = win.session, win.viewer
    assert wait_until(qapp, lambda: _loaded(win, 0), 30)
    heat = np.zeros((6, 8), np.float32)
    heat[1, 1] = 4.0                                   # the subject: upper left
    s.model.set_record(ScoreRecord(s.current_path(), 0.6, {}, heat, None, highmap=heat,
                                   image_size=(1200, 900)))
    win.grid.setFocus()
    QTest.keyClick(win.grid, Qt.Key.Key_Z)
    assert v.zoom() == pytest.approx(1.0)
    cx, cy = _centre(v)
    assert cx < 0.45 and cy < 0.45                     # not the centre of the frame
