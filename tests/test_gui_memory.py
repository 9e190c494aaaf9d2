"""Issue 13: the GUI's peak memory stays under 1.5 GB on a folder of 100-megapixel RGBA PNGs,
a 24 MP photo and the fault zoo's bombs, browsed in the viewer, the loupe and compare.

The browsing runs in a fresh interpreter (tests/gui_memory_probe.py, real widgets through
pytest-qt) so its VmHWM is its own: this process has run other tests and built the files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aesview.core.settings import FULL_IMAGE_CACHE_BYTES
from tests.gui_memory_probe import FOLDER_ENV, OUT_ENV, build_folder

LIMIT_MB = 1500
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_browsing_huge_photos_stays_under_1_5_gb(tmp_path):
    folder = build_folder(tmp_path / "shoot")
    out = tmp_path / "probe.json"
    env = dict(os.environ, **{OUT_ENV: str(out), FOLDER_ENV: str(folder)})
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          "tests/gui_memory_probe.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(out.read_text())
    print("\ngui memory:", report)
    assert report["big_shown_as"] == [5000, 5000]            # 100 MP shown at half size ...
    assert "1/2 size" in report["big_note"]                  # ... and the viewer says so
    assert report["cache_mb"] <= FULL_IMAGE_CACHE_BYTES / 2**20 + 130   # + the newest, kept alone
    assert report["peak_mb"] < LIMIT_MB, report
