"""Menu entries that can do nothing say so (greyed out): Scoring → Cancel scoring (Esc) was
enabled with nothing being scored (seen under Xvfb)."""

from __future__ import annotations

from aesview.core.settings import Settings
from aesview.gui.main_window import MainWindow
from tests.gui_support import isolate_gui


def test_cancel_scoring_is_enabled_only_while_scoring(qtbot, qapp, tmp_path, monkeypatch):
    isolate_gui(tmp_path, monkeypatch)                  # start_scoring does nothing here
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    s, cancel = win.session, win.actions_by_name["cancel_scoring"]
    assert not cancel.isEnabled()
    s.scoringStarted.emit("Loading model…", 3)          # what the session says when a run starts
    assert cancel.isEnabled()
    s.scoringEnded.emit(False)
    assert not cancel.isEnabled()
    s.scoringStarted.emit("Scoring", 3)
    cancel.trigger()                                    # Esc: the session ends the run
    assert not cancel.isEnabled()
    win.close()
