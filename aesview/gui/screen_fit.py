"""Keeping the window on the screen it opens on: the first window fits the screen's available
area (a 1366 x 768 laptop included), and a geometry saved on a bigger or a now-missing screen
is pulled back onto the current one."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication

PREFERRED = QSize(1500, 950)


def fit_rect(rect: QRect, avail: QRect) -> QRect:
    """`rect` shrunk to `avail` where it is bigger, then moved (not shrunk further) inside it."""
    w = min(rect.width(), avail.width())
    h = min(rect.height(), avail.height())
    x = min(max(rect.x(), avail.left()), avail.left() + avail.width() - w)
    y = min(max(rect.y(), avail.top()), avail.top() + avail.height() - h)
    return QRect(x, y, w, h)


def available_geometry(window) -> QRect:
    """The available area (without panels and docks) of the screen the window is on: the one
    under its centre, else its own, else the primary one."""
    screen = QGuiApplication.screenAt(window.frameGeometry().center()) or window.screen() \
        or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def first_geometry(avail: QRect, preferred: QSize = PREFERRED) -> QRect:
    """The window's rectangle on a first start: the preferred size where the screen has room,
    centred, else the whole available area."""
    size = preferred.boundedTo(avail.size())
    r = QRect(0, 0, size.width(), size.height())
    r.moveCenter(avail.center())
    return fit_rect(r, avail)


def clamp_to_screen(window) -> bool:
    """Shrink and move the window so that its frame (title bar and borders included) lies in
    its screen's available area. A maximised or full-screen window is left to the system.
    True if the geometry changed."""
    if window.isMaximized() or window.isFullScreen():
        return False
    avail = available_geometry(window)
    frame, inner = window.frameGeometry(), window.geometry()
    fitted = fit_rect(frame, avail)
    if fitted == frame:
        return False
    # frame margins: the title bar and borders the window system adds around the client area
    left, top = inner.left() - frame.left(), inner.top() - frame.top()
    extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
    window.setGeometry(fitted.left() + left, fitted.top() + top,
                       max(1, fitted.width() - extra_w), max(1, fitted.height() - extra_h))
    return True
