"""The window on a small screen (the tests' offscreen screen is a 1366 x 768 laptop's, see
gui_support): the first window and a restored one fit the screen's available area, and the
grid, the photo and the whole "why this score" panel are usable without scrolling."""

import pytest
from PySide6.QtCore import QPoint, QRect  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aesview.core.settings import Settings  # noqa: E402
from aesview.gui.main_window import MainWindow  # noqa: E402
from aesview.gui.screen_fit import first_geometry, fit_rect  # noqa: E402
from aesview.gui.session import Session  # noqa: E402
from tests.gui_support import settle  # (headless Qt on a laptop-sized screen)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_fit_rect_shrinks_then_moves_into_the_available_area():
    avail = QRect(0, 24, 1366, 720)                       # a top panel takes 24 px
    assert fit_rect(QRect(100, 50, 1500, 950), avail) == avail
    assert fit_rect(QRect(3000, 2000, 800, 600), avail) == QRect(566, 144, 800, 600)
    assert fit_rect(QRect(-50, 0, 400, 300), avail) == QRect(0, 24, 400, 300)
    inside = QRect(10, 30, 400, 300)
    assert fit_rect(inside, avail) == inside
    # a big screen gets the preferred size, centred; a small one all of its available area
    assert first_geometry(QRect(0, 0, 1920, 1080)) == QRect(210, 65, 1500, 950)
    assert first_geometry(avail) == avail


def _show(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)   # (qtbot.waitExposed is a context manager)
    from PySide6.QtWidgets import QApplication
    settle(QApplication.instance(), win)
    return win


def _fully_visible(widget, window) -> bool:
    """The widget's whole rectangle lies inside the window and is not clipped by a scroll
    area or a dock on the way up."""
    region = widget.visibleRegion()
    return region.boundingRect() == widget.rect() and window.rect().contains(
        QRect(widget.mapTo(window, QPoint(0, 0)), widget.size()))


def test_first_window_fits_the_screen_and_every_panel_is_usable(qtbot, isolated):
    win = _show(qtbot, Settings())
    avail = win.screen().availableGeometry()
    if win.screen().name() == "laptop":                   # offscreen: tests/gui_screen.json
        assert (avail.width(), avail.height()) == (1366, 768)
    assert avail.contains(win.frameGeometry()), (avail, win.frameGeometry())
    # the photo gets the largest share; the grid shows at least one column of thumbnails
    cell = win.delegate.size + 12
    assert win.grid.viewport().width() >= cell
    assert win.viewer.width() > win.grid.width() and win.viewer.width() >= 0.4 * win.width()
    assert win.viewer.height() >= 0.6 * avail.height()
    # the whole explanation shows, its crop buttons included, without scrolling
    scroll = win.panel_scroll
    assert scroll.verticalScrollBar().maximum() == 0
    assert scroll.horizontalScrollBar().maximum() == 0
    for w in (win.panel.title, win.panel.legend, win.panel.bars, win.panel.aspect,
              win.panel.crop_button, win.panel.export_button):
        assert _fully_visible(w, win), w.objectName() or type(w).__name__
    assert win.log_dock.isVisible() and win.log_panel.height() >= 40
    assert _fully_visible(win.counts_label, win)


def test_a_geometry_saved_on_a_bigger_screen_is_pulled_onto_this_one(qtbot, isolated):
    big = MainWindow(Settings())
    qtbot.addWidget(big)
    big.setGeometry(QRect(2400, 1300, 2500, 1500))       # on a 4K monitor that is gone now
    saved = bytes(big.saveGeometry().toBase64()).decode()
    win = _show(qtbot, Settings(window_geometry=saved))
    avail = win.screen().availableGeometry()
    assert avail.contains(win.frameGeometry()), (avail, win.frameGeometry())
    assert win.width() >= 0.9 * avail.width()            # shrunk to the screen, not to nothing


def test_a_saved_geometry_that_fits_is_kept(qtbot, isolated):
    first = _show(qtbot, Settings())
    first.setGeometry(QRect(40, 30, 1000, 640))
    saved = bytes(first.saveGeometry().toBase64()).decode()
    first.close()
    win = _show(qtbot, Settings(window_geometry=saved))
    assert win.geometry().size() == first.geometry().size()
    assert win.geometry().topLeft() == first.geometry().topLeft()


def test_an_empty_folder_and_an_empty_filter_say_what_to_do(qtbot, isolated, monkeypatch):
    from tests.gui_support import make_shoot
    monkeypatch.setattr(Session, "start_scoring", lambda self: None)
    win = _show(qtbot, Settings())
    assert "Open a folder" in win.grid.empty_text            # no folder yet
    (isolated / "empty").mkdir()
    (isolated / "empty" / "notes.txt").write_text("not a photo")
    assert win.session.open_folder(isolated / "empty")
    assert win.session.model.rowCount() == 0
    assert "No photos in “empty”" in win.grid.empty_text and "Ctrl+O" in win.grid.empty_text
    assert win.counts_label.text().startswith("0 photos")
    said = win.grid.viewport().grab().toImage()
    text = win.grid.empty_text
    win.grid.set_empty_text("")
    assert win.grid.viewport().grab().toImage() != said      # the text is painted
    win.grid.set_empty_text(text)

    make_shoot(isolated / "shoot", ("coffee.jpg", "pagoda.jpg"))
    assert win.session.open_folder(isolated / "shoot")
    assert win.counts_label.text().startswith("2 photos · 0 scored · 0 picks")
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("picks"))
    assert win.session.proxy.rowCount() == 0
    assert "P picks" in win.grid.empty_text and "All photos" in win.grid.empty_text
    assert "2 photos" in win.counts_label.text() and "0 shown" in win.counts_label.text()
    # every filter says why the grid is empty, not only "Show: All photos brings back…"
    for name in ("colour_yellow", "rejected", "stars"):
        win.filter_combo.setCurrentIndex(win.filter_combo.findData(name))
        assert win.session.proxy.rowCount() == 0
        first = win.grid.empty_text.split("\n\n")[0]
        assert first and "All photos" not in first, (name, win.grid.empty_text)
    assert "Yellow" not in win.grid.empty_text
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("colour_yellow"))
    assert win.grid.empty_text.startswith("No photo has a Yellow label.")
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("all"))
    assert win.session.proxy.rowCount() == 2
