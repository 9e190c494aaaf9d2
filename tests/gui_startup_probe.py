"""The desktop app in a fresh interpreter, recording every import its GUI thread makes
(tests/torch_imports.py); run by test_gui_startup.py. Not collected on its own (no test_ prefix).

    python -m tests.gui_startup_probe browse|use FOLDER OUT.json

browse: scoring switched off (Session.start_scoring does nothing); the window is built, the
  folder opened, and the probe waits until every thumbnail, capture time and sidecar and the
  current photo's full view have arrived. It records whether torch was loaded by then.
use: the shipped model scores the folder while the probe acts as a user would from the first
  moment (while the scoring thread is still loading torch): it moves through the photos and
  triggers every menu command that opens no dialog (overlays, crop, aspects, culling keys,
  compare, loupe, maps side by side, bursts, exports, rescore), fills the model menu, asks a
  "what if" and writes the HTML report; then waits for the scores and does it all again.
Either way the JSON names the GUI thread's imports of modules that load torch (there must be
none) and the thread that imported torch."""

from __future__ import annotations

import sys

from tests.torch_imports import MainThreadImports

RECORDER = MainThreadImports()
RECORDER.install()

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import tests.gui_support  # noqa: E402,F401  (the offscreen laptop screen, before Qt starts)

# Menu commands a probe must not trigger: they open a dialog (which would wait for a person),
# change folder, or ask the device to change (a second model load proves nothing more).
SKIP_TARGETS = ("dialogs.", "session.set_device", "session.cancel_scoring")


def main(mode: str, folder: str, out: str) -> None:
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from aesview.core.settings import Settings
    from aesview.gui.actions import ACTIONS
    from aesview.gui.session import Session
    from tests.gui_support import gui_model, wait_until

    if mode == "browse":
        Session.start_scoring = lambda self: None   # type: ignore[method-assign]
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from aesview.gui.app import create_window
    settings = Settings(model=gui_model() if mode == "use" else "", sort_key="name")
    win = create_window(folder, settings)
    s = win.session
    meta: set[str] = set()
    s.metadataRead.connect(lambda m: meta.add(m.path))    # before any event is processed
    win.show()
    assert QTest.qWaitForWindowExposed(win, 30000)
    items = s.model.items
    res: dict[str, object] = {"photos": len(items())}

    def browsed() -> bool:
        return (all(it.thumb is not None for it in items()) and len(meta) == len(items())
                and win.viewer.photo.full is not None)

    if mode == "browse":
        res["browsed"] = wait_until(app, browsed, 60)
        res["torch_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "torch")[:5]
    else:
        def scored() -> bool:
            c = s.model.counts()
            return c["scored"] + c["failed"] == c["photos"] and not s.scoring_busy()

        def act(tag: str) -> None:
            for spec in ACTIONS:
                if not spec.target.startswith(SKIP_TARGETS):
                    win.actions_by_name[spec.name].trigger()
                    app.processEvents()
            for w in QApplication.topLevelWidgets():     # compare, loupe, maps side by side
                if w is not win and w.isVisible():
                    w.close()
            win.menus["&Scoring/&Model"].aboutToShow.emit()
            win.panel.whatif.try_button.click()
            res[f"report_{tag}"] = win.report.export_report(Path(out).with_suffix(f".{tag}.html"))
            for row in range(s.proxy.rowCount()):
                s.select_row(row)
                app.processEvents()

        act("loading")                                  # while torch and the model load
        res["scored"] = wait_until(app, scored, 300)
        res["log"] = [m for lvl, m in win.log_panel.entries if lvl == "error"][:5]
        act("scored")
        wait_until(app, lambda: not s.operations.busy() and not s.scoring_busy(), 120)
        res["scored_after"] = wait_until(app, scored, 300)
    res["main_thread_torch_imports"] = RECORDER.torch_on_main()
    res["torch_thread"] = RECORDER.torch_thread
    win.close()
    Path(out).write_text(json.dumps(res))


if __name__ == "__main__":
    main(*sys.argv[1:4])
