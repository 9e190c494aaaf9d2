""""Why this score": the score in words, overlay controls and legend, the attribute chart,
and the crop controls."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QRadioButton, QSizePolicy, QSlider,
                               QVBoxLayout, QWidget)

from ..core.explain import colorbar_rgba
from ..core.choices import OVERLAYS
from ..core.crop import ASPECT_PRESETS
from .qtimage import rgb_to_qimage

DIVERGING_CMAPS = ("RdBu_r", "coolwarm", "PiYG", "seismic", "bwr", "PuOr_r")


class Legend(QWidget):
    """A colour bar with its meaning written at both ends."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cmap = "RdBu_r"
        self.low_text, self.high_text = "lowers score", "raises score"
        self._bar = rgb_to_qimage(colorbar_rgba(self.cmap))
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_cmap(self, cmap: str) -> None:
        self.cmap = cmap
        self._bar = rgb_to_qimage(colorbar_rgba(cmap))
        self.update()

    def set_texts(self, low: str, high: str) -> None:
        self.low_text, self.high_text = low, high
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, 40)

    def paintEvent(self, event):
        p = QPainter(self)
        w = self.width()
        bar = QRectF(0, 2, w, 14)
        p.drawImage(bar, self._bar)
        p.setPen(self.palette().mid().color())
        p.drawRect(bar.adjusted(0, 0, -1, 0))
        p.setPen(self.palette().text().color())
        fm = p.fontMetrics()
        y = 20 + fm.ascent()
        p.drawText(0, y, "◀ " + self.low_text)
        t = self.high_text + " ▶"
        p.drawText(w - fm.horizontalAdvance(t) - 1, y, t)
        p.drawText(int(w / 2 - fm.horizontalAdvance("0") / 2), y, "0")


class AttributeBars(QWidget):
    """Horizontal bars 0..1, one per attribute; clicking one shows its AttAM."""
    attributeClicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.values: dict[str, float] = {}
        self.selected = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: dict[str, float], selected: str = "") -> None:
        self.values = dict(values)
        self.selected = selected
        self.setFixedHeight(max(1, len(self.values)) * self._row() + 4)
        self.update()

    def _row(self) -> int:
        return self.fontMetrics().height() + 6

    def sizeHint(self) -> QSize:
        return QSize(220, max(1, len(self.values)) * self._row() + 4)

    def mousePressEvent(self, event):
        i = int(event.position().y() // self._row())
        names = list(self.values)
        if 0 <= i < len(names):
            self.attributeClicked.emit(names[i])

    def paintEvent(self, event):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        row = self._row()
        if not self.values:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft, "no attributes yet")
            return
        label_w = max(fm.horizontalAdvance(n.replace("_", " ")) for n in self.values) + 8
        bar_w = max(20, self.width() - label_w - 40)
        for i, (name, v) in enumerate(self.values.items()):
            y = i * row + 2
            p.setPen(self.palette().text().color())
            f = p.font()
            f.setBold(name == self.selected)
            p.setFont(f)
            p.drawText(QRectF(0, y, label_w, row), Qt.AlignmentFlag.AlignVCenter,
                       name.replace("_", " "))
            track = QRectF(label_w, y + 3, bar_w, row - 6)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.palette().alternateBase())
            p.drawRoundedRect(track, 3, 3)
            fill = QRectF(track.left(), track.top(), track.width() * max(0.0, min(1.0, v)),
                          track.height())
            p.setBrush(QColor(70, 130, 200) if name != self.selected else QColor(230, 140, 40))
            p.drawRoundedRect(fill, 3, 3)
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(track.right() + 4, y, 36, row), Qt.AlignmentFlag.AlignVCenter,
                       f"{v:.2f}")


