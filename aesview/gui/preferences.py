"""Edit → Preferences: one row per core.settings.PREFERENCES declaration (label, range, unit,
help), so a preference declared there needs no code here. OK saves the settings and puts them
into effect at once (core.settings.apply_to_process); Cancel changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import PREFERENCES

if TYPE_CHECKING:
    from .session import Session


class PreferencesDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Preferences")
        self.setObjectName("preferences")
        form = QFormLayout()
        self.fields: dict[str, QDoubleSpinBox] = {}
        for pref in PREFERENCES:
            box = QDoubleSpinBox(self)
            box.setObjectName(pref.name)
            box.setRange(pref.minimum, pref.maximum)
            box.setSingleStep(pref.step)
            box.setDecimals(0 if float(pref.step).is_integer() else 2)
            box.setSuffix(pref.suffix)
            box.setValue(float(getattr(session.settings, pref.name)))
            box.setToolTip(pref.help)
            help_text = QLabel(pref.help, self)
            help_text.setWordWrap(True)
            help_text.setContentsMargins(0, 0, 0, 8)
            form.addRow(pref.label, box)
            form.addRow(help_text)                 # under it, the dialog's whole width
            self.fields[pref.name] = box
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, parent=self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(480)
        self.adjustSize()                          # the wrapped help's height at that width

    def accept(self) -> None:
        st = self.session.settings
        for name, box in self.fields.items():
            setattr(st, name, box.value())
        checked = st.validated()
        for name in self.fields:
            setattr(st, name, getattr(checked, name))
        self.session.apply_settings()
        super().accept()
