"""Culling decisions (pick / reject / stars) with undo and redo, and the grid's filters.

Qt-free so the CLI and tests use the same rules as the GUI. Every change is one `Edit` that may
touch many photos (a multi-selection), so one Ctrl+Z undoes what one key press did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import IntEnum

MAX_STARS = 5


class Flag(IntEnum):
    REJECT = -1
    NONE = 0
    PICK = 1


# Colour labels (Lightroom's keys 6, 7, 9 and Purple from the menu). Green is not among them: in
# aesview a green label IS the pick (what darktable and digiKam show as the pick), so key 8 picks.
LABEL_COLOURS = ("Red", "Yellow", "Blue", "Purple")


def check_colour(colour: str) -> None:
    """ValueError unless `colour` is one of LABEL_COLOURS or "" (none)."""
    if colour and colour not in LABEL_COLOURS:
        raise ValueError(f"colour must be one of {', '.join(LABEL_COLOURS)}, not {colour!r}")


@dataclass(frozen=True)
class Decision:
    flag: Flag = Flag.NONE
    stars: int = 0
    colour: str = ""          # one of LABEL_COLOURS, "" = none

    def __post_init__(self) -> None:
        if not 0 <= self.stars <= MAX_STARS:
            raise ValueError(f"stars must be 0..{MAX_STARS}, not {self.stars}")
        check_colour(self.colour)
        object.__setattr__(self, "flag", Flag(self.flag))

    @property
    def picked(self) -> bool:
        return self.flag is Flag.PICK

    @property
    def rejected(self) -> bool:
        return self.flag is Flag.REJECT


@dataclass(frozen=True)
class Edit:
    """before/after for each photo one action changed."""
    changes: tuple[tuple[str, Decision, Decision], ...]

    @property
    def paths(self) -> list[str]:
        return [c[0] for c in self.changes]


def set_flag(flag: Flag) -> Callable[[Decision], Decision]:
    return lambda d: replace(d, flag=Flag(flag))


def set_colour(colour: str) -> Callable[[Decision], Decision]:
    """A colour label ("" clears it)."""
    check_colour(colour)
    return lambda d: replace(d, colour=colour)


def set_stars(stars: int) -> Callable[[Decision], Decision]:
    if not 0 <= stars <= MAX_STARS:
        raise ValueError(f"stars must be 0..{MAX_STARS}, not {stars}")
    return lambda d: replace(d, stars=stars)


class CullBook:
    """Decisions by photo path, with an undo and a redo stack of `Edit`s."""

    def __init__(self, decisions: dict[str, Decision] | None = None, max_undo: int = 1000):
        self._d: dict[str, Decision] = dict(decisions or {})
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._touched: set[str] = set()
        self.max_undo = max_undo

    def get(self, path: str) -> Decision:
        return self._d.get(path, Decision())

    def load(self, path: str, decision: Decision) -> bool:
        """Set a decision read from disk, unless the user already changed this photo (a
        sidecar read late must not undo a key press). No undo entry."""
        if path in self._touched:
            return False
        self._d[path] = decision
        return True

    def saved(self, path: str, decision: Decision) -> bool:
        """What the photo's sidecar holds after the last write to it (a write that failed, or
        one merged with another tool's change): shown as it is. No undo entry. True if it
        differed."""
        if self.get(path) == decision:
            return False
        self._d[path] = decision
        return True

    def apply(self, paths: Iterable[str], change: Callable[[Decision], Decision]) -> Edit | None:
        return self.apply_each(dict.fromkeys(paths, change))

    def apply_each(self, changes: dict[str, Callable[[Decision], Decision]]) -> Edit | None:
        """One undoable edit that gives each photo its own change (pick the best frame of every
        burst and reject the rest: one key, one Ctrl+Z)."""
        edits = [(p, old, change(old)) for p, change in changes.items() for old in [self.get(p)]]
        edit = Edit(tuple(c for c in edits if c[1] != c[2]))
        if not edit.changes:
            return None
        self._commit(edit, forward=True)
        self._undo.append(edit)
        del self._undo[:-self.max_undo]
        self._redo.clear()
        return edit

    def undo(self) -> Edit | None:
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._commit(edit, forward=False)
        self._redo.append(edit)
        return edit

    def redo(self) -> Edit | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._commit(edit, forward=True)
        self._undo.append(edit)
        return edit

    def _commit(self, edit: Edit, forward: bool) -> None:
        for path, old, new in edit.changes:
            self._d[path] = new if forward else old
            self._touched.add(path)

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def forget(self, paths: Iterable[str]) -> None:
        """Drop photos that left the shoot (moved away); their edits can no longer be undone."""
        gone = set(paths)
        for p in gone:
            self._d.pop(p, None)
            self._touched.discard(p)
        self._undo = [e for e in self._undo if not gone.intersection(e.paths)]
        self._redo = [e for e in self._redo if not gone.intersection(e.paths)]

    def picks(self, paths: Iterable[str]) -> list[str]:
        return [p for p in paths if self.get(p).picked]


# Filters: name -> label shown in the GUI.
FILTERS = {
    "all": "All photos",
    "picks": "Picks",
    "not_rejected": "Not rejected",
    "rejected": "Rejected",
    "stars": "At least N stars",
    "unflagged": "Unflagged",
    **{f"colour_{c.lower()}": f"{c} label" for c in LABEL_COLOURS},
}


def passes(decision: Decision, name: str = "all", min_stars: int = 0) -> bool:
    if name == "all":
        return True
    if name == "picks":
        return decision.picked
    if name == "not_rejected":
        return not decision.rejected
    if name == "rejected":
        return decision.rejected
    if name == "stars":
        return not decision.rejected and decision.stars >= min_stars
    if name == "unflagged":
        return decision.flag is Flag.NONE
    if name.startswith("colour_") and name[7:].capitalize() in LABEL_COLOURS:
        return decision.colour == name[7:].capitalize()
    raise ValueError(f"unknown filter {name!r}; choose from {', '.join(FILTERS)}")
