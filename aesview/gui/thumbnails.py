"""Which thumbnails to decode next. A shoot of thousands must show what is on screen first:
tasks go to the pool only a few at a time (so a scroll can still change what comes next),
the rows on screen before the rest, the rest in folder order. Runs on the GUI thread; every
call costs O(rows on screen), never O(shoot)."""

from __future__ import annotations

from PySide6.QtCore import QThreadPool

from .messages import WorkerSignals
from .workers import ThumbnailTask


class ThumbnailQueue:
    def __init__(self, pool: QThreadPool, signals: WorkerSignals, in_flight: int | None = None):
        self.pool, self.signals = pool, signals
        # two per thread: the pool never idles, and what a scroll asks for waits behind at
        # most this many
        self.limit = in_flight or 2 * max(1, pool.maxThreadCount())
        self.gen = 0
        self._pending: dict[str, tuple[int, str | None]] = {}   # path -> (size, sidecar style)
        self._order: list[str] = []           # the rest, in folder order, from _next on
        self._next = 0
        self._urgent: list[str] = []          # on screen now, in screen order
        self._running = 0

    def reset(self, gen: int, paths, size: int, sidecar_style: str | None) -> None:
        """A new folder: forget what the last one still wanted (the caller clears the pool)."""
        self.gen = gen
        self._pending = dict.fromkeys(paths, (size, sidecar_style))
        self._order, self._next = list(self._pending), 0
        self._urgent = []
        self._running = 0

    def add(self, paths, size: int) -> None:
        """Decode these again at `size` (a bigger thumbnail size); sidecars are not re-read."""
        for p in paths:
            old = self._pending.get(p)
            if old is None:
                self._order.append(p)
            self._pending[p] = (size, old[1] if old else None)
        self.pump()

    def prefer(self, paths) -> None:
        """These next, in this order (the rows on screen); replaces the previous wish, so rows
        scrolled past lose their turn."""
        self._urgent = [p for p in paths if p in self._pending]
        self._urgent.reverse()                # popped from the end
        self.pump()

    def done(self, gen: int) -> None:
        """One task of generation `gen` finished (its thumbnail arrived or failed)."""
        if gen == self.gen and self._running:
            self._running -= 1
            self.pump()

    def pending(self) -> int:
        return len(self._pending)

    def pump(self) -> None:
        while self._running < self.limit and self._pending:
            path = None
            while self._urgent and path is None:
                p = self._urgent.pop()
                if p in self._pending:
                    path = p
            while path is None:
                p = self._order[self._next]
                self._next += 1
                if p in self._pending:
                    path = p
            size, style = self._pending.pop(path)
            self._running += 1
            self.pool.start(ThumbnailTask(self.signals, self.gen, path, size, style))
