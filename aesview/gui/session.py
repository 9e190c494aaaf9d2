"""The shoot being culled, without a widget: the folder, its generation number, the photo
list model and its sort/filter proxy, the selection, the worker pools, thumbnail loading,
scoring, the log, and the filtering of stale results.

The window shows what the session holds; controllers (gui/controllers) act on it; tests drive
it without a window. Each folder load gets a new generation number and every worker message
carries the generation that asked for it: results of a folder the user has left are dropped
here, in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, QThread, QTimer, Signal

from ..core import choices
from ..core.memory import pin_mmap_threshold
from ..core.settings import THUMBNAIL_THREADS, Settings, apply_to_process, save_settings
from .messages import (
    MetadataRead,
    PhotoLoaded,
    RecordScored,
    ScoreFinished,
    ScoreProgress,
    ScoreStarted,
    ThumbnailReady,
    WorkerError,
    WorkerSignals,
)
from .operations import OperationRunner
from .photo_model import PhotoItem, PhotoListModel, PhotoProxy, Role
from .pools import WorkerPool
from .thumbnails import ThumbnailQueue
from .workers import PhotoLoadTask, ScoreJob, ScoringService

# The window's first scoring run (which loads torch and the model) waits for the thumbnails on
# screen, but never longer than this. A Session without a grid (tests, benchmarks) has no screen
# to wait for and passes no wait.
FIRST_SCREEN_WAIT_S = 1.0


def _cache_factory() -> Any:
    from ..core.cache import ScoreCache
    return ScoreCache()


class Session(QObject):
    logged = Signal(str, str)            # level, message
    folderChanged = Signal()             # a folder was opened (the model was reset)
    currentChanged = Signal(object)      # the current photo's path, or None
    recordArrived = Signal(str)          # a score (or a scoring error) for this photo
    photoLoaded = Signal(object)         # PhotoLoaded of the current photo
    thumbnailArrived = Signal(str)
    metadataRead = Signal(object)        # MetadataRead of this folder
    scoringStarted = Signal(str, int)    # "Scoring (model on device)", total
    scoringProgress = Signal(int, int, bool)   # done, total, that one came from the cache
    scoringEnded = Signal(bool)          # cancelled
    countsChanged = Signal()
    deviceChanged = Signal(str)
    settingsApplied = Signal()           # Preferences' OK put new settings into effect

    def __init__(self, settings: Settings | None = None, parent: QObject | None = None,
                 cache_factory: Any = _cache_factory, screen_wait_s: float = 0.0):
        super().__init__(parent)
        self.settings = settings or Settings()
        apply_to_process(self.settings)     # the decode budget, before anything is decoded
        self.folder: Path | None = None
        self.generation = 0
        self._logged: set[tuple[int, str, str]] = set()
        self._user_chose = False       # the user moved the selection in this folder
        self._auto_current = False     # the session itself is moving it
        self._score_run = 0            # each scoring run's number; its messages carry it
        self._run_folder: dict[int, int] = {}   # scoring run -> folder generation
        self._photo_token = 0
        self._photo_path: str | None = None
        self.score_meaning = ""        # the scoring model card's sentence on what a score means

        self.model = PhotoListModel(self)
        self.proxy = PhotoProxy(self)
        self.proxy.setSourceModel(self.model)
        self.selection = QItemSelectionModel(self.proxy, self)

        pin_mmap_threshold()           # freed photo buffers go back to the system (issue 13)
        self.signals = WorkerSignals(self)
        self.thumb_pool = WorkerPool(self, max(2, min(THUMBNAIL_THREADS, QThread.idealThreadCount())))
        self.photo_pool = WorkerPool(self, 1)
        self.sidecar_pool = WorkerPool(self, 1)   # one thread: reads and writes land in order
        self.job_pool = WorkerPool(self, 1)
        self.thumbs = ThumbnailQueue(self.thumb_pool, self.signals)
        self.scoring = ScoringService(cache_factory, self, first_wait_s=screen_wait_s)
        self._screen_wait: set[str] | None = None   # thumbnails on screen the model waits for
        self.operations = OperationRunner(self.signals, self.job_pool, self.sidecar_pool, self)
        self._closed = False

        s = self.signals
        s.thumbnail.connect(self._on_thumbnail)
        s.metadata.connect(self._on_metadata)
        s.photo.connect(self._on_photo)
        s.error.connect(self._on_worker_error)
        w = self.scoring.worker
        w.started.connect(self._on_score_started)
        w.record.connect(self._on_record)
        w.progress.connect(self._on_score_progress)
        w.finished.connect(self._on_score_finished)
        w.error.connect(self._on_worker_error)
        self.operations.failed.connect(lambda text: self.log("error", text))
        self.selection.currentChanged.connect(self._current_changed)
        self.proxy.layoutChanged.connect(self._follow_top)
        self.proxy.set_sort_key(self.settings.sort_key)
        self._counts_timer = QTimer(self, singleShot=True, interval=250)
        self._counts_timer.timeout.connect(self.countsChanged)
        self.model.dataChanged.connect(lambda *_: self._counts_timer.start())

    # ------------------------------------------------------------------ log
    def log(self, level: str, message: str) -> None:
        self.logged.emit(level, message)

    def log_once(self, level: str, message: str) -> None:
        """Once per folder load: an unreadable file fails in the thumbnail loader and again in
        the scorer, in the same words."""
        key = (self.generation, level, message)
        if key not in self._logged:
            self._logged.add(key)
            self.log(level, message)

    def _on_worker_error(self, msg: WorkerError) -> None:
        self.log_once(msg.level, msg.message)

    def apply_settings(self) -> None:
        """Puts the (validated) settings into effect in this process and saves them."""
        apply_to_process(self.settings)
        self.persist()
        self.settingsApplied.emit()

    def persist(self) -> None:
        if self._closed:
            # A closed window saved its settings as it closed; a timer of it that fires later
            # (a thumbnail-size change, an overlay choice) must not write over them.
            return
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.log("warning", f"settings not saved: {exc}")

    # ------------------------------------------------------------------ folder
    def open_folder(self, folder: str | os.PathLike[str]) -> bool:
        from ..core.imaging import list_images
        path = Path(folder).expanduser()
        if not path.is_dir():
            self.log("error", f"{path}: not a folder")
            return False
        try:
            paths = [os.path.abspath(p) for p in list_images(path)]
        except OSError as exc:
            self.log("error", f"{path}: cannot list ({exc.strerror or exc})")
            return False
        self.generation += 1
        self._logged.clear()
        self.scoring.cancel()
        self.thumb_pool.clear()
        self.photo_pool.clear()
        self.folder = path.resolve()
        self._photo_path = None
        self.model.reset(paths)
        self.thumbs.reset(self.generation, paths, self.settings.thumbnail_size, self.settings.sidecar_style)
        self.log("info", f"opened {self.folder} ({len(paths)} photos)")
        self.settings.add_recent(self.folder)
        self.persist()
        self._user_chose = False
        self.folderChanged.emit()
        self.countsChanged.emit()
        if paths:
            self.select_top()
            self._screen_wait = None           # the grid's next prefer_rows names them
            self.start_scoring()
        else:
            self.currentChanged.emit(None)
        return True

    def export_dir(self) -> Path | None:
        if self.settings.export_dir:
            return Path(self.settings.export_dir)
        # Beside the shoot, not in it: crops inside would show up as photos of the shoot the next
        # time it is opened, and other tools' folder sync would import them as new originals.
        return self.folder.parent / f"{self.folder.name}-crops" if self.folder else None

    # ------------------------------------------------------------------ thumbnails
    def prefer_rows(self, rows: list[int]) -> None:
        """These proxy rows are on screen (then the next screenful): their thumbnails first."""
        paths = [self.proxy.index(r, 0).data(Role.PATH) for r in rows]
        if paths and self._screen_wait is None and not self.scoring.gate.is_set():
            self._screen_wait = {p for p in paths if (it := self.model.item(p)) and it.thumb is None
                                 and it.load_error is None}
            self._screen_arrived("")
        self.thumbs.prefer(paths)

    def _screen_arrived(self, path: str) -> None:
        """A thumbnail arrived: once those on screen are all in, the model may load."""
        if self._screen_wait is None or self.scoring.gate.is_set():
            return
        self._screen_wait.discard(path)
        if not self._screen_wait:
            self.scoring.open_gate()

    def _on_thumbnail(self, msg: ThumbnailReady) -> None:
        self.thumbs.done(msg.gen)
        if msg.gen != self.generation:
            return
        self.model.set_thumbnail(msg.path, msg.image, msg.size, msg.error)
        if msg.error:
            self.log_once("error", msg.error)
        self.thumbnailArrived.emit(msg.path)
        self._screen_arrived(msg.path)

    def _on_metadata(self, msg: MetadataRead) -> None:
        if msg.gen != self.generation:
            return
        self.model.set_captured(msg.path, msg.captured)
        if msg.error:
            self.log("warning", msg.error)
        self.metadataRead.emit(msg)

    def set_thumbnail_size(self, size: int) -> None:
        self.settings.thumbnail_size = int(size)

    def reload_small_thumbnails(self) -> None:
        size = self.settings.thumbnail_size
        self.thumbs.add([it.path for it in self.model.items()
                         if it.thumb is not None and it.thumb_size < size], size)
        self.persist()

    # ------------------------------------------------------------------ scoring
    def start_scoring(self) -> None:
        paths = self.model.paths()
        if not paths:
            return
        self._score_run += 1
        self._run_folder[self._score_run] = self.generation
        self.scoringStarted.emit("Loading model…", len(paths))
        self.scoring.start(ScoreJob(self._score_run, paths, self.settings.model or None,
                                    self.settings.device))

    def cancel_scoring(self) -> None:
        if self.scoring.job is not None and not self.scoring.job.cancel.is_set():
            self.scoring.cancel()
            self.log("info", "scoring cancelled")
        self.scoringEnded.emit(True)

    def scoring_busy(self) -> bool:
        return self.scoring.job is not None

    def _current_run(self, run: int) -> bool:
        return run == self._score_run and self._run_folder.get(run) == self.generation

    def _on_score_started(self, msg: ScoreStarted) -> None:
        if self._current_run(msg.gen):
            self.score_meaning = msg.meaning
            self.scoringStarted.emit(f"Scoring ({msg.description})", msg.total)
            self.log("info", f"scoring {msg.total} photos with {msg.description}")

    def _on_record(self, msg: RecordScored) -> None:
        # A record of an older run of this folder is still a valid score.
        if self._run_folder.get(msg.gen) != self.generation:
            return
        self.model.set_record(msg.record)
        if self._current_run(msg.gen) and msg.record.cached:
            self.scoringProgress.emit(-1, -1, True)
        self.recordArrived.emit(msg.record.path)

    def _on_score_progress(self, msg: ScoreProgress) -> None:
        if self._current_run(msg.gen):
            self.scoringProgress.emit(msg.done, msg.total, False)

    def _on_score_finished(self, msg: ScoreFinished) -> None:
        if not self._current_run(msg.gen):
            return
        self.model.update_ranks()
        self.scoringEnded.emit(msg.cancelled)
        c = self.model.counts()
        if not msg.cancelled:
            self.log("info", f"scored {c['scored']} of {c['photos']} photos"
                     + (f", {c['failed']} failed" if c["failed"] else ""))

    def set_device(self, device: str) -> None:
        if device not in choices.keys(choices.DEVICES) or device == self.settings.device:
            return
        self.settings.device = device
        self.persist()
        self.deviceChanged.emit(device)
        self.log("info", f"scoring device: {choices.label(choices.DEVICES, device)}")
        self.start_scoring()

    def set_model(self, name: str) -> None:
        if name == self.settings.model:
            return
        self.settings.model = name
        self.persist()
        self.log("info", f"model: {name or 'the shipped default'}")
        self.start_scoring()

    # ------------------------------------------------------------------ sort / filter
    def set_sort(self, key: str) -> None:
        if key not in choices.keys(choices.SORTS):
            return
        self.settings.sort_key = key
        self.proxy.set_sort_key(key)

    def set_filter(self, name: str, min_stars: int | None = None) -> None:
        self.proxy.set_filter(name, min_stars)
        self.countsChanged.emit()
        current = self.selection.currentIndex()
        if not current.isValid() and self.proxy.rowCount():
            self.select_top()
            return
        if current.isValid() and not self.selection.isSelected(current):
            # The filter hid the current photo and Qt moved "current" to a neighbour without
            # selecting it: the keys would act on a photo the grid does not highlight.
            first = min(self.selection.selectedRows(), key=lambda i: i.row(), default=None)
            if first is not None:
                self.selection.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
            else:
                self.selection.select(current, QItemSelectionModel.SelectionFlag.Select)
        self.currentChanged.emit(self.current_path())

    # ------------------------------------------------------------------ selection
    def current_path(self) -> str | None:
        idx = self.selection.currentIndex()
        return idx.data(Role.PATH) if idx.isValid() else None

    def current_item(self) -> PhotoItem | None:
        path = self.current_path()
        return self.model.item(path) if path else None

    def selected_paths(self) -> list[str]:
        rows = sorted(self.selection.selectedIndexes(), key=lambda i: i.row())
        paths = [i.data(Role.PATH) for i in rows]
        cur = self.current_path()
        return paths or ([cur] if cur else [])

    def select_path(self, path: str) -> bool:
        idx = self.proxy.mapFromSource(self.model.index_of(path))
        if not idx.isValid():
            return False
        self.selection.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        return True

    def select_all(self) -> None:
        top, bottom = self.proxy.index(0, 0), self.proxy.index(self.proxy.rowCount() - 1, 0)
        if top.isValid():
            from PySide6.QtCore import QItemSelection
            self.selection.select(QItemSelection(top, bottom), QItemSelectionModel.SelectionFlag.Select)

    def select_row(self, row: int) -> bool:
        idx = self.proxy.index(row, 0)
        if not idx.isValid():
            return False
        self.selection.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        return True

    def advance_from(self, path: str) -> None:
        idx = self.proxy.mapFromSource(self.model.index_of(path))
        self.select_row(idx.row() + 1 if idx.isValid() else self.selection.currentIndex().row())

    def user_chose(self) -> None:
        """The user clicked, pressed a key, flagged or scrolled: stop following the top."""
        self._user_chose = True

    def select_top(self) -> None:
        self._auto_current = True
        try:
            self.selection.setCurrentIndex(self.proxy.index(0, 0),
                                           QItemSelectionModel.SelectionFlag.ClearAndSelect)
        finally:
            self._auto_current = False

    def _follow_top(self) -> None:
        """Until the user picks a photo, the selection stays on the best one so far: a shoot
        opens on its best photo, not on whatever came first by name."""
        if not self._user_chose and self.proxy.rowCount() \
                and self.selection.currentIndex() != self.proxy.index(0, 0):
            self.select_top()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._auto_current:
            self._user_chose = True
        path = current.data(Role.PATH) if current.isValid() else None
        if path != self._photo_path:
            self._photo_path = path
            if path is not None:
                self._photo_token += 1
                self.photo_pool.clear()   # drop loads of photos the user already moved past
                self.photo_pool.start(PhotoLoadTask(self.signals, self._photo_token, path))
        self.currentChanged.emit(path)

    def _on_photo(self, msg: PhotoLoaded) -> None:
        if msg.token != self._photo_token:
            return
        if msg.error:
            self.log_once("error", msg.error)
            return
        self.photoLoaded.emit(msg)

    def remove_paths(self, paths: list[str]) -> None:
        self.model.remove_paths(paths)
        self.countsChanged.emit()
        self.currentChanged.emit(self.current_path())

    # ------------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Cancel the scoring and wait for every worker, so nothing outlives the session."""
        if self._closed:
            return
        self._closed = True
        self.generation += 1           # late results are dropped from here on
        self.operations.cancel_all()
        self.thumbs.reset(-1, [], 0, None)
        self.thumb_pool.close()
        self.photo_pool.close()
        if not self.scoring.shutdown():
            self.log("error", "the scoring thread did not stop in time")
        for pool in (self.thumb_pool, self.photo_pool, self.sidecar_pool, self.job_pool):
            pool.waitForDone()          # queued sidecar writes and operations land first
            pool.close()
