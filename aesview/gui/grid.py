"""The thumbnail grid: a QListView in icon mode that says what to do when it has nothing to
show, and tells which rows are on screen (their thumbnails load first)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView


class PhotoGrid(QListView):
    viewportChanged = Signal()       # scrolled or resized: other rows may be on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("grid")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)   # thousands of rows lay out in O(1) per row
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setSpacing(2)
        self.empty_text = ""

    def set_empty_text(self, text: str) -> None:
        """What the grid says while it has no rows (no folder, an empty folder, a filter
        that matches nothing)."""
        self.empty_text = text
        self.viewport().update()

    def moveCursor(self, action, modifiers):
        # The batched layout may not have reached the last rows yet (a shoot of thousands, just
        # opened): End and Home go by the model, not by what has been laid out.
        model = self.model()
        if model is not None and model.rowCount():
            if action == QAbstractItemView.CursorAction.MoveEnd:
                return model.index(model.rowCount() - 1, 0)
            if action == QAbstractItemView.CursorAction.MoveHome:
                return model.index(0, 0)
        return super().moveCursor(action, modifiers)

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        self.viewportChanged.emit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.viewportChanged.emit()

    def paintEvent(self, event):
        super().paintEvent(event)
        model = self.model()
        if self.empty_text and (model is None or model.rowCount() == 0):
            p = QPainter(self.viewport())
            p.setPen(self.palette().placeholderText().color())
            r = self.viewport().rect().adjusted(16, 16, -16, -16)
            p.drawText(r, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                       | Qt.TextFlag.TextWordWrap, self.empty_text)
            p.end()

    def visible_rows(self, ahead: float = 1.0) -> list[int]:
        """Rows on screen, top to bottom, then the next `ahead` screenfuls (what a scroll
        shows next). Sampling points a half cell apart finds the first and the last row on
        screen; rows are laid out in order, so every row between them is on screen too."""
        model = self.model()
        n = model.rowCount() if model is not None else 0
        vp = self.viewport().rect()
        if not n or vp.isEmpty():
            return []
        cell = self.sizeHintForIndex(model.index(0, 0))
        step_x = max(8, cell.width() // 2)
        step_y = max(8, cell.height() // 2)
        rows = []
        for y in range(vp.top() + 1, vp.bottom() + step_y, step_y):
            for x in range(vp.left() + 1, vp.right() + step_x, step_x):
                idx = self.indexAt(QPoint(min(x, vp.right()), min(y, vp.bottom())))
                if idx.isValid():
                    rows.append(idx.row())
        if not rows:
            return []
        first, last = min(rows), max(rows)
        extra = int((last - first + 1) * ahead)
        return list(range(first, min(n, last + 1 + extra)))
