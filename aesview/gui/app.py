"""Entry point of the desktop app: `aesview`, `aesview FOLDER`, `aesview gui [FOLDER]`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..core.settings import load_settings

# PySide6 builds that drop references to None/True (QModelIndex.data() returning None,
# Signal.emit()): CPython < 3.12 aborts with "none_dealloc" within minutes of browsing.
# Measured with tests/test_gui_refcount.py; 3.12+ makes None and True immortal.
KNOWN_BAD_PYSIDE = ("6.12.0",)


def pyside_problem() -> str | None:
    """Why this PySide6 can't run the app on this Python, or None."""
    import PySide6
    if sys.version_info < (3, 12) and PySide6.__version__ in KNOWN_BAD_PYSIDE:
        return (f"PySide6 {PySide6.__version__} crashes on Python {sys.version_info.major}."
                f"{sys.version_info.minor} (it drops references to None: none_dealloc). "
                "Install a sound one: pip install 'PySide6-Essentials>=6.10,<6.12'")
    return None


def _start_folder(folder: str | None, settings) -> Path | None:
    """The folder asked for; else the last one opened; else (first run) the sample shoot."""
    if folder:
        return Path(folder)
    for recent in settings.recent_folders:
        if Path(recent).is_dir():
            return Path(recent)
    try:
        from ..paths import editable_samples_dir
        samples = editable_samples_dir()
        return samples if samples.is_dir() else None
    except OSError:
        return None


def create_window(folder: str | None = None, settings=None):
    """Build the main window (a QApplication must exist) and open the starting folder."""
    from .log_panel import QtLogHandler
    from .main_window import MainWindow

    settings = settings or load_settings()
    win = MainWindow(settings)
    handler = QtLogHandler(win.log_panel)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger("aesview").addHandler(handler)
    win.destroyed.connect(lambda *_: logging.getLogger("aesview").removeHandler(handler))
    start = _start_folder(folder, settings)
    if start is not None:
        win.session.open_folder(start)
    return win


def run_gui(folder: str | None = None, argv=None) -> int:
    from PySide6.QtWidgets import QApplication

    from .. import __version__

    problem = pyside_problem()
    if problem:
        print(f"aesview: {problem}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("aesview")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("aesview")
    win = create_window(folder)
    win.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(run_gui(sys.argv[1] if len(sys.argv) > 1 else None))
