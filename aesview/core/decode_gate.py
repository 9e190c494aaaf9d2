"""A process-wide admission gate for decode memory (issue 13).

Every decode reserves the bytes its header says it will hold (the frame, or the bands and the
reduced result of a banded decode) before it allocates them, and waits while the reservations
held by other threads would push the sum over the budget. So thumbnail threads, the scorer's
decoders, the viewer and exports together never hold more than the budget in decodes, however
many threads there are: a per-thread bound would grow with the thread count.

It never deadlocks:
- a reservation larger than the whole budget waits until nothing else is held, then runs alone;
- a thread already holding a reservation (a RAW file decoding its embedded JPEG preview) is
  admitted at once for a nested one: it must not wait for itself;
- waiters are admitted first come, first served, so a big decode is not starved by a stream of
  small ones (and small ones wait behind it only while it waits for room).

Only worker threads may decode through it: the GUI thread never waits on decoding. `threads()`
names every thread that was admitted, so a test can check that.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator

DEFAULT_BUDGET_BYTES = 512 * 2**20


class DecodeGate:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        self.budget = int(budget_bytes)
        self._cond = threading.Condition()
        self._held = 0
        self._queue: deque[object] = deque()       # waiting tickets, oldest first
        self._local = threading.local()             # this thread's reservation depth
        self._threads: set[str] = set()
        self.peak_held = 0                          # the most ever held at once (tests, reports)

    def held(self) -> int:
        with self._cond:
            return self._held

    def threads(self) -> set[str]:
        """Names of the threads ever admitted."""
        with self._cond:
            return set(self._threads)

    def _fits(self, nbytes: int) -> bool:
        return self._held == 0 or self._held + nbytes <= self.budget

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Hold `nbytes` of the budget for the duration of the block."""
        nbytes = max(0, int(nbytes))
        depth = getattr(self._local, "depth", 0)
        with self._cond:
            self._threads.add(threading.current_thread().name)
            if depth == 0:
                ticket = object()
                self._queue.append(ticket)
                try:
                    while self._queue[0] is not ticket or not self._fits(nbytes):
                        self._cond.wait()
                finally:
                    self._queue.remove(ticket)
                    self._cond.notify_all()        # the next in line may fit too
            self._held += nbytes
            self.peak_held = max(self.peak_held, self._held)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            with self._cond:
                self._held -= nbytes
                self._cond.notify_all()


GATE = DecodeGate()
