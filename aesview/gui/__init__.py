"""The desktop app (PySide6). The only layer that imports Qt."""

from .qtfix import install as _install_qtfix

_install_qtfix()   # before any signal is emitted: see qtfix.py
