"""Thumbnails of the rows on screen come first: a folder of thousands shows what you look at
before the rest, and a scroll changes what comes next. Scoring is switched off here."""

import pytest
from PIL import Image
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from aesview.core.settings import Settings  # noqa: E402
from aesview.gui.main_window import MainWindow  # noqa: E402
from aesview.gui.messages import WorkerSignals  # noqa: E402
from aesview.gui.session import Session  # noqa: E402
from aesview.gui.thumbnails import ThumbnailQueue  # noqa: E402
from aesview.paths import samples_dir  # noqa: E402
from tests.gui_support import wait_until


class _Pool:
    """Stands in for the QThreadPool: records what is started, runs nothing."""

    def __init__(self):
        self.started = []

    def maxThreadCount(self):
        return 2

    def start(self, task):
        self.started.append(task.path)
        self.last = (task.gen, task.size, task.sidecar_style)


def test_queue_keeps_few_tasks_in_flight_and_serves_the_screen_first(qapp):
    pool = _Pool()
    q = ThumbnailQueue(pool, WorkerSignals())
    paths = [f"/shoot/{i:04d}.jpg" for i in range(5000)]
    q.reset(1, paths, 160, "darktable")
    q.pump()
    assert pool.started == paths[:4]                      # 2 per thread, in folder order
    q.prefer(paths[4000:4012])                            # the user scrolled far down
    assert pool.started == paths[:4]                      # nothing more until one finishes
    for _ in range(12):
        q.done(1)
    assert pool.started[4:] == paths[4000:4012]           # the screen, top to bottom
    q.prefer(paths[10:14] + paths[4000:4003])             # already-started rows are skipped
    for _ in range(6):
        q.done(1)
    assert pool.started[16:] == paths[10:14] + [paths[4], paths[5]]
    assert pool.last == (1, 160, "darktable")
    q.done(0)                                             # a late result of another folder
    assert len(pool.started) == 22
    assert q.pending() == 5000 - 22
    q.add([paths[0]], 320)                                # a bigger size asks again,
    q.prefer([paths[0]])
    q.done(1)
    assert pool.started[-1] == paths[0]
    assert pool.last == (1, 320, None)                    # without re-reading the sidecar
    assert q.pending() == 5000 - 22


@pytest.fixture
def big_shoot(tmp_path):
    """150 real photos at 256 px (the four sample shots, re-saved small), named so that the
    folder order is the grid order."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    sources = []
    for name in ("coffee.jpg", "pagoda.jpg", "fig.jpg", "ladybird.jpg"):
        with Image.open(samples_dir() / name) as im:
            im.thumbnail((256, 256))
            sources.append(im.convert("RGB"))
    for i in range(150):
        sources[i % 4].save(folder / f"img_{i:04d}.jpg", quality=80)
    return folder


def test_rows_scrolled_to_load_before_the_rows_in_between(qtbot, tmp_path, monkeypatch,
                                                          big_shoot):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(Session, "start_scoring", lambda self: None)
    win = MainWindow(Settings(sort_key="name", thumbnail_size=96))
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)   # (qtbot.waitExposed is a context manager)
    arrived = []
    real = win.session.model.set_thumbnail

    def spy(path, image, size, error=None):
        arrived.append(path)
        real(path, image, size, error)
    win.session.model.set_thumbnail = spy
    app = QApplication.instance()

    win.session.open_folder(big_shoot)
    n = win.session.model.rowCount()
    assert n == 150
    assert win.session.thumbs.pending() >= n - win.session.thumbs.limit     # not 150 tasks queued at once
    # the first screen loads first
    assert wait_until(app, lambda: win.grid.visible_rows(ahead=0), 10)
    top = [win.session.proxy.index(r, 0).data() for r in win.grid.visible_rows(ahead=0)]
    assert wait_until(app, lambda: all(win.session.model.item(str(big_shoot / t)).thumb is not None
                                       for t in top), 30)
    # jump to the end, as a photographer drags the scroll bar
    win.grid.scrollToBottom()
    assert wait_until(app, lambda: win.grid.visible_rows(ahead=0)
                      and win.grid.visible_rows(ahead=0)[-1] == n - 1, 10)
    bottom = [str(big_shoot / win.session.proxy.index(r, 0).data())
              for r in win.grid.visible_rows(ahead=0)]
    loaded_at_scroll = len(arrived)
    assert wait_until(app, lambda: all(win.session.model.item(p).thumb is not None for p in bottom), 30)
    loaded = sum(1 for it in win.session.model.items() if it.thumb is not None)
    print(f"\n{loaded_at_scroll} thumbnails before the scroll, {loaded} when the "
          f"{len(bottom)} rows at the bottom were all in")
    # in folder order, the bottom rows would come last, after all 150
    assert loaded < n - len(bottom), (loaded_at_scroll, loaded)
    # the tasks already in flight finish first; then the screen, before anything else
    assert loaded <= loaded_at_scroll + len(bottom) + 2 * win.session.thumbs.limit
    # and then the rest arrives too
    assert wait_until(app, lambda: all(it.thumb is not None for it in win.session.model.items()), 60)
    assert sorted(arrived) == [str(big_shoot / f"img_{i:04d}.jpg") for i in range(n)]
