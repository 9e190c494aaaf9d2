"""Where the shipped resources/ and weights/ live, however the program was installed.

A checkout keeps them beside the package; a wheel maps them inside it (aesview/resources,
aesview/weights); a PyInstaller bundle unpacks them under sys._MEIPASS/aesview/.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _candidates(name: str) -> list[Path]:
    out = [_PKG / name, _PKG.parent / name]
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        out.insert(0, Path(meipass) / "aesview" / name)
    return out


def _find(name: str) -> Path:
    for cand in _candidates(name):
        if cand.is_dir():
            return cand
    raise FileNotFoundError(
        f"aesview cannot find its {name}/ folder (looked in: "
        + ", ".join(str(c) for c in _candidates(name)) + ")")


def resources_dir() -> Path:
    return _find("resources")


def weights_dir() -> Path:
    return _find("weights")


def samples_dir() -> Path:
    return resources_dir() / "samples"


def editable_samples_dir() -> Path:
    """The sample shoot somewhere the app may write sidecars and exports: the bundled folder
    when it is writable (a checkout), else a copy in the user's data folder (a system-wide
    install or a frozen bundle is read-only)."""
    import os
    import shutil
    import tempfile

    bundled = samples_dir()
    if os.access(bundled, os.W_OK):
        return bundled
    import platformdirs
    base = Path(os.environ.get("AESVIEW_DATA_DIR") or platformdirs.user_data_dir("aesview"))
    target = base / "sample-shoot"
    if not target.is_dir():
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".sample-shoot-"))
        for src in bundled.iterdir():
            if src.is_file():
                shutil.copy2(src, tmp / src.name)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, target)  # whole folder at once: never a half-copied shoot
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another instance won the race
    return target
