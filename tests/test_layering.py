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
