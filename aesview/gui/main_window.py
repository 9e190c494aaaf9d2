"""The main window: the shoot as a grid, the selected photo large with its heat map and crop,
"why this score" beside it, culling keys, background scoring, exports and the log."""

from __future__ import annotations

import html
import os
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QObject, Qt, QThread, \
    QThreadPool, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QScrollArea, QSlider, QSpinBox, QSplitter, QToolBar)

from ..core import culling
from ..core.culling import CullBook, Flag
from ..core.explain import describe, display_size, overlay_rgba
from ..core.settings import Settings, save_settings
from .delegate import ThumbnailDelegate
from .explain_panel import ExplainPanel
from .log_panel import LogPanel
from .grid import PhotoGrid
from .photo_model import PhotoListModel, PhotoProxy, Role
from .qtimage import rgb_to_qimage
from .screen_fit import available_geometry, clamp_to_screen, first_geometry
from .status import JobProgress
from .thumbnails import ThumbnailQueue
from .viewer import PhotoView
from .workers import (JobTask, PhotoLoadTask, ScoreJob, ScoringService, SidecarWriteTask,
                      TaskSignals)

SORT_LABELS = {"score": "Score", "name": "Name", "time": "Capture time"}
DEVICE_LABELS = {"auto": "Auto (CUDA if present)", "cpu": "CPU", "cuda": "CUDA"}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _cache_factory():
    from ..core.cache import ScoreCache
    return ScoreCache()


class _ArrowsToGrid(QObject):
    """Arrow keys pressed on the big photo (or the log, or the explanation) move through the
    grid, as in a culling tool."""

    def __init__(self, grid):
        super().__init__(grid)
        self.grid = grid

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down,
                Qt.Key.Key_Home, Qt.Key.Key_End):
            self.grid.setFocus()
            self.grid.keyPressEvent(event)
            return True
        return False


