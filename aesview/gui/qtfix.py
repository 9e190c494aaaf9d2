"""Work around a reference-count bug in some PySide6 builds (seen in 6.12.0 on CPython 3.11).

There, `SignalInstance.emit()` returns `True` without taking a reference to it, so every
`signal.emit(...)` made from Python removes one reference from `True`. A fresh process holds only
a few hundred, so after a few hundred emits (a shoot of a few hundred photos) CPython aborts with
"bool_dealloc: deallocating True or False". CPython 3.12+ makes True immortal, hiding it there.

The fix measures the bug once, and only if it is present wraps `emit` to add the missing
reference. A PySide6 without the bug is left untouched.
"""

from __future__ import annotations

import ctypes
import sys

_installed = False


def _emit_drops_references() -> dict[bool, int]:
    """How many references to True/False each emit drops (0 on a sound PySide6)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(int)

    probe = _Probe()
    n = 8
    lost = {}
    before = {b: sys.getrefcount(b) for b in (True, False)}
    results = [probe.ping.emit(i) for i in range(n)]
    after = {b: sys.getrefcount(b) for b in (True, False)}
    for b in (True, False):
        # each kept result should have added one reference
        held = sum(1 for r in results if r is b)
        lost[b] = max(0, round((held - (after[b] - before[b])) / n)) if held else 0
    # the results list releases its (uncounted) references now: put them back
    for r in results:
        if isinstance(r, bool) and lost.get(r):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(r))
    del results
    return lost


def install() -> bool:
    """Patch SignalInstance.emit if this PySide6 needs it. True if patched."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12):
        return False    # immortal True/False: the missing reference can't hurt
    lost = _emit_drops_references()
    if not any(lost.values()):
        return False
    from PySide6.QtCore import SignalInstance

    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]

    def emit(self, *args):
        result = original(self, *args)
        if isinstance(result, bool) and lost.get(result):
            incref(result)
        return result

    emit.__doc__ = original.__doc__
    SignalInstance.emit = emit
    _installed = True
    return True
