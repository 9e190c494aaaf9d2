"""A crop rectangle the user can move and resize, in full-resolution photo pixels (the scene's
units), with rule-of-thirds guides and the outside darkened. An aspect ratio, when set, holds
while resizing."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsObject

HANDLE_PX = 10     # on screen, whatever the zoom
MIN_PX = 16        # smallest crop side in photo pixels
MIN_ZOOM = 0.02    # the viewer's smallest zoom (screen pixels per photo pixel)


class CropItem(QGraphicsObject):
    changed = Signal(QRectF)      # after every user move/resize (photo pixels)

    def __init__(self, bounds: QRectF, parent=None):
        super().__init__(parent)
        self.bounds = QRectF(bounds)
        self._rect = QRectF(bounds)
        self.aspect: float | None = None
        self._drag: tuple[str, QPointF, QRectF] | None = None   # (mode, press pos, rect at press)
        self.setAcceptHoverEvents(True)
        self.setZValue(10)

    # --- geometry ---
    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect).intersected(self.bounds)
        self.update()

    def set_bounds(self, bounds: QRectF) -> None:
        self.prepareGeometryChange()
        self.bounds = QRectF(bounds)
        self._rect = self._rect.intersected(self.bounds)

    def boundingRect(self) -> QRectF:
        # room for the handles that straddle the photo's edge: half a handle, in photo pixels,
        # at the smallest zoom the view allows (fixed: the zoom changes without telling items)
        m = HANDLE_PX / 2 / MIN_ZOOM + 2
        return self.bounds.adjusted(-m, -m, m, m)

    def _scale(self) -> float:
        views = self.scene().views() if self.scene() else []
        return views[0].transform().m11() if views else 1.0

    def _hit(self, pos: QPointF) -> str | None:
        """Which part the pointer is on: corners 'tl'.., edges 'l','r','t','b', 'move', None."""
        tol = HANDLE_PX / max(self._scale(), 1e-6)
        r = self._rect
        near_l, near_r = abs(pos.x() - r.left()) <= tol, abs(pos.x() - r.right()) <= tol
        near_t, near_b = abs(pos.y() - r.top()) <= tol, abs(pos.y() - r.bottom()) <= tol
        inside_x = r.left() - tol <= pos.x() <= r.right() + tol
        inside_y = r.top() - tol <= pos.y() <= r.bottom() + tol
        if not (inside_x and inside_y):
            return None
        v = "t" if near_t else "b" if near_b else ""
        h = "l" if near_l else "r" if near_r else ""
        return (v + h) or ("move" if r.contains(pos) else None)

    # --- mouse ---
    _CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
                "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
                "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor,
                "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
                "move": Qt.CursorShape.SizeAllCursor}

    def hoverMoveEvent(self, event):
        mode = self._hit(event.pos())
        if mode:
            self.setCursor(self._CURSORS[mode])
        else:
            self.unsetCursor()

    def shape(self) -> QPainterPath:
        # Only the rectangle and its handles take clicks; outside it the view pans.
        tol = HANDLE_PX / max(self._scale(), 1e-6)
        p = QPainterPath()
        p.addRect(self._rect.adjusted(-tol, -tol, tol, tol))
        return p

    def mousePressEvent(self, event):
        mode = self._hit(event.pos())
        if event.button() != Qt.MouseButton.LeftButton or mode is None:
            event.ignore()
            return
        self._drag = (mode, event.pos(), QRectF(self._rect))
        event.accept()

    def mouseMoveEvent(self, event):
        if self._drag is None:
            return
        mode, start, r0 = self._drag
        d = event.pos() - start
        if mode == "move":
            r = r0.translated(round(d.x()), round(d.y()))   # whole pixels: the size stays exact
            r.moveLeft(min(max(r.left(), self.bounds.left()), self.bounds.right() - r.width()))
            r.moveTop(min(max(r.top(), self.bounds.top()), self.bounds.bottom() - r.height()))
        else:
            r = self._resized(mode, r0, event.pos())
        self.set_rect(r)
        self.changed.emit(self.rect())

    def mouseReleaseEvent(self, event):
        if self._drag is not None:
            self._drag = None
            self.changed.emit(self.rect())

    def _resized(self, mode: str, r0: QRectF, p: QPointF) -> QRectF:
        b = self.bounds
        px = min(max(p.x(), b.left()), b.right())
        py = min(max(p.y(), b.top()), b.bottom())
        left, top, right, bottom = r0.left(), r0.top(), r0.right(), r0.bottom()
        if "l" in mode:
            left = min(px, right - MIN_PX)
        if "r" in mode:
            right = max(px, left + MIN_PX)
        if "t" in mode:
            top = min(py, bottom - MIN_PX)
        if "b" in mode:
            bottom = max(py, top + MIN_PX)
        r = QRectF(QPointF(left, top), QPointF(right, bottom))
        if self.aspect:
            r = self._hold_aspect(mode, r0, r)
        return r

    def _hold_aspect(self, mode: str, r0: QRectF, r: QRectF) -> QRectF:
        """Keep width/height = aspect: the dragged side leads, the opposite side (or the
        centre line, for an edge) stays put, and the box shrinks to stay in the photo."""
        a, b = self.aspect or 1.0, self.bounds     # only called with an aspect set
        w, h = r.width(), r.height()
        if mode in ("l", "r"):
            h = w / a
        elif mode in ("t", "b"):
            w = h * a
        else:
            w, h = (w, w / a) if w / a >= h else (h * a, h)
        # anchor: the fixed corner/edge
        ax = r0.right() if "l" in mode else r0.left() if "r" in mode else r0.center().x()
        ay = r0.bottom() if "t" in mode else r0.top() if "b" in mode else r0.center().y()
        sx = -1 if "l" in mode else 1 if "r" in mode else 0
        sy = -1 if "t" in mode else 1 if "b" in mode else 0
        # largest size that fits inside the bounds from this anchor
        room_w = (ax - b.left()) if sx < 0 else (b.right() - ax) if sx > 0 else \
            2 * min(ax - b.left(), b.right() - ax)
        room_h = (ay - b.top()) if sy < 0 else (b.bottom() - ay) if sy > 0 else \
            2 * min(ay - b.top(), b.bottom() - ay)
        f = min(1.0, room_w / w if w else 1.0, room_h / h if h else 1.0)
        w, h = w * f, h * f
        left = ax - w if sx < 0 else ax if sx > 0 else ax - w / 2
        top = ay - h if sy < 0 else ay if sy > 0 else ay - h / 2
        return QRectF(left, top, w, h)

    # --- painting ---
    def paint(self, painter: QPainter, option, widget=None):
        r = self._rect
        outside = QPainterPath()
        outside.addRect(self.bounds)
        inner = QPainterPath()
        inner.addRect(r)
        painter.fillPath(outside.subtracted(inner), QColor(0, 0, 0, 130))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        # Every line is drawn twice, dark under light, so it shows on snow as well as on night.
        thirds = []
        for i in (1, 2):
            x = r.left() + r.width() * i / 3
            y = r.top() + r.height() * i / 3
            thirds += [(QPointF(x, r.top()), QPointF(x, r.bottom())),
                       (QPointF(r.left(), y), QPointF(r.right(), y))]
        for colour, width in ((QColor(0, 0, 0, 110), 3), (QColor(255, 255, 255, 170), 1)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            for a, b in thirds:
                painter.drawLine(a, b)
        for colour, width in ((QColor(0, 0, 0, 160), 4), (QColor(255, 255, 255), 2)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.drawRect(r)
        s = HANDLE_PX / max(self._scale(), 1e-6)
        pen = QPen(QColor(40, 40, 40), 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 255, 255))
        for x in (r.left(), r.center().x(), r.right()):
            for y in (r.top(), r.center().y(), r.bottom()):
                if (x, y) != (r.center().x(), r.center().y()):
                    painter.drawRect(QRectF(x - s / 2, y - s / 2, s, s))
