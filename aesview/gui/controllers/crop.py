"""The map-guided crop of the current photo, the user's adjustments to it, and exports.

The aspect choices come from core.crop.ASPECT_PRESETS (the one declaration); "custom" stands
for a W:H the user types. A crop the user moved or resized is kept per photo and aspect for the
session; exports use it, else the proposal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...core.crop import CUSTOM, is_aspect_key, parse_aspect
from ..operations import Operation
from ..photo_model import PhotoItem
from ..session import Session

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CropView:
    path: str
    box: Box                      # full-resolution pixels of the upright photo
    aspect: float | None          # width / height the handles hold; None: free


@dataclass(frozen=True)
class ExportResult:
    written: list[str]
    errors: list[str]


class CropController(QObject):
    cropChanged = Signal(object)      # CropView to show, or None to hide
    aspectChanged = Signal(str)
    exported = Signal(list)           # files written by one export operation

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self.aspect_key = session.settings.crop_aspect
        self.visible = False
        self._user: dict[tuple[str, str], Box] = {}    # (path, aspect key) -> adjusted box
        session.currentChanged.connect(self._current_changed)
        session.folderChanged.connect(self._user.clear)

    def _current_changed(self, _path: object) -> None:
        if self.visible:
            self.visible = False
            self.cropChanged.emit(None)

    # ------------------------------------------------------------------ aspect
    def set_aspect(self, key: str) -> bool:
        """A preset key or a custom "W:H"; False (nothing changes) for anything else."""
        if key == CUSTOM or not is_aspect_key(key):
            return False
        self.aspect_key = key
        self.session.settings.crop_aspect = key
        self.session.persist()
        self.aspectChanged.emit(key)
        if self.visible:
            self.show()
        return True

    # ------------------------------------------------------------------ the crop
    def proposal(self, it: PhotoItem) -> CropView | None:
        """The user's crop of this photo at this aspect, else the proposed one; None before
        the photo's score and map arrive."""
        from ...core.crop import best_crop
        rec = it.record
        if rec is None or rec.aesam is None or rec.image_size is None:
            return None
        aspect = parse_aspect(self.aspect_key, rec.image_size)
        box = self._user.get((it.path, self.aspect_key))
        if box is None:
            left, top, right, bottom = best_crop(rec.aesam, rec.image_size, self.aspect_key)
            box = (int(left), int(top), int(right), int(bottom))
        return CropView(it.path, box, aspect)

    def current(self) -> CropView | None:
        it = self.session.current_item()
        return self.proposal(it) if it is not None else None

    def show(self) -> bool:
        view = self.current()
        if view is None:
            it = self.session.current_item()
            if it is not None:
                self.session.log("warning", f"{it.name}: no crop until its score (and heat map) arrive")
            return False
        self.visible = True
        self.cropChanged.emit(view)
        return True

    def hide(self) -> None:
        self.visible = False
        self.cropChanged.emit(None)

    def toggle(self) -> None:
        if self.visible:
            self.hide()
        else:
            self.show()

    def adjusted(self, path: str, box: Box) -> None:
        """The user moved or resized the crop shown on `path`."""
        left, top, right, bottom = box
        self._user[(path, self.aspect_key)] = (int(left), int(top), int(right), int(bottom))

    # ------------------------------------------------------------------ exports
    def export_current(self) -> bool:
        view = self.current()
        if view is None:
            it = self.session.current_item()
            if it is not None:
                self.session.log("warning", f"{it.name}: no crop to export until its score arrives")
            return False
        return self._export([(view.path, view.box)], "Export", 1)

    def export_picks(self) -> bool:
        from ...core.crop import best_crop
        model = self.session.model
        picks = [it for it in model.items() if model.decision(it.path).picked]
        if not picks:
            self.session.log("warning", "no picks to export (P picks the selected photo)")
            return False
        key = self.aspect_key
        plan = [(it.path, self._user.get((it.path, key)),
                 it.record.aesam if it.record else None, it.record.image_size if it.record else None)
                for it in picks]

        def boxes() -> Iterator[tuple[str, Box | Exception]]:
            for path, user_box, aesam, size in plan:
                if user_box is not None:
                    yield path, user_box
                elif aesam is None or size is None:
                    yield path, RuntimeError(f"{path}: not scored yet, no crop")
                else:
                    left, top, right, bottom = best_crop(aesam, size, key)
                    yield path, (int(left), int(top), int(right), int(bottom))
        return self._export(boxes(), "Export picks", len(plan))

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
