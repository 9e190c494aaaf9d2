"""Issue 13: the GUI's peak memory stays under 1.5 GB on a folder of 100-megapixel RGBA PNGs,
a 24 MP photo and the fault zoo's bombs, browsed in the viewer, the loupe and compare -- with
the model scoring the folder meanwhile, and without.

Each case runs in a fresh interpreter (tests/gui_memory_probe.py, real widgets through
pytest-qt) so its VmHWM is its own: this process has run other tests and built the files. The
two run side by side (two processes, two peaks) to keep the test's time down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aesview.core.settings import FULL_IMAGE_CACHE_BYTES
from tests.gui_memory_probe import FOLDER_ENV, OUT_ENV, SCORE_ENV, build_folder

LIMIT_MB = 1500
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_browsing_huge_photos_stays_under_1_5_gb_with_and_without_scoring(tmp_path):
    folder = build_folder(tmp_path / "shoot")
    runs: dict[str, subprocess.CompletedProcess] = {}
    outs = {case: tmp_path / f"probe-{case}.json" for case in ("browsing", "scoring")}

    def probe(case: str) -> None:
        env = dict(os.environ, **{OUT_ENV: str(outs[case]), FOLDER_ENV: str(folder)})
        env.pop(SCORE_ENV, None)
        if case == "scoring":
            env[SCORE_ENV] = "1"
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        runs[case] = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                                     "no:cacheprovider", "tests/gui_memory_probe.py"], cwd=ROOT,
                                    env=env, capture_output=True, text=True, timeout=900)

    threads = [threading.Thread(target=probe, args=(case,)) for case in outs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for case, run in runs.items():
        assert run.returncode == 0, case + ": " + run.stdout[-4000:] + run.stderr[-2000:]
    for case, out in outs.items():
        report = json.loads(out.read_text())
        print(f"\ngui memory, {case}:", report)
        assert report["big_shown_as"] == [5000, 5000]            # 100 MP shown at half size ...
        assert "1/2 size" in report["big_note"]                  # ... and the viewer says so
        assert report["cache_mb"] <= FULL_IMAGE_CACHE_BYTES / 2**20 + 130   # + the newest, kept alone
        assert "MainThread" not in report["gate_threads"], report   # the GUI thread never decodes
        if case == "scoring":
            assert report["scored"] == 6, report                 # 4 x 100 MP, the 24 MP, the EXIF one
        assert report["peak_mb"] < LIMIT_MB, (case, report)
