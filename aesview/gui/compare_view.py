"""Compare (2-up), survey (up to 8) and the full-screen loupe: photos side by side, zoomed and
panned together, so focus across a burst is checked at 100 % once, not frame by frame.

Panes are the app's own PhotoView. Zoom and pan are shared as a zoom relative to each photo's
fit and a centre in fractions of the photo, so frames of slightly different framing or size
stay aligned. Full-resolution images load on a small pool of their own and are kept in a
least-recently-used cache bounded by bytes (core.settings.FULL_IMAGE_CACHE_BYTES), so switching
between photos already seen costs a repaint. Each pane holds its own frame, so the panes share
one pixel budget (core.settings.PANES_MAX_MEGAPIXELS, see pane_megapixels): a survey of 8
decodes big photos reduced and says so, and a hidden pane holds nothing. Until a photo's pixels
arrive its pane shows the thumbnail and says "Loading full resolution…", and a photo that cannot
be shown says why.
Z zooms to 100 % at the subject (core.bursts.zoom_point: the score record's subject map).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from ..core.bursts import zoom_point
from ..core.settings import FULL_IMAGE_CACHE_BYTES, PANES_MAX_MEGAPIXELS, VIEW_MAX_MEGAPIXELS
from .messages import PhotoLoaded, WorkerSignals
from .pools import WorkerPool
from .session import Session
from .viewer import PhotoView
from .workers import PhotoLoadTask

MAX_PANES = 8


def pane_megapixels(panes: int) -> float:
    """The decode cap of each of `panes` panes: their frames together stay within
    PANES_MAX_MEGAPIXELS, and one pane never gets more than the main viewer."""
    return min(VIEW_MAX_MEGAPIXELS, PANES_MAX_MEGAPIXELS / max(1, panes))


@dataclass(frozen=True)
class Loaded:
    preview: QImage
    full: QImage | None
    size: tuple[int, int]


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _bytes_of(entry: Loaded) -> int:
    held = entry.preview.sizeInBytes()
    if entry.full is not None and entry.full is not entry.preview:
        held += entry.full.sizeInBytes()
    return held


class FullImageCache(QObject):
    """Full-resolution images by path and decode cap (megapixels), loaded off the GUI thread,
    the most recent kept up to `capacity_bytes` (a count of photos would let eight 100 MP frames
    hold 3.2 GB). The newest image is always kept, even alone over the budget: it is the one on
    screen."""
    ready = Signal(str)

    def __init__(self, parent: QObject | None = None, capacity_bytes: int = FULL_IMAGE_CACHE_BYTES):
        super().__init__(parent)
        self.capacity_bytes = capacity_bytes
        self.signals = WorkerSignals(self)
        # one load at a time: two 48 MP decodes at once would be two frames in flight
        self.pool = WorkerPool(self, 1)
        self._images: OrderedDict[tuple[str, float], Loaded] = OrderedDict()
        self._held = 0
        self._asked: set[tuple[str, float]] = set()
        self._tokens: dict[int, tuple[str, float]] = {}     # request token -> what it asked for
        self._token = 0
        # path -> (why it failed, the file's (mtime, size) then): a file copied in full or
        # repaired since, or a raised pixel budget (forget_errors), gets another try
        self._errors: dict[str, tuple[str, tuple[int, int] | None]] = {}
        self.signals.photo.connect(self._on_photo)

    def bytes_held(self) -> int:
        return self._held

    def get(self, path: str, megapixels: float = VIEW_MAX_MEGAPIXELS) -> Loaded | None:
        """The photo as decoded under `megapixels` (a survey pane's smaller cap is another
        entry: a pane never keeps a frame bigger than its share)."""
        key = (path, megapixels)
        hit = self._images.get(key)
        if hit is not None:
            self._images.move_to_end(key)
        return hit

    def error(self, path: str) -> str | None:
        """Why the photo could not be shown, while the file is as it was then."""
        hit = self._errors.get(path)
        if hit is None:
            return None
        if _stamp(path) != hit[1]:
            del self._errors[path]
            return None
        return hit[0]

    def forget_errors(self) -> None:
        self._errors.clear()

    def request(self, path: str, megapixels: float = VIEW_MAX_MEGAPIXELS) -> None:
        key = (path, megapixels)
        if key in self._images or key in self._asked or self.error(path) is not None:
            return
        self._asked.add(key)
        self._token += 1
        self._tokens[self._token] = key
        self.pool.start(PhotoLoadTask(self.signals, self._token, path, megapixels=megapixels))

    def _on_photo(self, msg: PhotoLoaded) -> None:
        key = self._tokens.pop(msg.token, (msg.path, VIEW_MAX_MEGAPIXELS))
        self._asked.discard(key)
        if msg.preview is None or msg.size is None:
            self._errors[msg.path] = (msg.error or "cannot be shown", _stamp(msg.path))
            self.ready.emit(msg.path)
            return
        self.put(msg, key[1])

    def put(self, msg: PhotoLoaded, megapixels: float = VIEW_MAX_MEGAPIXELS) -> None:
        """Keep a loaded photo (also the main viewer's, decoded under VIEW_MAX_MEGAPIXELS: the
        loupe on it then costs no second decode, and the two share one QImage instead of
        holding two frames)."""
        if msg.preview is None or msg.size is None:
            return
        key = (msg.path, megapixels)
        old = self._images.pop(key, None)
        if old is not None:
            self._held -= _bytes_of(old)
        entry = Loaded(msg.preview, msg.full, msg.size)
        self._images[key] = entry
        self._held += _bytes_of(entry)
        while self._held > self.capacity_bytes and len(self._images) > 1:
            _path, dropped = self._images.popitem(last=False)
            self._held -= _bytes_of(dropped)
        self.ready.emit(msg.path)

    def shutdown(self) -> None:
        self.pool.close()
        self.pool.waitForDone()


class Pane(QWidget):
    """One photo: the view, a caption, and the "still loading" sign."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = PhotoView()
        # No scroll bars in the panes (pan by dragging): a bar appearing as the pixels arrive
        # would shrink the viewport and move every pane's shared centre by half its width.
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.caption = QLabel()
        self.caption.setObjectName("caption")
        self.loading = QLabel("Loading full resolution…", self.view)
        self.loading.setObjectName("loading")
        self.loading.setStyleSheet("background: rgba(0,0,0,170); color: white; padding: 3px 8px;"
                                   " border-radius: 3px;")
        self.loading.move(8, 8)
        self.loading.hide()
        self.failed = False            # the photo cannot be shown; `loading` says why
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.setSpacing(2)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.caption)
        self.path: str | None = None

    def fit_zoom(self) -> float:
        if not self.view.full_size:
            return 1.0
        vp = self.view.viewport().rect()
        fw, fh = self.view.full_size
        return min(vp.width() / max(1, fw), vp.height() / max(1, fh))


