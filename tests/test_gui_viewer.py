"""The big photo: fit and 100 % from the keyboard, wheel zoom around the pointer, drag to pan,
double-click; and the culling keys keep working wherever a click left the keyboard focus.
No model: these tests are about the window, so scoring is switched off."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aesview.core.imaging import load_image  # noqa: E402
from aesview.core.settings import Settings  # noqa: E402
from aesview.gui.crop_item import HANDLE_PX  # noqa: E402
from aesview.gui.main_window import MainWindow  # noqa: E402
from aesview.gui.qtimage import pil_to_qimage  # noqa: E402
from aesview.gui.session import Session  # noqa: E402
from aesview.gui.viewer import preview_of  # noqa: E402
from aesview.paths import samples_dir  # noqa: E402
from tests.gui_support import make_shoot, settle, wait_until


@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(Session, "start_scoring", lambda self: None)
    w = MainWindow(Settings())
    qtbot.addWidget(w)
    w.show()
    assert QTest.qWaitForWindowExposed(w)   # (qtbot.waitExposed is a context manager)
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)
    settle(QApplication.instance(), w)
    return w


def _show_photo(win, name="dune-grass.jpg"):
    """The photo as the window's loader hands it over (full resolution + screen preview)."""
    path = samples_dir() / name
    photo = load_image(path)
    full = pil_to_qimage(photo.image).convertToFormat(QImage.Format.Format_RGB32)
    win.viewer.show_image(str(path), preview_of(full), tuple(photo.size), full)
    return photo.size


def _on_screen(view, scene_point) -> QPointF:
    return QPointF(view.mapFromScene(scene_point))


