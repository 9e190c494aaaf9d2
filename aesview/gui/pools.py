"""The app's worker pools: QThreadPools that take no more work once their owner shut down.

Why: a task started after the owner's last waitForDone (a late worker signal, a timer that
fires between close and deletion) still runs when Qt later destroys the pool from a
deleteLater, and ~QThreadPool waits for it while the GUI thread holds the GIL the task needs to
go on: the process hangs (seen in a GUI test run, gdb: the GUI thread in ~QThreadPool inside
QTest.qWaitForWindowExposed, a pooled thread in Pillow's decoder waiting for the GIL).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool


class WorkerPool(QThreadPool):
    def __init__(self, parent: QObject | None = None, threads: int | None = None):
        super().__init__(parent)
        if threads is not None:
            self.setMaxThreadCount(threads)
        self.closed = False

    def start(self, runnable: QRunnable, priority: int = 0) -> None:  # type: ignore[override]
        if not self.closed:
            super().start(runnable, priority)

    def close(self) -> None:
        """Drop what is queued and refuse anything new; what runs finishes (waitForDone)."""
        self.closed = True
        self.clear()
