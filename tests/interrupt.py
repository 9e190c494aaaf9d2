"""Stopping a training run the way a killed process stops: right after a checkpoint is written."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stop_after_first_checkpoint(loop) -> Iterator[list[int]]:
    """While active, `loop`'s checkpoint writes go through and the first epoch's then raises
    KeyboardInterrupt; yields the epochs saved, so a test can check what the resume starts from."""
    orig, calls = loop.atomic_torch_save, []

    def save_then_stop(obj, path):
        orig(obj, path)
        calls.append(obj["epoch"])
        if obj["epoch"] == 1:
            raise KeyboardInterrupt

    loop.atomic_torch_save = save_then_stop
    try:
        yield calls
    finally:
        loop.atomic_torch_save = orig
