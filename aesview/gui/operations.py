"""Long actions the user starts (exports, copying or moving picks), in the manner of Anki's
aqt/operations: each operation is its work (run off the GUI thread, with progress and a cancel
flag) plus its own completion handlers, called on the GUI thread with the work's typed result.
Nothing inspects a result to guess what produced it.

An operation that needs the sidecars on disk first (copying picks takes their XMP along) says
`after_sidecars=True`: it starts when the sidecar queue has written everything queued before
it. Nothing on the GUI thread waits for that.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from .messages import OperationDone, OperationProgress, Reached, WorkerSignals
from .workers import MarkerTask, OperationTask, Progress


@dataclass
class Operation:
    label: str                                          # "Export", "Copy picks": one at a time each
    work: Callable[[Progress, threading.Event], Any]    # runs on the job pool
    on_success: Callable[[Any], None]                   # GUI thread, with work's result
    on_failure: Callable[[str], None] | None = None     # GUI thread, with the error's text
    total: int = 0
    after_sidecars: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)


class OperationRunner(QObject):
    started = Signal(str, int)          # label, total
    progressed = Signal(int, int, str)  # done, total, message
    idle = Signal()                     # the last running operation finished
    failed = Signal(str)                # an operation raised (and had no on_failure)

    def __init__(self, signals: WorkerSignals, job_pool: QThreadPool, sidecar_pool: QThreadPool,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._signals, self._jobs, self._sidecars = signals, job_pool, sidecar_pool
        self._ids = itertools.count(1)
        self._running: dict[int, Operation] = {}
        self._waiting: dict[int, Operation] = {}        # marker ticket -> operation
        signals.op_progress.connect(self._on_progress)
        signals.op_done.connect(self._on_done)
        signals.reached.connect(self._on_reached)

    def run(self, op: Operation) -> bool:
        """Start `op`; False (and nothing started) when one with its label is still running."""
        if any(o.label == op.label for o in (*self._running.values(), *self._waiting.values())):
            return False
        op_id = next(self._ids)
        self.started.emit(op.label, op.total)
        if op.after_sidecars:
            self._waiting[op_id] = op
            self._sidecars.start(MarkerTask(self._signals, op_id))
        else:
            self._start(op_id, op)
        return True

    def _start(self, op_id: int, op: Operation) -> None:
        self._running[op_id] = op
        self._jobs.start(OperationTask(self._signals, op_id, op.work, op.cancel))

    def _on_reached(self, msg: Reached) -> None:
        op = self._waiting.pop(msg.ticket, None)
        if op is not None:
            self._start(msg.ticket, op)

    def _on_progress(self, msg: OperationProgress) -> None:
        if msg.op_id in self._running:
            self.progressed.emit(msg.done, msg.total, msg.message)

    def _on_done(self, msg: OperationDone) -> None:
        op = self._running.pop(msg.op_id, None)
        if op is None:
            return
        if not self.busy():
            self.idle.emit()
        if msg.error is None:
            op.on_success(msg.result)
        elif op.on_failure is not None:
            op.on_failure(msg.error)
        else:
            self.failed.emit(f"{op.label} failed: {msg.error}")

    def busy(self) -> bool:
        return bool(self._running or self._waiting)

    def cancel_all(self) -> None:
        for op in (*self._running.values(), *self._waiting.values()):
            op.cancel.set()
