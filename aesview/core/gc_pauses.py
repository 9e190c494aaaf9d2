"""Keeping the cyclic garbage collector's full passes short.

A full collection walks every container object that is not frozen. Once torch, torchvision and
MediaPipe are imported that is millions of objects (their modules, functions, classes), and each
full pass took 0.27-0.31 s with every thread of the process held up — the GUI thread's too: the
one stall of 0.26-0.37 s a crop export of 100 picks showed was such a pass (docs/CROP.md, Speed).

`freeze_long_lived` moves what is alive into the collector's permanent generation
(`gc.freeze`), so later full passes walk only what came after — but only after a wave of
imports (the object count is the modules'), not on every call: a frozen object that later
becomes part of a garbage cycle is never collected, so freezing each export's model copy and
crop analyzer would leak them. A wave happens a few times a process (the first model, the first
crop's detectors), so what leaks is bounded: whatever cyclic garbage happened to exist then.
"""

from __future__ import annotations

import gc
import sys

# New modules since the last freeze that make a wave: importing torch brings ~1,500 modules,
# facenet-pytorch (with torchvision) and MediaPipe several hundred more.
WAVE_MODULES = 50

_modules_at_freeze = 0


def freeze_long_lived() -> bool:
    """Freeze every object tracked now if a wave of imports came since the last freeze; True if
    it froze."""
    global _modules_at_freeze
    n = len(sys.modules)
    if n - _modules_at_freeze < WAVE_MODULES:
        return False
    gc.freeze()
    _modules_at_freeze = n
    return True
