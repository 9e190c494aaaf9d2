"""Pick, reject, stars, undo and redo, and copying or moving the picks.

A decision is only ever applied to what the photo's sidecar says. The thumbnail loader reads
sidecars in the background; a key press on photos it has not reached yet (a Select All and P a
moment after opening a shoot of 300) first has those sidecars read on the sidecar queue, then
applies the change to what they hold, so a default can never be written over a rating, label
or keyword nobody had seen. Key presses wait in order behind such reads; the GUI thread never
waits. Writes go through the same one-thread queue and merge with the file on disk
(core.xmp.update_sidecar), in the order the keys were pressed.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from ...core import culling
from ...core.culling import CullBook, Decision, Edit, Flag
from ...core.sidecar_undo import SidecarStep
from ..messages import MetadataRead, SidecarsRead, SidecarWritten
from ..operations import Operation
from ..session import Session
from ..workers import SidecarReadTask, SidecarWriteTask


@dataclass(frozen=True)
class TransferResult:
    transfers: list[Any]        # core.picks.Transfer, one per pick
    move: bool


class CullingController(QObject):
    undoStateChanged = Signal(bool, bool)   # can undo, can redo

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        self.book = CullBook()
        self._known: set[str] = set()        # photos whose sidecar has been read
        self._reading: set[str] = set()
        self._queue: deque[tuple[list[str], Callable[[], object]]] = deque()
        self._tickets = itertools.count(1)
        self._writes = 0
        self._pending: dict[str, int] = {}      # path -> writes queued and not yet landed
        # id(edit) -> (the edit, kept alive; path -> its sidecars around the forward write)
        self._steps: dict[int, tuple[Edit, dict[str, SidecarStep]]] = {}
        session.model.set_decision_source(lambda path: self.book.get(path))
        session.folderChanged.connect(self._reset)
        session.metadataRead.connect(self._on_metadata)
        session.signals.sidecars_read.connect(self._on_read)
        session.signals.sidecar_written.connect(self._on_written)

    def _reset(self) -> None:
        self.book = CullBook()
        self._steps.clear()
        self._known.clear()
        self._reading.clear()
        self._queue.clear()
        self.undoStateChanged.emit(False, False)

    # ------------------------------------------------------------------ keys
    def set_flag(self, flag: Flag) -> None:
        self._decide(culling.set_flag(flag), advance=True)

    def pick(self) -> None:
        self.set_flag(Flag.PICK)

    def reject(self) -> None:
        self.set_flag(Flag.REJECT)

    def unflag(self) -> None:
        self.set_flag(Flag.NONE)

    def set_stars(self, n: int) -> None:
        self._decide(culling.set_stars(n), advance=False)
        s = self.session
        paths = s.selected_paths()
        if s.settings.advance_after_stars and len(paths) == 1:
            s.advance_from(paths[0])

    def set_colour(self, colour: str) -> None:
        """A colour label on the selection (Lightroom's 6/7/9, Purple from the menu); pressing
        it again where every selected photo has it takes it off. Green is the pick (8)."""
        if colour == "Green":
            self.pick()
            return
        paths = self.session.selected_paths()
        if colour and paths and all(self.book.get(p).colour == colour for p in paths):
            colour = ""
        self._decide(culling.set_colour(colour), advance=False)

    def set_advance_after_stars(self, on: bool) -> None:
        self.session.settings.advance_after_stars = bool(on)
        self.session.persist()

    def set_auto_advance(self, on: bool) -> None:
        self.session.settings.auto_advance = bool(on)
        self.session.persist()

    def _decide(self, change: Callable[[Decision], Decision], advance: bool) -> None:
        s = self.session
        paths = s.selected_paths()
        if not paths:
            return
        s.user_chose()
        self._when_read(paths, lambda: self._apply(self.book.apply(paths, change), True))
        if advance and s.settings.auto_advance and len(paths) == 1:
            s.advance_from(paths[0])

    def decide_each(self, changes: dict[str, Callable[[Decision], Decision]]) -> None:
        """A different change per photo as one undoable edit (the bursts' best-frame key)."""
        if not changes:
            return
        self.session.user_chose()
        self._when_read(list(changes), lambda: self._apply(self.book.apply_each(changes), True))

    def undo(self) -> None:
        self._when_read([], self._undo)

    def redo(self) -> None:
        self._when_read([], self._redo)

    def _undo(self) -> None:
        edit = self.book.undo()
        if edit is not None:
            self._apply(edit, False)
            self._show_edited(edit.paths)

    def _redo(self) -> None:
        edit = self.book.redo()
        if edit is not None:
            self._apply(edit, True)
            self._show_edited(edit.paths)

    def _show_edited(self, paths: list[str]) -> None:
        """After an undo or redo the grid shows a photo it changed: the one you are on if it is
        among them (B changes every burst of the shoot: the view must not jump to another
        one), else the first of them in grid order (P moved on: back to the photo flagged)."""
        s = self.session
        if s.current_path() in paths:
            return
        rows = [s.proxy.mapFromSource(s.model.index_of(p)).row() for p in paths]
        shown = [r for r in rows if r >= 0]
        if shown:
            s.select_row(min(shown))

    # ------------------------------------------------------------------ ordering
    def _when_read(self, paths: list[str], action: Callable[[], object]) -> None:
        """Run `action` once every photo in `paths` has had its sidecar read, after every
        action queued before it."""
        unread = [p for p in paths if p not in self._known and p not in self._reading]
        if unread:
            self._reading.update(unread)
            s = self.session
            s.sidecar_pool.start(SidecarReadTask(s.signals, s.generation, next(self._tickets),
                                                 unread, s.settings.sidecar_style))
        self._queue.append((paths, action))
        self._drain()

    def _drain(self) -> None:
        while self._queue and all(p in self._known for p in self._queue[0][0]):
            self._queue.popleft()[1]()

    def _learn(self, path: str, decision: Decision | None) -> None:
        self._reading.discard(path)
        self._known.add(path)
        if decision is not None and self.book.load(path, decision):
            self.session.model.decisions_changed([path])

    def _on_metadata(self, msg: MetadataRead) -> None:
        self._learn(msg.path, msg.decision)
        self._drain()

    def _on_read(self, msg: SidecarsRead) -> None:
        if msg.gen != self.session.generation:
            return
        for path, decision in msg.decisions.items():
            self._learn(path, decision)
        for path, error in msg.errors.items():
            # Unreadable: the write will refuse it too (and say so); nothing is overwritten.
            self._learn(path, None)
            self.session.log_once("warning", error)
        self._drain()

    # ------------------------------------------------------------------ writing
    def _apply(self, edit: Edit | None, forward: bool) -> None:
        if edit is None:
            return
        s = self.session
        steps = self._steps.setdefault(id(edit), (edit, {}))[1]
        for path, old, new in edit.changes:
            before, after = (old, new) if forward else (new, old)
            self._writes += 1
            self._pending[path] = self._pending.get(path, 0) + 1
            # Undo puts the sidecar back byte for byte (or removes one the edit created).
            step = steps.setdefault(path, SidecarStep())
            s.sidecar_pool.start(SidecarWriteTask(s.signals, s.generation, path, before, after,
                                                  s.settings.sidecar_style, step, forward,
                                                  s.settings.embed_xmp))
        s.model.decisions_changed(edit.paths)
        self.undoStateChanged.emit(self.book.can_undo(), self.book.can_redo())
        s.countsChanged.emit()

    def _on_written(self, msg: SidecarWritten) -> None:
        self._writes -= 1
        left = self._pending.get(msg.path, 1) - 1
        if left > 0:
            self._pending[msg.path] = left
        else:
            self._pending.pop(msg.path, None)
        if msg.error:
            self.session.log("error", msg.error)
        # Never show a state that is not saved: once the last write to this photo has landed,
        # the grid shows what its sidecar holds.
        if not left and msg.decision is not None and msg.gen == self.session.generation \
                and self.book.saved(msg.path, msg.decision):
            self.session.model.decisions_changed([msg.path])
            self.session.countsChanged.emit()

    def settled(self) -> bool:
        """No key press waits for a sidecar read and every write has landed."""
        return not self._queue and not self._reading and self._writes == 0

    def decision(self, path: str) -> Decision:
        return self.book.get(path)

    # ------------------------------------------------------------------ picks
    def picks(self) -> list[str]:
        return [p for p in self.session.model.paths() if self.book.get(p).picked]

    def transfer_picks(self, dest: str | os.PathLike[str], move: bool = False) -> bool:
        """Copy (or move) the picks with their sidecars, after the key presses before this one
        have been applied and written. False when there are no picks, or one is running."""
        if self._queue:
            self._when_read([], lambda: self._start_transfer(dest, move))
            return True
        return self._start_transfer(dest, move)

    def _start_transfer(self, dest: str | os.PathLike[str], move: bool) -> bool:
        from ...core.picks import transfer_one
        picks = self.picks()
        verb = "move" if move else "copy"
        if not picks:
            self.session.log("warning", f"no picks to {verb}")
            return False

        def work(progress: Callable[[int, int, str], None], cancel: Any) -> TransferResult:
            results = []
            for i, p in enumerate(picks):
                if cancel.is_set():
                    break
                results.append(transfer_one(p, dest, move))
                progress(i + 1, len(picks), Path(p).name)
            return TransferResult(results, move)
        return self.session.operations.run(Operation(f"{verb.capitalize()} picks", work,
                                                     self._transferred, total=len(picks),
                                                     after_sidecars=True))

    def rejects(self) -> list[str]:
        return [it.path for it in self.session.model.items() if self.book.get(it.path).rejected]

    def trash_rejects(self) -> bool:
        """Move the rejected photos and their sidecars to the system trash (ask first: the
        dialog does). After the key presses before it have been written."""
        from ...core.trash import trash_photo
        rejects = self.rejects()
        if not rejects:
            self.session.log("info", "no rejected photos")
            return False

        def work(progress: Callable[[int, int, str], None], cancel: Any) -> list[Any]:
            done = []
            for i, p in enumerate(rejects):
                if cancel.is_set():
                    break
                done.append(trash_photo(p))
                progress(i + 1, len(rejects), Path(p).name)
            return done
        return self.session.operations.run(Operation("Move rejects to the trash", work,
                                                     self._trashed, total=len(rejects),
                                                     after_sidecars=True))

    def _trashed(self, results: list[Any]) -> None:
        s = self.session
        gone = [r.source for r in results if not Path(r.source).exists()]
        for r in results:
            if r.error:
                s.log("error", r.error)
        if gone:
            s.log("info", f"moved {len(gone)} rejected photo(s) and their sidecars to the trash")
            self.book.forget(gone)
            s.remove_paths(gone)
            self.undoStateChanged.emit(self.book.can_undo(), self.book.can_redo())

    def _transferred(self, result: TransferResult) -> None:
        s = self.session
        verb = "moved" if result.move else "copied"
        moved = []
        for t in result.transfers:
            if t.error:
                s.log("error", t.error)
            else:
                s.log("info", f"{verb} {t.source} → {t.target}"
                      + (f" (+{len(t.sidecars)} sidecar)" if t.sidecars else ""))
                moved.append(t.source)
        if result.move and moved:
            self.book.forget(moved)
            s.remove_paths(moved)
            self.undoStateChanged.emit(self.book.can_undo(), self.book.can_redo())
