"""Loading a model (and building a crop analyzer) freezes what is alive, so the collector's full
passes walk only what came after (core/gc_pauses.py); garbage made later is still collected."""

from __future__ import annotations

import gc
import weakref

from aesview.core.gc_pauses import freeze_long_lived
from aesview.core.weights import load_model


class _Node:
    def __init__(self) -> None:
        self.me = self          # a reference cycle: only the cyclic collector frees it


def test_loading_a_model_freezes_what_is_alive_and_later_cycles_are_still_collected():
    frozen_before = gc.get_freeze_count()
    model = load_model(device="cpu")
    assert gc.get_freeze_count() > frozen_before
    # the model's modules are among the frozen: a full pass no longer walks them
    gc.collect()
    assert not any(o is model.net for o in gc.get_objects(generation=2))
    after = _Node()
    after_ref = weakref.ref(after)
    del after
    gc.collect()
    assert after_ref() is None            # made after the freeze: collected as ever
    assert freeze_long_lived() >= gc.get_freeze_count() > 0
