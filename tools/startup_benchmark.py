"""How soon the desktop app shows its window and its first thumbnails (a measurement, not a test).

    nice -n 10 .venv/bin/python tools/startup_benchmark.py [--runs 3] [--folder resources/samples]
                                                           [--tree DIR [--tree DIR2]]

Each run is a fresh interpreter that does what `aesview FOLDER` does (QApplication, create_window,
show) with a cold score cache and fresh settings, on whatever QT_QPA_PLATFORM the environment
has (offscreen when unset). Timed from just before the interpreter is started: the window shown
(exposed), the first thumbnail and all of them, the first score and all of them; the resident
memory (VmRSS) when the window showed and when the first thumbnail arrived, and whether torch
was loaded by then. A 10 ms timer probes the GUI thread from the window's showing until every
score has arrived: its worst lateness says how long the window froze while the scoring thread
loaded torch and the model.

`--tree` runs the app from another checkout (e.g. `git archive` of an older commit unpacked in
/tmp) with this venv, for a before/after; several trees are interleaved run by run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE_MS = 10


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(t0: float, folder: str, out: str) -> None:
    """One start of the app; writes its figures as JSON to `out`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    t_python = time.time() - t0
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from aesview.gui.app import create_window
    t_import = time.time() - t0
    app = QApplication([sys.argv[0]])
    res: dict[str, object] = {"python_s": t_python, "import_s": t_import}
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.time() - t0
            res[f"rss_{name}_mb"] = _rss_mb()
            res[f"torch_at_{name}"] = "torch" in sys.modules

    win = create_window(folder)
    n = win.session.model.rowCount()
    thumbs: set[str] = set()
    scored: set[str] = set()

    def on_thumb(path: str) -> None:
        mark("first_thumbnail")
        thumbs.add(path)
        if len(thumbs) == n:
            mark("all_thumbnails")

    def on_record(path: str) -> None:
        mark("first_score")
        scored.add(path)
        if len(scored) == n:
            mark("all_scores")

    win.session.thumbnailArrived.connect(on_thumb)
    win.session.recordArrived.connect(on_record)
    win.show()
    if not QTest.qWaitForWindowExposed(win, 30000):
        raise SystemExit("the window was never exposed")
    mark("window_shown")

    late: list[float] = []
    last = [time.monotonic()]

    def probe() -> None:
        now = time.monotonic()
        late.append((now - last[0]) * 1000 - PROBE_MS)
        last[0] = now
    timer = QTimer(interval=PROBE_MS)
    timer.timeout.connect(probe)
    timer.start()
    end = time.monotonic() + 300
    while len(scored) < n and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    res.update({k + "_s": v for k, v in marks.items()})
    res["photos"] = n
    res["scored"] = len(scored)
    res["probe_max_late_ms"] = max(late) if late else None
    res["probe_over_100ms"] = sum(x > 100 for x in late)
    win.close()
    Path(out).write_text(json.dumps(res))


def run_once(tree: Path, folder: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="aesview-startup-") as tmp:
        env = dict(os.environ, AESVIEW_CONFIG_DIR=f"{tmp}/config", AESVIEW_CACHE_DIR=f"{tmp}/cache",
                   PYTHONPATH=str(tree))
        env.pop("AESVIEW_MODEL", None)
        out = f"{tmp}/out.json"
        t0 = time.time()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(t0),
                        str(folder), out], env=env, check=True, cwd=tmp)
        return dict(json.loads(Path(out).read_text()))


def _fmt(v: object) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


KEYS = ("import_s", "window_shown_s", "first_thumbnail_s", "all_thumbnails_s", "first_score_s",
        "all_scores_s", "rss_window_shown_mb", "rss_first_thumbnail_mb", "torch_at_first_thumbnail",
        "probe_max_late_ms", "probe_over_100ms")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--folder", type=Path, default=ROOT / "resources" / "samples")
    ap.add_argument("--tree", type=Path, action="append",
                    help="checkout to run the app from (default: this one); repeat to interleave")
    a = ap.parse_args()
    trees = a.tree or [ROOT]
    results: dict[Path, list[dict[str, object]]] = {t: [] for t in trees}
    for i in range(a.runs):
        for t in trees:
            r = run_once(t.resolve(), a.folder.resolve())
            results[t].append(r)
            print(f"run {i + 1} {t}: " + ", ".join(f"{k}={_fmt(r.get(k))}" for k in KEYS), flush=True)
    print(f"\nmedians over {a.runs} run(s), folder {a.folder} ({results[trees[0]][0]['photos']} photos), "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', 'offscreen')}")
    for t in trees:
        cells = []
        for k in KEYS:
            vals = [r.get(k) for r in results[t]]
            nums = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
            cells.append(f"{k}={statistics.median(nums):.2f}" if len(nums) == len(vals)
                         else f"{k}={vals}")
        print(f"{t}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
