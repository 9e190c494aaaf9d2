"""Undo that puts a photo's sidecars back exactly as they were, including not being there.

A forward write records the bytes of both sidecar names before and after it (`SidecarStep`).
Undo restores the "before" bytes (deleting a sidecar that did not exist) only while the files
still hold exactly what that write left: if another tool (or a later key press) changed them
since, undo falls back to writing the reverse change through the usual merge
(core.xmp.update_sidecar), so nobody's later edits are thrown away. Redo works the same way
round. Writes are atomic; everything runs under the photo's sidecar lock.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_bytes
from .xmp import MAX_BYTES, _lock_for, sidecar_paths

Snapshot = dict[str, bytes | None]     # sidecar path -> its bytes; None = no such file


@dataclass
class SidecarStep:
    """One photo's sidecars around one forward write; filled in by the writer."""
    before: Snapshot | None = None
    after: Snapshot | None = None

    @property
    def recorded(self) -> bool:
        return self.before is not None and self.after is not None


def _lock(photo: str | os.PathLike[str]) -> threading.Lock:
    return _lock_for(sidecar_paths(photo, "darktable")[0])


def _read(path: Path) -> bytes | None:
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_BYTES:
        raise OSError(f"{path}: larger than any XMP sidecar")
    return path.read_bytes()


def snapshot(photo: str | os.PathLike[str]) -> Snapshot:
    return {str(p): _read(p) for p in sidecar_paths(photo, "darktable")}


def restore_if_unchanged(photo: str | os.PathLike[str], expect: Snapshot,
                         target: Snapshot) -> bool:
    """Make the sidecars `target` if they are exactly `expect` now; False (nothing written)
    otherwise."""
    with _lock(photo):
        if snapshot(photo) != expect:
            return False
        for name, data in target.items():
            path = Path(name)
            if data is None:
                if path.is_file():
                    path.unlink()
            elif expect.get(name) != data:
                atomic_write_bytes(path, data)
        return True
