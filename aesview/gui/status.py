"""Status-bar progress: a label, a bar with the count, the time left, and a cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} min {s:02d} s left"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min left"


class JobProgress(QWidget):
    cancelRequested = Signal()

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(200)
        self.bar.setFormat("%v / %m")
        self.eta = QLabel()
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setObjectName(f"{name}_cancel")
        self.cancel.clicked.connect(self.cancelRequested)
        for w in (self.label, self.bar, self.eta, self.cancel):
            lay.addWidget(w)
        self._t0 = 0.0
        self._skip = 0
        self.hide()

    def begin(self, text: str, total: int) -> None:
        self.label.setText(text)
        self.bar.setRange(0, max(0, total))
        self.bar.setValue(0)
        self.eta.setText("")
        self._t0 = time.monotonic()
        self._skip = 0
        self.show()

    def skip(self, n: int = 1) -> None:
        """Items that took no time (cache hits) don't count towards the rate."""
        self._skip += n

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(max(0, total))
        self.bar.setValue(done)
        work = done - self._skip
        if work > 0 and done < total:
            rate = (time.monotonic() - self._t0) / work
            self.eta.setText(format_eta(rate * (total - done)))
        else:
            self.eta.setText("")

    def end(self) -> None:
        self.hide()
