"""setuptools build step that puts the top-level resources/ and weights/ inside the package.

A checkout keeps them beside `aesview/` (one copy, edited in place, used by `pip install -e .`);
a wheel must carry them inside it as `aesview/resources/...` and `aesview/weights/...`, which is
where `aesview.paths` looks first. They are added to build_py's package-data table rather than
copied by hand, so they land in the wheel's RECORD, and an editable install in strict mode links
them like any other package data.
"""

from __future__ import annotations

import os
import shutil

try:
    from setuptools.command.build_py import build_py
except ImportError:  # aesview.spec only wants shipped_files(); its venv may lack setuptools
    build_py = object

PACKAGE = "aesview"
DATA_DIRS = ("resources", "weights")
# Half-written files (our atomic writers' temp names), editor/OS litter and bytecode never ship.
_SKIP_SUFFIXES = (".part", ".tmp", ".pyc", ".pyo", "~")


def shipped_files(root: str, folder: str) -> list[str]:
    """Files under root/folder that belong in the package, as paths relative to root."""
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(_SKIP_SUFFIXES):
                continue
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return out


class BuildPy(build_py):
    def run(self):
        if not self.editable_mode:
            # An in-tree build/ keeps files from earlier builds; a model or photo removed from the
            # checkout must not ride along in the next wheel.
            for folder in DATA_DIRS:
                shutil.rmtree(os.path.join(self.build_lib, PACKAGE, folder), ignore_errors=True)
        super().run()

    def _get_data_files(self):
        data = super()._get_data_files()
        return data + [self._top_level_data()]

    def get_data_files_without_manifest(self):
        return super().get_data_files_without_manifest() + [self._top_level_data()]

    def _top_level_data(self):
        root = os.path.abspath(getattr(self.distribution, "src_root", None) or os.curdir)
        files = [f for folder in DATA_DIRS for f in shipped_files(root, folder)]
        # (package, source dir, build dir, names relative to the source dir): the names keep
        # their resources/ or weights/ prefix, so they land at aesview/resources/... in the build.
        # setuptools wants setup-relative source paths.
        return PACKAGE, os.path.relpath(root), os.path.join(self.build_lib, PACKAGE), files
