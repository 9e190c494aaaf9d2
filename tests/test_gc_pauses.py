"""The collector's full passes stay short (core/gc_pauses.py): a wave of imports is frozen when a
model is loaded or a crop analyzer built, but the models and analyzers themselves stay
collectable — each crop export loads its own copy, and a frozen copy would never be freed."""

from __future__ import annotations

import gc
import weakref

import pytest

from aesview.core import gc_pauses
from aesview.core.subject import CropAnalyzer
from aesview.core.weights import load_model


def test_a_wave_of_imports_is_frozen_and_later_models_and_analyzers_are_still_freed(monkeypatch):
    monkeypatch.setattr(gc_pauses, "_modules_at_freeze", 0)     # as in a fresh process
    frozen_before = gc.get_freeze_count()
    assert load_model(device="cpu").net is not None
    assert gc.get_freeze_count() > frozen_before                  # torch's modules: frozen
    assert gc_pauses.freeze_long_lived() is False                 # no new wave: nothing frozen
    for _ in range(2):                                            # two exports' own copies
        copy = load_model(device="cpu")
        analyzer = CropAnalyzer(copy, people=False)
        net, made = weakref.ref(copy.net), weakref.ref(analyzer)
        del copy, analyzer
        gc.collect()
        assert net() is None and made() is None


def test_freezing_needs_a_wave_of_new_modules(monkeypatch):
    import sys
    monkeypatch.setattr(gc_pauses, "_modules_at_freeze", len(sys.modules) - gc_pauses.WAVE_MODULES + 1)
    assert gc_pauses.freeze_long_lived() is False
    monkeypatch.setattr(gc_pauses, "_modules_at_freeze", len(sys.modules) - gc_pauses.WAVE_MODULES)
    assert gc_pauses.freeze_long_lived() is True
    assert gc_pauses._modules_at_freeze == len(sys.modules)


@pytest.fixture(autouse=True)
def _restore_freeze_mark():
    before = gc_pauses._modules_at_freeze
    yield
    gc_pauses._modules_at_freeze = max(before, gc_pauses._modules_at_freeze)