class CompareView(QWidget):
    """2-up compare, survey of up to 8, or a single loupe; zoom and pan shared by every pane."""
    closed = Signal()

    def __init__(self, session: Session, cache: FullImageCache | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compare_view")
        self.setWindowTitle("Compare — aesview")
        self.session = session
        self.cache = cache or FullImageCache(self)
        self.cache.ready.connect(self._image_ready)
        self.panes: list[Pane] = []
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(3)
        self._syncing = False
        self.mode = "compare"
        self.megapixels = pane_megapixels(2)     # each pane's decode cap, set by show_photos

    # ------------------------------------------------------------------ content
    def show_photos(self, paths: list[str], mode: str = "compare") -> None:
        """Show `paths` (at most MAX_PANES), keeping the shared zoom and centre."""
        self.mode = mode
        paths = paths[:MAX_PANES]
        self.megapixels = pane_megapixels(len(paths))
        while len(self.panes) < len(paths):
            pane = Pane(self)
            v = pane.view
            v.zoomChanged.connect(lambda _z, p=pane: self._sync_from(p))
            v.horizontalScrollBar().valueChanged.connect(lambda _v, p=pane: self._sync_from(p))
            v.verticalScrollBar().valueChanged.connect(lambda _v, p=pane: self._sync_from(p))
            self.panes.append(pane)
        for pane in self.panes[len(paths):]:
            # a hidden pane keeps no frame (it would hold a full photo nobody sees)
            pane.hide()
            pane.view.clear()
            pane.path = None
            pane.failed = False
            pane.loading.hide()
        cols = len(paths) if len(paths) <= 2 else (2 if len(paths) <= 4 else 4)
        state = self.state()
        self._syncing = True       # loading fits each pane; the shared state is put back after
        try:
            for i, (pane, path) in enumerate(zip(self.panes, paths)):
                self._grid.addWidget(pane, i // cols, i % cols)
                pane.show()
                self._load(pane, path)
        finally:
            self._syncing = False
        if state is not None:
            self.apply_state(state)

    def _load(self, pane: Pane, path: str) -> None:
        pane.path = path
        it = self.session.model.item(path)
        name = it.name if it is not None else path
        score = f"  {it.score:.2f}" if it is not None and it.score is not None else ""
        pane.caption.setText(name + score)
        megapixels = self.megapixels
        hit = self.cache.get(path, megapixels)
        error = self.cache.error(path)
        pane.failed = error is not None
        pane.loading.setText(f"Cannot show: {error}" if pane.failed else "Loading full resolution…")
        pane.loading.adjustSize()
        if hit is not None:
            pane.loading.hide()
            pane.view.show_image(path, hit.preview, hit.size, hit.full)
            return
        if it is not None and it.thumb is not None:
            size = it.record.image_size if it.record is not None and it.record.image_size else None
            pane.view.show_image(path, it.thumb, size)
        else:
            pane.view.clear()
            pane.view.path = path
        pane.loading.show()
        pane.loading.raise_()
        if not pane.failed:
            self.cache.request(path, megapixels)

    def _image_ready(self, path: str) -> None:
        state = self.state()
        self._syncing = True
        try:
            for pane in self.visible_panes():
                if pane.path == path:
                    self._load(pane, path)
        finally:
            self._syncing = False
        if state is not None:
            self.apply_state(state)

    def visible_panes(self) -> list[Pane]:
        return [p for p in self.panes if not p.isHidden()]

    # ------------------------------------------------------------------ shared zoom and pan
    def state(self) -> tuple[bool, float, float, float] | None:
        """(fit, screen pixels across the photo's width, centre x, centre y as fractions) of the
        first pane: photos of one size get one zoom, a tighter frame shows the same share."""
        panes = [p for p in self.visible_panes() if p.view.full_size]
        if not panes:
            return None
        return self._state_of(panes[0])

    def _state_of(self, pane: Pane) -> tuple[bool, float, float, float]:
        v = pane.view
        assert v.full_size is not None
        fw, fh = v.full_size
        c = v.mapToScene(v.viewport().rect().center())
        return (v.fit_mode, v.zoom() * fw, c.x() / fw, c.y() / fh)

    def apply_state(self, state: tuple[bool, float, float, float],
                    skip: Pane | None = None) -> None:
        fit, across, cx, cy = state
        self._syncing = True
        try:
            for pane in self.visible_panes():
                v = pane.view
                if pane is skip or not v.full_size:
                    continue
                if fit:
                    v.fit()
                    continue
                z = across / max(1, v.full_size[0])
                v.fit_mode = False
                v.resetTransform()
                v.scale(z, z)
                v.centerOn(QPointF(cx * v.full_size[0], cy * v.full_size[1]))
        finally:
            self._syncing = False

    def _sync_from(self, pane: Pane) -> None:
        if self._syncing or not pane.view.full_size:
            return
        self.apply_state(self._state_of(pane), skip=pane)

    def zoom_to_subject(self) -> None:
        """100 % at the subject of the first pane (its map's peak), the others following."""
        panes = [p for p in self.visible_panes() if p.view.full_size and p.path]
        if not panes:
            return
        pane = panes[0]
        it = self.session.model.item(pane.path or "")
        peak = zoom_point(it.record) if it is not None and it.record is not None else None
        fx, fy = peak or (0.5, 0.5)
        fw = (pane.view.full_size or (1, 1))[0]
        self.apply_state((False, float(fw), fx, fy))     # 100 %: one screen pixel per pixel
        pane.view.zoomChanged.emit(pane.view.zoom())

    def fit(self) -> None:
        self.apply_state((True, 1.0, 0.5, 0.5))

    def zoom_by(self, factor: float) -> None:
        state = self.state()
        if state is not None:
            fit, across, cx, cy = state
            self.apply_state((False, across * factor, cx, cy))

    # ------------------------------------------------------------------ keys
    def step(self, delta: int) -> None:
        """Compare: the last pane moves to the next (or previous) photo of the grid; survey and
        loupe: every pane moves."""
        s = self.session
        rows = [s.proxy.index(r, 0).data(int(_path_role())) for r in range(s.proxy.rowCount())]
        paths = [p.path for p in self.visible_panes() if p.path]
        if not paths or not rows:
            return
        if self.mode == "compare" and len(paths) == 2:
            i = rows.index(paths[1]) if paths[1] in rows else 0
            j = i + delta
            while 0 <= j < len(rows) and rows[j] == paths[0]:
                j += delta
            if 0 <= j < len(rows):
                self.show_photos([paths[0], rows[j]], self.mode)
        else:
            # one common shift, clamped at the grid's ends, so a page near the end stays full
            # (clamping each pane alone piled them onto the last photo: 8 panes became 4)
            idx = [rows.index(p) if p in rows else 0 for p in paths]
            shift = max(-min(idx), min(len(rows) - 1 - max(idx), delta * len(paths)))
            if shift:
                self.show_photos(list(dict.fromkeys(rows[i + shift] for i in idx)), self.mode)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        k = event.key()
        if k == Qt.Key.Key_Escape:
            self.close()
        elif k in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step(1)
        elif k in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step(-1)
        elif k == Qt.Key.Key_Z:
            self.zoom_to_subject()
        elif k == Qt.Key.Key_F:
            self.fit()
        elif k in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(1.25)
        elif k == Qt.Key.Key_Minus:
            self.zoom_by(0.8)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        self.closed.emit()
        super().closeEvent(event)


def _path_role() -> int:
    from .photo_model import Role
    return int(Role.PATH)


class CompareController(QObject):
    """Opens the compare, survey and loupe windows on the selection (actions C, N, Shift+F)."""

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self.cache = FullImageCache(self)
        session.photoLoaded.connect(self.cache.put)
        session.folderChanged.connect(self.cache.forget_errors)
        session.settingsApplied.connect(self.cache.forget_errors)   # e.g. a raised pixel budget
        self.window: CompareView | None = None
        self.main_view: PhotoView | None = None     # the window's viewer, for keep_zoom

    def zoom_main_to_subject(self) -> None:
        """Z in the main view: 100 % on the subject (core.bursts.zoom_point), not the centre."""
        v = self.main_view
        if v is None:
            return
        v.zoom_100()
        it = self.session.current_item()
        peak = zoom_point(it.record) if it is not None and it.record is not None else None
        if v.full_size:
            fx, fy = peak or (0.5, 0.5)
            v.centerOn(QPointF(fx * v.full_size[0], fy * v.full_size[1]))

    def set_keep_zoom(self, on: bool) -> None:
        """Moving to another photo keeps the zoom and the place (checking focus along a burst)."""
        self.session.settings.keep_zoom = bool(on)
        self.session.persist()
        if self.main_view is not None:
            self.main_view.keep_zoom = bool(on)

    def _open(self, paths: list[str], mode: str, full_screen: bool = False) -> CompareView:
        if self.window is None:
            self.window = CompareView(self.session, self.cache)
            self.window.setWindowFlag(Qt.WindowType.Window, True)
            self.window.resize(1400, 800)
        self.window.show_photos(paths, mode)
        if full_screen:
            self.window.showFullScreen()
        else:
            self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        return self.window

    def compare(self) -> CompareView | None:
        """The current photo and the next selected one (else the next in the grid)."""
        s = self.session
        cur = s.current_path()
        if cur is None:
            return None
        others = [p for p in s.selected_paths() if p != cur]
        if not others:
            row = s.selection.currentIndex().row()
            nxt = s.proxy.index(row + 1, 0)
            others = [nxt.data(_path_role())] if nxt.isValid() else []
        return self._open([cur, *others[:1]], "compare")

    def survey(self) -> CompareView | None:
        paths = self.session.selected_paths()
        if not paths:
            return None
        if len(paths) > MAX_PANES:
            self.session.log("info", f"survey shows the first {MAX_PANES} of {len(paths)} selected")
        return self._open(paths[:MAX_PANES], "survey")

    def loupe(self) -> CompareView | None:
        cur = self.session.current_path()
        return self._open([cur], "loupe", full_screen=True) if cur else None

    def shutdown(self) -> None:
        if self.window is not None:
            self.window.close()
        self.cache.shutdown()
