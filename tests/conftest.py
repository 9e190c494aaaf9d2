"""Shared fixtures. Image makers for the loader/crop/export tests live here: an asymmetric test
pattern (every flip and turn of it is distinguishable) and a wide-gamut ICC profile."""

from __future__ import annotations

import atexit
import os
import shutil
import struct
import tempfile

import numpy as np
import pytest

from tests.gui_support import use_test_screen

use_test_screen()      # before pytest-qt makes the QApplication, whatever the environment says

# A window that qtbot closes after a test's monkeypatch was undone still saves its settings, and
# a subprocess may be started without the per-test folders: both must land in a throwaway folder,
# never in the user's own config or cache (the CLI reads the saved settings).
_SESSION_DIR = tempfile.mkdtemp(prefix="aesview-tests-")
for _name, _sub in (("AESVIEW_CONFIG_DIR", "config"), ("AESVIEW_CACHE_DIR", "cache")):
    os.environ.setdefault(_name, os.path.join(_SESSION_DIR, _sub))
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)    # not one left per test run


def pattern_array(w: int, h: int) -> np.ndarray:
    """RGB uint8 (h, w, 3): red ramps left->right, green top->bottom, blue marks the top-left
    block. Smooth enough for JPEG, asymmetric under all eight EXIF orientations."""
    x = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    b = np.zeros((h, w))
    b[: h // 3, : w // 4] = 255
    return np.stack([x, y, b], -1).round().astype(np.uint8)


def _icc_rgb(description: str, red, green, blue, gamma: float) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile (the structure Adobe RGB profiles have)."""
    def xyz(v):
        return b"XYZ " + bytes(4) + struct.pack(">3i", *(round(c * 65536) for c in v))
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)
    text = description.encode("ascii") + b"\0"
    # textDescriptionType: ASCII part, then empty Unicode (8 bytes) and ScriptCode (3 + 67) parts
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67)
    d50 = (0.9642, 1.0, 0.8249)
    tags = [(b"desc", desc), (b"cprt", b"text" + bytes(4) + b"public domain\0"),
            (b"wtpt", xyz(d50)),
            (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)), (b"bXYZ", xyz(blue)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table += struct.pack(">4sII", sig, offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s6H4sIIIIQI3iI16s28s", size, b"\0\0\0\0", 0x02100000, b"mntr",
                         b"RGB ", b"XYZ ", 2024, 1, 1, 0, 0, 0, b"acsp", 0, 0, 0, 0, 0, 0,
                         *(round(c * 65536) for c in d50), 0, bytes(16), bytes(28))
    return header + table + data


@pytest.fixture
def budget_reset(monkeypatch):
    """The decode pixel budget as a fresh process has it, before and after the test."""
    from aesview.core import imaging
    monkeypatch.delenv(imaging.BUDGET_ENV, raising=False)
    imaging.set_pixel_budget(None)
    yield
    imaging.set_pixel_budget(None)


@pytest.fixture
def make_pattern():
    return pattern_array


@pytest.fixture(scope="session")
def wide_gamut_icc() -> bytes:
    """Adobe RGB (1998)-like primaries (D50-adapted colorants) and gamma 2.2."""
    return _icc_rgb("Wide gamut test RGB", (0.60974, 0.31111, 0.01947),
                    (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457), 563 / 256)
