"""Giving freed pixel memory back to the system (glibc only; elsewhere a no-op).

glibc serves a large malloc with mmap, but after the first such block is freed it raises that
threshold to the block's size (up to 32 MB), so later image buffers (PIL allocates in blocks of
up to 16 MB) come from per-thread heaps that keep the pages after free: a viewer stepping
through 100 MP photos on several threads held hundreds of MB more than it used (issue 13).
Pinning the threshold keeps every big buffer an mmap that goes back on free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3          # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 4 * 2**20

_done = False


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Allocations of `threshold` bytes or more are mmapped and unmapped on free; True if set."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _done = bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):   # musl and other libcs have no mallopt
        return False
    return _done
