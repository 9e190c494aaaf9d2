"""The browsing half of test_gui_memory.py, run there in a fresh interpreter so the process's
peak (VmHWM) is this browsing's own, not that of whatever tests ran before it. Not collected on
its own (no test_ prefix); `tools/gui_memory.py` runs it too, to report the figure.

The folder: four 100-megapixel RGBA PNGs, a 24 MP photo, and the fault zoo's bombs. The real
window opens it, every photo is shown in the viewer, then stepped through in the loupe and in
compare. With AESVIEW_MEMORY_PROBE_SCORE set, the model scores the folder meanwhile (and the
probe waits for it to finish). Either way it records which threads decoded through the decode
gate: never the GUI thread."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aesview.core import decode_gate
from aesview.core.settings import Settings
from aesview.gui.main_window import MainWindow
from aesview.gui.workers import ScoringService
from tests.fault_zoo import build_bombs, png_zeros
from tests.gui_support import wait_until

OUT_ENV = "AESVIEW_MEMORY_PROBE_OUT"
FOLDER_ENV = "AESVIEW_MEMORY_PROBE_FOLDER"
SCORE_ENV = "AESVIEW_MEMORY_PROBE_SCORE"
BIG = 10000                     # 100 MP RGBA: 400 MB a frame as decoded
PHOTO_24MP = (6000, 4000)
WAIT = float(os.environ.get("AESVIEW_MEMORY_PROBE_WAIT", "60"))


def vmhwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def build_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    build_bombs(folder)                       # includes one 100 MP RGBA PNG
    for i in range(3):
        png_zeros(folder / f"big-{i}-rgba.png", BIG, BIG, 6)
    # a real 24 MP photo's worth of detail: noise, so 100 % can be checked pixel for pixel
    rng = np.random.default_rng(0)
    w, h = PHOTO_24MP
    small = rng.integers(0, 256, (h // 8, w // 8, 3), np.uint8)
    Image.fromarray(small).resize((w, h), Image.Resampling.NEAREST).save(folder / "photo-24mp.jpg",
                                                                         quality=90)
    return folder


def _shown(win, path: str) -> bool:
    """The viewer has this photo's full-resolution load, or the log says why it can't."""
    v = win.viewer
    if v.path == path and v.photo.full is not None:
        return True
    name = os.path.basename(path)
    return any(name in m for _lvl, m in win.log_panel.entries)


def _panes_done(view) -> bool:
    """Every pane has its pixels, or says why it cannot have them (never "Loading" forever)."""
    return all(p.loading.isHidden() or p.failed for p in view.visible_panes())


@pytest.mark.skipif(not os.environ.get(OUT_ENV), reason="run by test_gui_memory.py in a subprocess")
def test_browse_a_folder_of_huge_photos(qtbot, qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    if not os.environ.get(SCORE_ENV):       # set: the model scores the folder meanwhile
        monkeypatch.setattr(ScoringService, "start", lambda self, job: None)
    # built by the caller, in its own process: making 100 MP PNGs costs memory of its own
    folder = Path(os.environ[FOLDER_ENV])
    t0 = time.monotonic()
    win = MainWindow(Settings(sort_key="name"))
    qtbot.addWidget(win)
    win.show()
    s = win.session
    start_mb = round(vmhwm_mb())
    assert s.open_folder(folder)
    assert wait_until(qapp, lambda: s.thumbs.pending() == 0 and s.thumb_pool.activeThreadCount() == 0,
                      120)
    paths = list(s.model.paths())
    assert len(paths) >= 15
    report: dict = {"photos": len(paths), "peak_after_mb": {"start": start_mb,
                                                             "thumbnails": round(vmhwm_mb())}}

    for p in paths:                                            # the main viewer, one by one
        s.select_path(p)
        assert wait_until(qapp, lambda p=p: _shown(win, p), 60), p
    photo = str(folder / "photo-24mp.jpg")
    s.select_path(photo)
    assert wait_until(qapp, lambda: _shown(win, photo), 60)
    full = win.viewer.photo.full
    assert (full.width(), full.height()) == PHOTO_24MP        # 100 % is real pixels
    big = str(folder / "big-0-rgba.png")
    s.select_path(big)
    assert wait_until(qapp, lambda: _shown(win, big), 60)
    report["big_shown_as"] = [win.viewer.photo.full.width(), win.viewer.photo.full.height()]
    report["big_note"] = win.viewer.note_text()
    report["peak_after_mb"]["viewer"] = round(vmhwm_mb())

    s.select_path(paths[0])
    for opener in (win.compare.loupe, win.compare.compare):    # loupe, then 2-up compare
        view = opener()
        assert view is not None
        for _ in range(len(paths)):
            assert wait_until(qapp, lambda v=view: _panes_done(v), WAIT)
            QTest.keyClick(view, Qt.Key.Key_Right)
        assert wait_until(qapp, lambda v=view: _panes_done(v), WAIT)
        view.close()
        qapp.processEvents()
        report["peak_after_mb"][opener.__name__] = round(vmhwm_mb())
    if os.environ.get(SCORE_ENV):
        assert wait_until(qapp, lambda: not s.scoring_busy(), 600)
        report["scored"] = s.model.counts()["scored"]
        report["peak_after_mb"]["scoring"] = round(vmhwm_mb())
    report["gate_threads"] = sorted(decode_gate.GATE.threads())
    report["gate_peak_mb"] = round(decode_gate.GATE.peak_held / 2**20)
    report["seconds"] = round(time.monotonic() - t0, 1)
    report["cache_mb"] = round(win.compare.cache.bytes_held() / 2**20, 1)
    report["peak_mb"] = round(vmhwm_mb(), 1)
    Path(os.environ[OUT_ENV]).write_text(json.dumps(report))
    win.close()
