"""For students: "what if" experiments on the current photo, and the shareable HTML report.

`WhatIfController.try_change(what, strength)` sends one experiment (core.whatif) to the scoring
thread, which owns the model; the answer comes back as a `WhatIfView` for the current photo (a
late answer for a photo the user has left is dropped). `ReportController.export_report(path)`
writes core.report's HTML for every scored photo of the shoot as an Operation (job pool,
progress in the status bar, cancellable); nothing on the GUI thread waits for either.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal
from PySide6.QtGui import QImage

from ...core.records import ScoreRecord
from ..messages import WhatIfDone
from ..operations import Operation
from ..session import Session
from ..workers import WhatIfJob


@dataclass(frozen=True)
class WhatIfView:
    path: str
    text: str                    # "blur, sigma 2.3 px: 0.92 -> 0.41 (-0.51)"
    image: QImage | None         # before | after, each with its AesAM
    before: float | None = None
    after: float | None = None
    error: str | None = None

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


class WhatIfController(QObject):
    resultChanged = Signal(object)   # WhatIfView, or None when there is nothing to show
    busyChanged = Signal(bool)

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self._tokens = itertools.count(1)
        self._pending: int | None = None
        self.view: WhatIfView | None = None
        session.scoring.worker.whatif.connect(self._done)
        session.currentChanged.connect(self._current_changed)

    def try_change(self, what: str, strength: float = 1.0,
                   box: tuple[float, float, float, float] | None = None) -> bool:
        """Queue an experiment on the current photo; False when there is none to try it on."""
        it = self.session.current_item()
        if it is None or it.record is None or not it.record.ok:
            self.session.log("warning", "what if: choose a scored photo first")
            return False
        st = self.session.settings
        token = next(self._tokens)
        self._pending = token
        self.busyChanged.emit(True)
        self.session.scoring.whatif(WhatIfJob(token, it.path, what, float(strength),
                                              st.model or None, st.device, box))
        return True

    def _current_changed(self, _path: object) -> None:
        self._pending = None
        self.view = None
        self.busyChanged.emit(False)
        self.resultChanged.emit(None)

    def _done(self, msg: WhatIfDone) -> None:
        if msg.token != self._pending or msg.path != self.session.current_path():
            return          # an older experiment, or a photo the user has left
        self._pending = None
        self.busyChanged.emit(False)
        if msg.error is not None or msg.result is None:
            self.view = WhatIfView(msg.path, f"could not try it: {msg.error}", None, error=msg.error)
            self.session.log("warning", f"what if: {msg.error}")
        else:
            from ...core.whatif import Result
            r = msg.result
            assert isinstance(r, Result) and r.before.score is not None and r.after.score is not None
            self.view = WhatIfView(
                msg.path, f"{r.setting}: {r.before.score:.2f} → {r.after.score:.2f} ({r.change:+.2f})",
                msg.image, r.before.score, r.after.score)
        self.resultChanged.emit(self.view)


@dataclass(frozen=True)
class ReportDone:
    path: str
    photos: int
    size: int


class ReportController(QObject):
    finished = Signal(object)        # ReportDone

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session

    def export_report(self, target: str | Path, folder: bool = False) -> bool:
        """Write the report of this shoot's scored photos to `target` (an .html file, or a new
        folder); False when nothing is scored yet or a report is already being written."""
        from ...core.report import ReportOptions, build_report
        from ...core.weights import ModelError, resolve
        records = [it.record for it in self.session.model.items()
                   if it.record is not None]
        n_ok = sum(r.ok for r in records)
        if not n_ok:
            self.session.log("warning", "report: no scored photos yet")
            return False
        try:
            card = resolve(self.session.settings.model or None)[2]
            model = {"name": card.name, "architecture": card.architecture, "data": card.data_short}
            names = list(card.attributes)
        except (ModelError, OSError) as exc:
            self.session.log("error", f"report: {exc}")
            return False
        title = f"aesview report: {self.session.folder.name}" if self.session.folder else "aesview report"
        target = Path(target)

        def work(progress: Callable[[int, int, str], None], cancel: threading.Event) -> ReportDone:
            done = 0

            def step(n: int) -> None:
                nonlocal done
                done += n
                progress(done, n_ok, f"report {done}/{n_ok}")
            written = build_report(records, names, model, target, folder=folder,
                                   options=ReportOptions(title=title), progress=step, cancel=cancel)
            size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) if folder \
                else written.stat().st_size
            return ReportDone(str(written), n_ok, size)

        def ok(result: ReportDone) -> None:
            self.session.log("info", f"report written: {result.path} ({result.photos} photos, "
                                     f"{result.size / 1e6:.1f} MB)")
            self.finished.emit(result)

        def failed(error: str) -> None:
            self.session.log("error" if "cancel" not in error.lower() else "info",
                             f"report not written: {error or 'cancelled'}")

        return self.session.operations.run(Operation("Report", work, ok, failed, total=n_ok))


@dataclass(frozen=True)
class MapsView:
    """The current photo's maps side by side: the signed AesAM (in the chosen scale) beside the
    paper's high-class map, and every attribute map as small multiples on one scale."""
    path: str
    side_by_side: QImage | None
    multiples: QImage | None
    caption: str
    error: str | None = None


