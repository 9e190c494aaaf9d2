"""No worker runs after the window closed. A task started after the session's last wait (a late
signal, a timer between close and deletion) would still be running when Qt destroys the pool
from a deleteLater; ~QThreadPool then waits for it holding the GIL the task needs, and the
process hangs (seen once in a GUI test run: gdb showed the GUI thread in ~QThreadPool inside
QTest.qWaitForWindowExposed and a pooled thread in Pillow's decoder waiting for the GIL)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QRunnable

from aesview.core.settings import Settings
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui


class _Probe(QRunnable):
    def __init__(self, ran: threading.Event):
        super().__init__()
        self.ran = ran

    def run(self) -> None:
        self.ran.set()


def test_pools_take_no_work_after_the_window_closed(qtbot, qapp, tmp_path, monkeypatch):
    isolate_gui(tmp_path, monkeypatch)
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    s = win.session
    pools = {"thumb": s.thumb_pool, "photo": s.photo_pool, "sidecar": s.sidecar_pool,
             "job": s.job_pool, "full images": win.compare.cache.pool}
    before = threading.Event()
    s.photo_pool.start(_Probe(before))
    assert before.wait(5)                                # open: work runs
    win.close()                                          # shuts the session and the cache down
    for name, pool in pools.items():
        ran = threading.Event()
        pool.start(_Probe(ran))
        pool.waitForDone()
        assert not ran.is_set(), f"the {name} pool ran a task after close"
        assert pool.activeThreadCount() == 0
