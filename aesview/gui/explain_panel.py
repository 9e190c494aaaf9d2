""""Why this score": the score in words, overlay controls and legend, the attribute chart,
"what if", and the crop controls (`crop_box`, which the window pins under the rest)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ..core.choices import OVERLAYS
from ..core.crop import ASPECT_PRESETS, CUSTOM, aspect_label
from ..core.explain import colorbar_rgba
from ..core.map_views import MODE_LABELS as MAP_MODE_LABELS
from ..core.map_views import MODES as MAP_MODES
from .crop_controls import CropControls
from .qtimage import rgb_to_qimage
from .whatif_box import WhatIfBox

DIVERGING_CMAPS = ("RdBu_r", "coolwarm", "PiYG", "seismic", "bwr", "PuOr_r")


class Legend(QWidget):
    """A colour bar with its meaning written at both ends."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cmap = "RdBu_r"
        self.low_text, self.high_text = "lowers score", "raises score"
        self.centre_text = "0"
        self._bar = rgb_to_qimage(colorbar_rgba(self.cmap))
        self.setMinimumHeight(40)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_cmap(self, cmap: str) -> None:
        self.cmap = cmap
        self._bar = rgb_to_qimage(colorbar_rgba(cmap))
        self.update()

    def set_texts(self, low: str, high: str, centre: str = "0") -> None:
        self.low_text, self.high_text, self.centre_text = low, high, centre
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
        if self.centre_text:
            p.drawText(int(w / 2 - fm.horizontalAdvance(self.centre_text) / 2), y, self.centre_text)
        p.end()   # not when Python collects it: a frame kept alive would keep it painting