class _MapsSignals(QObject):
    done = Signal(object)            # MapsView


class _MapsTask(QRunnable):
    """Decodes the photo small and renders both pictures off the GUI thread."""

    def __init__(self, signals: _MapsSignals, token: int, rec: ScoreRecord, names: list[str],
                 scale: str):
        super().__init__()
        self.signals, self.token, self.rec, self.names, self.scale = signals, token, rec, names, scale

    def run(self) -> None:
        from ...core import map_views as V
        from ...core.imaging import load_image
        from ..qtimage import rgb_to_qimage
        rec = self.rec
        try:
            import numpy as np
            img = load_image(rec.path, max_side=420).image.convert("RGB")
            img.thumbnail((420, 420))        # the decode keeps at least 420 px; show 420
            photo = np.asarray(img)
            side = None
            if rec.aesam is not None and rec.highmap is not None:
                side = rgb_to_qimage(V.side_by_side(photo, rec.aesam, rec.highmap, self.scale))
            multiples = None
            if rec.attam is not None and len(self.names) == rec.attam.shape[0]:
                multiples = rgb_to_qimage(V.small_multiples(photo, rec.attam, self.names,
                                                            rec.attributes, self.scale, tile=200))
            caption = V.view(rec.aesam, self.scale).legend if rec.aesam is not None else ""
            self.signals.done.emit((self.token, MapsView(rec.path, side, multiples, caption)))
        except Exception as exc:  # noqa: BLE001 - shown in the window
            self.signals.done.emit((self.token, MapsView(rec.path, None, None, "", str(exc))))


class MapsController(QObject):
    """Renders the maps comparison for the current photo while someone is looking at it."""
    mapsChanged = Signal(object)     # MapsView, or None while there is none
    openRequested = Signal()         # someone asked to see the maps: the window shows itself

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self.active = False
        self.scale = "absolute"
        self.view: MapsView | None = None
        self._tokens = itertools.count(1)
        self._pending: int | None = None
        self._signals = _MapsSignals(self)
        self._signals.done.connect(self._done)
        session.currentChanged.connect(lambda _p: self.refresh())
        session.recordArrived.connect(self._record_arrived)

    def open(self) -> None:
        """View ▸ Maps side by side (M), or the panel's button."""
        self.openRequested.emit()

    def set_active(self, active: bool) -> None:
        self.active = active
        if active:
            self.refresh()

    def set_scale(self, scale: str) -> None:
        self.scale = scale
        self.refresh()

    def _record_arrived(self, path: str) -> None:
        if path == self.session.current_path():
            self.refresh()

    def refresh(self) -> None:
        if not self.active:
            return
        it = self.session.current_item()
        rec = it.record if it is not None else None
        if rec is None or not rec.ok:
            self.view = None
            self.mapsChanged.emit(None)
            return
        self._pending = next(self._tokens)
        self.session.photo_pool.start(_MapsTask(self._signals, self._pending, rec,
                                                list(rec.attributes), self.scale))

    def _done(self, msg: tuple[int, MapsView]) -> None:
        token, view = msg
        if token != self._pending or view.path != self.session.current_path():
            return
        self.view = view
        self.mapsChanged.emit(view)
