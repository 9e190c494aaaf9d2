"""The GUI's structure holds: behaviour lives in a widget-free session and controllers that work
without any window; menus and combos come from the core's declarations; no class in
aesview/gui grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from aesview.core import choices  # noqa: E402
from aesview.core.crop import ASPECT_PRESETS  # noqa: E402
from aesview.core.culling import Decision, Flag  # noqa: E402
from aesview.core.settings import Settings, load_settings  # noqa: E402
from aesview.gui.controllers import CropController, CullingController, ExplanationController  # noqa: E402
from aesview.gui.session import Session  # noqa: E402
from tests.gui_support import gui_model, make_shoot, wait_until

GUI = Path(__file__).resolve().parents[1] / "aesview" / "gui"


def test_no_class_in_the_gui_is_over_400_lines():
    big = []
    for f in sorted(GUI.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 400:
                big.append(f"{f.relative_to(GUI)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert not big


def test_session_and_controllers_cull_explain_and_crop_without_any_window(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    photos = [str(p) for p in make_shoot(tmp_path / "shoot", ("coffee.jpg", "pagoda.jpg"))]
    s = Session(Settings(model=gui_model(), sort_key="name"))
    cull, ex, crop = CullingController(s), ExplanationController(s), CropController(s)
    explained, overlays = [], []
    ex.explanationChanged.connect(explained.append)
    ex.overlayChanged.connect(overlays.append)
    assert s.open_folder(tmp_path / "shoot")
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QWidget) and w.isVisible()]
    assert wait_until(qapp, lambda: s.model.counts()["scored"] == 2 and not s.scoring_busy(), 120)

    # the selection, ranks and explanation come from the session and the controller
    assert s.current_path() == photos[0]
    rec = s.model.item(photos[0]).record
    assert explained[-1].title.startswith("coffee.jpg") and f"{rec.score:.2f}" in explained[-1].title
    assert ex.mode == "none" and ex.overlay().image is None         # off while culling
    ex.set_mode("aesam")
    view = overlays[-1]
    assert view.mode == "aesam" and view.image is not None and not view.image.isNull()
    ex.set_mode("attam")
    assert overlays[-1].legend[1].startswith("for ")
    assert load_settings().overlay == "none"                      # written a moment later...
    assert wait_until(qapp, lambda: load_settings().overlay == "attam", 5)   # ...remembered

    # crop: the proposal has the preset's shape; a custom W:H is accepted, nonsense is not
    assert crop.set_aspect("1:1") and crop.show()
    left, top, right, bottom = crop.current().box
    assert abs((right - left) - (bottom - top)) <= 2
    assert crop.set_aspect("7:5") and not crop.set_aspect("wide") and crop.aspect_key == "7:5"

    # culling: pick, stars, undo; the sidecar says so
    cull.pick()
    assert s.current_path() == photos[1]                          # moved on
    cull.set_stars(2)
    assert wait_until(qapp, cull.settled, 10)
    assert cull.decision(photos[0]) == Decision(Flag.PICK, 0)
    assert cull.decision(photos[1]) == Decision(Flag.NONE, 2)
    cull.undo()
    assert wait_until(qapp, cull.settled, 10) and cull.decision(photos[1]) == Decision()
    from aesview.core.xmp import read_decision
    assert read_decision(photos[0]) == Decision(Flag.PICK, 0) and read_decision(photos[1]) == Decision()
    s.shutdown()


def test_menus_and_combos_are_built_from_the_core_declarations(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    from aesview.gui.main_window import MainWindow
    win = MainWindow(Settings())
    qtbot.addWidget(win)
    items = [(win.panel.aspect.itemData(i), win.panel.aspect.itemText(i))
             for i in range(win.panel.aspect.count())]
    assert items == [(p.key, p.label) for p in ASPECT_PRESETS]
    assert list(win.panel.mode_buttons) == list(choices.keys(choices.OVERLAYS))
    for c in choices.OVERLAYS:
        act = win.actions_by_name[f"overlay_{c.key}"]
        assert act.text() == c.label and act.shortcut().toString() == c.shortcut
    for combo, declared in ((win.sort_combo, choices.SORTS), (win.device_combo, choices.DEVICES)):
        assert [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())] == \
            [(c.key, c.label) for c in declared]
    assert [a.text() for a in win.menus["&Scoring/&Device"].actions()] == \
        [c.label for c in choices.DEVICES]
    win.close()
