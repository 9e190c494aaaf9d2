"""Helpers for the GUI tests: headless Qt, isolated config/cache folders, a small real shoot,
and the model they score with (the shipped default)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

# Before any QApplication exists: no display needed, and the one screen Qt's offscreen
# platform offers is a 1366 x 768 laptop's (gui_screen.json), the smallest screen the app is
# laid out for: every GUI test runs the window at that size.
SCREEN_CONFIG = Path(__file__).with_name("gui_screen.json")


def use_test_screen() -> None:
    """Unset or plain `offscreen` (as many CI setups export it): the offscreen platform with
    the laptop screen. Any other platform (xcb under Xvfb, wayland, a desktop) is left alone:
    the tests hold on whatever screen it has."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform in ("", "offscreen"):
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN_CONFIG}"


use_test_screen()

import pytest  # noqa: E402

from aesview.paths import samples_dir  # noqa: E402

# Small files (the largest 1600 px): four photos, one stored sideways with EXIF Orientation 6.
SHOOT = ("coffee.jpg", "pagoda.jpg", "nuthatch-awkward-crop.jpg", "wine-and-drum.jpg")


def gui_model() -> str:
    """The shipped default model: "" in the settings (AESVIEW_MODEL may name another, as for
    every other test). Skips when there is none."""
    from aesview.core.weights import ModelError, default_model_name
    try:
        default_model_name()
    except (ModelError, FileNotFoundError) as exc:
        pytest.skip(f"no shipped model: {exc}")
    return ""


def make_shoot(folder: Path, names=SHOOT) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        shutil.copyfile(samples_dir() / n, folder / n)
        out.append(folder / n)
    return out


def wait_until(app, condition, timeout: float = 60.0, step_ms: int = 20) -> bool:
    """Spin the event loop until condition() holds (pytest-qt's waitUntil raises; tests here
    want to report what they measured)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        app.processEvents()
        time.sleep(step_ms / 1000)
    return bool(condition())


def settle(app, widget, timeout: float = 5.0) -> None:
    """Wait until the window's layout holds still. On X11 the server sets the window's size a
    moment after it shows, and the docks and splitter follow; offscreen it is at once."""
    from PySide6.QtWidgets import QWidget
    last, same = None, 0
    end = time.monotonic() + timeout
    while same < 5 and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
        now = (widget.geometry(), *(c.geometry() for c in widget.findChildren(QWidget)))
        same = same + 1 if now == last else 0
        last = now


def make_synthetic_shoot(folder: Path, n: int, size=(64, 48)) -> list[Path]:
    """`n` tiny generated JPEGs (a colour ramp each, different per photo): a shoot of thousands
    in a second or two, for tests about browsing rather than about pixels."""
    import numpy as np
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    ramp = np.linspace(0, 1, w)[None, :, None]
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        img = (c0 + (c1 - c0) * ramp).repeat(h, 0).astype(np.uint8)
        p = folder / f"IMG_{i:05d}.jpg"
        Image.fromarray(img).save(p, quality=80)
        out.append(p)
    return out


def isolate_gui(tmp_path: Path, monkeypatch, *, scoring: bool = False) -> Path:
    """Config and cache folders under tmp_path; unless `scoring`, Session.start_scoring does
    nothing (tests about browsing, culling and views, not the model). Returns tmp_path/"shoot",
    made."""
    from aesview.gui.session import Session
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    if not scoring:
        monkeypatch.setattr(Session, "start_scoring", lambda self: None)
    folder = tmp_path / "shoot"
    folder.mkdir()
    return folder
