"""Paints one grid cell from index.data(role) alone: thumbnail, score and percentile, the
culling flag and stars, and a red badge on a photo that failed to load or score."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap, QPixmapCache
from PySide6.QtWidgets import QStyle, QStyledItemDelegate

from ..core.culling import Decision, Flag
from .photo_model import Role

PICK_GREEN = QColor(46, 160, 67)
REJECT_RED = QColor(207, 34, 46)
STAR_GOLD = QColor(240, 190, 40)
LABEL_COLOURS = {"Red": QColor(214, 54, 54), "Yellow": QColor(230, 200, 40),
                 "Blue": QColor(50, 110, 220), "Purple": QColor(150, 70, 190)}
PAD = 6


class ThumbnailDelegate(QStyledItemDelegate):
    def __init__(self, size: int = 160, parent=None):
        super().__init__(parent)
        self.size = size

    def set_size(self, size: int) -> None:
        self.size = size  # the owner re-lays out the view (item sizes are uniform)

    def sizeHint(self, option, index) -> QSize:
        line = option.fontMetrics.height()
        return QSize(self.size + 2 * PAD, self.size + 2 * PAD + 2 * line + 2)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        r = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        if selected:
            painter.fillRect(r, pal.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(r, pal.alternateBase())

        decision: Decision = index.data(Role.DECISION) or Decision()
        box = QRect(r.left() + PAD, r.top() + PAD, self.size, self.size)
        image = index.data(Qt.ItemDataRole.DecorationRole)
        target = box
        if image is not None and not image.isNull():
            scaled = QSize(image.width(), image.height()).scaled(box.size(),
                                                                 Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(box.center())
            if decision.rejected:
                painter.setOpacity(0.35)
            painter.drawPixmap(target, self._scaled(image, target.size()))
            painter.setOpacity(1.0)
        else:
            painter.fillRect(box.adjusted(8, 8, -8, -8), pal.mid())

        # on the photo's own corners, not in the letterbox around it
        self._badges(painter, target, decision, index.data(Role.ERROR))
        burst = index.data(Role.BURST)
        if burst is not None:
            self._burst_badge(painter, target, burst)
        self._caption(painter, option, r, box, index, decision, selected)
        painter.restore()

    @staticmethod
    def _scaled(image: QImage, size: QSize) -> QPixmap:
        """The thumbnail at cell size, scaled once: a repaint of the grid (every percentile moves
        while scores stream in) then only copies pixels."""
        key = f"aesview:{image.cacheKey()}:{size.width()}x{size.height()}"
        pix = QPixmap()
        if not QPixmapCache.find(key, pix):
            pix = QPixmap.fromImage(image.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
            QPixmapCache.insert(key, pix)
        return pix

    def _burst_badge(self, painter, box, burst) -> None:
        """A stack's mark in the photo's lower left: the frame's place in its burst, and
        BEST (gold) on the frame the bursts controller chose."""
        f = QFont(painter.font())
        f.setPixelSize(max(10, self.size // 14))
        f.setBold(True)
        painter.setFont(f)
        text = (f"★ BEST {burst.position}/{burst.size}" if burst.is_best
                else f"{burst.position}/{burst.size}")
        w = painter.fontMetrics().horizontalAdvance(text) + 8
        h = painter.fontMetrics().height() + 2
        r = QRectF(box.left() + 3, box.bottom() - h - 3, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(STAR_GOLD if burst.is_best else QColor(0, 0, 0, 170))
        painter.drawRoundedRect(r, 3, 3)
        painter.setPen(QColor(20, 20, 20) if burst.is_best else Qt.GlobalColor.white)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def _badges(self, painter, box, decision, error) -> None:
        d = max(16, self.size // 8)
        if decision.flag is not Flag.NONE:
            c = QRectF(box.left() + 3, box.top() + 3, d, d)
            painter.setPen(QPen(Qt.GlobalColor.white, 1.5))
            painter.setBrush(PICK_GREEN if decision.picked else REJECT_RED)
            painter.drawEllipse(c)
            m = d * 0.28
            path = QPainterPath()
            if decision.picked:
                path.moveTo(c.left() + m, c.center().y())
                path.lineTo(c.center().x() - d * 0.05, c.bottom() - m)
                path.lineTo(c.right() - m, c.top() + m)
            else:
                path.moveTo(c.left() + m, c.top() + m)
                path.lineTo(c.right() - m, c.bottom() - m)
                path.moveTo(c.right() - m, c.top() + m)
                path.lineTo(c.left() + m, c.bottom() - m)
            painter.setPen(QPen(Qt.GlobalColor.white, max(2.0, d / 8)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
        if error:
            c = QRectF(box.right() - d - 3, box.top() + 3, d, d)
            painter.setPen(QPen(Qt.GlobalColor.white, 1.5))
            painter.setBrush(REJECT_RED)
            painter.drawEllipse(c)
            f = QFont(painter.font())
            f.setBold(True)
            f.setPixelSize(int(d * 0.7))
            painter.setFont(f)
            painter.drawText(c, Qt.AlignmentFlag.AlignCenter, "!")

    def _caption(self, painter, option, r, box, index, decision, selected) -> None:
        fm = option.fontMetrics
        line = fm.height()
        text_pen = option.palette.highlightedText().color() if selected \
            else option.palette.text().color()
        painter.setFont(option.font)
        y = box.bottom() + 2
        score = index.data(Role.SCORE)
        pct = index.data(Role.PERCENTILE)
        state = index.data(Role.STATE)
        if score is not None:
            caption = f"{score:.2f}" + (f"  ·  {pct:.0f} %" if pct is not None else "")
        elif state == "failed":
            caption = "error"
        else:
            caption = "scoring…"
        painter.setPen(text_pen)
        rect1 = QRect(r.left() + PAD, y, self.size, line)
        if score is not None:           # the number the eye scans the grid for
            bold = QFont(option.font)
            bold.setBold(True)
            painter.setFont(bold)
        painter.drawText(rect1, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption)
        painter.setFont(option.font)
        if decision.colour:     # a colour label: a bar under the photo, as Lightroom shows it
            painter.fillRect(QRect(r.left() + PAD, r.bottom() - 3, self.size, 3),
                             LABEL_COLOURS[decision.colour])
        if decision.stars:
            stars = "★" * decision.stars
            painter.setPen(STAR_GOLD)
            painter.drawText(rect1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, stars)
        painter.setPen(text_pen)
        name = fm.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                             Qt.TextElideMode.ElideMiddle, self.size)
        painter.drawText(QRect(r.left() + PAD, y + line, self.size, line),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
