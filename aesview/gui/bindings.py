"""Binds the window's widgets to the session and the controllers: widget signals become calls,
session and controller signals become what the widgets show. Nothing here decides anything."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QApplication,
    QComboBox,
    QWidget,
)

from .controllers import CropView, Explanation, OverlayView
from .messages import PhotoLoaded

if TYPE_CHECKING:
    from .main_window import MainWindow


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


class ArrowsToGrid(QObject):
    """Arrow keys pressed on the big photo (or the log, or the explanation) move through the
    grid, as in a culling tool."""
    KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
            Qt.Key.Key_End)

    def __init__(self, grid: QWidget):
        super().__init__(grid)
        self.grid = grid

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() in self.KEYS:  # type: ignore[attr-defined]
            self.grid.setFocus()
            self.grid.keyPressEvent(event)  # type: ignore[arg-type]
            return True
        return False


class WheelScrollsPanel(QObject):
    """The wheel over a combo box or slider of the panel scrolls the panel, as over the rest of
    it: otherwise scrolling down the panel changes whatever control passes under the pointer
    (the crop aspect, the scale, the colours; a turn onto Custom W:H… opens a dialog). A control
    reached with Tab (it has the focus) still takes the wheel."""

    def __init__(self, scroll: QAbstractScrollArea):
        super().__init__(scroll)
        self.scroll = scroll

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            QApplication.sendEvent(self.scroll.viewport(), event)
            return True
        return False


class Bindings(QObject):
    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        s, grid = win.session, win.grid
        self.session = s
        grid.setModel(s.proxy)
        grid.setSelectionModel(s.selection)
        self._visible_timer = QTimer(self, singleShot=True, interval=30)
        self._visible_timer.timeout.connect(self._prefer_visible)
        self._thumb_timer = QTimer(self, singleShot=True, interval=300)
        self._thumb_timer.timeout.connect(s.reload_small_thumbnails)
        arrows = ArrowsToGrid(grid)
        for w in (win.viewer, win.log_panel, win.panel.words):
            w.installEventFilter(arrows)
        self._panel_scroll = win.panel_scroll
        wheel = WheelScrollsPanel(self._panel_scroll)
        for part in (win.panel, win.panel.crop_box):          # the crop group is pinned under it
            for control in part.findChildren(QComboBox) + part.findChildren(QAbstractSlider):
                control.installEventFilter(wheel)

        # grid
        grid.viewportChanged.connect(self._prefer_visible)
        for sig in (s.proxy.layoutChanged, s.proxy.modelReset, s.proxy.rowsInserted, s.proxy.rowsRemoved):
            sig.connect(self._visible_timer.start)
        grid.verticalScrollBar().actionTriggered.connect(lambda _a: s.user_chose())
        s.model.ranksChanged.connect(grid.viewport().update)
        # session
        s.logged.connect(self._log)
        s.folderChanged.connect(self._folder_changed)
        s.countsChanged.connect(self._counts)
        s.currentChanged.connect(self._current_changed)
        s.thumbnailArrived.connect(self._thumbnail_arrived)
        s.photoLoaded.connect(self._photo_loaded)
        s.scoringStarted.connect(win.score_progress.begin)
        s.scoringProgress.connect(self._score_progress)
        s.scoringEnded.connect(lambda _c: win.score_progress.end())
        s.scoringStarted.connect(lambda _text, _n: self._scoring_state(True))
        s.scoringEnded.connect(lambda _c: self._scoring_state(False))
        s.deviceChanged.connect(self._device_changed)
        win.score_progress.cancelRequested.connect(s.cancel_scoring)
        ops = s.operations
        ops.started.connect(lambda label, total: win.job_progress.begin(label, total))
        ops.progressed.connect(lambda done, total, _m: win.job_progress.set_progress(done, total))
        ops.idle.connect(win.job_progress.end)
        win.job_progress.cancelRequested.connect(ops.cancel_all)
        # explanation
        ex, panel = win.explanation, win.panel
        ex.explanationChanged.connect(self._explanation)
        ex.overlayChanged.connect(self._overlay)
        ex.optionsChanged.connect(self._options)
        panel.modeChosen.connect(ex.set_mode)
        panel.attributeChosen.connect(ex.set_attribute)
        panel.attributeClicked.connect(ex.show_attribute)
        panel.cmapChosen.connect(ex.set_cmap)
        panel.opacityChosen.connect(ex.set_opacity)
        panel.scaleChosen.connect(ex.set_scale)
        # what if
        panel.whatif.tryRequested.connect(self._try_whatif)
        win.whatif.busyChanged.connect(panel.whatif.show_busy)
        win.whatif.resultChanged.connect(panel.whatif.show_result)
        # the answer appears under the button, below the fold on a laptop: bring it into view
        win.whatif.busyChanged.connect(self._show_whatif_result)
        win.whatif.resultChanged.connect(self._show_whatif_result)
        # maps side by side
        panel.compareRequested.connect(win.maps.open)
        win.maps.openRequested.connect(self._show_maps)
        win.maps_window.visibilityChanged.connect(win.maps.set_active)
        win.maps.mapsChanged.connect(win.maps_window.show_maps)
        # crop
        crop = win.crop
        crop.cropChanged.connect(self._crop)
        crop.aspectChanged.connect(panel.show_aspect)
        panel.aspectChosen.connect(self._aspect_chosen)
        panel.cropRequested.connect(crop.toggle)
        panel.exportRequested.connect(crop.export_current)
        win.viewer.cropChanged.connect(self._crop_dragged)
        controls = panel.crop_controls
        controls.tightnessChosen.connect(crop.set_tightness)
        controls.acceptRequested.connect(crop.accept)
        crop.tightnessChanged.connect(controls.show_tightness)
        crop.evidenceChanged.connect(ex.maps_changed)
        # culling
        win.culling.undoStateChanged.connect(self._undo_state)
        # toolbar
        win.sort_combo.currentIndexChanged.connect(self._sort_chosen)
        win.filter_combo.currentIndexChanged.connect(self._filter_chosen)
        win.stars_spin.valueChanged.connect(self._filter_chosen)
        win.size_slider.valueChanged.connect(self._size_chosen)
        win.device_combo.currentIndexChanged.connect(
            lambda _i: s.set_device(win.device_combo.currentData()))
        win.menus["&Scoring/&Model"].aboutToShow.connect(self._fill_model_menu)
        self._apply_settings()

    def _apply_settings(self) -> None:
        win, st = self.win, self.session.settings
        win.sort_combo.setCurrentIndex(max(0, win.sort_combo.findData(st.sort_key)))
        self._device_changed(st.device)
        win.size_slider.setValue(st.thumbnail_size)
        win.actions_by_name["auto_advance"].setChecked(st.auto_advance)
        win.actions_by_name["embed_xmp"].setChecked(st.embed_xmp)
        win.actions_by_name["keep_heads"].setChecked(st.crop_keep_heads)
        win.actions_by_name["advance_after_stars"].setChecked(st.advance_after_stars)
        win.actions_by_name["keep_zoom"].setChecked(st.keep_zoom)
        win.compare.main_view = win.viewer
        win.viewer.keep_zoom = st.keep_zoom
        win.panel.show_aspect(win.crop.aspect_key)
        win.panel.crop_controls.show_tightness(win.crop.tightness)
        self._options()
        self._overlay(win.explanation.overlay())     # the legend says the restored scale at once
        self._undo_state(False, False)
        self._scoring_state(self.session.scoring_busy())
        self._fill_recent_menu()
        self._update_empty_text()

    # ------------------------------------------------------------------ session -> widgets
    def _log(self, level: str, message: str) -> None:
        self.win.log_panel.add(level, message)
        if level == "error":
            self.win.statusBar().showMessage(message.splitlines()[0], 8000)

    def _folder_changed(self) -> None:
        s = self.session
        self.win.viewer.clear()
        self.win.setWindowTitle(f"{s.folder.name} — aesview" if s.folder else "aesview")
        self._fill_recent_menu()
        self._update_empty_text()
        self._prefer_visible()

    def _counts(self) -> None:
        s = self.session
        c = s.model.counts()
        text = (f"{_n(c['photos'], 'photo')} · {c['scored']} scored · {_n(c['picks'], 'pick')}"
                f" · {c['rejects']} rejected")
        if c["failed"]:
            text += f" · {c['failed']} failed"
        if s.proxy.rowCount() != c["photos"]:
            text += f" · {s.proxy.rowCount()} shown"
        self.win.counts_label.setText(text)

    def _score_progress(self, done: int, total: int, cached: bool) -> None:
        if cached:
            self.win.score_progress.skip()
        else:
            self.win.score_progress.set_progress(done, total)

    def _update_empty_text(self) -> None:
        """What the grid says when it shows nothing: why, and what to do."""
        s, win = self.session, self.win
        if s.folder is None:
            text = "Open a folder of photos: File → Open folder (Ctrl+O), or drop one here."
        elif not s.model.rowCount():
            text = (f"No photos in “{s.folder.name}”.\n\naesview shows JPEG, PNG, TIFF, WebP, "
                    "HEIC and camera raw files (subfolders are not searched). Open another "
                    "folder (Ctrl+O) or drop one here.")
        else:
            name = win.filter_combo.currentData()
            text = {"picks": "No picks yet: P picks the selected photo.",
                    "rejected": "No rejected photos.",
                    "not_rejected": "Every photo of this shoot is rejected.",
                    "unflagged": "Every photo of this shoot is picked or rejected.",
                    "stars": f"No photo has {win.stars_spin.value()} ★ or more."}.get(name, "")
            if not text and name.startswith("colour_"):
                text = f"No photo has a {win.filter_combo.currentText()}."
            text += "\n\nShow: All photos brings back the whole shoot."
        win.grid.set_empty_text(text)

    def _fill_recent_menu(self) -> None:
        menu = self.win.recent_menu
        menu.clear()
        for f in self.session.settings.recent_folders:
            menu.addAction(f).triggered.connect(partial(self.session.open_folder, f))
        menu.setEnabled(bool(self.session.settings.recent_folders))

    def _fill_model_menu(self) -> None:
        from ..core.weights import list_models
        s, menu = self.session, self.win.menus["&Scoring/&Model"]
        menu.clear()
        group = QActionGroup(menu)
        try:
            names = list_models()
        except FileNotFoundError:
            names = []
        extra = [s.settings.model] if s.settings.model and s.settings.model not in names else []
        for name in ["", *names, *extra]:
            a = menu.addAction(name or "Shipped default")
            a.setCheckable(True)
            a.setChecked(name == s.settings.model)
            group.addAction(a)
            a.triggered.connect(partial(s.set_model, name))

    def _device_changed(self, device: str) -> None:
        win = self.win
        win.device_combo.blockSignals(True)
        win.device_combo.setCurrentIndex(max(0, win.device_combo.findData(device)))
        win.device_combo.blockSignals(False)
        act = win.actions_by_name.get(f"device_{device}")
        if act is not None:
            act.setChecked(True)

    def _prefer_visible(self) -> None:
        self.session.prefer_rows(self.win.grid.visible_rows())

    # ------------------------------------------------------------------ the photo
    def _show_placeholder(self, path: str) -> None:
        it = self.session.model.item(path)
        if it is not None and it.thumb is not None:
            rec = it.record
            self.win.viewer.show_image(path, it.thumb, rec.image_size if rec and rec.image_size else None)

    def _current_changed(self, path: str | None) -> None:
        viewer = self.win.viewer
        if path is None:
            viewer.clear()
        elif path != viewer.path:
            viewer.clear()
            self._show_placeholder(path)
            viewer.path = path
            # the controllers heard of the change before the viewer had the new photo
            self._overlay(self.win.explanation.overlay())

    def _thumbnail_arrived(self, path: str) -> None:
        if path == self.win.viewer.path and self.win.viewer.photo.is_empty():
            self._show_placeholder(path)

    def _photo_loaded(self, msg: PhotoLoaded) -> None:
        if msg.preview is None:
            return
        self.win.viewer.show_image(msg.path, msg.preview, msg.size, msg.full)
        self._overlay(self.win.explanation.overlay())
        if self.win.crop.visible:
            self._crop(self.win.crop.current())

    # ------------------------------------------------------------------ explanation
    def _explanation(self, ex: Explanation) -> None:
        self.win.panel.show_explanation(ex.title, ex.words_html, ex.attributes, ex.attribute_names,
                                        self.win.explanation.attribute, self.win.session.score_meaning,
                                        ex.seen_at_100)

    def _try_whatif(self, what: str, strength: float) -> None:
        """A crop experiment scores the crop the app shows (C): the user's, or the proposed one
        at the chosen aspect."""
        box = None
        if what == "crop":
            view = self.win.crop.current()
            if view is None:
                self.win.session.log("warning", "what if: no crop until the photo's score arrives")
                return
            box = tuple(float(v) for v in view.box)
        self.win.whatif.try_change(what, strength, box)  # type: ignore[arg-type]

    def _show_whatif_result(self, busy_or_view: object) -> None:
        """"Trying it…" or a result (not when it is cleared for another photo); after the
        layout took the new text and picture in."""
        if busy_or_view is not None and busy_or_view is not False:
            QTimer.singleShot(0, self, self._scroll_to_whatif)

    def _scroll_to_whatif(self) -> None:
        box = self.win.panel.whatif
        self._panel_scroll.ensureWidgetVisible(box.picture, 0, 10)   # as much of it as fits,
        self._panel_scroll.ensureWidgetVisible(box.result, 0, 10)    # the words first

    def _show_maps(self) -> None:
        w = self.win.maps_window
        w.show()
        w.raise_()

    def _overlay(self, ov: OverlayView) -> None:
        self.win.viewer.set_overlay(ov.image, ov.opacity)   # it clears the overlay without a photo
        self.win.panel.show_legend(*ov.legend, centre=ov.centre, cmap=ov.legend_cmap)

    def _options(self) -> None:
        ex = self.win.explanation
        self.win.panel.show_options(ex.mode, ex.attribute, ex.cmap, ex.opacity)
        self.win.panel.show_scale(ex.scale, ex.scale_cmap())
        if self.win.maps.scale != ex.scale:
            self.win.maps.set_scale(ex.scale)
        act = self.win.actions_by_name.get(f"overlay_{ex.mode}")
        if act is not None:
            act.setChecked(True)

    # ------------------------------------------------------------------ crop
    def _crop(self, view: CropView | None) -> None:
        viewer = self.win.viewer
        if view is None or view.path != viewer.path:
            viewer.hide_crop()
        else:
            viewer.show_crop(view.box, view.aspect)
        self.win.panel.show_crop_state(view is not None)
        self.win.actions_by_name["toggle_crop"].setText("Hide &crop" if view is not None else "Show &crop")
        self.win.panel.crop_controls.show_view(view)

    def _crop_dragged(self, _rect: object) -> None:
        if self.win.viewer.path:
            self.win.crop.adjusted(self.win.viewer.path, self.win.viewer.crop_box())

    def _aspect_chosen(self, key: str) -> None:
        from ..core.crop import CUSTOM
        if key == CUSTOM:
            self.win.panel.show_aspect(self.win.crop.aspect_key)
            self.win.dialogs.ask_custom_aspect()
        else:
            self.win.crop.set_aspect(key)

    def _scoring_state(self, busy: bool) -> None:
        self.win.actions_by_name["cancel_scoring"].setEnabled(busy)   # Esc, too, only then

    def _undo_state(self, can_undo: bool, can_redo: bool) -> None:
        self.win.actions_by_name["undo"].setEnabled(can_undo)
        self.win.actions_by_name["redo"].setEnabled(can_redo)

    # ------------------------------------------------------------------ toolbar
    def _sort_chosen(self, _i: int) -> None:
        self.session.set_sort(self.win.sort_combo.currentData())
        self.win.grid.scrollTo(self.win.grid.currentIndex())

    def _filter_chosen(self, *_: object) -> None:
        win = self.win
        name = win.filter_combo.currentData()
        win.stars_spin.setEnabled(name == "stars")
        self.session.set_filter(name, win.stars_spin.value())
        self._update_empty_text()

    def _size_chosen(self, size: int) -> None:
        self.session.set_thumbnail_size(size)
        self.win.delegate.set_size(size)
        self.win.grid.doItemsLayout()
        self._thumb_timer.start()