def _combo(name: str, labels: dict) -> QComboBox:
    """A toolbar choice: shows each label, carries its key as the item data."""
    box = QComboBox()
    box.setObjectName(name)
    for key, text in labels.items():
        box.addItem(text, key)
    return box


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or Settings()
        self.folder: Path | None = None
        self.generation = 0
        self.photo_token = 0
        self.book = CullBook()
        self.exported: list[str] = []        # files written by exports, newest last
        self.opened_at = 0.0
        self.first_thumbnail_s: float | None = None
        self._overlay_key = None
        self._overlay_image = None
        self._jobs: dict[str, JobTask] = {}
        self._closed = False
        self._user_chose = False      # the user moved the selection in this folder
        self._logged: set[tuple[int, str, str]] = set()
        self._auto_current = False    # the window itself is moving it

        self.signals = TaskSignals(self)
        self.thumb_pool = QThreadPool(self)
        self.thumb_pool.setMaxThreadCount(max(2, QThread.idealThreadCount()))
        self.viewer_pool = QThreadPool(self)
        self.viewer_pool.setMaxThreadCount(1)
        self.io_pool = QThreadPool(self)        # one thread: sidecar writes stay in order
        self.io_pool.setMaxThreadCount(1)
        self.job_pool = QThreadPool(self)
        self.job_pool.setMaxThreadCount(1)
        self.scoring = ScoringService(_cache_factory, self)
        self.thumbs = ThumbnailQueue(self.thumb_pool, self.signals)

        self._build_ui()
        self._build_actions()
        self._connect()
        self._apply_settings()
        self.setAcceptDrops(True)

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        self.setWindowTitle("aesview")
        self.model = PhotoListModel(self)
        self.proxy = PhotoProxy(self)
        self.proxy.setSourceModel(self.model)
        self.delegate = ThumbnailDelegate(self.settings.thumbnail_size, self)

        grid = PhotoGrid()
        grid.setModel(self.proxy)
        grid.setItemDelegate(self.delegate)
        self.grid = grid

        self.viewer = PhotoView()
        self.viewer.setObjectName("viewer")
        self.viewer.installEventFilter(_ArrowsToGrid(grid))

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("splitter")
        split.addWidget(grid)
        split.addWidget(self.viewer)
        split.setStretchFactor(0, 0)     # a bigger window grows the photo, not the grid
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)   # a drag can't lose the grid or the photo
        self.viewer.setMinimumWidth(200)
        self.setCentralWidget(split)
        self.splitter = split
        self._laid_out = False

        self.panel = ExplainPanel()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # a click in the panel leaves the keys
        scroll.setWidget(self.panel)
        dock = QDockWidget("Why this score", self)
        dock.setObjectName("explain_dock")
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.explain_dock = dock
        # The explanation runs the full height; the log sits under the grid and the photo only,
        # so a 768 px screen still shows the whole panel.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.log_panel = LogPanel()
        ldock = QDockWidget("Log", self)
        ldock.setObjectName("log_dock")
        ldock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, ldock)
        self.log_dock = ldock
        # Arrow keys move through the shoot from wherever a click left the focus.
        for w in (self.log_panel, self.panel.words):
            w.installEventFilter(_ArrowsToGrid(grid))

        self.counts_label = QLabel()
        self.score_progress = JobProgress("score_progress")
        self.job_progress = JobProgress("job_progress")
        sb = self.statusBar()
        sb.addWidget(self.counts_label, 1)
        sb.addPermanentWidget(self.job_progress)
        sb.addPermanentWidget(self.score_progress)

        self._counts_timer = QTimer(self, singleShot=True, interval=250)
        self._counts_timer.timeout.connect(self._update_counts)
        self._thumb_timer = QTimer(self, singleShot=True, interval=300)
        self._thumb_timer.timeout.connect(self._reload_small_thumbnails)
        self._visible_timer = QTimer(self, singleShot=True, interval=30)
        self._visible_timer.timeout.connect(self._prefer_visible)

    def _action(self, text, slot, shortcuts=(), name=None, checkable=False) -> QAction:
        a = QAction(text, self)
        if shortcuts:
            a.setShortcuts([QKeySequence(s) for s in shortcuts])
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        if name:
            a.setObjectName(name)
        self.addAction(a)   # shortcuts work wherever focus is in the window
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        fm = mb.addMenu("&File")
        self.act_open = self._action("&Open folder…", self.choose_folder, [QKeySequence.StandardKey.Open], "open")
        fm.addAction(self.act_open)
        self.recent_menu = fm.addMenu("Open &recent")
        fm.addAction(self._action("Open the &sample shoot", self.open_samples, name="open_samples"))
        fm.addSeparator()
        self.act_export = self._action("&Export crop", self.export_current_crop,
                                       [Qt.Key.Key_Return, Qt.Key.Key_Enter], "export_crop")
        fm.addAction(self.act_export)
        fm.addAction(self._action("Export crops of &picks", self.export_pick_crops, name="export_picks"))
        fm.addAction(self._action("Export &folder…", self.choose_export_dir, name="export_dir"))
        fm.addSeparator()
        fm.addAction(self._action("&Copy picks to…", partial(self.choose_transfer, False), name="copy_picks"))
        fm.addAction(self._action("&Move picks to…", partial(self.choose_transfer, True), name="move_picks"))
        fm.addSeparator()
        fm.addAction(self._action("&Quit", self.close, [QKeySequence.StandardKey.Quit], "quit"))

        em = mb.addMenu("&Edit")
        self.act_undo = self._action("&Undo", self.undo, ["Ctrl+Z"], "undo")
        self.act_redo = self._action("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "redo")
        em.addAction(self.act_undo)
        em.addAction(self.act_redo)
        em.addSeparator()
        em.addAction(self._action("&Pick", partial(self.set_flag, Flag.PICK), ["P"], "pick"))
        em.addAction(self._action("Re&ject", partial(self.set_flag, Flag.REJECT), ["X"], "reject"))
        em.addAction(self._action("U&nflag", partial(self.set_flag, Flag.NONE), ["U"], "unflag"))
        stars = em.addMenu("&Rating")
        for n in range(6):
            stars.addAction(self._action("★" * n if n else "No stars", partial(self.set_stars, n),
                                         [str(n)], f"stars{n}"))
        em.addSeparator()
        self.act_advance = self._action("&Advance after flagging", self._toggle_advance,
                                        name="auto_advance", checkable=True)
        em.addAction(self.act_advance)

        vm = mb.addMenu("&View")
        self.act_crop = self._action("Show &crop", self.toggle_crop, ["C"], "toggle_crop")
        vm.addAction(self.act_crop)
        vm.addAction(self._action("&Fit", self.viewer.fit, ["F", "Ctrl+0"], "fit"))
        vm.addAction(self._action("&100 %", self.viewer.zoom_100, ["Z", "Ctrl+1"], "zoom100"))
        vm.addAction(self._action("Zoom &in", partial(self.viewer.zoom_by, 1.25), ["Ctrl+="], "zoom_in"))
        vm.addAction(self._action("Zoom &out", partial(self.viewer.zoom_by, 0.8), ["Ctrl+-"], "zoom_out"))
        vm.addSeparator()
        overlay = vm.addMenu("&Overlay")
        for key, text, sc in (("none", "Off", "O"), ("aesam", "AesAM", "A"), ("attam", "AttAM", "T")):
            overlay.addAction(self._action(f"{text}", partial(self.panel.set_mode, key), [sc],
                                           f"overlay_{key}"))
        vm.addSeparator()
        vm.addAction(self.explain_dock.toggleViewAction())
        vm.addAction(self.log_dock.toggleViewAction())

        sm = mb.addMenu("&Scoring")
        dev_menu = sm.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_actions = {}
        for key, text in DEVICE_LABELS.items():
            a = QAction(text, self, checkable=True)
            a.setObjectName(f"device_{key}")
            a.triggered.connect(partial(self.set_device, key))
            self.device_group.addAction(a)
            dev_menu.addAction(a)
            self.device_actions[key] = a
        self.model_menu = sm.addMenu("&Model")
        self.model_menu.aboutToShow.connect(self._fill_model_menu)
        sm.addAction(self._action("&Rescore", self.start_scoring, ["Ctrl+R"], "rescore"))
        sm.addAction(self._action("&Cancel scoring", self.cancel_scoring, ["Esc"], "cancel_scoring"))

        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        self.addToolBar(tb)
        tb.addAction(self.act_open)
        tb.addSeparator()
        tb.addWidget(QLabel(" Sort "))
        self.sort_combo = _combo("sort", SORT_LABELS)
        tb.addWidget(self.sort_combo)
        tb.addWidget(QLabel(" Show "))
        self.filter_combo = _combo("filter", culling.FILTERS)
        tb.addWidget(self.filter_combo)
        self.stars_spin = QSpinBox()
        self.stars_spin.setObjectName("min_stars")
        self.stars_spin.setRange(1, 5)
        self.stars_spin.setSuffix(" ★")
        self.stars_spin.setEnabled(False)
        tb.addWidget(self.stars_spin)
        tb.addSeparator()
        tb.addWidget(QLabel(" Size "))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("thumb_size")
        self.size_slider.setRange(96, 320)
        self.size_slider.setSingleStep(16)
        self.size_slider.setFixedWidth(110)
        tb.addWidget(self.size_slider)
        tb.addSeparator()
        tb.addWidget(QLabel(" Device "))
        self.device_combo = _combo("device", DEVICE_LABELS)
        tb.addWidget(self.device_combo)
        tb.addSeparator()
        tb.addAction(self.act_undo)
        tb.addAction(self.act_redo)
        for w in (self.sort_combo, self.filter_combo, self.stars_spin, self.size_slider,
                  self.device_combo):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)    # clicks leave the keys to the grid

    def _connect(self) -> None:
        s = self.signals
        s.thumbnail.connect(self._on_thumbnail)
        s.metadata.connect(self._on_metadata)
        s.photo.connect(self._on_photo)
        s.progress.connect(self._on_job_progress)
        s.finished.connect(self._on_job_finished)
        # Bound methods of this window, never lambdas: a lambda would run in the emitter's
        # thread (the scoring thread) and touch widgets from there.
        s.error.connect(self._on_worker_error)
        w = self.scoring.worker
        w.started.connect(self._on_score_started)
        w.record.connect(self._on_record)
        w.progress.connect(self._on_score_progress)
        w.finished.connect(self._on_score_finished)
        w.error.connect(self._on_worker_error)
        self.score_progress.cancelRequested.connect(self.cancel_scoring)
        self.job_progress.cancelRequested.connect(self.cancel_jobs)

        self.grid.selectionModel().currentChanged.connect(self._current_changed)
        self.proxy.layoutChanged.connect(self._follow_top)
        # scrolling the grid by hand is a choice too: the selection stops following the top
        self.grid.verticalScrollBar().actionTriggered.connect(self._user_scrolled)
        # what is on screen changes: its thumbnails go first (at once for a scroll; a burst of
        # re-sorts while scores stream in is coalesced)
        self.grid.viewportChanged.connect(self._prefer_visible)
        for sig in (self.proxy.layoutChanged, self.proxy.modelReset, self.proxy.rowsInserted,
                    self.proxy.rowsRemoved):
            sig.connect(self._visible_timer.start)
        self.model.dataChanged.connect(lambda *_: self._counts_timer.start())
        self.model.ranksChanged.connect(self.grid.viewport().update)
        self.model.ranksChanged.connect(self.refresh_explain)
        self.sort_combo.currentIndexChanged.connect(lambda _i: self.set_sort(self.sort_combo.currentData()))
        self.filter_combo.currentIndexChanged.connect(lambda _i: self._filter_changed())
        self.stars_spin.valueChanged.connect(lambda _v: self._filter_changed())
        self.size_slider.valueChanged.connect(self.set_thumbnail_size)
        self.device_combo.currentIndexChanged.connect(
            lambda _i: self.set_device(self.device_combo.currentData()))
        self.panel.overlayChanged.connect(self.refresh_overlay)
        self.panel.opacityChanged.connect(self._opacity_changed)
        self.panel.aspectChanged.connect(self._aspect_changed)
        self.panel.cropRequested.connect(self.toggle_crop)
        self.panel.exportRequested.connect(self.export_current_crop)
        self.viewer.cropChanged.connect(self._crop_edited)

    def _apply_settings(self) -> None:
        st = self.settings
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(st.sort_key)))
        self.proxy.set_sort_key(st.sort_key)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(st.device)))
        self.device_actions[st.device].setChecked(True)
        self.size_slider.setValue(st.thumbnail_size)
        self.panel.opacity.setValue(round(st.overlay_opacity * 100))
        self.panel.cmap.setCurrentText(st.overlay_cmap)
        self.panel.set_mode(st.overlay)
        self.panel.aspect.setCurrentIndex(max(0, self.panel.aspect.findData(st.crop_aspect)))
        self.act_advance.setChecked(st.auto_advance)
        if not (st.window_geometry
                and self.restoreGeometry(QByteArray.fromBase64(st.window_geometry.encode()))):
            self.setGeometry(first_geometry(available_geometry(self)))
        clamp_to_screen(self)      # saved on a bigger screen, or on one that is gone
        if st.window_state:
            self.restoreState(QByteArray.fromBase64(st.window_state.encode()))
        self._fill_recent_menu()
        self._update_empty_text()

    def save_settings(self) -> None:
        st = self.settings
        st.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        st.window_state = bytes(self.saveState().toBase64()).decode()
        st.splitter_state = bytes(self.splitter.saveState().toBase64()).decode()
        st.overlay = self.panel.mode()
        st.overlay_opacity = self.panel.opacity_value()
        st.overlay_cmap = self.panel.cmap.currentText()
        st.attribute = self.panel.attribute_name()
        self._persist()

    def _persist(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.log("warning", f"settings not saved: {exc}")

    def showEvent(self, event):
        super().showEvent(event)
        if not self._laid_out:
            # First show: the photo gets the larger share; a saved state, if any, wins.
            self._laid_out = True
            # Now the window system's frame is known: keep the title bar on the screen too
            # (and once more when a window manager adds its frame a moment later).
            clamp_to_screen(self)
            QTimer.singleShot(0, self, lambda: clamp_to_screen(self))
            if not self.settings.window_state:
                self.resizeDocks([self.log_dock], [110 if self.height() > 700 else 80],
                                 Qt.Orientation.Vertical)
                self.resizeDocks([self.explain_dock], [min(330, max(290, self.width() // 4))],
                                 Qt.Orientation.Horizontal)
            restored = bool(self.settings.splitter_state) and self.splitter.restoreState(
                QByteArray.fromBase64(self.settings.splitter_state.encode()))
            sizes = self.splitter.sizes()
            if not restored or len(sizes) != 2 or sizes[1] < 0.4 * sum(sizes):
                self._split_for_columns()

    def _split_for_columns(self) -> None:
        """As many thumbnail columns (1 to 3) as fit in 38 % of the window's width (three on a
        1500 px window, two on a 1366 px laptop); the photo gets the rest."""
        cell = self.delegate.size + 12 + self.grid.spacing()
        chrome = (self.grid.spacing() + 2 * self.grid.frameWidth()
                  + self.grid.verticalScrollBar().sizeHint().width() + 6)
        w = self.splitter.width()
        columns = max(1, min(3, int((0.38 * self.width() - chrome) // cell)))
        grid_w = columns * cell + chrome
        self.splitter.setSizes([grid_w, max(w - grid_w, 200)])

    # ------------------------------------------------------------------ log
    def _on_worker_error(self, message: str) -> None:
        self._log_once("error", message)

    def _log_once(self, level: str, message: str) -> None:
        """A worker's problem, once per folder load: an unreadable file fails in the thumbnail
        loader and again in the scorer, in the same words; the log says it once (the status
        bar still flashes it)."""
        key = (self.generation, level, message)
        if key in self._logged:
            if level == "error":
                self.statusBar().showMessage(message.splitlines()[0], 8000)
            return
        self._logged.add(key)
        self.log(level, message)

    def log(self, level: str, message: str) -> None:
        self.log_panel.add(level, message)
        if level == "error":
            self.statusBar().showMessage(message.splitlines()[0], 8000)

    # ------------------------------------------------------------------ folders
    def choose_folder(self) -> None:
        start = str(self.folder or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a shoot", start)
        if folder:
            self.open_folder(folder)

    def open_samples(self) -> None:
        from ..paths import editable_samples_dir
        try:
            self.open_folder(editable_samples_dir())
        except OSError as exc:
            self.log("error", str(exc))

    def open_folder(self, folder) -> bool:
        from ..core.imaging import list_images
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            self.log("error", f"{folder}: not a folder")
            return False
        try:
            paths = [os.path.abspath(p) for p in list_images(folder)]
        except OSError as exc:
            self.log("error", f"{folder}: cannot list ({exc.strerror or exc})")
            return False
        self.generation += 1
        gen = self.generation
        self._logged.clear()
        self.scoring.cancel()
        self.thumb_pool.clear()
        self.viewer_pool.clear()
        self.folder = folder.resolve()
        self.book = CullBook()
        self._overlay_key = None
        self.viewer.clear()
        self.opened_at = time.monotonic()
        self.first_thumbnail_s = None
        self.model.reset(paths)
        self.thumbs.reset(gen, paths, self.settings.thumbnail_size, self.settings.sidecar_style)
        self._prefer_visible()
        self._update_empty_text()
        self.setWindowTitle(f"{self.folder.name} — aesview")
        self.log("info", f"opened {self.folder} ({len(paths)} photos)")
        self.settings.add_recent(self.folder)
        self._persist()
        self._fill_recent_menu()
        self._update_counts()
        self._update_undo_actions()
        self._user_chose = False
        if paths:
            self._select_top()
            self.start_scoring()
        else:
            self.show_current()
        return True

    def _update_empty_text(self) -> None:
        """What the grid says when it shows nothing: why, and what to do."""
        if self.folder is None:
            text = "Open a folder of photos: File → Open folder (Ctrl+O), or drop one here."
        elif not self.model.rowCount():
            text = (f"No photos in “{self.folder.name}”.\n\naesview shows JPEG, PNG, TIFF, WebP, "
                    "HEIC and camera raw files (subfolders are not searched). Open another "
                    "folder (Ctrl+O) or drop one here.")
        else:
            name = self.filter_combo.currentData()
            text = {"picks": "No picks yet: P picks the selected photo.",
                    "rejected": "No rejected photos.",
                    "not_rejected": "Every photo of this shoot is rejected.",
                    "stars": f"No photo has {self.stars_spin.value()} ★ or more."}.get(name, "")
            text += "\n\nShow: All photos brings back the whole shoot."
        self.grid.set_empty_text(text)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for f in self.settings.recent_folders:
            a = self.recent_menu.addAction(f)
            a.triggered.connect(partial(self.open_folder, f))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):
        for url in event.mimeData().urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                self.open_folder(p if p.is_dir() else p.parent)
                event.acceptProposedAction()
                return

    # ------------------------------------------------------------------ thumbnails
    def _prefer_visible(self) -> None:
        rows = self.grid.visible_rows()
        self.thumbs.prefer([self.proxy.index(r, 0).data(Role.PATH) for r in rows])

    def _on_thumbnail(self, gen, path, image, size, error) -> None:
        self.thumbs.done(gen)
        if gen != self.generation:
            return
        if self.first_thumbnail_s is None and image is not None:
            self.first_thumbnail_s = time.monotonic() - self.opened_at
        self.model.set_thumbnail(path, image, size, error)
        if error:
            self._log_once("error", error)
        if path == self.viewer.path and self.viewer.photo.is_empty() and image is not None:
            self._show_placeholder(path)

    def _on_metadata(self, gen, path, captured, decision, error) -> None:
        if gen != self.generation:
            return
        self.model.set_captured(path, captured)
        if decision is not None and self.book.load(path, decision):
            self.model.set_decision(path, decision)
        if error:
            self.log("warning", error)

    def set_thumbnail_size(self, size: int) -> None:
        size = int(size)
        self.settings.thumbnail_size = size
        self.delegate.set_size(size)
        self.grid.doItemsLayout()
        self._thumb_timer.start()

    def _reload_small_thumbnails(self) -> None:
        size = self.settings.thumbnail_size
        self.thumbs.add([it.path for it in self.model.items()
                         if it.thumb is not None and it.thumb_size < size], size)
        self._prefer_visible()
        self._persist()

    # ------------------------------------------------------------------ scoring
    def start_scoring(self) -> None:
        paths = self.model.paths()
        if not paths:
            return
        job = ScoreJob(self.generation, paths, self.settings.model or None, self.settings.device)
        self.score_progress.begin("Loading model…", len(paths))
        self.scoring.start(job)

    def cancel_scoring(self) -> None:
        if self.scoring.job is not None and not self.scoring.job.cancel.is_set():
            self.scoring.cancel()
            self.log("info", "scoring cancelled")
        self.score_progress.end()

    def _on_score_started(self, gen, total, desc) -> None:
        if gen != self.generation:
            return
        self.score_progress.begin(f"Scoring ({desc})", total)
        self.log("info", f"scoring {total} photos with {desc}")

    def _on_record(self, gen, rec) -> None:
        if gen != self.generation:
            return
        if rec.cached:
            self.score_progress.skip()
        self.model.set_record(rec)
        if rec.path == self.current_path():
            self._overlay_key = None
            self.refresh_explain()
            self.refresh_overlay()

    def _on_score_progress(self, gen, done, total) -> None:
        if gen == self.generation:
            self.score_progress.set_progress(done, total)

    def _on_score_finished(self, gen, cancelled) -> None:
        if gen != self.generation:
            return
        self.score_progress.end()
        self.model.update_ranks()
        self.refresh_explain()
        c = self.model.counts()
        if not cancelled:
            self.log("info", f"scored {c['scored']} of {c['photos']} photos"
                     + (f", {c['failed']} failed" if c["failed"] else ""))

    def set_device(self, device: str) -> None:
        if device not in DEVICE_LABELS or device == self.settings.device:
            return
        self.settings.device = device
        self.device_actions[device].setChecked(True)
        self.device_combo.setCurrentIndex(self.device_combo.findData(device))
        self._persist()
        self.log("info", f"scoring device: {DEVICE_LABELS[device]}")
        self.start_scoring()

    def set_model(self, name: str) -> None:
        if name == self.settings.model:
            return
        self.settings.model = name
        self._persist()
        self.log("info", f"model: {name or 'the shipped default'}")
        self.start_scoring()

    def _fill_model_menu(self) -> None:
        from ..core.weights import list_models
        self.model_menu.clear()
        group = QActionGroup(self.model_menu)
        try:
            names = list_models()
        except FileNotFoundError:
            names = []
        for name in [""] + names:
            a = self.model_menu.addAction(name or "Shipped default")
            a.setCheckable(True)
            a.setChecked(name == self.settings.model)
            group.addAction(a)
            a.triggered.connect(partial(self.set_model, name))
        if self.settings.model and self.settings.model not in names:
            a = self.model_menu.addAction(self.settings.model)
            a.setCheckable(True)
            a.setChecked(True)
            group.addAction(a)
        self.model_menu.addSeparator()
        self.model_menu.addAction("Model file…").triggered.connect(self._choose_model_file)

    def _choose_model_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Model file (with its .json card beside it)",
                                           "", "aesview models (*.pt *.json)")
        if f:
            self.set_model(f)

    # ------------------------------------------------------------------ sort / filter
    def set_sort(self, key: str) -> None:
        self.settings.sort_key = key
        self.proxy.set_sort_key(key)
        self.grid.scrollTo(self.grid.currentIndex())

    def _filter_changed(self) -> None:
        name = self.filter_combo.currentData()
        self.stars_spin.setEnabled(name == "stars")
        self.proxy.set_filter(name, self.stars_spin.value())
        self._update_empty_text()
        self._update_counts()            # "… · N shown"
        if not self.grid.currentIndex().isValid() and self.proxy.rowCount():
            self._select_top()
        self.show_current()

    # ------------------------------------------------------------------ selection / viewer
    def _current_changed(self, *_):
        if not self._auto_current:
            self._user_chose = True
        self.show_current()

    def _user_scrolled(self, _action) -> None:
        self._user_chose = True

    def _select_top(self) -> None:
        self._auto_current = True
        try:
            self.grid.setCurrentIndex(self.proxy.index(0, 0))
            self.grid.scrollToTop()
        finally:
            self._auto_current = False

    def _follow_top(self) -> None:
        """Until the user picks a photo (click, key, flag), the selection stays on the best one
        so far: a shoot opens on its best photo, not on whatever was first by name."""
        if not self._user_chose and self.proxy.rowCount() \
                and self.grid.currentIndex() != self.proxy.index(0, 0):
            self._select_top()

    def current_path(self) -> str | None:
        idx = self.grid.currentIndex()
        return idx.data(Role.PATH) if idx.isValid() else None

    def selected_paths(self) -> list[str]:
        rows = self.grid.selectionModel().selectedIndexes()
        paths = [i.data(Role.PATH) for i in sorted(rows, key=lambda i: i.row())]
        cur = self.current_path()
        if not paths and cur:
            paths = [cur]
        return paths

    def select_path(self, path: str) -> bool:
        src = self.model.index_of(path)
        idx = self.proxy.mapFromSource(src)
        if not idx.isValid():
            return False
        self.grid.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.grid.scrollTo(idx)
        return True

    def _show_placeholder(self, path: str) -> None:
        it = self.model.item(path)
        if it is not None and it.thumb is not None:
            rec = it.record
            self.viewer.show_image(path, it.thumb, rec.image_size if rec and rec.image_size else None)

    def show_current(self) -> None:
        path = self.current_path()
        if path is None:
            self.viewer.clear()
            self.refresh_explain()
            return
        if path != self.viewer.path:
            self.viewer.hide_crop()
            self.panel.crop_button.setText("Show crop (C)")
            self.viewer.clear()
            self._overlay_key = None
            self._show_placeholder(path)
            self.viewer.path = path
            self.photo_token += 1
            self.viewer_pool.clear()   # drop loads of photos the user already moved past
            self.viewer_pool.start(PhotoLoadTask(self.signals, self.photo_token, path))
        self.refresh_explain()
        self.refresh_overlay()

    def _on_photo(self, token, path, image, size, error) -> None:
        if token != self.photo_token:
            return
        if error:
            self._log_once("error", error)
            return
        crop = self.viewer.crop_box() if self.viewer.crop_visible() else None
        preview, full = image
        self.viewer.show_image(path, preview, size, full)
        self._overlay_key = None
        self.refresh_overlay()
        if crop is not None:
            self.viewer.show_crop(crop, self.viewer.crop.aspect)

    def refresh_explain(self) -> None:
        path = self.current_path()
        it = self.model.item(path) if path else None
        if it is None:
            self.panel.show_text("No photo selected", "", {})
            return
        rec = it.record
        names = list(rec.attributes) if rec is not None and rec.attributes else []
        if names and [self.panel.attribute.itemText(i) for i in range(self.panel.attribute.count())] != names:
            self.panel.set_attribute_names(names, self.settings.attribute)
        if it.error:
            self.panel.show_text(it.name, f"<span style='color:#cf222e'>{html.escape(it.error)}</span>", {})
            return
        if rec is None or rec.score is None:
            self.panel.show_text(it.name, "Scoring…", {})
            return
        n = self.model.counts()["scored"]
        title = f"{it.name}\n{rec.score:.2f}" + (f" — #{it.rank} of {n}" if it.rank else "")
        self.panel.show_text(title, html.escape(describe(rec.score, it.percentile, rec.aesam,
                                                         rec.attributes)), rec.attributes)

    def refresh_overlay(self) -> None:
        path = self.current_path()
        it = self.model.item(path) if path else None
        rec = it.record if it is not None else None
        mode = self.panel.mode()
        if mode == "none" or rec is None or rec.aesam is None or self.viewer.full_size is None:
            self.viewer.set_overlay(None, 0)
            self._overlay_key = None
            return
        attr = self.panel.attribute_name()
        cmap = self.panel.cmap.currentText()
        key = (path, mode, attr, cmap, self.viewer.full_size)
        if key != self._overlay_key:
            if mode == "attam":
                names = list(rec.attributes)
                if rec.attam is None or attr not in names:
                    self.viewer.set_overlay(None, 0)
                    return
                m = rec.attam[names.index(attr)]
            else:
                m = rec.aesam
            size = display_size(rec.image_size or self.viewer.full_size)
            self._overlay_image = rgb_to_qimage(overlay_rgba(m, size, cmap))
            self._overlay_key = key
        self.viewer.set_overlay(self._overlay_image, self.panel.opacity_value())
        self.settings.overlay, self.settings.overlay_cmap = mode, cmap
        if mode == "attam":
            self.settings.attribute = attr

    def _opacity_changed(self, value: float) -> None:
        self.viewer.set_overlay_opacity(value)
        self.settings.overlay_opacity = value

    # ------------------------------------------------------------------ culling
    def _toggle_advance(self, checked: bool) -> None:
        self.settings.auto_advance = checked

    def set_flag(self, flag: Flag) -> None:
        self._decide(culling.set_flag(flag), advance=True)

    def set_stars(self, n: int) -> None:
        self._decide(culling.set_stars(n), advance=False)

    def _decide(self, change, advance: bool) -> None:
        paths = self.selected_paths()
        if not paths:
            return
        self._user_chose = True
        edit = self.book.apply(paths, change)
        if edit is None:
            return
        self._apply_edit(edit, forward=True)
        if advance and self.settings.auto_advance and len(paths) == 1:
            self._advance_from(paths[0])

    def _advance_from(self, path: str) -> None:
        idx = self.proxy.mapFromSource(self.model.index_of(path))
        row = idx.row() + 1 if idx.isValid() else self.grid.currentIndex().row()
        if 0 <= row < self.proxy.rowCount():
            self.grid.selectionModel().setCurrentIndex(
                self.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def undo(self) -> None:
        edit = self.book.undo()
        if edit is not None:
            self._apply_edit(edit, forward=False)
            self.select_path(edit.paths[0])

    def redo(self) -> None:
        edit = self.book.redo()
        if edit is not None:
            self._apply_edit(edit, forward=True)
            self.select_path(edit.paths[0])

    def _apply_edit(self, edit, forward: bool) -> None:
        for path, old, new in edit.changes:
            d = new if forward else old
            self.model.set_decision(path, d)
            self.io_pool.start(SidecarWriteTask(self.signals, path, d, self.settings.sidecar_style))
        self._update_undo_actions()
        self._update_counts()

    def _update_undo_actions(self) -> None:
        self.act_undo.setEnabled(self.book.can_undo())
        self.act_redo.setEnabled(self.book.can_redo())

    def wait_for_sidecars(self, timeout_ms: int = 10000) -> bool:
        return self.io_pool.waitForDone(timeout_ms)

    def _update_counts(self) -> None:
        c = self.model.counts()
        text = (f"{_n(c['photos'], 'photo')} · {c['scored']} scored · {_n(c['picks'], 'pick')}"
                f" · {c['rejects']} rejected")
        if c["failed"]:
            text += f" · {c['failed']} failed"
        if self.proxy.rowCount() != c["photos"]:
            text += f" · {self.proxy.rowCount()} shown"
        self.counts_label.setText(text)

    # ------------------------------------------------------------------ crop
    def _aspect(self, image_size):
        from ..core.crop import parse_aspect
        return parse_aspect(self.settings.crop_aspect, image_size)

    def _proposed_crop(self, it):
        from ..core.crop import best_crop
        rec = it.record
        if rec is None or rec.aesam is None or rec.image_size is None:
            return None
        aspect = self._aspect(rec.image_size)
        if it.crop_box is not None and it.crop_aspect == self.settings.crop_aspect:
            return it.crop_box, aspect
        return tuple(int(v) for v in best_crop(rec.aesam, rec.image_size, aspect)), aspect

    def toggle_crop(self) -> None:
        if self.viewer.crop_visible():
            self.viewer.hide_crop()
            self.panel.crop_button.setText("Show crop (C)")
            return
        self.show_crop()

    def show_crop(self) -> bool:
        path = self.current_path()
        it = self.model.item(path) if path else None
        if it is None:
            return False
        proposal = self._proposed_crop(it)
        if proposal is None:
            self.log("warning", f"{it.name}: no crop until its score (and heat map) arrive")
            return False
        box, aspect = proposal
        self.viewer.show_crop(box, aspect)
        self.panel.crop_button.setText("Hide crop (C)")
        return True

    def _crop_edited(self, _rect) -> None:
        path = self.viewer.path
        it = self.model.item(path) if path else None
        if it is not None:
            it.crop_box = self.viewer.crop_box()
            it.crop_aspect = self.settings.crop_aspect

    def _aspect_changed(self, key: str) -> None:
        self.settings.crop_aspect = key
        if self.viewer.crop_visible():
            self.viewer.hide_crop()
            self.show_crop()

    def export_dir(self) -> Path | None:
        if self.settings.export_dir:
            return Path(self.settings.export_dir)
        return self.folder / "aesview-export" if self.folder else None

    def choose_export_dir(self) -> None:
        start = str(self.export_dir() or Path.home())
        d = QFileDialog.getExistingDirectory(self, "Export folder", start)
        if d:
            self.settings.export_dir = d
            self._persist()
            self.log("info", f"exports go to {d}")

    def export_current_crop(self) -> bool:
        path = self.current_path()
        it = self.model.item(path) if path else None
        if it is None:
            return False
        if self.viewer.crop_visible() and self.viewer.path == path:
            box = self.viewer.crop_box()
        else:
            proposal = self._proposed_crop(it)
            if proposal is None:
                self.log("warning", f"{it.name}: no crop to export until its score arrives")
                return False
            box = proposal[0]
        return self._run_exports([(path, box)], "export")

    def export_pick_crops(self) -> bool:
        from ..core.crop import best_crop, parse_aspect
        picks = [it for it in self.model.items() if it.decision.picked]
        if not picks:
            self.log("warning", "no picks to export (P picks the selected photo)")
            return False
        aspect_key = self.settings.crop_aspect
        plan = []
        for it in picks:
            rec = it.record
            user_box = it.crop_box if it.crop_aspect == aspect_key else None
            plan.append((it.path, user_box, rec.aesam if rec else None,
                         rec.image_size if rec else None))

        def boxes():
            for path, user_box, aesam, size in plan:
                if user_box is not None:
                    yield path, user_box
                elif aesam is None or size is None:
                    yield path, RuntimeError(f"{path}: not scored yet, no crop")
                else:
                    yield path, tuple(int(v) for v in best_crop(aesam, size, parse_aspect(aspect_key, size)))
        return self._run_exports(boxes(), "export picks", total=len(plan))

    def _run_exports(self, items, kind: str, total: int | None = None) -> bool:
        from ..core.export import export_crop, unique_path
        out_dir = self.export_dir()
        if out_dir is None:
            return False
        quality = self.settings.export_quality
        items = items if total is not None else list(items)
        total = total if total is not None else len(items)

        def work(progress, cancel):
            out_dir.mkdir(parents=True, exist_ok=True)
            written, errors = [], []
            for i, (src, box) in enumerate(items):
                if cancel.is_set():
                    break
                if isinstance(box, Exception):
                    errors.append(str(box))
                else:
                    stem = Path(src).stem
                    try:
                        dst = unique_path(out_dir / f"{stem}-crop.jpg")
                        export_crop(src, box, dst, quality=quality)
                        written.append(str(dst))
                    except Exception as exc:  # noqa: BLE001 - one bad photo, the rest go on
                        errors.append(f"{src}: export failed ({exc})")
                progress(i + 1, total, Path(src).name)
            return {"written": written, "errors": errors}
        return self._start_job(kind, work, total)

    # ------------------------------------------------------------------ copy / move picks
    def choose_transfer(self, move: bool) -> None:
        d = QFileDialog.getExistingDirectory(self, ("Move" if move else "Copy") + " picks to",
                                             str(self.folder or Path.home()))
        if d:
            self.transfer_picks_to(d, move)

    def transfer_picks_to(self, dest, move: bool = False) -> bool:
        from ..core.picks import transfer_one
        picks = [it.path for it in self.model.items() if it.decision.picked]
        if not picks:
            self.log("warning", "no picks to " + ("move" if move else "copy"))
            return False
        self.wait_for_sidecars()   # sidecars travel with the photos: let pending writes land

        def work(progress, cancel):
            results = []
            for i, p in enumerate(picks):
                if cancel.is_set():
                    break
                results.append(transfer_one(p, dest, move))
                progress(i + 1, len(picks), Path(p).name)
            return {"transfers": results, "move": move}
        return self._start_job("move picks" if move else "copy picks", work, len(picks))

    # ------------------------------------------------------------------ jobs
    def _start_job(self, kind: str, fn, total: int) -> bool:
        if kind in self._jobs:
            self.log("warning", f"{kind} is already running")
            return False
        task = JobTask(self.signals, kind, fn)
        task.setAutoDelete(False)
        self._jobs[kind] = task
        self.job_progress.begin(kind.capitalize(), total)
        self.job_pool.start(task)
        return True

    def cancel_jobs(self) -> None:
        for task in self._jobs.values():
            task.cancel.set()

    def jobs_running(self) -> bool:
        return bool(self._jobs)

    def _on_job_progress(self, kind, done, total, message) -> None:
        self.job_progress.set_progress(done, total)

    def _on_job_finished(self, kind, result) -> None:
        self._jobs.pop(kind, None)
        if not self._jobs:
            self.job_progress.end()
        if not isinstance(result, dict):
            return
        for err in result.get("errors", []):
            self.log("error", err)
        if "written" in result:
            self.exported.extend(result["written"])
            for w in result["written"]:
                self.log("info", f"exported {w}")
        if "transfers" in result:
            moved = []
            verb = "moved" if result["move"] else "copied"
            for t in result["transfers"]:
                if t.error:
                    self.log("error", t.error)
                else:
                    self.log("info", f"{verb} {t.source} → {t.target}"
                             + (f" (+{len(t.sidecars)} sidecar)" if t.sidecars else ""))
                    moved.append(t.source)
            if result["move"] and moved:
                self.book.forget(moved)
                self.model.remove_paths(moved)
                self._update_undo_actions()
                self._update_counts()
                self.show_current()

    # ------------------------------------------------------------------ closing
    def shutdown(self) -> None:
        """Cancel the scoring and wait for every worker, so nothing outlives the window."""
        if self._closed:
            return
        self._closed = True
        self.generation += 1           # late results are dropped from here on
        self.cancel_jobs()
        self.thumbs.reset(-1, [], 0, None)
        self.thumb_pool.clear()
        self.viewer_pool.clear()
        if not self.scoring.shutdown():
            self.log("error", "the scoring thread did not stop in time")
        for pool in (self.thumb_pool, self.viewer_pool, self.io_pool, self.job_pool):
            pool.waitForDone()

    def closeEvent(self, event):
        self.save_settings()
        self.shutdown()
        event.accept()
