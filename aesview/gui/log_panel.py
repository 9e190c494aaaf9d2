"""The one place every worker error and warning reaches: a read-only log in a dock, fed by
the window and by Python logging (the core's warnings appear here too)."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit

COLOURS = {"error": QColor(207, 34, 46), "warning": QColor(191, 135, 0)}


class LogPanel(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setObjectName("log")
        self.entries: list[tuple[str, str]] = []   # (level, message), for tests and copy-out

    def add(self, level: str, message: str) -> None:
        self.entries.append((level, message))
        fmt = QTextCharFormat()
        if level in COLOURS:
            fmt.setForeground(COLOURS[level])
        cursor = self.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertText(f"{time.strftime('%H:%M:%S')}  {level:<7} {message}\n", fmt)
        self.ensureCursorVisible()


class _Bridge(QObject):
    record = Signal(str, str)


class QtLogHandler(logging.Handler):
    """Forwards log records to the panel through a queued signal (any thread may log)."""

    def __init__(self, panel: LogPanel):
        super().__init__(logging.INFO)
        self.bridge = _Bridge()
        self.bridge.record.connect(panel.add)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = "error" if record.levelno >= logging.ERROR else \
                "warning" if record.levelno >= logging.WARNING else "info"
            self.bridge.record.emit(level, self.format(record))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
