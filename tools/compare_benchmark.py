"""Compare-view latency at 24 MP after the first load: switching the right-hand photo and
zooming, each timed to the end of a synchronous repaint of the window.

    QT_QPA_PLATFORM=offscreen nice -n 15 .venv/bin/python tools/compare_benchmark.py

Three 6000 x 4000 JPEGs are generated into a temp folder; each is loaded once (not timed);
then 20 switches and 20 zoom steps (fit -> 100 % -> in -> out) are timed. Target: < 50 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import os
    os.environ.setdefault("AESVIEW_CONFIG_DIR", tempfile.mkdtemp())
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from aesview.core.settings import Settings
    from aesview.gui.compare_view import CompareController
    from aesview.gui.session import Session
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (400, 600, 3), np.uint8)
    for i in range(3):
        Image.fromarray(base).resize((6000, 4000), Image.Resampling.BILINEAR).save(
            folder / f"p{i}.jpg", quality=90)
    Session.start_scoring = lambda self: None  # type: ignore[method-assign]  # views only
    s = Session(Settings(sort_key="name"))
    s.open_folder(folder)
    ctl = CompareController(s)
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    s.select_path(paths[0])
    view = ctl.compare()
    assert view is not None
    view.resize(1600, 900)
    view.show()
    t0 = time.perf_counter()
    for p in paths:
        ctl.cache.request(p)
    while any(ctl.cache.get(p) is None for p in paths):
        app.processEvents()
        time.sleep(0.005)
    print(f"first load of 3 photos of 24 MP: {time.perf_counter() - t0:.2f} s (not the target)")
    view.show_photos([paths[0], paths[1]])
    view.repaint()

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        view.repaint()
        app.processEvents()
        return (time.perf_counter() - t) * 1000

    switches = []
    for i in range(20):
        switches.append(timed(lambda i=i: view.show_photos([paths[0], paths[1 + i % 2]])))
    zooms = []
    for _ in range(5):
        zooms.append(timed(view.fit))
        zooms.append(timed(view.zoom_to_subject))
        zooms.append(timed(lambda: view.zoom_by(1.25)))
        zooms.append(timed(lambda: view.zoom_by(0.8)))
    for name, xs in (("switch the pair", switches), ("zoom (fit/100 %/in/out)", zooms)):
        print(f"{name}: median {statistics.median(xs):.1f} ms, worst {max(xs):.1f} ms over {len(xs)}")
    ctl.shutdown()
    s.shutdown()


if __name__ == "__main__":
    main()
