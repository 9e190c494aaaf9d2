"""Background work. Workers compute and emit typed messages (gui/messages.py) holding plain data
(numpy, QImage, records); they never touch widgets or build QPixmaps.

- thumbnails, sidecar reads, full-size photo loads: QRunnables on a QThreadPool;
- sidecar reads for a decision and sidecar writes: a one-thread pool, so they land in the order
  the key presses were made;
- operations (exports, copies): OperationTask on the job pool (gui/operations.py);
- scoring: ONE QThread owning the model (it is not thread-safe), fed jobs through a signal.
"""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, Signal, Slot
from PySide6.QtGui import QImage

from ..core.culling import Decision
from .messages import (
    CropMapsReady,
    MetadataRead,
    OperationDone,
    OperationProgress,
    PhotoLoaded,
    Reached,
    RecordScored,
    ScoreFinished,
    ScoreProgress,
    ScoreStarted,
    SidecarsRead,
    SidecarWritten,
    ThumbnailReady,
    WhatIfDone,
    WorkerError,
    WorkerSignals,
)
from .qtimage import pil_to_qimage


def capture_time(path: str) -> float | None:
    """EXIF DateTimeOriginal (else DateTime) as POSIX time; the file's mtime if it has none."""
    from PIL import Image

    from ..core.capture import header_exif
    try:
        with Image.open(path) as im:
            exif = header_exif(im)
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
    """Thumbnail (EXIF-embedded where big enough), then capture time and sidecar decision."""

    def __init__(self, signals: WorkerSignals, gen: int, path: str, size: int,
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
        self.signals.thumbnail.emit(ThumbnailReady(self.gen, self.path, image, self.size, error))
        if self.sidecar_style is None:
            return
        decision, sc_error = None, None
        try:
            from ..core.xmp import read_decision
            decision = read_decision(self.path, self.sidecar_style)
        except Exception as exc:  # noqa: BLE001
            sc_error = str(exc)
        self.signals.metadata.emit(MetadataRead(self.gen, self.path, capture_time(self.path),
                                                decision, sc_error))


def view_max_side(size: tuple[int, int] | None, megapixels: float) -> int | None:
    """The `max_side` for core.imaging.load_image that keeps a decode of `size` under
    `megapixels`: None (every pixel) when it already fits, else the long side divided by the
    smallest integer factor that fits (load_image reduces by at least that factor)."""
    if size is None:
        return None
    w, h = size
    limit = megapixels * 1e6
    if w * h <= limit:
        return None
    factor = math.ceil(math.sqrt(w * h / limit))
    return max(1, max(w, h) // factor)


def _header_size(path: str) -> tuple[int, int] | None:
    from PIL import Image
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001 - RAW and odd files: the loader says what is wrong
        return None


def rgb32_of(img) -> QImage:
    """A PIL RGB image as a QImage in RGB32 (what the raster engine draws fastest), written
    band by band into the one frame it ends up in: no full-size temporary on the way."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    out = QImage(w, h, QImage.Format.Format_RGB32)
    if out.isNull():
        raise MemoryError("cannot allocate the image")
    bpl = out.bytesPerLine()
    dst = np.frombuffer(out.bits(), np.uint8).reshape(h, bpl)[:, : 4 * w].reshape(h, w, 4)
    band = max(1, (4 << 20) // max(1, 3 * w))          # ~4 MB of source rows at a time
    for y in range(0, h, band):
        rows = np.asarray(img.crop((0, y, w, min(h, y + band))))
        dst[y:y + len(rows), :, 0] = rows[..., 2]       # RGB32 is 0xffRRGGBB: B, G, R, A in memory
        dst[y:y + len(rows), :, 1] = rows[..., 1]
        dst[y:y + len(rows), :, 2] = rows[..., 0]
    dst[..., 3] = 255
    return out


class PhotoLoadTask(QRunnable):
    """The selected photo for the viewer: every pixel (100 % zoom shows real pixels) up to the
    viewer's budget (core.settings.VIEW_MAX_MEGAPIXELS), a larger one reduced by an integer
    factor; `full` then is smaller than `size` and the viewer says so."""

    def __init__(self, signals: WorkerSignals, token: int, path: str, max_side: int | None = None,
                 megapixels: float | None = None):
        super().__init__()
        self.signals, self.token, self.path, self.max_side = signals, token, path, max_side
        self.megapixels = megapixels

    def run(self) -> None:
        from ..core.imaging import load_image
        from ..core.settings import VIEW_MAX_MEGAPIXELS
        from .viewer import preview_of
        try:
            mp = self.megapixels or VIEW_MAX_MEGAPIXELS
            max_side = self.max_side or view_max_side(_header_size(self.path), mp)
            photo = load_image(self.path, max_side=max_side)
            image = photo.image
            # JPEG drafts come in powers of two and RAW files have no header size here: a
            # decode still over the budget is reduced before it becomes a second frame.
            if image.width * image.height > mp * 1e6:
                factor = math.ceil(math.sqrt(image.width * image.height / (mp * 1e6)))
                image = image.reduce(factor)
            size = photo.size
            full = rgb32_of(image)
            del image, photo                   # the PIL frame goes before the preview is made
            self.signals.photo.emit(PhotoLoaded(self.token, self.path, preview_of(full), full, size))
        except Exception as exc:  # noqa: BLE001
            self.signals.photo.emit(PhotoLoaded(self.token, self.path, None, None, None, str(exc)))


class SidecarReadTask(QRunnable):
    """Reads the decisions of photos a key press is about to change (on the sidecar queue)."""

    def __init__(self, signals: WorkerSignals, gen: int, ticket: int, paths: list[str], style: str):
        super().__init__()
        self.signals, self.gen, self.ticket, self.paths, self.style = signals, gen, ticket, paths, style

    def run(self) -> None:
        from ..core.xmp import read_decision
        decisions: dict[str, Decision] = {}
        errors: dict[str, str] = {}
        for p in self.paths:
            try:
                decisions[p] = read_decision(p, self.style)
            except Exception as exc:  # noqa: BLE001 - that photo gets no write; the log says why
                errors[p] = str(exc)
        self.signals.sidecars_read.emit(SidecarsRead(self.gen, self.ticket, decisions, errors))


class SidecarWriteTask(QRunnable):
    """One culling change to one sidecar. It is merged with what is on disk at write time: only
    the parts the key press changed are written (core.xmp.update_sidecar)."""

    def __init__(self, signals: WorkerSignals, gen: int, path: str, old: Decision, new: Decision,
                 style: str, step: Any = None, forward: bool = True, embed: bool = False):
        """`step` (core.sidecar_undo.SidecarStep) is shared by an edit's forward write, which
        records the sidecars' bytes around it, and its undo/redo, which put them back exactly."""
        super().__init__()
        self.signals, self.gen, self.path = signals, gen, path
        self.old, self.new, self.style = old, new, style
        self.step, self.forward, self.embed = step, forward, embed

    def run(self) -> None:
        from ..core.sidecar_undo import restore_if_unchanged, snapshot
        from ..core.xmp import DecisionChange, read_decision, update_sidecar
        try:
            step = self.step
            if step is not None and step.recorded:
                expect, target = (step.before, step.after) if self.forward \
                    else (step.after, step.before)
                if restore_if_unchanged(self.path, expect, target):
                    shown = read_decision(self.path, self.style)
                    self._embed(shown)
                    self.signals.sidecar_written.emit(SidecarWritten(self.gen, self.path, shown))
                    return
            before = snapshot(self.path) if step is not None and not step.recorded else None
            # A reject keeps its stars on disk (core.xmp: aesview:RejectedRating), so the
            # change is exactly what the key press changed.
            change = DecisionChange.between(self.old, self.new)
            done = update_sidecar(self.path, change, self.style)
            if before is not None:
                step.before, step.after = before, snapshot(self.path)
            self._embed(done.decision)
            self.signals.sidecar_written.emit(SidecarWritten(self.gen, self.path, done.decision))
        except Exception as exc:  # noqa: BLE001
            try:      # what the sidecar still says, so the grid shows nothing unsaved
                held: Decision | None = read_decision(self.path, self.style)
            except Exception:  # noqa: BLE001 - unreadable: the grid keeps what it shows
                held = None
            self.signals.sidecar_written.emit(
                SidecarWritten(self.gen, self.path, held, f"sidecar not written: {exc}"))


    def _embed(self, decision: Decision) -> None:
        """Settings' opt-in: the same decision inside a JPEG/TIFF/DNG, for Lightroom (after the
        sidecar, which stays the record; a failure here is reported and loses nothing)."""
        from ..core import embedded_xmp
        if not self.embed or not embedded_xmp.can_embed(self.path):
            return
        try:
            embedded_xmp.embed_decision(self.path, decision,
                                        embedded_xmp.sidecar_label(self.path, self.style))
        except Exception as exc:  # noqa: BLE001
            self.signals.error.emit(WorkerError(f"XMP not written into the photo: {exc}"))


class MarkerTask(QRunnable):
    """Emits `Reached` when a one-thread queue gets to it: everything queued before it is done."""

    def __init__(self, signals: WorkerSignals, ticket: int):
        super().__init__()
        self.signals, self.ticket = signals, ticket

    def run(self) -> None:
        self.signals.reached.emit(Reached(self.ticket))


Progress = Callable[[int, int, str], None]


class OperationTask(QRunnable):
    """Runs work(progress, cancel) -> result off the GUI thread (gui/operations.py)."""

    def __init__(self, signals: WorkerSignals, op_id: int,
                 work: Callable[[Progress, threading.Event], Any], cancel: threading.Event):
        super().__init__()
        self.signals, self.op_id, self.work, self.cancel = signals, op_id, work, cancel

    def run(self) -> None:
        def progress(done: int, total: int, message: str = "") -> None:
            self.signals.op_progress.emit(OperationProgress(self.op_id, done, total, message))
        try:
            result = self.work(progress, self.cancel)
        except Exception as exc:  # noqa: BLE001
            self.signals.op_done.emit(OperationDone(self.op_id, None, str(exc) or type(exc).__name__))
            return
        self.signals.op_done.emit(OperationDone(self.op_id, result))


@dataclass
class ScoreJob:
    gen: int
    paths: list[str]
    model: str | None          # None = the shipped default
    device: str                # a core.choices.DEVICES key
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class WhatIfJob:
    """One what-if experiment (core.whatif) on the photo at `path`; `box` for a crop."""
    token: int
    path: str
    what: str
    strength: float
    model: str | None
    device: str
    box: tuple[float, float, float, float] | None = None
    map_mode: str = "absolute"


@dataclass
class CropMapsJob:
    """The finer crop maps (core.subject.CropMaps) of the photo at `path`."""
    token: int
    path: str
    model: str | None
    device: str


class ScoringWorker(QObject):
    """Lives in its own QThread and owns the model; one job at a time, in order. What-if jobs
    run as soon as the thread is free, and between two scored photos while a job runs, so an
    experiment does not wait for a whole folder."""
    started = Signal(object)         # ScoreStarted
    record = Signal(object)          # RecordScored
    progress = Signal(object)        # ScoreProgress
    finished = Signal(object)        # ScoreFinished
    error = Signal(object)           # WorkerError
    whatif = Signal(object)          # WhatIfDone
    cropmaps = Signal(object)        # CropMapsReady

    def __init__(self, cache_factory: Callable[[], Any] | None = None,
                 gate: threading.Event | None = None, gate_wait_s: float = 0.0):
        super().__init__()
        self._gate, self._gate_wait_s = gate, gate_wait_s
        self._scorer: Any = None
        self._key: tuple[str | None, str] | None = None
        self._cache: Any = None
        self._cache_factory = cache_factory
        self._whatif_jobs: list[WhatIfJob] = []      # guarded by _whatif_lock
        self._whatif_lock = threading.Lock()
        self._experiment: Any = None                 # core.whatif.WhatIf of the last photo
        self._crop_jobs: list[CropMapsJob] = []      # guarded by _whatif_lock
        self._analyzer: Any = None                   # core.subject.CropAnalyzer of the model

    def queue_cropmaps(self, job: CropMapsJob) -> None:
        """Called from the GUI thread: only the newest photo's maps are worth computing."""
        with self._whatif_lock:
            self._crop_jobs = [job]

    def queue_whatif(self, job: WhatIfJob) -> None:
        """Called from the GUI thread: only the newest experiment is worth running."""
        with self._whatif_lock:
            self._whatif_jobs = [job]

    @Slot()
    def run_whatif(self) -> None:
        with self._whatif_lock:
            jobs, self._whatif_jobs = self._whatif_jobs, []
        for job in jobs:
            self._run_whatif(job)
        with self._whatif_lock:
            crop_jobs, self._crop_jobs = self._crop_jobs, []
        for cjob in crop_jobs:
            self._run_cropmaps(cjob)

    def _run_cropmaps(self, job: CropMapsJob) -> None:
        from ..core.subject import CropAnalyzer
        try:
            scorer = self._scorer_for(job.model, job.device)
            if self._analyzer is None or self._analyzer.model is not scorer.model:
                self._analyzer = CropAnalyzer(scorer.model)    # once per model (~19 MB)
            maps = self._analyzer.analyze(job.path)
            self.cropmaps.emit(CropMapsReady(job.token, job.path, maps))
        except Exception as exc:  # noqa: BLE001 - the crop falls back to the scoring map
            self.cropmaps.emit(CropMapsReady(job.token, job.path, None, str(exc) or type(exc).__name__))

    def _run_whatif(self, job: WhatIfJob) -> None:
        from ..core.whatif import CROP, WhatIf, comparison_image
        from .qtimage import rgb_to_qimage
        try:
            scorer = self._scorer_for(job.model, job.device)
            exp = self._experiment
            if exp is None or exp.path != job.path or exp.scorer is not scorer:
                exp = self._experiment = WhatIf.open(scorer, job.path)   # decoded once per photo
            if job.what == CROP and job.box is None:
                result = exp.suggested_crop()
            else:
                result = exp.run(job.what, job.strength, job.box)
            # Stacked: the explanation panel is tall and narrow.
            image = rgb_to_qimage(comparison_image(result, job.map_mode, side=360, vertical=True))
            self.whatif.emit(WhatIfDone(job.token, job.path, result, image))
        except Exception as exc:  # noqa: BLE001 - shown beside the experiment
            self.whatif.emit(WhatIfDone(job.token, job.path, None, None, str(exc) or type(exc).__name__))

    def _scorer_for(self, model: str | None, device: str) -> Any:
        from ..core.scoring import Scorer
        from ..core.weights import load_model
        if self._scorer is None or self._key != (model, device):
            self._scorer = None
            loaded = load_model(model or None, device=device, fall_back=True)
            if device == "cuda" and loaded.device.type != "cuda":
                self.error.emit(WorkerError("CUDA was chosen, but torch sees no CUDA device here; "
                                            "scoring on the CPU", "warning"))
            if self._cache is None and self._cache_factory is not None:
                try:
                    self._cache = self._cache_factory()
                except Exception as exc:  # noqa: BLE001 - scoring works without a cache
                    self.error.emit(WorkerError(f"score cache unavailable, scoring without it: {exc}",
                                                "warning"))
            self._scorer = Scorer(loaded, cache=self._cache)
            self._key = (model, device)
        return self._scorer

    @Slot(object)
    def run_job(self, job: ScoreJob) -> None:
        total = len(job.paths)
        if job.cancel.is_set():
            self.finished.emit(ScoreFinished(job.gen, True))
            return
        if self._gate is not None and not self._gate.is_set():
            # Once, before torch and the model load: until the thumbnails on screen are in
            # (ScoringService.__init__ says why), or for at most the wait given.
            self._gate.wait(self._gate_wait_s)
            self._gate.set()
            if job.cancel.is_set():
                self.finished.emit(ScoreFinished(job.gen, True))
                return
        try:
            import torch
            # Leave a core to the GUI thread and the thumbnail decoders.
            torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
            scorer = self._scorer_for(job.model, job.device)
        except Exception as exc:  # noqa: BLE001
            self.error.emit(WorkerError(f"cannot load the model: {exc}"))
            self.finished.emit(ScoreFinished(job.gen, True))
            return
        self.started.emit(ScoreStarted(job.gen, total, f"{scorer.model.card.name} on "
                                                       f"{scorer.model.device.type.upper()}",
                                       scorer.model.card.score_meaning))
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            self.progress.emit(ScoreProgress(job.gen, done, total))
        try:
            for rec in scorer.score_paths(job.paths, cancel=job.cancel, progress=progress):
                self.record.emit(RecordScored(job.gen, rec))
                if rec.error:
                    self.error.emit(WorkerError(f"{os.path.basename(rec.path)}: {rec.error}"))
                self.run_whatif()
        except Exception as exc:  # noqa: BLE001
            self.error.emit(WorkerError(f"scoring stopped: {exc}\n{traceback.format_exc(limit=3)}"))
        self.finished.emit(ScoreFinished(job.gen, job.cancel.is_set()))

    @Slot()
    def release(self) -> None:
        """Drop the model and close the cache in the thread that made them."""
        self._scorer = None
        self._experiment = None
        self._analyzer = None
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
    _whatif = Signal()

    def __init__(self, cache_factory: Callable[[], Any] | None = None, parent: QObject | None = None,
                 first_wait_s: float = 0.0):
        """`first_wait_s`: the first job waits up to this long, on the scoring thread, for
        open_gate() (the session calls it once the thumbnails on screen are in): loading torch
        and the model holds the GIL in stretches of a few hundred milliseconds, which would
        hold those thumbnails up. Nothing on the GUI thread waits for it."""
        super().__init__(parent)
        self.gate = threading.Event()
        if first_wait_s <= 0:
            self.gate.set()
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("aesview-scoring")
        self.worker = ScoringWorker(cache_factory, self.gate, first_wait_s)
        self.worker.moveToThread(self.worker_thread)
        self.submit.connect(self.worker.run_job)
        self._release.connect(self.worker.release)
        self._whatif.connect(self.worker.run_whatif)
        self.worker.finished.connect(self._job_done)
        self.worker_thread.start()
        self.job: ScoreJob | None = None  # the job running now, None when idle
        self.started_at = 0.0

    def start(self, job: ScoreJob) -> None:
        self.cancel()
        self.job = job
        self.started_at = time.monotonic()
        self.submit.emit(job)

    def open_gate(self) -> None:
        """The first job may load the model now (see __init__)."""
        self.gate.set()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel.set()

    def whatif(self, job: WhatIfJob) -> None:
        """Run a what-if on the model's thread (it replaces one still waiting); the answer
        comes as worker.whatif."""
        self.worker.queue_whatif(job)
        self._whatif.emit()

    def cropmaps(self, job: CropMapsJob) -> None:
        """Compute a photo's crop maps on the model's thread (it replaces a request still
        waiting); the answer comes as worker.cropmaps."""
        self.worker.queue_cropmaps(job)
        self._whatif.emit()

    @Slot(object)
    def _job_done(self, msg: ScoreFinished) -> None:
        if self.job is not None and self.job.gen == msg.gen:
            self.job = None

    def shutdown(self, timeout_ms: int = 60000) -> bool:
        """Cancel, let the current batch finish, stop the thread. True if it stopped."""
        self.cancel()
        self.gate.set()                  # a first job still waiting for it ends at once
        self._release.emit()
        self.worker_thread.quit()
        return self.worker_thread.wait(timeout_ms)
