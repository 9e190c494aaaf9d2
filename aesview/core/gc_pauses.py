"""Keeping the cyclic garbage collector's full passes short.

A full collection walks every container object that is not frozen. Once torch, torchvision,
MediaPipe and a model or two are loaded that is millions of objects, and each full pass took
0.27-0.31 s with every thread of the process held up — the GUI thread's too: the one stall of
0.26-0.37 s a crop export of 100 picks showed was such a pass (docs/CROP.md, Speed).
`freeze_long_lived` moves what is alive at that moment (imported modules, a loaded model, a
built crop analyzer) into the collector's permanent generation, so later full passes walk only
what came after. Frozen objects are still freed by reference counting as usual; only reference
cycles among them wait, and long-lived objects rarely form garbage cycles.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Freeze every object tracked now; returns how many are frozen in all."""
    gc.freeze()
    return gc.get_freeze_count()