def _wheel(widget, pos: QPoint, notches: int):
    ev = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0),
                     QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_fit_100_percent_wheel_zoom_and_drag_pan(win):
    view, vp = win.viewer, win.viewer.viewport()
    w, h = _show_photo(win)
    # fit: the whole photo on screen, as large as the view allows
    fit = view.zoom()
    assert view.fit_mode and 0 < fit < 1
    shown = view.mapFromScene(view.sceneRect()).boundingRect()
    assert vp.rect().adjusted(-1, -1, 1, 1).contains(shown)
    assert shown.width() >= vp.width() - 6 or shown.height() >= vp.height() - 6

    # Z: 100 %, one photo pixel per screen pixel; F: back to fit
    QTest.keyClick(win.grid, Qt.Key.Key_Z)
    assert view.zoom() == pytest.approx(1.0) and not view.fit_mode
    QTest.keyClick(win.grid, Qt.Key.Key_F)
    assert view.zoom() == pytest.approx(fit) and view.fit_mode
    QTest.keyClick(win.grid, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(1.0)
    QTest.keyClick(win.grid, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(fit)

    # wheel: 1.25x per notch, and the photo point under the pointer stays under it (once
    # the photo is larger than the view, so that it can move)
    at = QPoint(vp.width() // 3, vp.height() // 3)
    under = view.mapToScene(at)
    _wheel(vp, at, 6)                   # well past the view on any screen: it can move
    assert view.zoom() == pytest.approx(fit * 1.25 ** 6) and not view.fit_mode
    after = _on_screen(view, under)
    assert abs(after.x() - at.x()) <= 3 and abs(after.y() - at.y()) <= 3   # whole-pixel scrolling
    _wheel(vp, at, -1)
    assert view.zoom() == pytest.approx(fit * 1.25 ** 5)
    after = _on_screen(view, under)
    assert abs(after.x() - at.x()) <= 3 and abs(after.y() - at.y()) <= 3   # whole-pixel scrolling

    # drag pans at 100 %: the photo follows the pointer
    QTest.keyClick(win.grid, Qt.Key.Key_Z)
    centre = vp.rect().center()
    grabbed = view.mapToScene(centre)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    for k in range(1, 6):
        QTest.mouseMove(vp, centre + QPoint(-30 * k, -20 * k))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       centre + QPoint(-150, -100))
    moved = _on_screen(view, grabbed)
    assert abs(moved.x() - (centre.x() - 150)) <= 2 and abs(moved.y() - (centre.y() - 100)) <= 2
    assert view.zoom() == pytest.approx(1.0)

    # double-click: 100 % centred where clicked, and back to fit
    QTest.keyClick(win.grid, Qt.Key.Key_F)
    spot = QPoint(vp.width() // 4, vp.height() // 2)
    target = view.mapToScene(spot)
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    assert view.zoom() == pytest.approx(1.0)
    c = view.mapToScene(vp.rect().center())
    assert abs(c.x() - target.x()) <= 2 and abs(c.y() - target.y()) <= 2
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot)
    assert view.fit_mode and view.zoom() == pytest.approx(fit)
    assert (w, h) == view.full_size


def test_crop_handles_are_on_screen_when_the_crop_spans_the_photo(win):
    view, vp = win.viewer, win.viewer.viewport()
    w, h = _show_photo(win)
    view.show_crop((0, 0, w, h), w / h)
    # every corner handle (HANDLE_PX around the photo's corners) lies inside the view
    for corner in (view.sceneRect().topLeft(), view.sceneRect().bottomRight()):
        p = view.mapFromScene(corner)
        assert vp.rect().adjusted(5, 5, -5, -5).contains(p), p
    view.hide_crop()
    shown = view.mapFromScene(view.sceneRect()).boundingRect()
    assert shown.width() >= vp.width() - 6 or shown.height() >= vp.height() - 6


def _focused():
    return QApplication.focusWidget()


def test_culling_keys_work_wherever_a_click_left_the_focus(win, qtbot, tmp_path):
    photos = make_shoot(tmp_path / "shoot", ("coffee.jpg", "pagoda.jpg", "fig.jpg",
                                             "ladybird.jpg", "storm-road.jpg"))
    win.session.set_sort("name")
    assert win.session.open_folder(tmp_path / "shoot")
    assert wait_until(QApplication.instance(),
                      lambda: all(it.thumb is not None for it in win.session.model.items()), 20)
    names = sorted(p.name for p in photos)

    def current():
        return win.session.current_path().rsplit("/", 1)[-1]

    # a click on a thumbnail, then P: picked, and on to the next photo
    idx = win.session.proxy.index(0, 0)
    QTest.mouseClick(win.grid.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, win.grid.visualRect(idx).center())
    QTest.keyClick(_focused(), Qt.Key.Key_P)
    assert win.culling.decision(str(photos[0])).picked and current() == names[1]

    # a click on the big photo, then X and an arrow key
    QTest.mouseClick(win.viewer.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, win.viewer.viewport().rect().center())
    QTest.keyClick(_focused(), Qt.Key.Key_X)
    assert win.culling.decision(win.session.model.paths()[1]).rejected and current() == names[2]
    QTest.keyClick(_focused(), Qt.Key.Key_Left)
    assert current() == names[1]

    # a click on the opacity slider, the colour map box, a crop button: the arrows still
    # move through the shoot (they don't nudge the slider)
    for control in (win.panel.opacity, win.panel.mode_buttons["aesam"], win.sort_combo):
        QTest.mouseClick(control, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(control.width() // 2, control.height() // 2))
        if QApplication.activePopupWidget():
            QApplication.activePopupWidget().close()
    before = current()
    QTest.keyClick(_focused(), Qt.Key.Key_Right)
    assert current() == names[names.index(before) + 1]
    assert _focused() is win.grid
    QTest.keyClick(_focused(), Qt.Key.Key_3)
    assert win.culling.decision(win.session.current_path()).stars == 3

    # a click in the log or on the explanation text (both selectable): arrows still move
    for w in (win.log_panel.viewport(), win.panel.words):
        QTest.mouseClick(w, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(5, 5))
        before = current()
        QTest.keyClick(_focused(), Qt.Key.Key_Left)
        assert current() == names[names.index(before) - 1]
    assert wait_until(QApplication.instance(), win.culling.settled, 10)
    assert "1 pick · 1 rejected" in win.counts_label.text()
    assert win.counts_label.text().startswith("5 photos")


def test_crop_frame_thirds_and_handles_show_on_a_white_sky(win):
    """Snow and overcast skies are white: the crop's lines and handles must not vanish."""
    from PySide6.QtGui import QColor
    view, vp = win.viewer, win.viewer.viewport()
    white = QImage(1200, 800, QImage.Format.Format_RGB32)
    white.fill(QColor(255, 255, 255))
    view.show_image("/shoot/snow.jpg", white, (1200, 800), white)
    view.show_crop((150, 100, 1050, 700), 1.5)
    shot = vp.grab().toImage()

    def darkest(scene_x, scene_y, r=3):
        p = view.mapFromScene(scene_x, scene_y)
        return min(QColor(shot.pixel(p.x() + dx, p.y() + dy)).value()
                   for dx in range(-r, r + 1) for dy in range(-r, r + 1))

    def lightest(scene_x, scene_y, r=3):
        p = view.mapFromScene(scene_x, scene_y)
        return max(QColor(shot.pixel(p.x() + dx, p.y() + dy)).value()
                   for dx in range(-r, r + 1) for dy in range(-r, r + 1))
    assert darkest(600, 400, r=20) == 255                  # the middle of the crop: untouched
    assert darkest(450, 400) < 200                         # a rule-of-thirds line, x = 1/3
    assert darkest(600, 300) < 200                         # and y = 1/3
    assert darkest(400, 100) < 200                         # the frame, top edge
    for x, y in ((150, 100), (1050, 700), (600, 700), (150, 400)):   # corner and edge handles
        assert darkest(x, y, r=HANDLE_PX // 2 + 1) < 120 and lightest(x, y, r=2) > 230
    assert darkest(60, 50) < 200                           # outside the crop: darkened



def test_a_shoot_opens_on_its_best_photo_until_the_user_chooses(win, tmp_path):
    import numpy as np

    from aesview.core.records import ScoreRecord
    photos = [str(p) for p in make_shoot(tmp_path / "shoot", ("coffee.jpg", "fig.jpg",
                                                               "pagoda.jpg", "ladybird.jpg"))]
    assert win.session.open_folder(tmp_path / "shoot")
    assert win.session.current_path() == photos[0]                 # by name while nothing is scored

    def score(path, s):
        win.session.model.set_record(ScoreRecord(path=path, score=s, attributes={},
                                                 aesam=np.zeros((2, 3), np.float32),
                                                 image_size=(600, 400)))
    score(photos[2], 0.6)
    assert win.session.current_path() == photos[2]                 # scores stream in: the best so far
    score(photos[1], 0.9)
    assert win.session.current_path() == photos[1]
    # the user scrolls the grid: from now on the selection stays where it is
    win.grid.verticalScrollBar().triggerAction(
        win.grid.verticalScrollBar().SliderAction.SliderSingleStepAdd)
    score(photos[3], 0.95)
    assert win.session.current_path() == photos[1]
    assert win.session.proxy.index(0, 0).data(Qt.ItemDataRole.DisplayRole) == "ladybird.jpg"

    # a new folder follows the top again, until a key moves the selection
    assert win.session.open_folder(tmp_path / "shoot")
    score(photos[0], 0.5)
    assert win.session.current_path() == photos[0]
    win.grid.setFocus()
    QTest.keyClick(win.grid, Qt.Key.Key_Right)
    chosen = win.session.current_path()
    assert chosen != photos[0]
    score(photos[2], 0.99)
    assert win.session.current_path() == chosen
