"""The layers only look down: the core imports no Qt, training imports no GUI."""

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "aesview"


def _imports(folder: Path):
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield path, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                yield path, [("." * node.level) + (node.module or "")]


def test_core_source_imports_no_qt_and_nothing_above_it():
    bad = [(p.name, n) for p, names in _imports(PKG / "core") for n in names
           if n.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6")
           or n.lstrip(".").startswith(("gui", "training", "cli")) or "..gui" in n]
    assert not bad, bad


def test_training_imports_no_gui():
    bad = [(p.name, n) for p, names in _imports(PKG / "training") for n in names
           if n.split(".")[0] == "PySide6" or "gui" in n.split(".")]
    assert not bad, bad


def test_importing_every_core_module_loads_no_qt():
    mods = sorted(p.stem for p in (PKG / "core").glob("*.py") if p.stem != "__init__")
    code = ("import sys\n" + "".join(f"import aesview.core.{m}\n" for m in mods)
            + "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
            + "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# Functions of the GUI package that run off the GUI thread (on the scoring thread, or as an
# operation's work on the job thread), and so may import modules that load torch.
OFF_GUI_THREAD = {
    "aesview.gui.workers.ScoringWorker._run_cropmaps",
    "aesview.gui.workers.ScoringWorker._scorer_for",
    "aesview.gui.workers.ScoringWorker.run_job",
    "aesview.gui.controllers.crop.CropController.export_picks.boxes",
}


def test_no_gui_module_loads_torch_when_imported():
    """The window opens before torch is loaded: no GUI module reaches torch at module level
    (tests/torch_imports.py follows every module-level import, TYPE_CHECKING blocks left out)."""
    from tests.torch_imports import torch_modules
    assert not sorted(m for m in torch_modules() if m.startswith("aesview.gui")), sorted(torch_modules())


def test_only_worker_code_in_the_gui_imports_torch_modules():
    """An import inside a GUI function runs on the thread that calls it. Only the functions
    that run on a worker may name a module that loads torch: on the GUI thread it would load
    torch there, or wait on the import lock while the scoring thread loads it."""
    from tests.torch_imports import function_imports, needs_torch
    found = [(fn, m) for fn, m in function_imports(PKG / "gui") if needs_torch(m)]
    assert not [(fn, m) for fn, m in found if fn not in OFF_GUI_THREAD], found
    assert OFF_GUI_THREAD <= {fn for fn, _ in found}, "a worker function was renamed or moved"