class AttributeBars(QWidget):
    """Horizontal bars 0..1, one per attribute; clicking one shows its AttAM. An attribute the
    detail view found wanting at 100 % (`flagged`) gets a marker after its value, and its row's
    tooltip says what was found: its bar reads the whole frame, where grain hardly shows."""
    attributeClicked = Signal(str)
    FLAG = "◆ 100 %"
    FLAG_COLOUR = QColor(200, 120, 0)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.values: dict[str, float] = {}
        self.flagged: dict[str, str] = {}
        self.selected = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: dict[str, float], selected: str = "",
                   flagged: dict[str, str] | None = None) -> None:
        self.values = dict(values)
        self.flagged = {k: v for k, v in (flagged or {}).items() if k in self.values}
        self.selected = selected
        self.setFixedHeight(max(1, len(self.values)) * self._row() + 4)
        self.update()

    def _row(self) -> int:
        return self.fontMetrics().height() + 4

    def _flag_width(self) -> int:
        return self.fontMetrics().horizontalAdvance(self.FLAG) + 6 if self.flagged else 0

    def row_at(self, y: float) -> str:
        """The attribute drawn at height y, or ""."""
        i = int(y // self._row())
        names = list(self.values)
        return names[i] if 0 <= i < len(names) else ""

    def tooltip_at(self, y: float) -> str:
        name = self.row_at(y)
        if name in self.flagged:
            return (f"{name.replace('_', ' ')}: this bar reads the whole frame, where "
                    f"{self.flagged[name]} hardly shows; the detail view finds it at 100 % "
                    f"(see the words above)")
        return ""

    def sizeHint(self) -> QSize:
        return QSize(220, max(1, len(self.values)) * self._row() + 4)

    def mousePressEvent(self, event):
        name = self.row_at(event.position().y())
        if name:
            self.attributeClicked.emit(name)

    def event(self, e):
        if e.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(e.pos().y())
            if text:
                QToolTip.showText(e.globalPos(), text, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def paintEvent(self, event):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        row = self._row()
        if not self.values:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft, "no attributes yet")
            p.end()
            return
        label_w = max(fm.horizontalAdvance(n.replace("_", " ")) for n in self.values) + 8
        flag_w = self._flag_width()
        bar_w = max(20, self.width() - label_w - 40 - flag_w)
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
            if name in self.flagged:
                p.setPen(self.FLAG_COLOUR)
                p.drawText(QRectF(track.right() + 40, y, flag_w, row),
                           Qt.AlignmentFlag.AlignVCenter, self.FLAG)
        p.end()


class ExplainPanel(QWidget):
    """Shows what the explanation and crop controllers say; says what the user asked for
    through its signals (it keeps no state of its own)."""
    modeChosen = Signal(str)
    attributeChosen = Signal(str)
    attributeClicked = Signal(str)
    cmapChosen = Signal(str)
    scaleChosen = Signal(str)            # core.map_views: absolute, relative, normalised
    compareRequested = Signal()          # open the maps side by side
    opacityChosen = Signal(float)
    aspectChosen = Signal(str)           # a preset key, or CUSTOM: ask for a W:H
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
        # One row, no "Overlay" label (the box's title says it) and tight spacing: a second row
        # pushed the crop buttons below the fold at 1366 x 768, a wider one took the photo's share.
        modes = QHBoxLayout()
        modes.setSpacing(2)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for choice in OVERLAYS:
            b = QRadioButton(choice.label)
            b.setObjectName(f"overlay_{choice.key}")
            b.setToolTip(f"{choice.tip} ({choice.shortcut})")
            self.mode_group.addButton(b)
            self.mode_buttons[choice.key] = b
            modes.addWidget(b)
            b.clicked.connect(lambda _c=False, k=choice.key: self.modeChosen.emit(k))
        form.addRow(modes)
        self.attribute = QComboBox()
        self.attribute.setObjectName("attribute")
        self.attribute.textActivated.connect(self.attributeChosen)
        form.addRow("Attribute", self.attribute)
        self.scale = QComboBox()
        self.scale.setObjectName("map_scale")
        for key in MAP_MODES:
            self.scale.addItem(MAP_MODE_LABELS[key], key)
        self.scale.setToolTip("absolute: 0 is neutral, the sign says which way a region pushes; "
                              "relative: against the photo's own average; normalised: its weakest "
                              "to its strongest, as the paper's figures")
        self.scale.activated.connect(lambda i: self.scaleChosen.emit(self.scale.itemData(i)))
        form.addRow("Scale", self.scale)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacity")
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(lambda v: self.opacityChosen.emit(v / 100.0))
        self.cmap = QComboBox()
        self.cmap.setObjectName("cmap")
        self.cmap.addItems(DIVERGING_CMAPS)
        self.cmap.textActivated.connect(self.cmapChosen)
        # one row for both (and the attribute list only in AttAM mode): with a photo's words
        # above, the crop buttons must still show without scrolling on a 1366 x 768 laptop
        looks = QHBoxLayout()
        looks.addWidget(self.opacity, 1)
        looks.addWidget(QLabel("Colours"))
        looks.addWidget(self.cmap, 1)
        form.addRow("Opacity", looks)
        self._heat_form = form
        self.legend = Legend()
        form.addRow(self.legend)
        self.compare_button = QPushButton("Maps side by side…")
        self.compare_button.setObjectName("compare_maps")
        self.compare_button.setToolTip("the AesAM beside the paper's high-class map, and every "
                                       "attribute map on one scale (M)")
        self.compare_button.clicked.connect(self.compareRequested)
        form.addRow(self.compare_button)
        lay.addWidget(box)

        attr_box = QGroupBox("Attributes")
        al = QVBoxLayout(attr_box)
        self.bars = AttributeBars()
        self.bars.attributeClicked.connect(self.attributeClicked)
        al.addWidget(self.bars)
        lay.addWidget(attr_box)

        self.whatif = WhatIfBox()
        lay.addWidget(self.whatif)
        # The crop group is not in this layout: the window pins it under the scrolled part, so
        # its buttons show whatever the length of the words above (another model, language or
        # photo; a little more text once put them below the fold of a 1366 x 768 laptop).
        # Built after the rest, so Tab reaches it last, as it is seen.
        self.crop_box = QGroupBox("Crop")
        self.crop_box.setObjectName("crop_box")
        cl = QFormLayout(self.crop_box)
        self.aspect = QComboBox()
        self.aspect.setObjectName("aspect")
        for preset in ASPECT_PRESETS:
            self.aspect.addItem(preset.label, preset.key)
        self.aspect.activated.connect(lambda i: self.aspectChosen.emit(self.aspect.itemData(i)))
        cl.addRow("Aspect", self.aspect)
        buttons = QHBoxLayout()
        self.crop_button = QPushButton("Show crop (R)")
        self.crop_button.setObjectName("crop_button")
        self.crop_button.clicked.connect(self.cropRequested)
        self.export_button = QPushButton("Export crop (Enter)")
        self.export_button.setObjectName("export_button")
        self.export_button.clicked.connect(self.exportRequested)
        buttons.addWidget(self.crop_button)
        buttons.addWidget(self.export_button)
        cl.addRow(buttons)
        self.crop_controls = CropControls()
        cl.addRow(self.crop_controls)
        lay.addStretch(1)
        # A click on a control must not take the keyboard from the grid: P, X and the arrows
        # keep culling. Tab still reaches every control.
        for w in (*self.mode_buttons.values(), self.attribute, self.opacity, self.cmap, self.scale,
                  self.compare_button, self.aspect, self.crop_button, self.export_button):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)

    # --- showing what the controllers say ---
    def show_options(self, mode: str, attribute: str, cmap: str, opacity: float) -> None:
        for w in (self.mode_group, self.attribute, self.cmap, self.opacity):
            w.blockSignals(True)
        try:
            if mode in self.mode_buttons:
                self.mode_buttons[mode].setChecked(True)
            self._heat_form.setRowVisible(self.attribute, mode == "attam")
            if attribute and self.attribute.findText(attribute) >= 0:
                self.attribute.setCurrentText(attribute)
            self.cmap.setCurrentText(cmap)
            self.opacity.setValue(round(opacity * 100))
        finally:
            for w in (self.mode_group, self.attribute, self.cmap, self.opacity):
                w.blockSignals(False)
        self.legend.set_cmap(cmap)

    def show_legend(self, low: str, high: str, centre: str = "0", cmap: str = "") -> None:
        self.legend.set_texts(low, high, centre)
        self.legend.set_cmap(cmap or self.cmap.currentText())

    def show_scale(self, scale: str, fixed_cmap: str = "") -> None:
        """`fixed_cmap`: the colour map this scale draws with whatever is chosen (the choice is
        greyed out meanwhile, so it never names colours that aren't shown)."""
        i = self.scale.findData(scale)
        if i >= 0 and i != self.scale.currentIndex():
            self.scale.setCurrentIndex(i)
        self.cmap.setEnabled(not fixed_cmap)
        self.cmap.setToolTip(f"this scale draws with the paper's colour map ({fixed_cmap})"
                             if fixed_cmap else "")

    def show_explanation(self, title: str, words: str, attributes: dict[str, float],
                         names: tuple[str, ...], selected: str, meaning: str = "",
                         seen_at_100: dict[str, str] | None = None) -> None:
        if names and tuple(self.attribute.itemText(i) for i in range(self.attribute.count())) != names:
            self.attribute.blockSignals(True)
            self.attribute.clear()
            self.attribute.addItems(list(names))
            self.attribute.blockSignals(False)
        if selected and self.attribute.currentText() != selected:
            self.attribute.blockSignals(True)
            self.attribute.setCurrentText(selected)
            self.attribute.blockSignals(False)
        self.title.setText(title)
        self.words.setText(words)
        self.title.setToolTip(meaning)
        self.words.setToolTip(meaning)
        self.bars.set_values(attributes, selected if self.attribute.isEnabled() else "",
                             seen_at_100)

    def show_aspect(self, key: str) -> None:
        i = self.aspect.findData(key)
        if i < 0:                       # a custom W:H: shown as itself, before the placeholder
            self.aspect.insertItem(self.aspect.findData(CUSTOM), aspect_label(key), key)
            i = self.aspect.findData(key)
        self.aspect.setCurrentIndex(i)

    def show_crop_state(self, shown: bool) -> None:
        self.crop_button.setText("Hide crop (R)" if shown else "Show crop (R)")
