"""The app's teaching parts with real widgets and the shipped model: map scale (absolute /
relative / normalised) with its legend, "what if" on the inference worker (the GUI thread never
waits; the result shows beside the old score), and "Export report…" as a cancellable operation."""

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aesview.core.settings import Settings
from aesview.gui.app import create_window
from tests.gui_support import gui_model, make_shoot, wait_until


@pytest.fixture()
def win(qtbot, qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    make_shoot(tmp_path / "shoot")
    w = create_window(str(tmp_path / "shoot"), Settings(model=gui_model()))
    qtbot.addWidget(w)
    w.show()
    assert QTest.qWaitForWindowExposed(w)   # (qtbot.waitExposed is a context manager)
    c = w.session.model.counts
    assert wait_until(qapp, lambda: c()["scored"] + c()["failed"] == c()["photos"], 180)
    w.session.select_row(0)
    assert wait_until(qapp, lambda: w.viewer.photo.full is not None, 20)
    yield w
    w.close()


def test_map_scale_changes_the_overlay_and_says_so_in_the_legend(win):
    ex, panel = win.explanation, win.panel
    ex.set_mode("aesam")
    absolute = win.viewer.overlay.pixmap().toImage()
    assert panel.legend.high_text == "raises score" and panel.legend.centre_text == "0"
    panel.scale.setCurrentIndex(panel.scale.findData("relative"))
    panel.scale.activated.emit(panel.scale.currentIndex())
    assert ex.scale == "relative"
    assert panel.legend.low_text == "below its average" and panel.legend.high_text == "above its average"
    relative = win.viewer.overlay.pixmap().toImage()
    assert relative != absolute
    ex.set_scale("normalised")
    assert panel.legend.high_text == "its strongest" and panel.legend.cmap == "jet"
    assert panel.scale.currentData() == "normalised"
    ex.set_scale("absolute")
    assert win.viewer.overlay.pixmap().toImage() == absolute
    assert "third" in panel.words.text()                 # words grounded in the map


def test_what_if_runs_on_the_worker_and_shows_old_and_new(win, qapp):
    box = win.panel.whatif
    rec = win.session.current_item().record
    box.change.setCurrentIndex(box.change.findData("blur"))
    box.strength.setValue(4)                             # severity 2
    scroll = win.panel_scroll
    scroll.verticalScrollBar().setValue(0)               # the panel at its top, as it opens
    QApplication.processEvents()
    hidden_before = box.result.visibleRegion().isEmpty()
    t = time.perf_counter()
    box.try_button.click()
    asked = time.perf_counter() - t
    assert asked < 0.05, f"the GUI thread waited {asked:.3f} s"
    assert not box.try_button.isEnabled() and box.result.text() == "Trying it…"
    assert wait_until(qapp, lambda: win.whatif.view is not None, 60)
    view = win.whatif.view
    assert view.error is None and view.before == pytest.approx(rec.score, abs=1e-5)
    assert f"{rec.score:.2f} → {view.after:.2f}" in box.result.text()
    assert view.image is not None and view.image.height() > view.image.width()   # stacked
    assert box.picture.pixmap() is not None and not box.picture.pixmap().isNull()
    assert box.try_button.isEnabled()
    # the answer is below the fold on a laptop screen: the panel brings it into view
    assert wait_until(QApplication.instance(), lambda: not box.result.visibleRegion().isEmpty(), 2)
    assert hidden_before or scroll.verticalScrollBar().maximum() == 0
    # another photo: the old experiment is cleared, not shown for the wrong photo
    win.session.select_row(1)
    QApplication.processEvents()
    assert win.whatif.view is None and box.picture.pixmap().isNull()
    # signed families go both ways
    box.change.setCurrentIndex(box.change.findData("exposure"))
    assert box.strength.minimum() < 0
    box.strength.setValue(-3)
    box.try_button.click()
    assert wait_until(qapp, lambda: win.whatif.view is not None, 60)
    from aesview.core.whatif import parameter
    assert f"exposure {parameter('exposure', -1.5):+.1f} EV" in win.whatif.view.text
    # the crop experiment scores the crop the app shows, at the chosen aspect
    win.crop.set_aspect("1:1")
    box.change.setCurrentIndex(box.change.findData("crop"))
    assert not box.strength.isEnabled()
    win.whatif.view = None
    box.try_button.click()
    assert wait_until(qapp, lambda: win.whatif.view is not None, 60)
    left, top, right, bottom = win.crop.current().box
    assert f"crop to {right - left} x {bottom - top}" in win.whatif.view.text
    assert right - left == bottom - top


def test_export_report_is_an_operation_that_writes_one_file(win, qapp, tmp_path):
    assert "export_report" in win.actions_by_name
    target = tmp_path / "out" / "shoot.html"
    target.parent.mkdir()
    done = []
    win.report.finished.connect(done.append)
    t = time.perf_counter()
    assert win.report.export_report(target)
    assert time.perf_counter() - t < 0.1                   # the work is on the job pool
    assert wait_until(qapp, lambda: bool(done), 120), win.log_panel.entries
    assert target.is_file() and done[0].photos == win.session.model.counts()["scored"]
    text = target.read_text(encoding="utf-8")
    assert "coffee.jpg" in text and text.rstrip().endswith("</html>")
    assert any("report written" in m for _lvl, m in win.log_panel.entries)


def test_cancelled_report_leaves_nothing(win, qapp, tmp_path):
    target = tmp_path / "cancelled.html"
    assert win.report.export_report(target)
    win.session.operations.cancel_all()
    assert wait_until(qapp, lambda: not win.session.operations.busy(), 60)
    assert not target.exists() and list(tmp_path.glob(".cancelled*")) == []


def test_maps_side_by_side_follow_the_photo_and_the_scale(win, qapp):
    win.panel.compare_button.click()
    w = win.maps_window
    assert w.isVisible() and win.maps.active
    assert wait_until(qapp, lambda: win.maps.view is not None, 30)
    first = win.maps.view
    assert first.error is None and first.side_by_side is not None and first.multiples is not None
    assert first.side_by_side.width() > 1.8 * first.side_by_side.height() * 0.9
    assert not w.side.pixmap().isNull() and not w.multiples.pixmap().isNull()
    assert "Absolute" in w.caption.text()
    win.explanation.set_scale("relative")
    assert wait_until(qapp, lambda: win.maps.view is not first and win.maps.view is not None, 30)
    assert "Relative" in w.caption.text()
    path = win.session.current_path()
    win.session.select_row(1)
    assert wait_until(qapp, lambda: win.maps.view is not None and win.maps.view.path != path, 30)
    w.close()
    assert not win.maps.active


def test_the_crop_buttons_show_under_a_real_photos_words_without_scrolling(win, qapp):
    """The layout test holds it for an empty panel; with a photo's plain words above (five lines
    on a laptop) the crop buttons went below the fold at 1366 x 768 (seen under Xvfb)."""
    scroll = win.panel_scroll
    for row in range(win.session.proxy.rowCount()):
        win.session.select_row(row)
        QApplication.processEvents()
        assert wait_until(qapp, lambda: "third" in win.panel.words.text(), 10)
        scroll.verticalScrollBar().setValue(0)
        QApplication.processEvents()
        for w in (win.panel.crop_button, win.panel.export_button, win.panel.aspect):
            assert w.visibleRegion().boundingRect() == w.rect(), (row, w.objectName())


def test_the_crop_controls_stay_in_view_however_long_the_words(win, qapp, monkeypatch):
    """A candidate model whose words for one photo were a little longer put the crop button 14 px
    below the fold at 1366 x 768: the crop controls must not depend on the length of the text
    above them (another model, language or photo). Here every photo's words are three times as
    long; the crop controls show whatever the panel's scroll, the words are all there to read
    (scrolling), and Tab still reaches the crop controls."""
    from aesview.gui.controllers import explanation as explanation_module
    real = explanation_module.explain_photo
    monkeypatch.setattr(explanation_module, "explain_photo", lambda *a, **k: real(*a, **k) * 3)
    panel, scroll = win.panel, win.panel_scroll
    crop = (panel.aspect, panel.crop_button, panel.export_button, panel.crop_controls.slider,
            panel.crop_controls.accept_button)
    rows = win.session.proxy.rowCount()
    for row in [*range(1, rows), 0]:                  # row 0 was shown before the patch
        win.session.select_row(row)
        assert wait_until(qapp, lambda: panel.words.text().count("Score ") == 3, 10), row
        for shown in (False, True):                   # the crop's line of words under the slider
            if win.crop.visible != shown:
                win.crop.toggle()
            QApplication.processEvents()
            for where in (0, scroll.verticalScrollBar().maximum()):
                scroll.verticalScrollBar().setValue(where)
                QApplication.processEvents()
                for w in crop:
                    assert w.visibleRegion().boundingRect() == w.rect(), (row, shown, where,
                                                                          w.objectName())
        # the words are never cut: the label is as tall as its text, and the panel scrolls to it
        words = panel.words
        assert words.height() >= words.heightForWidth(words.width())
        scroll.ensureWidgetVisible(words, 0, 0)
        QApplication.processEvents()
        assert not words.visibleRegion().isEmpty()
    # keyboard: Tab goes from the panel's controls on to the crop controls
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)
    panel.compare_button.setFocus(Qt.FocusReason.TabFocusReason)
    reached = set()
    for _ in range(30):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.add(QApplication.focusWidget())
    assert set(crop) <= reached
