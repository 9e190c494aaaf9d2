"""Background work. Workers compute and emit plain data (numpy, QImage, records); they never
touch widgets or build QPixmaps. Every result carries the generation of the folder load that
asked for it, so the window drops results of a folder the user has left.

- thumbnails, sidecar reads, full-size photo loads: QRunnables on a QThreadPool;
- sidecar writes: a one-thread pool, so writes to one file land in the order they were made;
- scoring: ONE QThread owning the model (it is not thread-safe), fed jobs through a signal.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThread, Signal, Slot

from ..core.culling import Decision
from .qtimage import pil_to_qimage


class TaskSignals(QObject):
    """Lives in the GUI thread; pool threads emit on it, so slots run queued in the GUI thread."""
    thumbnail = Signal(int, str, object, int, object)   # gen, path, QImage|None, size, error
    metadata = Signal(int, str, object, object, object)  # gen, path, captured, Decision|None, error
    photo = Signal(int, str, object, object, object)     # token, path, (preview, full), (w,h), error
    progress = Signal(str, int, int, str)                # job kind, done, total, message
    finished = Signal(str, object)                       # job kind, result
    error = Signal(str)                                  # one line for the log panel


def capture_time(path: str) -> float | None:
    """EXIF DateTimeOriginal (else DateTime) as POSIX time; the file's mtime if it has none."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            exif = im.getexif()
            text = exif.get_ifd(0x8769).get(36867) or exif.get(306)
        if text:
            return datetime.strptime(str(text).strip()[:19], "%Y:%m:%d %H:%M:%S").timestamp()
    except Exception:  # noqa: BLE001 - a missing or odd date just falls back to mtime
        pass
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


class ThumbnailTask(QRunnable):
    """Thumbnail (EXIF-embedded where big enough), capture time and sidecar decision."""

    def __init__(self, signals: TaskSignals, gen: int, path: str, size: int,
                 sidecar_style: str | None):
        super().__init__()
        self.signals, self.gen, self.path, self.size = signals, gen, path, size
        self.sidecar_style = sidecar_style

    def run(self) -> None:
        from ..core.imaging import load_thumbnail
        image, error = None, None
        try:
            image = pil_to_qimage(load_thumbnail(self.path, self.size))
        except Exception as exc:  # noqa: BLE001 - reported on the thumbnail and in the log
            error = str(exc) or type(exc).__name__
        self.signals.thumbnail.emit(self.gen, self.path, image, self.size, error)
        if self.sidecar_style is None:
            return
        decision, sc_error = None, None
        try:
            from ..core.xmp import read_decision
            decision = read_decision(self.path, self.sidecar_style)
        except Exception as exc:  # noqa: BLE001
            sc_error = str(exc)
        self.signals.metadata.emit(self.gen, self.path, capture_time(self.path), decision,
                                   sc_error)


class PhotoLoadTask(QRunnable):
    """The selected photo at full resolution for the viewer (100 % zoom shows real pixels)."""

    def __init__(self, signals: TaskSignals, token: int, path: str, max_side: int | None = None):
        super().__init__()
        self.signals, self.token, self.path, self.max_side = signals, token, path, max_side

    def run(self) -> None:
        from ..core.imaging import load_image
        from PySide6.QtGui import QImage

        from .viewer import preview_of
        try:
            photo = load_image(self.path, max_side=self.max_side)
            # RGB32 is what the raster paint engine draws fastest; convert here, not in the GUI.
            full = pil_to_qimage(photo.image).convertToFormat(QImage.Format.Format_RGB32)
            self.signals.photo.emit(self.token, self.path, (preview_of(full), full),
                                    tuple(photo.size), None)
        except Exception as exc:  # noqa: BLE001
            self.signals.photo.emit(self.token, self.path, None, None, str(exc))


class SidecarWriteTask(QRunnable):
    def __init__(self, signals: TaskSignals, path: str, decision: Decision, style: str):
        super().__init__()
        self.signals, self.path, self.decision, self.style = signals, path, decision, style

    def run(self) -> None:
        from ..core.xmp import write_decision
        try:
            write_decision(self.path, self.decision, self.style)
        except Exception as exc:  # noqa: BLE001
            self.signals.error.emit(f"sidecar not written: {exc}")


