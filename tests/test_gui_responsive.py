"""The GUI thread never blocks: event-loop latency while the real model scores, late results of
a folder the user left are dropped, and closing mid-scoring stops the worker cleanly."""

import os
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aesview.core.settings import Settings  # noqa: E402
from aesview.gui.app import create_window  # noqa: E402
from tests.gui_support import SHOOT, gui_model, make_shoot, wait_until

PROBE_MS = 10


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))   # cold cache: real scoring
    return tmp_path


def _window(qtbot, folder):
    win = create_window(str(folder), Settings(model=gui_model()))
    qtbot.addWidget(win)
    win.show()
    return win


def test_event_loop_stays_responsive_while_scoring(qtbot, qapp, isolated):
    shoot = make_shoot(isolated / "shoot", SHOOT + ("fig.jpg", "ladybird.jpg", "storm-road.jpg",
                                                      "dogs-at-window.jpg"))
    # warm the model load once, so the measurement covers scoring rather than importing torch
    from aesview.core.weights import load_model
    load_model(gui_model() or None, device="cpu")

    (isolated / "empty").mkdir()
    win = create_window(str(isolated / "empty"), Settings(model=gui_model()))
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)   # (qtbot.waitExposed is a context manager)
    ticks = []
    probe = QTimer()
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    first_thumb = []
    win.session.thumbnailArrived.connect(lambda _p: first_thumb.append(time.perf_counter()))
    t_open = time.perf_counter()
    # opening runs on the GUI thread too (listing, the model reset), so it is measured as well
    win.session.open_folder(isolated / "shoot")
    assert wait_until(qapp, lambda: win.session.model.counts()["scored"] == len(shoot), 180, step_ms=1)
    probe.stop()
    gaps_ms = np.diff(ticks) * 1000 - PROBE_MS
    p95, worst = float(np.percentile(gaps_ms, 95)), float(gaps_ms.max())
    print(f"\nevent-loop latency while scoring {len(shoot)} photos: {len(gaps_ms)} probes, "
          f"p95 {p95:.1f} ms, max {worst:.1f} ms; first thumbnail {(first_thumb[0] - t_open) * 1000:.0f} ms")
    assert len(gaps_ms) > 20
    assert p95 < 50, f"p95 {p95:.1f} ms"
    # a 2-core machine shared with other work stalls the odd probe; a blocked loop stalls seconds
    assert worst < 500, f"max {worst:.1f} ms"
    win.close()


def test_results_of_a_folder_the_user_left_are_dropped(qtbot, qapp, isolated):
    make_shoot(isolated / "a", ("coffee.jpg", "pagoda.jpg", "fig.jpg"))
    first_record = threading.Event()
    run_of = {}

    def on_emit(msg):                # runs in the scoring thread, as the record is emitted
        run_of[id(msg.record)] = msg.gen
        first_record.set()
    win = create_window(None, Settings(model=gui_model()))
    qtbot.addWidget(win)
    win.session.scoring.worker.record.connect(on_emit, Qt.ConnectionType.DirectConnection)
    applied = []
    real_set_record = win.session.model.set_record

    def spy(rec):
        applied.append(run_of.get(id(rec)))
        real_set_record(rec)
    win.session.model.set_record = spy
    win.session.open_folder(isolated / "a")
    first_gen = win.session.generation
    first_run = win.session.scoring.job.gen       # the scoring run of the first load
    # Block the GUI thread until the worker has emitted a record: that record now waits in the
    # event queue. Reopening the same folder (same paths) makes it a late result to drop.
    assert first_record.wait(180)
    win.session.open_folder(isolated / "a")
    assert win.session.generation == first_gen + 1
    assert wait_until(qapp, lambda: win.session.model.counts()["scored"] == 3, 180)
    assert first_run in run_of.values()           # the first load did score a photo...
    assert applied and all(run > first_run for run in applied)   # ...and none of it was shown
    win.close()


def test_closing_while_scoring_stops_the_worker(qtbot, qapp, isolated):
    make_shoot(isolated / "shoot")
    win = _window(qtbot, isolated / "shoot")
    assert wait_until(qapp, lambda: win.score_progress.isVisible(), 10)
    t0 = time.monotonic()
    win.close()
    assert not win.session.scoring.worker_thread.isRunning()
    assert time.monotonic() - t0 < 60
    assert win.session.thumb_pool.activeThreadCount() == 0
    # the saved settings remember the folder
    from aesview.core.settings import load_settings
    assert load_settings().recent_folders == [str(isolated / "shoot")]
    assert os.path.isfile(isolated / "config" / "settings.json")


def test_cancel_button_stops_scoring(qtbot, qapp, isolated):
    make_shoot(isolated / "shoot")
    win = _window(qtbot, isolated / "shoot")
    finished = []
    win.session.scoring.worker.finished.connect(lambda msg: finished.append(msg.cancelled))
    assert wait_until(qapp, lambda: win.score_progress.isVisible(), 10)
    cancel = win.score_progress.cancel
    assert cancel.isVisible()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert win.session.scoring.job.cancel.is_set() and not win.score_progress.isVisible()
    assert wait_until(qapp, lambda: finished, 60)
    assert finished == [True] or win.session.model.counts()["scored"] == 4   # or it had just finished
    assert any("cancelled" in m for _, m in win.log_panel.entries)
    win.close()


def test_dropping_a_photo_opens_its_folder(qtbot, qapp, isolated):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    photos = make_shoot(isolated / "dropped", ("coffee.jpg",))
    (isolated / "empty").mkdir()
    win = create_window(str(isolated / "empty"), Settings(model=gui_model()))
    qtbot.addWidget(win)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photos[0]))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)
    assert win.session.folder == (isolated / "dropped").resolve()
    assert win.session.model.paths() == [str(photos[0])]
    win.close()


def test_a_broken_file_gets_a_badge_and_a_log_line(qtbot, qapp, isolated):
    from aesview.gui.photo_model import Role
    photos = make_shoot(isolated / "shoot", ("coffee.jpg", "pagoda.jpg"))
    broken = isolated / "shoot" / "broken.jpg"
    broken.write_bytes(photos[0].read_bytes()[:1500])     # truncated JPEG
    win = _window(qtbot, isolated / "shoot")
    assert wait_until(qapp, lambda: win.session.model.counts()["scored"] == 2
                      and win.session.model.counts()["failed"] == 1, 180)
    idx = win.session.proxy.mapFromSource(win.session.model.index_of(str(broken)))
    assert idx.data(Role.STATE) == "failed" and "broken.jpg" in idx.data(Role.ERROR)
    assert idx.row() == 2                                   # after the scored photos
    errors = [m for lvl, m in win.log_panel.entries if lvl == "error"]
    # the thumbnail loader and the scorer both fail on it; the log says so once
    assert len(errors) == 1 and "broken.jpg" in errors[0], errors
    win.session.select_path(str(broken))
    assert "broken.jpg" in win.panel.words.text()
    win.close()
