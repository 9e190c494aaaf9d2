"""Colour labels and the new filters (issue 11), through the real action shortcuts: 6/7/9 put
Red/Yellow/Blue on the photo (again: off), 8 picks (green is the pick), Purple from the menu;
every tool's field agrees on disk; filters for unflagged and each colour; one undo each."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aesview.core.culling import Decision, Flag
from aesview.core.settings import Settings
from aesview.core.xmp import read_decision
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui, wait_until


@pytest.fixture
def win(qtbot, qapp, tmp_path, monkeypatch):
    folder = isolate_gui(tmp_path, monkeypatch)
    for i in range(4):
        Image.fromarray(np.full((30, 40, 3), 40 * i, np.uint8)).save(folder / f"p{i}.jpg")
    w = MainWindow(Settings(sort_key="name", auto_advance=False))
    qtbot.addWidget(w)
    w.show()
    assert QTest.qWaitForWindowExposed(w)   # (qtbot.waitExposed is a context manager)
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)     # the shortcuts need the active window, as a person's keys do
    w.session.open_folder(folder)
    yield w
    w.close()


def _key(qapp, w, path, key):
    w.session.select_path(path)
    w.grid.setFocus()
    QTest.keyClick(w.grid, key)
    assert wait_until(qapp, w.culling.settled, 30)


def test_colour_keys_filters_and_undo(qapp, win):
    s, cull = win.session, win.culling
    paths = s.model.paths()
    _key(qapp, win, paths[0], Qt.Key.Key_6)
    _key(qapp, win, paths[1], Qt.Key.Key_9)
    _key(qapp, win, paths[2], Qt.Key.Key_8)
    win.session.select_path(paths[3])
    win.actions_by_name["colour_purple"].trigger()
    assert wait_until(qapp, cull.settled, 30)
    assert [read_decision(p) for p in paths] == [
        Decision(colour="Red"), Decision(colour="Blue"), Decision(Flag.PICK), Decision(colour="Purple")]
    if shutil.which("exiftool"):
        out = subprocess.run(["exiftool", "-s3", "-XMP:Label", "-XMP-digiKam:ColorLabel",
                              "-XMP-darktable:Colorlabels", paths[1] + ".xmp"],
                             capture_output=True, text=True, check=True).stdout.split()
        assert out == ["Blue", "5", "3"]          # Lightroom, digiKam and darktable agree
    # the filters
    combo = win.filter_combo
    combo.setCurrentIndex(combo.findData("colour_blue"))
    assert [s.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(s.proxy.rowCount())] \
        == [paths[1]]
    combo.setCurrentIndex(combo.findData("unflagged"))
    assert s.proxy.rowCount() == 3
    combo.setCurrentIndex(combo.findData("all"))
    # 6 again takes Red off; Ctrl+Z puts it back
    _key(qapp, win, paths[0], Qt.Key.Key_6)
    assert read_decision(paths[0]) == Decision()
    cull.undo()
    assert wait_until(qapp, cull.settled, 30)
    assert read_decision(paths[0]) == Decision(colour="Red")
    # a colour on a pick keeps the pick (digiKam:PickLabel); clearing it brings the green back
    _key(qapp, win, paths[2], Qt.Key.Key_7)
    assert read_decision(paths[2]) == Decision(Flag.PICK, 0, "Yellow")
    _key(qapp, win, paths[2], Qt.Key.Key_7)
    assert read_decision(paths[2]) == Decision(Flag.PICK)
    assert open(paths[2] + ".xmp").read().count('Label="Green"') == 1
