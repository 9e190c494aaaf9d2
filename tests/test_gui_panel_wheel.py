"""Scrolling down the "Why this score" panel with the wheel scrolls it, whatever passes under the
pointer: it used to turn the combo box or slider there instead (seen under Xvfb: the crop
aspect stepped through every preset onto Custom W:H…, whose dialog opened)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from aesview.core.settings import Settings
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui, settle


def _wheel_down(widget) -> None:
    centre = QPointF(widget.rect().center())
    ev = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, -120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_the_wheel_scrolls_the_panel_not_its_controls(qtbot, qapp, tmp_path, monkeypatch):
    isolate_gui(tmp_path, monkeypatch)
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)
    settle(qapp, win)
    panel, bar = win.panel, win.panel_scroll.verticalScrollBar()
    win.panel_scroll.widget().setMinimumHeight(2000)    # room to scroll on any screen
    settle(qapp, win)
    assert bar.maximum() > 0
    for control in (panel.aspect, panel.scale, panel.cmap, panel.opacity, panel.whatif.change,
                    panel.whatif.strength, panel.crop_controls.slider):
        bar.setValue(0)
        before = (control.currentIndex() if hasattr(control, "currentIndex") else control.value())
        _wheel_down(control)
        after = (control.currentIndex() if hasattr(control, "currentIndex") else control.value())
        assert after == before, control.objectName()
        assert bar.value() > 0, control.objectName()             # the panel moved instead
    assert win.crop.aspect_key == "original" and win.explanation.scale == "absolute"
    # a control reached with Tab (it has the keyboard focus) still takes the wheel
    panel.aspect.setFocus(Qt.FocusReason.TabFocusReason)
    assert panel.aspect.hasFocus()
    _wheel_down(panel.aspect)
    assert panel.aspect.currentIndex() == 1
    win.close()
