""""What if" in the explanation panel: choose one change (a defect family the trainer knows, or
the suggested crop) and a strength, try it; the new score, the change and the before | after maps
appear below. It only shows what the WhatIfController says and asks through its signal."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QWidget,
)

from ..core.whatif import CROP, FAMILIES, MAX_STRENGTH

STEPS_PER_UNIT = 2          # the slider moves in half severities


class WhatIfBox(QGroupBox):
    tryRequested = Signal(str, float)    # what, strength

    def __init__(self, parent: QWidget | None = None):
        super().__init__("What if", parent)
        self.setObjectName("whatif_box")
        form = QFormLayout(self)
        self.change = QComboBox()
        self.change.setObjectName("whatif_change")
        for key, fam in FAMILIES.items():
            self.change.addItem(fam.label, key)
        self.change.addItem("The crop (as C shows it)", CROP)
        self.change.setToolTip("a defect the model was trained on, or the AesAM-guided crop; "
                               "the photo on disk is never changed")
        form.addRow("Change", self.change)
        row = QHBoxLayout()
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("whatif_strength")
        self.strength.setToolTip("the trainer's severities 1, 2, 3 (negative: darker, or a "
                                 "clockwise turn)")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        row.addWidget(self.strength, 1)
        row.addWidget(self.strength_label)
        form.addRow("Strength", row)
        self.try_button = QPushButton("Try it")
        self.try_button.setObjectName("whatif_try")
        form.addRow(self.try_button)
        self.result = QLabel("Try a change to see how the score and the map move.")
        self.result.setObjectName("whatif_result")
        self.result.setWordWrap(True)
        form.addRow(self.result)
        self.picture = QLabel()
        self.picture.setObjectName("whatif_picture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        form.addRow(self.picture)
        self._image = None
        self.change.currentIndexChanged.connect(self._change_chosen)
        self.strength.valueChanged.connect(self._show_strength)
        self.try_button.clicked.connect(self._try)
        for w in (self.change, self.strength, self.try_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)   # the grid keeps the culling keys
        self._change_chosen()

    def what(self) -> str:
        return str(self.change.currentData())

    def strength_value(self) -> float:
        return self.strength.value() / STEPS_PER_UNIT

    def _change_chosen(self, *_: object) -> None:
        what = self.what()
        fam = FAMILIES.get(what)
        top = int(MAX_STRENGTH * STEPS_PER_UNIT)
        self.strength.setEnabled(fam is not None)
        self.strength.setRange(-top if fam is not None and fam.signed else 0, top)
        if self.strength.value() == 0:
            self.strength.setValue(2 * STEPS_PER_UNIT)
        self._show_strength()

    def _show_strength(self, *_: object) -> None:
        self.strength_label.setText(f"{self.strength_value():+g}" if self.strength.isEnabled() else "")

    def _try(self) -> None:
        self.tryRequested.emit(self.what(), self.strength_value())

    # --- showing what the controller says ---
    def show_busy(self, busy: bool) -> None:
        self.try_button.setEnabled(not busy)
        if busy:
            self.result.setText("Trying it…")

    def show_result(self, view: object) -> None:
        """A WhatIfView, or None (another photo: nothing tried yet)."""
        if view is None:
            self._image = None
            self.picture.clear()
            self.result.setText("Try a change to see how the score and the map move.")
            return
        self.result.setText(view.text)   # type: ignore[attr-defined]
        self._image = view.image         # type: ignore[attr-defined]
        self._fit_picture()

    def _fit_picture(self) -> None:
        if self._image is None or self._image.isNull():
            self.picture.clear()
            return
        w = max(120, self.width() - 24)
        self.picture.setPixmap(QPixmap.fromImage(self._image).scaledToWidth(
            w, Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_picture()