class JobTask(QRunnable):
    """Runs fn(progress, cancel) -> result off the GUI thread; progress(done, total, message)."""

    def __init__(self, signals: TaskSignals, kind: str,
                 fn: Callable[[Callable[[int, int, str], None], threading.Event], object]):
        super().__init__()
        self.signals, self.kind, self.fn = signals, kind, fn
        self.cancel = threading.Event()

    def run(self) -> None:
        def progress(done: int, total: int, message: str = "") -> None:
            self.signals.progress.emit(self.kind, done, total, message)
        try:
            result = self.fn(progress, self.cancel)
        except Exception as exc:  # noqa: BLE001
            self.signals.error.emit(f"{self.kind} failed: {exc}")
            result = exc
        self.signals.finished.emit(self.kind, result)


@dataclass
class ScoreJob:
    gen: int
    paths: list[str]
    model: str | None          # None = the shipped default
    device: str                # auto | cpu | cuda
    cancel: threading.Event = field(default_factory=threading.Event)


class ScoringWorker(QObject):
    """Lives in its own QThread and owns the model; one job at a time, in order."""
    started = Signal(int, int, str)          # gen, total, "model on device"
    record = Signal(int, object)             # gen, ScoreRecord
    progress = Signal(int, int, int)         # gen, done, total
    finished = Signal(int, bool)             # gen, cancelled
    error = Signal(str)

    def __init__(self, cache_factory: Callable[[], object] | None = None):
        super().__init__()
        self._scorer = None
        self._key = None
        self._cache = None
        self._cache_factory = cache_factory

    def _scorer_for(self, model: str | None, device: str):
        from ..core.scoring import Scorer
        from ..core.weights import load_model
        if self._scorer is None or self._key != (model, device):
            self._scorer = None
            import torch
            use = device
            if device == "cuda" and not torch.cuda.is_available():
                self.error.emit("CUDA was chosen, but torch sees no CUDA device here; "
                                "scoring on the CPU")
                use = "cpu"
            loaded = load_model(model or None, device=use, fall_back=True)
            if self._cache is None and self._cache_factory is not None:
                try:
                    self._cache = self._cache_factory()
                except Exception as exc:  # noqa: BLE001 - scoring works without a cache
                    self.error.emit(f"score cache unavailable, scoring without it: {exc}")
            self._scorer = Scorer(loaded, cache=self._cache)
            self._key = (model, device)
        return self._scorer

    @Slot(object)
    def run_job(self, job: ScoreJob) -> None:
        total = len(job.paths)
        if job.cancel.is_set():
            self.finished.emit(job.gen, True)
            return
        try:
            import torch
            # Leave a core to the GUI thread and the thumbnail decoders.
            torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
            scorer = self._scorer_for(job.model, job.device)
        except Exception as exc:  # noqa: BLE001
            self.error.emit(f"cannot load the model: {exc}")
            self.finished.emit(job.gen, True)
            return
        self.started.emit(job.gen, total, f"{scorer.model.card.name} on "
                                          f"{scorer.model.device.type.upper()}")
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            self.progress.emit(job.gen, done, total)
        try:
            for rec in scorer.score_paths(job.paths, cancel=job.cancel, progress=progress):
                self.record.emit(job.gen, rec)
                if rec.error:
                    self.error.emit(f"{os.path.basename(rec.path)}: {rec.error}")
        except Exception as exc:  # noqa: BLE001
            self.error.emit(f"scoring stopped: {exc}\n{traceback.format_exc(limit=3)}")
        self.finished.emit(job.gen, job.cancel.is_set())

    @Slot()
    def release(self) -> None:
        """Drop the model and close the cache in the thread that made them."""
        self._scorer = None
        if self._cache is not None:
            try:
                self._cache.close()
            except Exception:  # noqa: BLE001
                pass
            self._cache = None


class ScoringService(QObject):
    """GUI-side handle: starts jobs on the one scoring thread, cancels, shuts down cleanly."""
    submit = Signal(object)
    _release = Signal()

    def __init__(self, cache_factory=None, parent=None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("aesview-scoring")
        self.worker = ScoringWorker(cache_factory)
        self.worker.moveToThread(self.thread)
        self.submit.connect(self.worker.run_job)
        self._release.connect(self.worker.release)
        self.worker.finished.connect(self._job_done)
        self.thread.start()
        self.job: ScoreJob | None = None  # the job running now, None when idle
        self.started_at = 0.0

    def start(self, job: ScoreJob) -> None:
        self.cancel()
        self.job = job
        self.started_at = time.monotonic()
        self.submit.emit(job)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    @Slot(int, bool)
    def _job_done(self, gen: int, _cancelled: bool) -> None:
        if self.job is not None and self.job.gen == gen:
            self.job = None

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel, let the current batch finish, stop the thread. True if it stopped."""
        self.cancel()
        self._release.emit()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
