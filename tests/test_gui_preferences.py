"""Edit → Preferences in the real window: the decode budget (issue 13's "a setting can raise
it") is typed into the dialog, saved, put into effect at once and at the next start, and
decides which photos are refused."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QDoubleSpinBox

from aesview.core import imaging
from aesview.core.settings import Settings, load_settings
from aesview.gui.main_window import MainWindow
from tests.fault_zoo import png_zeros
from tests.gui_support import isolate_gui, wait_until

NAME = "scan-12mp.png"          # RGBA: 12 MP x 4 bytes as decoded = 48 MB


def _set_in_dialog(qapp, win, megapixels: int, ok: bool = True) -> None:
    """Edit → Preferences…, type the number as a person would, then OK (or Cancel)."""
    seen = []

    def answer():
        dlg = QApplication.activeModalWidget()
        if dlg is None:                       # not shown yet: try again shortly
            QTimer.singleShot(20, answer)
            return
        box = dlg.findChild(QDoubleSpinBox, "max_megapixels")
        seen.append(box.value())
        box.setFocus()
        box.selectAll()
        QTest.keyClicks(box, str(megapixels))
        buttons = dlg.findChild(QDialogButtonBox)
        which = QDialogButtonBox.StandardButton.Ok if ok else QDialogButtonBox.StandardButton.Cancel
        QTest.mouseClick(buttons.button(which), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    win.actions_by_name["preferences"].trigger()      # exec() returns once answered
    assert seen, "the dialog never showed"


def _open_and_show(qapp, win, folder):
    s = win.session
    assert s.open_folder(folder)
    path = str(folder / NAME)
    s.select_path(path)
    assert wait_until(qapp, lambda: (win.viewer.path == path and win.viewer.photo.full is not None)
                      or any(NAME in m for _l, m in win.log_panel.entries), 60)
    return win.viewer.path == path and win.viewer.photo.full is not None


# monkeypatch before qtbot: qtbot closes the windows at teardown (saving their settings), and
# must do so while AESVIEW_CONFIG_DIR still points at tmp_path, not at the user's own settings.
def test_budget_typed_in_preferences_decides_what_is_refused(monkeypatch, tmp_path, budget_reset,
                                                             qtbot, qapp):
    folder = isolate_gui(tmp_path, monkeypatch)
    png_zeros(folder / NAME, 4000, 3000, 6)
    win = MainWindow(Settings(sort_key="name"))
    qtbot.addWidget(win)
    win.show()
    assert imaging.pixel_budget() == imaging.DEFAULT_BUDGET_MP

    _set_in_dialog(qapp, win, 10)
    assert imaging.pixel_budget() == 10                      # in effect at once
    assert load_settings().max_megapixels == 10              # and saved
    assert not _open_and_show(qapp, win, folder)             # 48 MB > 10 MP x 4 bytes: refused
    assert any(NAME in m and "decode budget of 10 MP" in m for _l, m in win.log_panel.entries)
    with pytest.raises(imaging.ImageLoadError, match="decode budget"):
        imaging.load_thumbnail(folder / NAME, 128)

    _set_in_dialog(qapp, win, 500, ok=False)                 # Cancel changes nothing
    assert imaging.pixel_budget() == 10 and load_settings().max_megapixels == 10

    _set_in_dialog(qapp, win, 20)
    assert imaging.pixel_budget() == 20 and load_settings().max_megapixels == 20
    win.log_panel.entries.clear()
    assert _open_and_show(qapp, win, folder)                 # now it opens
    assert (win.viewer.photo.full.width(), win.viewer.photo.full.height()) == (4000, 3000)
    win.close()

    imaging.set_pixel_budget(None)                           # a new start reads the saved value
    again = MainWindow(load_settings())
    qtbot.addWidget(again)
    assert imaging.pixel_budget() == 20
    again.close()


def test_environment_wins_over_the_setting(monkeypatch, tmp_path, budget_reset, qtbot):
    isolate_gui(tmp_path, monkeypatch)
    monkeypatch.setenv(imaging.BUDGET_ENV, "300")
    win = MainWindow(Settings(max_megapixels=20))
    qtbot.addWidget(win)
    assert imaging.pixel_budget() == 300
    win.close()


def test_out_of_range_budget_in_the_file_is_clamped(tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path))
    (tmp_path / "settings.json").write_text('{"max_megapixels": 0.5}')
    assert load_settings().max_megapixels == 10
    (tmp_path / "settings.json").write_text('{"max_megapixels": 1e9}')
    assert load_settings().max_megapixels == 1000
