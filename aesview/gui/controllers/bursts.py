"""Bursts in the grid: found after scoring (off the GUI thread), shown as stacks with the best
frame marked, collapsed to their best frames on request, and one undoable key that picks the
best frame of every burst and rejects the rest. The rules are core.bursts'; this only runs them
and keeps what they found for the grid."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ...core import culling
from ...core.culling import Decision, Flag
from ...core.records import ScoreRecord
from ..operations import Operation
from ..session import Session
from .culling import CullingController

LABEL = "Find bursts"


@dataclass(frozen=True)
class BurstMark:
    """What the grid needs to draw one photo of a burst (Role.BURST)."""
    number: int          # the burst's number in the shoot, from 1
    position: int        # this frame's place in the burst (capture order), from 1
    size: int
    best: str            # the best frame's path
    is_best: bool
    sort_score: float    # the best frame's score: the stack sorts there


@dataclass(frozen=True)
class BurstsFound:
    gen: int
    groups: list[tuple[list[str], str]]     # (frames in capture order, the best one)
    failed: list[str]                       # frames whose pixels could not be measured


class BurstsController(QObject):
    burstsChanged = Signal(int)              # how many bursts the shoot has now

    def __init__(self, session: Session, culling_: CullingController,
                 parent: QObject | None = None):
        super().__init__(parent or session)
        self.session, self.culling = session, culling_
        self.groups: list[tuple[list[str], str]] = []
        self.marks: dict[str, BurstMark] = {}
        self.collapsed = False
        session.model.set_burst_source(lambda path: self.marks.get(path))
        session.folderChanged.connect(self._reset)
        session.scoringEnded.connect(lambda cancelled: None if cancelled else self.find())

    def _reset(self) -> None:
        self.groups, self.marks = [], {}
        self.burstsChanged.emit(0)

    # ------------------------------------------------------------------ finding
    def find(self) -> bool:
        """Group the scored photos and choose each burst's best frame, on the job pool."""
        s = self.session
        records = [it.record for it in s.model.items() if it.record is not None and it.record.ok]
        if len(records) < 2:
            return False
        gen = s.generation

        def work(progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> BurstsFound:
            return find_bursts(records, gen, progress, cancel)
        return s.operations.run(Operation(LABEL, work, self._found, total=len(records)))

    def _found(self, result: BurstsFound) -> None:
        s = self.session
        if result.gen != s.generation:
            return
        scores = {it.path: it.score for it in s.model.items()}
        self.groups = result.groups
        self.marks = {}
        for number, (paths, best) in enumerate(result.groups, 1):
            for position, path in enumerate(paths, 1):
                self.marks[path] = BurstMark(number, position, len(paths), best, path == best,
                                             float(scores.get(best) or 0.0))
        s.model.bursts_changed()
        for path in result.failed:
            s.log_once("warning", f"{path}: could not be measured for its burst")
        frames = sum(len(g) for g, _ in result.groups)
        s.log("info", f"{len(result.groups)} bursts ({frames} photos); the best frame of each is "
                      "marked (B picks them and rejects the rest)" if result.groups
              else "no bursts in this shoot")
        self.burstsChanged.emit(len(result.groups))

    # ------------------------------------------------------------------ acting
    def pick_best(self) -> None:
        """Pick the best frame of every burst and reject the others: one Ctrl+Z undoes it."""
        changes: dict[str, Callable[[Decision], Decision]] = {}
        for paths, best in self.groups:
            for p in paths:
                changes[p] = culling.set_flag(Flag.PICK if p == best else Flag.REJECT)
        if not changes:
            self.session.log("info", "no bursts to pick from")
            return
        self.culling.decide_each(changes)

    def set_collapsed(self, on: bool) -> None:
        """Show each burst as its best frame only (a collapsed stack), or every frame."""
        self.collapsed = bool(on)
        self.session.proxy.set_collapse_bursts(self.collapsed)
        self.session.countsChanged.emit()


def find_bursts(records: list[ScoreRecord], gen: int,
                progress: Callable[[int, int, str], None] | None = None,
                cancel: threading.Event | None = None) -> BurstsFound:
    """Capture times, grouping, then the pixels of the frames in bursts only (the slow part)."""
    from ...core.bursts import Frame, FrameQuality, best_frame, frame_quality, group_frames, group_peak
    from ...core.capture import exif_capture_time
    by_path = {r.path: r for r in records}
    frames = [Frame(r.path, exif_capture_time(r.path), r.embedding) for r in records]
    groups = group_frames(frames)
    todo = sum(len(g) for g in groups)
    done = 0
    failed: list[str] = []
    found: list[tuple[list[str], str]] = []
    for g in groups:
        peak = group_peak([by_path[p] for p in g])
        qualities: list[FrameQuality | None] = []
        for p in g:
            if cancel is not None and cancel.is_set():
                return BurstsFound(gen, found, failed)
            try:
                qualities.append(frame_quality(p, by_path[p], peak=peak))
            except Exception:  # noqa: BLE001 - an unreadable frame just can't be the best one
                qualities.append(None)
                failed.append(p)
            done += 1
            if progress is not None:
                progress(done, todo, p)
        found.append((g, best_frame(g, [by_path[p] for p in g], qualities)))
    return BurstsFound(gen, found, failed)
