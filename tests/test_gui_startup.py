"""The window and its thumbnails come before torch: opening the app imports no torch on the
GUI thread, and while the app is used — from its first moment, while the scoring thread is
still loading torch and the model — the GUI thread never imports a module that loads torch
(which would load it there, or wait on the import lock for the scoring thread). Each case runs
the real window in a fresh interpreter (tests/gui_startup_probe.py), which records every import
the GUI thread makes (tests/torch_imports.py). That scoring itself still works in the window
is held by test_gui_workflow.py, test_gui_teaching.py, test_gui_crop.py and test_gui_detail.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.gui_support import gui_model, make_synthetic_shoot

ROOT = Path(__file__).resolve().parents[1]


def _probe(mode: str, folder: Path, tmp_path: Path, timeout: float) -> dict:
    out = tmp_path / f"{mode}.json"
    env = dict(os.environ, AESVIEW_CONFIG_DIR=str(tmp_path / "config"),
               AESVIEW_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "tests.gui_startup_probe", mode, str(folder),
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_opening_a_folder_loads_no_torch(tmp_path):
    """Window built, folder opened, every thumbnail, capture time and sidecar read and the
    current photo shown, with scoring not started: torch is not even loaded."""
    make_synthetic_shoot(tmp_path / "shoot", 6, (320, 240))
    res = _probe("browse", tmp_path / "shoot", tmp_path, 120)
    assert res["photos"] == 6 and res["browsed"]
    assert res["torch_loaded"] == [], res["torch_loaded"]
    assert res["main_thread_torch_imports"] == []


def test_gui_thread_never_imports_torch_while_the_app_is_used(tmp_path):
    """Every menu command that opens no dialog, the model menu, a what-if and the report, once
    while the model loads and once after scoring: no import of a torch module on the GUI
    thread; torch was imported by another thread; the shoot was scored."""
    gui_model()
    make_synthetic_shoot(tmp_path / "shoot", 6, (320, 240))
    res = _probe("use", tmp_path / "shoot", tmp_path, 600)
    assert res["scored"] and res["scored_after"] and res["log"] == [], res
    assert res["main_thread_torch_imports"] == []
    assert res["torch_thread"] not in (None, "MainThread"), res["torch_thread"]
    assert res["report_scored"]
