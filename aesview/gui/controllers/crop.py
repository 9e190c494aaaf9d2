"""The map-guided crop of the current photo, the user's adjustments to it, accepting it into
XMP, and exports.

The proposal is core.crop.plan_crop over the photo's finer crop maps (core.subject.CropMaps),
which the inference worker computes when a crop is first wanted (CropMapsJob -> CropMapsReady;
never on the GUI thread). Until they arrive the scoring AesAM alone gives a provisional crop
(core.crop.best_crop, much weaker), replaced as soon as the maps are in. The tightness control
(0 = as large as the aspect allows) is plan_crop's. The combined map that drove the crop is
offered to the explanation controller as the "crop" overlay.

The aspect choices come from core.crop.ASPECT_PRESETS (the one declaration); "custom" stands
for a W:H the user types; `cycle_aspect` steps through them (core.crop.next_aspect). A crop the
user moved or resized is kept per photo and aspect for the session; accepting and exports use
it, else the proposal.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...core.crop import CUSTOM, is_aspect_key, next_aspect, parse_aspect
from ...core.records import ScoreRecord
from ..messages import CropMapsReady
from ..operations import Operation
from ..photo_model import PhotoItem
from ..session import Session
from ..workers import CropMapsJob

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CropView:
    path: str
    box: Box                      # full-resolution pixels of the upright photo
    aspect: float | None          # width / height the handles hold; None: free
    source: str = "maps"          # "maps" (plan_crop), "scoring map" (provisional), "yours"
    explain: dict[str, Any] | None = None    # plan_crop's explain() for a "maps" proposal


@dataclass(frozen=True)
class ExportResult:
    written: list[str]
    errors: list[str]


@dataclass(frozen=True)
class AcceptResult:
    path: str
    sidecar: str
    embedded: bool
    warning: str | None = None


MAPS_KEPT = 256      # CropMaps are a few small grids each; enough for a shoot's worth of crops


def plan_box(maps: Any, key: str, tightness: float, keep_heads: bool = False) -> Box:
    from ...core.crop import crop_settings, plan_crop
    left, top, right, bottom = plan_crop(maps, key, tightness=tightness,
                                         settings=crop_settings(keep_heads)).box
    return int(left), int(top), int(right), int(bottom)


class CropController(QObject):
    cropChanged = Signal(object)      # CropView to show, or None to hide
    aspectChanged = Signal(str)
    tightnessChanged = Signal(float)
    evidenceChanged = Signal(str)     # the crop maps of this photo arrived (its overlay changed)
    exported = Signal(list)           # files written by one export operation
    accepted = Signal(object)         # AcceptResult

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self.aspect_key = session.settings.crop_aspect
        self.visible = False
        self.tightness = min(max(float(session.settings.crop_tightness), 0.0), 1.0)
        self._user: dict[tuple[str, str], Box] = {}    # (path, aspect key) -> adjusted box
        self._maps: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (path, model) -> CropMaps
        self._evidence: dict[tuple[str, str], np.ndarray] = {}
        self._tokens = itertools.count(1)
        self._asked: tuple[str, str] | None = None    # maps requested and not yet arrived
        self._show_when_ready = False
        session.currentChanged.connect(self._current_changed)
        session.folderChanged.connect(self._folder_changed)
        session.recordArrived.connect(self._record_arrived)
        session.scoring.worker.cropmaps.connect(self._maps_arrived)

    def _folder_changed(self) -> None:
        self._user.clear()
        self._maps.clear()
        self._evidence.clear()
        self._asked = None

    def _current_changed(self, _path: object) -> None:
        self._show_when_ready = False
        if self.visible:
            self.visible = False
            self.cropChanged.emit(None)

    def _record_arrived(self, path: str) -> None:
        if self._show_when_ready and path == self.session.current_path():
            self.show()

    # ------------------------------------------------------------------ crop maps
    def _key(self, path: str) -> tuple[str, str]:
        return path, self.session.settings.model

    def maps_of(self, path: str) -> Any:
        """The photo's CropMaps if they have arrived, else None."""
        return self._maps.get(self._key(path))

    def request_maps(self, path: str) -> bool:
        """Ask the inference worker for the photo's crop maps; False when they are here or
        already asked for."""
        key = self._key(path)
        if key in self._maps or key == self._asked:
            return False
        self._asked = key
        st = self.session.settings
        self.session.scoring.cropmaps(CropMapsJob(next(self._tokens), path, st.model or None, st.device))
        return True

    def _maps_arrived(self, msg: CropMapsReady) -> None:
        key = self._key(msg.path)
        if key == self._asked:
            self._asked = None
        if msg.maps is None:
            self.session.log("warning", f"{Path(msg.path).name}: crop maps failed ({msg.error}); "
                                        "the crop follows the scoring map only")
            return
        self._maps[key] = msg.maps
        self._maps.move_to_end(key)
        while len(self._maps) > MAPS_KEPT:
            old, _ = self._maps.popitem(last=False)
            self._evidence.pop(old, None)
        self.evidenceChanged.emit(msg.path)
        if msg.path != self.session.current_path():
            return
        if self.visible or self._show_when_ready:
            self.show()

    def evidence(self, path: str) -> np.ndarray | None:
        """The combined map that drives the crop (non-negative, working grid over the photo);
        it does not depend on the aspect or the tightness. None before the maps arrive."""
        key = self._key(path)
        if key not in self._evidence:
            maps = self._maps.get(key)
            if maps is None:
                return None
            from ...core.crop import plan_crop
            self._evidence[key] = plan_crop(maps, "original").evidence
        return self._evidence[key]

    def evidence_overlay(self, rec: ScoreRecord, _attribute: str) -> np.ndarray | None:
        """The "crop" overlay's map_of (ExplanationController.extra_maps): asks for the maps
        when they are missing, so choosing the overlay is enough."""
        m = self.evidence(rec.path)
        if m is None and rec.ok:
            self.request_maps(rec.path)
        return m

    # ------------------------------------------------------------------ aspect
    def set_aspect(self, key: str) -> bool:
        """A preset key or a custom "W:H"; False (nothing changes) for anything else."""
        if key == CUSTOM or not is_aspect_key(key):
            return False
        key = key.strip()
        self.aspect_key = key
        self.session.settings.crop_aspect = key
        self.session.persist()
        self.aspectChanged.emit(key)
        if self.visible:
            self.show()
        return True

    def cycle_aspect(self, step: int = 1) -> None:
        """The next (step 1) or previous (-1) aspect preset; shows the crop."""
        self.set_aspect(next_aspect(self.aspect_key, step))
        if not self.visible:
            self.show()

    def set_tightness(self, value: float) -> None:
        """0: the largest window the aspect allows; 1: down to a quarter of its side when the
        evidence is worth it. Drops the user's adjustment of this photo at this aspect."""
        t = min(max(float(value), 0.0), 1.0)
        if t == self.tightness:
            return
        self.tightness = t
        self.session.settings.crop_tightness = t
        self.session.persist()
        path = self.session.current_path()
        if path is not None:
            self._user.pop((path, self.aspect_key), None)
        self.tightnessChanged.emit(t)
        if self.visible:
            self.show()

    def set_keep_heads(self, on: bool) -> None:
        """Crops never cut a head that a window of their size could hold whole (faces found by
        MTCNN or MediaPipe, widened to the head); the proposal shown follows at once."""
        st = self.session.settings
        if bool(on) == st.crop_keep_heads:
            return
        st.crop_keep_heads = bool(on)
        self.session.persist()
        if self.visible:
            self.show()

    # ------------------------------------------------------------------ the crop
    def proposal(self, it: PhotoItem) -> CropView | None:
        """The user's crop of this photo at this aspect, else the proposed one; None before
        the photo's score (or its crop maps) arrive."""
        maps = self.maps_of(it.path)
        rec = it.record
        size = maps.image_size if maps is not None else rec.image_size if rec is not None else None
        if size is None:
            return None
        aspect = parse_aspect(self.aspect_key, size)
        box = self._user.get((it.path, self.aspect_key))
        if box is not None:
            return CropView(it.path, box, aspect, "yours")
        if maps is not None:
            from ...core.crop import crop_settings, plan_crop
            plan = plan_crop(maps, self.aspect_key, tightness=self.tightness,
                             settings=crop_settings(self.session.settings.crop_keep_heads))
            left, top, right, bottom = plan.box
            return CropView(it.path, (int(left), int(top), int(right), int(bottom)), aspect, "maps",
                            plan.explain())
        if rec is None or rec.aesam is None:
            return None
        from ...core.crop import best_crop
        left, top, right, bottom = best_crop(rec.aesam, size, self.aspect_key, tightness=self.tightness)
        return CropView(it.path, (int(left), int(top), int(right), int(bottom)), aspect, "scoring map")

    def current(self) -> CropView | None:
        it = self.session.current_item()
        return self.proposal(it) if it is not None else None

    def _refuse_failed(self, it: PhotoItem | None) -> bool:
        # A photo that could not be read never gets maps: say why now, instead of promising
        # a crop that will not come.
        if it is None or it.record is None or it.record.ok:
            return False
        self.session.log("warning", f"{it.name}: no crop ({it.record.error or 'it has no score'})")
        return True

    def show(self) -> bool:
        it = self.session.current_item()
        if self._refuse_failed(it):
            self.hide()
            return False
        if it is not None:
            self.request_maps(it.path)
        view = self.current()
        if view is None:
            if it is not None:
                self._show_when_ready = True
                self.session.log("info", f"{it.name}: the crop shows when its maps arrive")
            return False
        self._show_when_ready = False
        self.visible = True
        self.cropChanged.emit(view)
        return True

    def hide(self) -> None:
        self._show_when_ready = False
        self.visible = False
        self.cropChanged.emit(None)

    def toggle(self) -> None:
        if self.visible or self._show_when_ready:
            self.hide()
        else:
            self.show()

    def adjusted(self, path: str, box: Box) -> None:
        """The user moved or resized the crop shown on `path`."""
        left, top, right, bottom = box
        self._user[(path, self.aspect_key)] = (int(left), int(top), int(right), int(bottom))

    # ------------------------------------------------------------------ exports
    def export_current(self) -> bool:
        if self._refuse_failed(self.session.current_item()):
            return False
        view = self.current()
        if view is None:
            it = self.session.current_item()
            if it is not None:
                self.session.log("warning", f"{it.name}: no crop to export until its score arrives")
            return False
        return self._export([(view.path, view.box)], "Export", 1)

    def export_picks(self) -> bool:
        """Every pick cropped at the chosen aspect and tightness (the user's crop where there
        is one), as one operation with progress and cancel. Maps missing here are computed in
        the operation with its own copy of the model, so the inference worker keeps scoring."""
        model = self.session.model
        picks = [it for it in model.items() if model.decision(it.path).picked]
        if not picks:
            self.session.log("warning", "no picks to export (P picks the selected photo)")
            return False
        key, tightness, st = self.aspect_key, self.tightness, self.session.settings
        plan = [(it.path, self._user.get((it.path, key)), self.maps_of(it.path)) for it in picks]
        model_name, device, keep_heads = st.model or None, st.device, st.crop_keep_heads

        def boxes() -> Iterator[tuple[str, Box | Exception]]:
            analyzer = None
            for path, user_box, maps in plan:
                if user_box is not None:
                    yield path, user_box
                    continue
                try:
                    if maps is None:
                        if analyzer is None:
                            from ...core.subject import CropAnalyzer
                            from ...core.weights import load_model
                            analyzer = CropAnalyzer(load_model(model_name, device=device, fall_back=True))
                        maps = analyzer.analyze(path)
                    yield path, plan_box(maps, key, tightness, keep_heads)
                except Exception as exc:  # noqa: BLE001 - that photo is reported, the rest go on
                    yield path, RuntimeError(f"{path}: no crop ({exc})")
        return self._export(boxes(), "Export picks", len(plan))

    # ------------------------------------------------------------------ accepting
    def accept(self) -> bool:
        """Record the crop shown (the user's, else the proposal) as the photo's Camera Raw crop
        in its IMG.xmp sidecar (core.crop_xmp), and inside the JPEG/TIFF/DNG too when the
        user chose that (settings.embed_xmp). Runs after queued sidecar writes, off the GUI
        thread."""
        if self._refuse_failed(self.session.current_item()):
            return False
        view = self.current()
        if view is None:
            it = self.session.current_item()
            if it is not None:
                self.session.log("warning", f"{it.name}: no crop to accept until its score arrives")
            return False
        path, box, embed = view.path, view.box, self.session.settings.embed_xmp

        def work(progress: Callable[[int, int, str], None], _cancel: threading.Event) -> AcceptResult:
            from ...core import crop_xmp, embedded_xmp
            sidecar = crop_xmp.write_crop(path, box)
            embedded, warning = False, None
            if embed and embedded_xmp.can_embed(path):
                from ...core.crop_embed import embed_crop
                try:
                    embed_crop(path, box)
                    embedded = True
                except Exception as exc:  # noqa: BLE001 - the sidecar holds it; say why not inside
                    warning = f"crop not written into the photo: {exc}"
            progress(1, 1, Path(path).name)
            return AcceptResult(path, str(sidecar), embedded, warning)
        return self.session.operations.run(Operation(
            f"Accept crop {Path(path).name}", work, self._accepted,
            lambda err: self.session.log("error", f"{Path(path).name}: crop not accepted ({err})"),
            total=1, after_sidecars=True))

    def _accepted(self, result: AcceptResult) -> None:
        if result.warning:
            self.session.log("warning", result.warning)
        where = " and inside the photo" if result.embedded else ""
        self.session.log("info", f"crop of {Path(result.path).name} recorded in "
                                 f"{Path(result.sidecar).name}{where} (Camera Raw crs tags)")
        self.accepted.emit(result)

    def _export(self, items: Iterable[tuple[str, Box | Exception]], label: str, total: int) -> bool:
        from ...core.export import export_crop, unique_path
        out_dir = self.session.export_dir()
        if out_dir is None:
            return False
        quality = self.session.settings.export_quality

        def work(progress: Callable[[int, int, str], None], cancel: threading.Event) -> ExportResult:
            out_dir.mkdir(parents=True, exist_ok=True)
            written, errors = [], []
            for i, (src, box) in enumerate(items):
                if cancel.is_set():
                    break
                if isinstance(box, Exception):
                    errors.append(str(box))
                else:
                    try:
                        dst = unique_path(out_dir / f"{Path(src).stem}-crop.jpg")
                        export_crop(src, box, dst, quality=quality)
                        written.append(str(dst))
                    except Exception as exc:  # noqa: BLE001 - one bad photo, the rest go on
                        errors.append(f"{src}: export failed ({exc})")
                progress(i + 1, total, Path(src).name)
            return ExportResult(written, errors)
        return self.session.operations.run(Operation(label, work, self._exported, total=total))

    def _exported(self, result: ExportResult) -> None:
        for err in result.errors:
            self.session.log("error", err)
        for w in result.written:
            self.session.log("info", f"exported {w}")
        self.exported.emit(result.written)
