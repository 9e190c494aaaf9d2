"""A window beside the app: the current photo's signed AesAM next to the paper's high-class map,
and every attribute map as small multiples on one colour scale. It shows what the
MapsController renders (off the GUI thread) and follows the selected photo while it is open."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QPixmap, QShowEvent
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget


class MapsWindow(QDialog):
    visibilityChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("maps_window")
        self.setWindowTitle("Maps side by side")
        self.setModal(False)
        self.resize(900, 760)
        inner = QWidget()
        lay = QVBoxLayout(inner)
        self.caption = QLabel("Select a scored photo.")
        self.caption.setWordWrap(True)
        self.side = QLabel()
        self.side.setObjectName("maps_side_by_side")
        self.multiples_title = QLabel("Attribute maps (AttAM), one scale for all")
        self.multiples = QLabel()
        self.multiples.setObjectName("maps_multiples")
        for w in (self.caption, self.side, self.multiples_title, self.multiples):
            lay.addWidget(w)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def show_maps(self, view: object) -> None:
        """A MapsView, or None."""
        if view is None:
            self.caption.setText("Select a scored photo.")
            self.side.clear()
            self.multiples.clear()
            return
        error = getattr(view, "error", None)
        self.caption.setText(str(error or getattr(view, "caption", "")))
        for label, image in ((self.side, getattr(view, "side_by_side", None)),
                             (self.multiples, getattr(view, "multiples", None))):
            if image is None:
                label.clear()
            else:
                label.setPixmap(QPixmap.fromImage(image))
                label.setAlignment(Qt.AlignmentFlag.AlignLeft)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.visibilityChanged.emit(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.visibilityChanged.emit(False)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.visibilityChanged.emit(False)
