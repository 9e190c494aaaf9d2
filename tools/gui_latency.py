"""Event-loop latency of the desktop app while it scores a shoot (a measurement, not a test).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/gui_latency.py [--n 2000] [--size 800x600]

Makes N generated JPEGs (colour ramps with grain, so they decode like photos of that size), opens
them in the real window with a cold score cache, and lets the shipped model score them all while
a 10 ms QTimer probes the GUI thread; every probe that comes late measures how long the event
loop was busy. Reports p50/p95/max of the lateness during scoring (thumbnails load meanwhile),
and how long scoring took.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROBE_MS = 10


def make_shoot(folder: Path, n: int, size: tuple[int, int]) -> None:
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    for i in range(n):
        p = folder / f"IMG_{i:05d}.jpg"
        if p.exists():
            continue
        g = np.random.default_rng(i)
        c0, c1 = g.integers(0, 256, 3), g.integers(0, 256, 3)
        img = (c0 + (c1 - c0) * ramp).repeat(h, 0) + g.normal(0, 12, (h, w, 3))
        Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(p, quality=88)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", default="800x600")
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "aesview-latency"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--diagnose", action="store_true",
                    help="sample the GUI thread's stack whenever the loop is over 50 ms late")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    folder = Path(args.dir) / f"{args.n}-{w}x{h}"
    t0 = time.perf_counter()
    make_shoot(folder, args.n, (w, h))
    print(f"shoot: {args.n} photos of {w}x{h} in {folder} ({time.perf_counter() - t0:.0f} s to make)")

    work = Path(tempfile.mkdtemp(prefix="aesview-latency-"))
    os.environ["AESVIEW_CONFIG_DIR"] = str(work / "config")
    os.environ["AESVIEW_CACHE_DIR"] = str(work / "cache")          # cold cache: real scoring
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from aesview.core.settings import Settings
    from aesview.core.weights import load_model
    from aesview.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    load_model(None, device=args.device)        # torch and the weights are read once, up front
    win = MainWindow(Settings(device=args.device))
    win.show()
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    done = {"t": None}
    win.session.scoringEnded.connect(lambda cancelled: done.update(t=time.perf_counter()))
    stalls = _watch(ticks) if args.diagnose else None
    t_open = time.perf_counter()
    win.session.open_folder(folder)             # on the GUI thread: measured too
    while done["t"] is None or win.session.model.counts()["scored"] + \
            win.session.model.counts()["failed"] < args.n:
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t_open > 3600:
            print("gave up after an hour", file=sys.stderr)
            return 1
    probe.stop()
    gaps = np.diff(np.array(ticks)) * 1000 - PROBE_MS
    c = win.session.model.counts()
    print(f"scored {c['scored']} ({c['failed']} failed) in {done['t'] - t_open:.1f} s on {args.device}")
    print(f"event-loop lateness over {len(gaps)} probes of {PROBE_MS} ms: "
          f"p50 {np.percentile(gaps, 50):.1f} ms, p95 {np.percentile(gaps, 95):.1f} ms, "
          f"p99 {np.percentile(gaps, 99):.1f} ms, max {gaps.max():.1f} ms; "
          f"{int((gaps > 16).sum())} probes over 16 ms, {int((gaps > 100).sum())} over 100 ms")
    if stalls is not None:
        stalls["stop"] = True
        print(f"GUI thread caught {stalls['n']} times over 50 ms late; where it was:")
        for where, n in stalls["where"].most_common(12):
            print(f"  {n:5d}  {where}")
    win.close()
    return 0


def _watch(ticks: list[float]) -> dict:
    """A thread that looks at the GUI thread's stack when the probe is late: time spent in our
    code shows up as our frames; a GUI thread that waits for the CPU or the GIL shows up idle
    (in processEvents / sleep)."""
    import collections
    import threading
    import traceback
    main = threading.main_thread().ident
    state: dict = {"stop": False, "n": 0, "where": collections.Counter()}

    def run() -> None:
        while not state["stop"]:
            time.sleep(0.02)
            if ticks and time.perf_counter() - ticks[-1] > 0.05 + PROBE_MS / 1000:
                frame = sys._current_frames().get(main)
                if frame is None:
                    continue
                stack = traceback.extract_stack(frame)
                del frame       # a frame held here would keep its QPainter painting
                ours = [f for f in stack if "/aesview/" in f.filename or "/tools/" in f.filename]
                top = ours[-1] if ours else stack[-1]
                state["n"] += 1
                state["where"][f"{Path(top.filename).name}:{top.lineno} {top.name}"] += 1
    threading.Thread(target=run, daemon=True).start()
    return state


if __name__ == "__main__":
    sys.exit(main())
