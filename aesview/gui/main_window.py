"""The main window: lays out the grid, the photo, "why this score", the log, the toolbar and the
status bar, and saves and restores its geometry. What it shows comes from the session and the
controllers (gui/bindings.py connects them); its menus come from the action table."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QMargins, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ..core import choices, culling
from ..core.settings import Settings
from . import actions
from .bindings import Bindings
from .compare_view import CompareController
from .controllers import (
    CropController,
    CullingController,
    ExplanationController,
    MapsController,
    ReportController,
    WhatIfController,
)
from .controllers.bursts import BurstsController
from .delegate import ThumbnailDelegate
from .dialogs import Dialogs
from .explain_panel import ExplainPanel
from .grid import PhotoGrid
from .log_panel import LogPanel
from .maps_window import MapsWindow
from .screen_fit import available_geometry, clamp_to_screen, first_geometry
from .session import FIRST_SCREEN_WAIT_S, Session
from .status import JobProgress
from .viewer import PhotoView


def combo(name: str, options: list[tuple[str, str]]) -> QComboBox:
    """A toolbar choice: shows each label, carries its key as the item data."""
    box = QComboBox()
    box.setObjectName(name)
    for key, text in options:
        box.addItem(text, key)
    return box


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("aesview")
        self.session = Session(settings, self, screen_wait_s=FIRST_SCREEN_WAIT_S)
        self.settings = self.session.settings
        self.culling = CullingController(self.session)
        self.explanation = ExplanationController(self.session)
        self.crop = CropController(self.session)
        self.explanation.extra_maps["crop"] = self.crop.evidence_overlay
        self.explanation.extra_legends["crop"] = lambda _a: ("", "what the crop keeps")
        self.bursts = BurstsController(self.session, self.culling)
        self.compare = CompareController(self.session)
        self.whatif = WhatIfController(self.session)
        self.report = ReportController(self.session)
        self.maps = MapsController(self.session)
        self._laid_out = False
        self._build_centre()
        self._build_docks()
        self._build_status()
        self.dialogs = Dialogs(self, self.session, self.culling, self.crop, self.report)
        self.maps_window = MapsWindow(self)
        self.actions_by_name, self.menus = actions.install(self, {
            "session": self.session, "culling": self.culling, "explanation": self.explanation,
            "crop": self.crop, "viewer": self.viewer, "dialogs": self.dialogs,
            "bursts": self.bursts, "compare": self.compare, "maps": self.maps})
        self.menus["&Scoring/&Model"] = self.menus["&Scoring"].addMenu("&Model")
        self.recent_menu = self.menus["&File"].addMenu("Open &recent")
        self.menus["&File"].insertMenu(self.actions_by_name["open_samples"], self.recent_menu)
        view = self.menus["&View"]
        view.addSeparator()
        view.addAction(self.explain_dock.toggleViewAction())
        view.addAction(self.log_dock.toggleViewAction())
        self._build_toolbar()
        self.bindings = Bindings(self)
        self._restore_geometry()
        self.setAcceptDrops(True)

    # ------------------------------------------------------------------ layout
    def _build_centre(self) -> None:
        self.delegate = ThumbnailDelegate(self.settings.thumbnail_size, self)
        self.grid = PhotoGrid()
        self.grid.setItemDelegate(self.delegate)
        self.viewer = PhotoView()
        self.viewer.setObjectName("viewer")
        self.viewer.setMinimumWidth(200)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("splitter")
        split.addWidget(self.grid)
        split.addWidget(self.viewer)
        split.setStretchFactor(0, 0)     # a bigger window grows the photo, not the grid
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)   # a drag can't lose the grid or the photo
        self.setCentralWidget(split)
        self.splitter = split

    def _build_docks(self) -> None:
        self.panel = ExplainPanel()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)   # a click in the panel leaves the keys
        scroll.setWidget(self.panel)
        self.panel_scroll = scroll
        # The words, heat map, attributes and "what if" scroll; the crop group is pinned under
        # them (as Lightroom pins its panel's buttons), so Aspect, Show/Export crop, Tightness
        # and Accept show without scrolling however long a photo's words are.
        body = QWidget()
        body.setObjectName("explain_body")
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(scroll, 1)
        footer = QVBoxLayout()
        lay, frame = self.panel.layout(), scroll.frameWidth()
        m = lay.contentsMargins() if lay is not None else QMargins()   # in line with the panel's
        footer.setContentsMargins(m.left() + frame, m.top() // 2, m.right() + frame, m.bottom() // 2)
        footer.addWidget(self.panel.crop_box)
        column.addLayout(footer)
        self.explain_dock = QDockWidget("Why this score", self)
        self.explain_dock.setObjectName("explain_dock")
        self.explain_dock.setWidget(body)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.explain_dock)
        # The explanation runs the full height; the log sits under the grid and the photo only,
        # so a 768 px screen still shows the whole panel.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.log_panel = LogPanel()
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("log_dock")
        self.log_dock.setWidget(self.log_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)

    def _build_status(self) -> None:
        self.counts_label = QLabel()
        self.score_progress = JobProgress("score_progress")
        self.job_progress = JobProgress("job_progress")
        sb = self.statusBar()
        sb.addWidget(self.counts_label, 1)
        sb.addPermanentWidget(self.job_progress)
        sb.addPermanentWidget(self.score_progress)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        self.addToolBar(tb)
        tb.addAction(self.actions_by_name["open"])
        tb.addSeparator()
        tb.addWidget(QLabel(" Sort "))
        self.sort_combo = combo("sort", [(c.key, c.label) for c in choices.SORTS])
        tb.addWidget(self.sort_combo)
        tb.addWidget(QLabel(" Show "))
        self.filter_combo = combo("filter", list(culling.FILTERS.items()))
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
        self.device_combo = combo("device", [(c.key, c.label) for c in choices.DEVICES])
        tb.addWidget(self.device_combo)
        tb.addSeparator()
        tb.addAction(self.actions_by_name["undo"])
        tb.addAction(self.actions_by_name["redo"])
        for w in (self.sort_combo, self.filter_combo, self.stars_spin, self.size_slider,
                  self.device_combo):
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)    # clicks leave the keys to the grid

    # ------------------------------------------------------------------ geometry
    def _restore_geometry(self) -> None:
        st = self.settings
        if not (st.window_geometry
                and self.restoreGeometry(QByteArray.fromBase64(st.window_geometry.encode()))):
            self.setGeometry(first_geometry(available_geometry(self)))
        clamp_to_screen(self)      # saved on a bigger screen, or on one that is gone
        if st.window_state:
            self.restoreState(QByteArray.fromBase64(st.window_state.encode()))

    def save_settings(self) -> None:
        st = self.settings
        st.window_geometry = bytes(self.saveGeometry().toBase64().data()).decode()
        st.window_state = bytes(self.saveState().toBase64().data()).decode()
        st.splitter_state = bytes(self.splitter.saveState().toBase64().data()).decode()
        self.session.persist()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._laid_out:
            return
        # First show: the photo gets the larger share; a saved state, if any, wins.
        self._laid_out = True
        # Now the window system's frame is known: keep the title bar on the screen too
        # (and once more when a window manager adds its frame a moment later).
        clamp_to_screen(self)
        QTimer.singleShot(0, self, lambda: clamp_to_screen(self))
        if not self.settings.window_state:
            self.resizeDocks([self.log_dock], [110 if self.height() > 700 else 80], Qt.Orientation.Vertical)
            # wide enough for the panel in this platform's fonts, without a horizontal scroll
            scroll_bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
            need = max(self.panel.minimumSizeHint().width() + scroll_bar,
                       self.panel.crop_box.minimumSizeHint().width()) + 10
            self.resizeDocks([self.explain_dock], [max(min(330, max(290, self.width() // 4)), need)],
                             Qt.Orientation.Horizontal)
        restored = bool(self.settings.splitter_state) and self.splitter.restoreState(
            QByteArray.fromBase64(self.settings.splitter_state.encode()))
        sizes = self.splitter.sizes()
        if not restored or len(sizes) != 2 or sizes[1] < 0.4 * sum(sizes):
            self._split_for_columns()

    def _split_for_columns(self) -> None:
        """As many thumbnail columns (1 to 3) as fit in 45 % of the room beside the explanation
        (two on a 1366 or 1500 px window, three on a full-HD one); the photo gets the rest, so
        it always has the larger share."""
        cell = self.delegate.size + 12 + self.grid.spacing()
        chrome = (self.grid.spacing() + 2 * self.grid.frameWidth()
                  + self.grid.verticalScrollBar().sizeHint().width() + 6)
        w = self.splitter.width()
        columns = max(1, min(3, int((0.45 * w - chrome) // cell)))
        grid_w = columns * cell + chrome
        self.splitter.setSizes([grid_w, max(w - grid_w, 200)])

    # ------------------------------------------------------------------ window events
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                self.session.open_folder(p if p.is_dir() else p.parent)
                event.acceptProposedAction()
                return

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.compare.shutdown()
        self.session.shutdown()
        event.accept()
