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
