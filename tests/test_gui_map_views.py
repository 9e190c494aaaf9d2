"""The teaching views' options in the real window (issue 12's leftovers): the map scale is
remembered in the settings file and comes back in a new window, and "Maps side by side" has a
View menu entry and a key of its own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aesview.core.settings import Settings, load_settings, settings_path
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui, wait_until


@pytest.fixture
def folder(tmp_path, monkeypatch):
    folder = isolate_gui(tmp_path, monkeypatch)
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), np.uint8)).save(folder / f"p{i}.jpg")
    return folder


def _window(qtbot, settings: Settings) -> MainWindow:
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    assert QTest.qWaitForWindowExposed(w)
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)     # shortcuts need the active window, as a person's keys do
    return w


def test_map_scale_is_saved_and_restored_in_a_new_window(qtbot, qapp, folder):
    win = _window(qtbot, Settings())
    win.session.open_folder(folder)
    panel = win.panel
    assert win.explanation.scale == "absolute" and panel.scale.currentData() == "absolute"
    i = panel.scale.findData("normalised")
    panel.scale.setCurrentIndex(i)
    panel.scale.activated.emit(i)                      # what a choice in the combo sends
    assert win.explanation.scale == "normalised" and win.maps.scale == "normalised"
    # normalised maps are drawn in the paper's colours: the colour choice doesn't apply and says so
    assert not panel.cmap.isEnabled() and "jet" in panel.cmap.toolTip()
    # written a moment after the change, not only on quit
    assert wait_until(qapp, lambda: settings_path().is_file()
                      and load_settings().map_scale == "normalised", 5)
    win.close()

    win2 = _window(qtbot, load_settings())
    assert win2.explanation.scale == "normalised"
    assert win2.panel.scale.currentData() == "normalised"
    assert win2.maps.scale == "normalised"
    assert win2.panel.legend.cmap == "jet"              # the normalised view's colour map
    assert not win2.panel.cmap.isEnabled()
    win2.explanation.set_scale("relative")
    assert win2.panel.cmap.isEnabled()                  # signed again: the chosen colours
    win2.close()
    assert load_settings().map_scale == "relative"


def test_a_map_scale_that_is_not_one_falls_back_to_absolute(folder):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"map_scale": "logarithmic", "overlay_cmap": "PiYG"}))
    st = load_settings()
    assert st.map_scale == "absolute" and st.overlay_cmap == "PiYG"


def test_maps_side_by_side_from_the_view_menu_and_its_key(qtbot, qapp, folder):
    win = _window(qtbot, Settings())
    win.session.open_folder(folder)
    act = win.actions_by_name["maps_side_by_side"]
    assert act in win.menus["&View"].actions()
    assert act.shortcut().toString() == "M"
    # no other command of the window answers to the same key
    keys = [k.toString() for a in win.actions_by_name.values() for k in a.shortcuts()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)

    act.trigger()
    assert win.maps_window.isVisible() and win.maps.active
    win.maps_window.close()
    assert not win.maps.active

    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)
    win.grid.setFocus()
    QTest.keyClick(win.grid, Qt.Key.Key_M)              # the key, as a person presses it
    assert wait_until(qapp, lambda: win.maps_window.isVisible(), 5)
    assert win.maps.active
    win.maps_window.close()
    win.close()
