"""Every menu command and shortcut, declared once as a table: name, text, menu, keys and the
method that does it ("owner.method", the owners being the session, the controllers, the viewer
and the dialogs). The window builds its menus and shortcuts from this table; choices (overlay,
device) come from core.choices, so a new choice there gets its menu entry and key here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from ..core.choices import DEVICES, OVERLAYS
from ..core.culling import MAX_STARS


@dataclass(frozen=True)
class ActionSpec:
    name: str                       # objectName, for tests and saved shortcuts
    text: str
    menu: str                       # "&Edit/&Rating": a submenu path
    target: str                     # "owner.method"
    args: tuple[object, ...] = ()
    keys: tuple[str, ...] = ()
    group: str = ""                 # exclusive checkable group (one device at a time)
    separator: bool = False         # a separator before it


def _table() -> tuple[ActionSpec, ...]:
    a = ActionSpec
    rows = [
        a("open", "&Open folder…", "&File", "dialogs.choose_folder", keys=("Ctrl+O",)),
        a("open_samples", "Open the &sample shoot", "&File", "dialogs.open_samples"),
        a("export_crop", "&Export crop", "&File", "crop.export_current", keys=("Return", "Enter"),
          separator=True),
        a("export_picks", "Export crops of &picks", "&File", "crop.export_picks"),
        a("accept_crop", "&Accept crop (Camera Raw crop in XMP)", "&File", "crop.accept",
          keys=("Ctrl+Return", "Ctrl+Enter")),
        a("export_dir", "Export &folder…", "&File", "dialogs.choose_export_dir"),
        a("export_report", "Export &report…", "&File", "dialogs.choose_report"),
        a("copy_picks", "&Copy picks to…", "&File", "dialogs.choose_transfer", (False,), separator=True),
        a("move_picks", "&Move picks to…", "&File", "dialogs.choose_transfer", (True,)),
        a("trash_rejects", "Move &rejects to the trash…", "&File", "dialogs.confirm_trash_rejects",
          keys=("Ctrl+Backspace",), separator=True),
        a("quit", "&Quit", "&File", "dialogs.quit", keys=("Ctrl+Q",), separator=True),
        a("undo", "&Undo", "&Edit", "culling.undo", keys=("Ctrl+Z",)),
        a("redo", "&Redo", "&Edit", "culling.redo", keys=("Ctrl+Shift+Z", "Ctrl+Y")),
        a("pick", "&Pick", "&Edit", "culling.pick", keys=("P",), separator=True),
        a("reject", "Re&ject", "&Edit", "culling.reject", keys=("X",)),
        a("unflag", "U&nflag", "&Edit", "culling.unflag", keys=("U",)),
        *(a(f"stars{n}", "★" * n if n else "No stars", "&Edit/&Rating", "culling.set_stars", (n,),
            keys=(str(n),)) for n in range(MAX_STARS + 1)),
        *(a(f"colour_{c.lower()}", f"{c} label", "&Edit/Colour &label", "culling.set_colour", (c,),
            keys=(k,) if k else ()) for c, k in (("Red", "6"), ("Yellow", "7"), ("Green", "8"),
                                                  ("Blue", "9"), ("Purple", ""))),
        a("colour_none", "No colour label", "&Edit/Colour &label", "culling.set_colour", ("",),
          separator=True),
        a("auto_advance", "&Advance after flagging", "&Edit", "culling.set_auto_advance",
          group="toggle", separator=True),
        a("advance_after_stars", "Advance after &stars", "&Edit", "culling.set_advance_after_stars",
          group="toggle"),
        a("embed_xmp", "Also write into JPEG/TIFF/DNG (for Lightroom)…", "&Edit",
          "dialogs.set_embed_xmp", group="toggle"),
        a("preferences", "Pr&eferences…", "&Edit", "dialogs.preferences", separator=True),
        a("pick_best_of_bursts", "Pick the &best of every burst, reject the rest", "&Edit",
          "bursts.pick_best", keys=("B",), separator=True),
        a("find_bursts", "&Find bursts again", "&Edit", "bursts.find"),
        a("next_aspect", "&Next aspect", "&View/Crop &aspect", "crop.cycle_aspect", (1,), keys=("]",)),
        a("prev_aspect", "&Previous aspect", "&View/Crop &aspect", "crop.cycle_aspect", (-1,),
          keys=("[",)),
        a("custom_aspect", "&Custom W:H…", "&View/Crop &aspect", "dialogs.ask_custom_aspect"),
        a("collapse_bursts", "Show bursts as &stacks (best frame only)", "&View",
          "bursts.set_collapsed", keys=("S",), group="toggle"),
        a("toggle_crop", "Show &crop", "&View", "crop.toggle", keys=("R",)),
        a("keep_heads", "Crops keep &heads whole", "&View", "crop.set_keep_heads", group="toggle"),
        a("compare", "C&ompare (2-up)", "&View", "compare.compare", keys=("C",), separator=True),
        a("survey", "&Survey the selection (up to 8)", "&View", "compare.survey", keys=("N",)),
        a("loupe", "Full-screen &loupe", "&View", "compare.loupe", keys=("Shift+F",)),
        a("maps_side_by_side", "&Maps side by side…", "&View", "maps.open", keys=("M",)),
        a("keep_zoom", "&Keep zoom when moving on", "&View", "compare.set_keep_zoom",
          group="toggle"),
        a("fit", "&Fit", "&View", "viewer.fit", keys=("F", "Ctrl+0")),
        a("zoom100", "&100 % at the subject", "&View", "compare.zoom_main_to_subject",
          keys=("Z", "Ctrl+1")),
        a("zoom_in", "Zoom &in", "&View", "viewer.zoom_by", (1.25,), keys=("Ctrl+=",)),
        a("zoom_out", "Zoom &out", "&View", "viewer.zoom_by", (0.8,), keys=("Ctrl+-",)),
        *(a(f"overlay_{c.key}", c.label, "&View/&Overlay", "explanation.set_mode", (c.key,),
            keys=(c.shortcut,) if c.shortcut else (), group="overlay") for c in OVERLAYS),
        *(a(f"device_{c.key}", c.label, "&Scoring/&Device", "session.set_device", (c.key,),
            group="device") for c in DEVICES),
        a("model_file", "Model &file…", "&Scoring", "dialogs.choose_model_file"),
        a("rescore", "&Rescore", "&Scoring", "session.start_scoring", keys=("Ctrl+R",)),
        a("cancel_scoring", "&Cancel scoring", "&Scoring", "session.cancel_scoring", keys=("Esc",)),
    ]
    return tuple(rows)


ACTIONS: tuple[ActionSpec, ...] = _table()


def _menu(window: QMainWindow, menus: dict[str, QMenu], path: str) -> QMenu:
    if path not in menus:
        parent, _, name = path.rpartition("/")
        menus[path] = (_menu(window, menus, parent).addMenu(name) if parent
                       else window.menuBar().addMenu(name))
    return menus[path]


def install(window: QMainWindow, owners: dict[str, object],
            table: tuple[ActionSpec, ...] = ACTIONS) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Build the menus and window-wide shortcuts; returns the actions and menus by name."""
    actions: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in table:
        owner, _, method = spec.target.partition(".")
        fn: Callable[..., object] = getattr(owners[owner], method)
        act = QAction(spec.text, window)
        act.setObjectName(spec.name)
        if spec.keys:
            act.setShortcuts([QKeySequence(k) for k in spec.keys])
        if spec.group:
            act.setCheckable(True)
            if spec.group != "toggle":
                groups.setdefault(spec.group, QActionGroup(window)).addAction(act)
        if spec.group == "toggle":
            act.triggered.connect(lambda checked, f=fn: f(checked))
        else:
            act.triggered.connect(lambda _checked=False, f=fn, args=spec.args: f(*args))
        menu = _menu(window, menus, spec.menu)
        if spec.separator:
            menu.addSeparator()
        menu.addAction(act)
        window.addAction(act)        # shortcuts work wherever the focus is in the window
        actions[spec.name] = act
    return actions, menus
