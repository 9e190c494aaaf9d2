"""Exporting the crops of many picks through the app's own session and crop controller (no
window): wall time, time per photo, how long a Cancel takes to stop it, and the GUI thread's
longest stall meanwhile (a 10 ms timer's largest late tick).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/crop_export_benchmark.py [--n 100] [--aspect 4:5]

The picks are copies of the sample shoot (1600 px and less); none has its crop maps yet, so the
export operation computes them itself (its own copy of the model), as for picks never viewed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--aspect", default="4:5")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aesview-export-bench-"))
    os.environ["AESVIEW_CONFIG_DIR"] = str(tmp / "config")
    os.environ["AESVIEW_CACHE_DIR"] = str(tmp / "cache")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from aesview.core.settings import Settings
    from aesview.gui.controllers import CropController, CullingController
    from aesview.gui.session import Session
    from aesview.paths import samples_dir

    app = QApplication.instance() or QApplication([])
    shoot = tmp / "shoot"
    shoot.mkdir()
    samples = sorted(p for p in samples_dir().iterdir() if p.suffix.lower() in (".jpg", ".png"))
    for i in range(args.n):
        src = samples[i % len(samples)]
        shutil.copyfile(src, shoot / f"{i:03d}-{src.name}")

    def wait(cond, timeout=3600.0):
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)
        return cond()

    s = Session(Settings(model="", sort_key="name", export_dir=str(tmp / "out")))
    cull, crop = CullingController(s), CropController(s)
    assert s.open_folder(shoot)
    assert wait(lambda: s.model.counts()["scored"] == args.n and not s.scoring_busy())
    s.select_all()
    cull.pick()
    assert wait(cull.settled)
    assert crop.set_aspect(args.aspect)

    done: list[list[str]] = []
    crop.exported.connect(done.append)
    ticks = {"last": time.monotonic(), "worst": 0.0}

    def tick() -> None:
        now = time.monotonic()
        ticks["worst"] = max(ticks["worst"], now - ticks["last"] - 0.010)
        ticks["last"] = now
    timer = QTimer(interval=10)
    timer.timeout.connect(tick)

    # a Cancel five seconds in: how long until the operation reports back
    assert crop.export_picks()
    t0 = time.monotonic()
    wait(lambda: time.monotonic() - t0 > 5.0)
    t_cancel = time.monotonic()
    s.operations.cancel_all()
    assert wait(lambda: bool(done))
    cancel_s = time.monotonic() - t_cancel
    cancelled_written = len(done[-1])
    for f in done[-1]:
        os.remove(f)

    ticks["last"] = time.monotonic()
    timer.start()
    t0 = time.monotonic()
    assert crop.export_picks()
    assert wait(lambda: len(done) == 2)
    wall = time.monotonic() - t0
    timer.stop()
    written = done[-1]
    print(json.dumps({
        "picks": args.n, "aspect": args.aspect, "written": len(written),
        "wall_s": round(wall, 1), "per_photo_ms": round(1000 * wall / max(1, len(written))),
        "cancel_after_5s": {"stopped_within_s": round(cancel_s, 2), "files_written_before": cancelled_written},
        "gui_thread_worst_stall_ms": round(1000 * ticks["worst"], 1),
        "cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
    }, indent=1))
    s.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
