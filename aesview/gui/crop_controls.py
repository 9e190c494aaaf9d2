"""The crop group's extra controls: the tightness slider (core.crop.plan_crop's tightness), the
accept button, and one line saying what drove the crop shown. Shows what the crop controller
says; says what the user asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from .controllers import CropView

CUES = (("subject", "classes"), ("aesam", "AesAM"), ("detail", "detail"), ("centre", "centre"))


def describe(view: CropView | None) -> str:
    """One line on where the crop shown came from."""
    if view is None:
        return ""
    if view.source == "yours":
        return "Your crop (moved or resized); the slider or another aspect proposes again."
    if view.source != "maps" or not view.explain:
        return "Provisional, from the scoring map; the finer crop maps are on their way."
    kept = view.explain.get("kept", {})
    maps = view.explain.get("maps", {})
    cues = (((("learned", "learned subject"),) if maps.get("learned", {}).get("grid") else ()) + CUES
            + ((("face", "faces"),) if maps.get("face", {}).get("faces") else ())
            + ((("people", "people"),) if maps.get("people", {}).get("found") else ()))
    shares = " · ".join(f"{label} {100 * kept[k]:.0f} %" for k, label in cues if k in kept)
    return (f"Inside the crop: {shares} of each map; window {100 * view.explain.get('scale', 1):.0f} %"
            " of the largest.")


class CropControls(QWidget):
    tightnessChosen = Signal(float)
    acceptRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Tightness"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("crop_tightness")
        self.slider.setRange(0, 100)
        self.slider.setToolTip("0: as large as the aspect allows; towards 100 the crop may shrink "
                               "to a quarter of its side where the subject is worth it")
        # Dragging sends only where it was let go; a click or a key moves it one step at once.
        self.slider.setTracking(False)
        self.slider.valueChanged.connect(lambda v: self.tightnessChosen.emit(v / 100))
        row.addWidget(self.slider, 1)
        self.value = QLabel("0")
        self.value.setMinimumWidth(24)
        self.slider.sliderMoved.connect(lambda v: self.value.setText(str(v)))
        row.addWidget(self.value)
        # One row with the slider: the panel must fit a 768-px-high laptop screen unscrolled.
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("accept_crop_button")
        self.accept_button.setToolTip("Ctrl+Enter: records the crop as Camera Raw crop settings in "
                                      "IMG.xmp, which Lightroom and darktable's Lightroom import read")
        self.accept_button.clicked.connect(self.acceptRequested)
        row.addWidget(self.accept_button)
        lay.addLayout(row)
        self.info = QLabel()
        self.info.setObjectName("crop_info")
        self.info.setWordWrap(True)
        self.info.hide()             # shown with the crop
        lay.addWidget(self.info)
        # Clicks must not take the keyboard from the grid (P, X and the arrows keep culling).
        for w in (self.slider, self.accept_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    def show_tightness(self, t: float) -> None:
        v = round(100 * t)
        self.value.setText(str(v))
        if self.slider.value() != v:
            self.slider.blockSignals(True)
            self.slider.setValue(v)
            self.slider.blockSignals(False)

    def show_view(self, view: CropView | None) -> None:
        text = describe(view)
        self.info.setText(text)
        self.info.setVisible(bool(text))