class ExplainPanel(QWidget):
    overlayChanged = Signal()            # mode, attribute or colour map changed
    opacityChanged = Signal(float)
    aspectChanged = Signal(str)
    cropRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.title = QLabel("No photo selected")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.title.setFont(f)
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setTextFormat(Qt.TextFormat.RichText)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.title)
        lay.addWidget(self.words)

        box = QGroupBox("Heat map")
        form = QFormLayout(box)
        modes = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons = {}
        for choice in OVERLAYS:
            key = choice.key
            b = QRadioButton(choice.label)
            b.setToolTip(f"{choice.tip} ({choice.shortcut})")
            b.setObjectName(f"overlay_{key}")
            self.mode_group.addButton(b)
            self.mode_buttons[key] = b
            modes.addWidget(b)
            b.toggled.connect(self._mode_toggled)
        form.addRow("Overlay", modes)
        self.attribute = QComboBox()
        self.attribute.setObjectName("attribute")
        self.attribute.currentTextChanged.connect(self._attribute_changed)
        form.addRow("Attribute", self.attribute)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacity")
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        form.addRow("Opacity", self.opacity)
        self.cmap = QComboBox()
        self.cmap.setObjectName("cmap")
        self.cmap.addItems(DIVERGING_CMAPS)
        self.cmap.currentTextChanged.connect(self._cmap_changed)
        form.addRow("Colours", self.cmap)
        self.legend = Legend()
        form.addRow(self.legend)
        lay.addWidget(box)

        attr_box = QGroupBox("Attributes")
        al = QVBoxLayout(attr_box)
        self.bars = AttributeBars()
        self.bars.attributeClicked.connect(self._attribute_clicked)
        al.addWidget(self.bars)
        lay.addWidget(attr_box)

        crop_box = QGroupBox("Crop")
        cl = QFormLayout(crop_box)
        self.aspect = QComboBox()
        self.aspect.setObjectName("aspect")
        for preset in ASPECT_PRESETS:
            self.aspect.addItem(preset.label, preset.key)
        self.aspect.currentIndexChanged.connect(
            lambda _i: self.aspectChanged.emit(self.aspect.currentData()))
        cl.addRow("Aspect", self.aspect)
        buttons = QHBoxLayout()
        self.crop_button = QPushButton("Show crop (C)")
        self.crop_button.setObjectName("crop_button")
        self.crop_button.clicked.connect(self.cropRequested)
        self.export_button = QPushButton("Export crop (Enter)")
        self.export_button.setObjectName("export_button")
        self.export_button.clicked.connect(self.exportRequested)
        buttons.addWidget(self.crop_button)
        buttons.addWidget(self.export_button)
        cl.addRow(buttons)
        lay.addWidget(crop_box)
        lay.addStretch(1)
        # A click on a control must not take the keyboard from the grid: P, X and the arrows
        # keep culling. Tab still reaches every control.
        for w in (*self.mode_buttons.values(), self.attribute, self.opacity, self.cmap,
                  self.aspect, self.crop_button, self.export_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    # --- state ---
    def mode(self) -> str:
        for key, b in self.mode_buttons.items():
            if b.isChecked():
                return key
        return "none"

    def set_mode(self, mode: str) -> None:
        self.mode_buttons.get(mode, self.mode_buttons["none"]).setChecked(True)

    def _mode_toggled(self, checked: bool) -> None:
        if checked:
            self.attribute.setEnabled(self.mode() == "attam")
            self._update_legend()
            self.overlayChanged.emit()

    def _cmap_changed(self, cmap: str) -> None:
        self.legend.set_cmap(cmap)
        self.overlayChanged.emit()

    def _attribute_changed(self, _name: str) -> None:
        self._update_legend()
        self.overlayChanged.emit()

    def _attribute_clicked(self, name: str) -> None:
        self.attribute.setCurrentText(name)
        self.set_mode("attam")

    def _update_legend(self) -> None:
        if self.mode() == "attam":
            a = self.attribute.currentText().replace("_", " ") or "attribute"
            self.legend.set_texts(f"against {a}", f"for {a}")
        else:
            self.legend.set_texts("lowers score", "raises score")

    def set_attribute_names(self, names: list[str], selected: str = "") -> None:
        current = selected or self.attribute.currentText()
        self.attribute.blockSignals(True)
        self.attribute.clear()
        self.attribute.addItems(names)
        if current in names:
            self.attribute.setCurrentText(current)
        self.attribute.blockSignals(False)
        self._update_legend()

    def attribute_name(self) -> str:
        return self.attribute.currentText()

    def opacity_value(self) -> float:
        return self.opacity.value() / 100.0

    def show_text(self, title: str, words: str, attributes: dict[str, float]) -> None:
        self.title.setText(title)
        self.words.setText(words)
        self._update_legend()
        self.bars.set_values(attributes, self.attribute.currentText()
                             if self.mode() == "attam" else "")
