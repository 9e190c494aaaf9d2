"""Where the selection goes after a filter or an undo. A filter that hides the current photo
leaves a current photo that is also selected (seen under Xvfb: with four photos selected,
Show: Picks left the one pick current and shown in the big view, but not highlighted in the
grid, so the grid did not say which photo the keys act on)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QItemSelection, QItemSelectionModel

from aesview.core.settings import Settings
from aesview.gui.main_window import MainWindow
from aesview.gui.photo_model import Role
from tests.gui_support import isolate_gui, wait_until


def _window(qtbot, tmp_path, monkeypatch, n: int, seed: int, auto_advance: bool):
    """A shown main window and its folder of `n` small noise photos p0.jpg ... (not yet opened)."""
    folder = isolate_gui(tmp_path, monkeypatch)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).save(folder / f"p{i}.jpg")
    win = MainWindow(Settings(sort_key="name", auto_advance=auto_advance))
    qtbot.addWidget(win)
    win.show()
    return win, folder


def test_a_filter_keeps_the_current_photo_selected(qtbot, qapp, tmp_path, monkeypatch):
    win, folder = _window(qtbot, tmp_path, monkeypatch, 5, 0, auto_advance=False)
    s = win.session
    s.open_folder(folder)
    assert wait_until(qapp, lambda: s.proxy.rowCount() == 5, 10)
    s.select_row(1)
    win.culling.pick()
    assert wait_until(qapp, lambda: s.model.counts()["picks"] == 1, 10)
    # the user selects the last three photos (none of them the pick), the last one current
    sel = QItemSelection(s.proxy.index(2, 0), s.proxy.index(4, 0))
    s.selection.select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    s.selection.setCurrentIndex(s.proxy.index(4, 0), QItemSelectionModel.SelectionFlag.NoUpdate)

    win.filter_combo.setCurrentIndex(win.filter_combo.findData("picks"))
    assert s.proxy.rowCount() == 1
    current = s.selection.currentIndex()
    assert current.isValid() and current.data(Role.PATH).endswith("p1.jpg")
    assert s.selection.isSelected(current)                 # highlighted: what the keys act on
    assert s.selected_paths() == [current.data(Role.PATH)]
    assert win.viewer.path == current.data(Role.PATH)

    # and back: the whole shoot, the same photo current and selected
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("all"))
    current = s.selection.currentIndex()
    assert current.data(Role.PATH).endswith("p1.jpg") and s.selection.isSelected(current)

    # part of the selection stays visible: the current photo is one of those still selected
    s.selection.select(QItemSelection(s.proxy.index(0, 0), s.proxy.index(1, 0)),
                       QItemSelectionModel.SelectionFlag.ClearAndSelect)
    s.selection.setCurrentIndex(s.proxy.index(1, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("unflagged"))   # hides the pick p1
    current = s.selection.currentIndex()
    assert current.data(Role.PATH).endswith("p0.jpg") and s.selection.isSelected(current)
    assert s.selected_paths() == [current.data(Role.PATH)]
    assert win.viewer.path == current.data(Role.PATH)
    win.close()


def test_undo_stays_on_the_photo_when_it_was_part_of_the_edit(qtbot, qapp, tmp_path, monkeypatch):
    """Seen under Xvfb: Ctrl+Z after B (best of every burst) jumped from the photo on screen to
    another burst's frame far down the grid. An undo that touched the photo you are on stays on
    it; one that did not (P moved on) goes back to the photo it changed."""
    from aesview.core import culling
    from aesview.core.culling import Flag
    win, folder = _window(qtbot, tmp_path, monkeypatch, 6, 1, auto_advance=True)
    s, cull = win.session, win.culling
    s.open_folder(folder)
    assert wait_until(qapp, lambda: s.proxy.rowCount() == 6, 10)
    paths = [str(folder / f"p{i}.jpg") for i in range(6)]

    # what B does: one edit over several photos, the first of them far from the one on screen
    s.select_path(paths[4])
    cull.decide_each({paths[1]: culling.set_flag(Flag.REJECT), paths[4]: culling.set_flag(Flag.PICK),
                      paths[5]: culling.set_flag(Flag.REJECT)})
    assert wait_until(qapp, lambda: s.model.counts()["picks"] == 1 and cull.settled(), 10)
    assert s.current_path() == paths[4]
    cull.undo()
    assert wait_until(qapp, lambda: s.model.counts()["picks"] == 0 and cull.settled(), 10)
    assert s.current_path() == paths[4]
    cull.redo()
    assert wait_until(qapp, lambda: s.model.counts()["picks"] == 1 and cull.settled(), 10)
    assert s.current_path() == paths[4]

    # P moves on to the next photo; its undo comes back to the photo it flagged
    s.select_path(paths[2])
    cull.pick()
    assert wait_until(qapp, lambda: s.current_path() == paths[3] and cull.settled(), 10)
    cull.undo()
    assert wait_until(qapp, lambda: s.current_path() == paths[2] and cull.settled(), 10)
    assert not cull.decision(paths[2]).picked
    win.close()


def test_an_empty_view_has_no_scroll_bars(qtbot, qapp, tmp_path, monkeypatch):
    """Seen under Xvfb: at 100 %, a filter that shows nothing left the last photo's scroll bars
    round the empty dark view."""
    folder = isolate_gui(tmp_path, monkeypatch)
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (900, 1200, 3), np.uint8)).save(
        folder / "big.jpg")
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    s, v = win.session, win.viewer
    s.open_folder(folder)
    assert wait_until(qapp, lambda: v.full_size == (1200, 900) and v.photo.full is not None, 20)
    v.zoom_100()
    qapp.processEvents()
    assert v.horizontalScrollBar().maximum() > 0
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("picks"))   # none: empty
    qapp.processEvents()
    assert s.proxy.rowCount() == 0 and v.path is None
    assert v.horizontalScrollBar().maximum() == 0 and v.verticalScrollBar().maximum() == 0
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("all"))
    assert wait_until(qapp, lambda: v.path is not None, 10)
    win.close()
