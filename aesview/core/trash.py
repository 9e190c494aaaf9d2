"""Rejected photos to the system trash, with their XMP sidecars (send2trash: the desktop's own
trash on Linux, macOS and Windows, so the user can put them back). Never a permanent delete:
when the trash can't take a file, it stays where it is and the reason is reported."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .xmp import sidecar_paths


@dataclass
class Trashed:
    source: str
    sidecars: list[str] = field(default_factory=list)
    error: str | None = None


def trash_photo(photo: str | os.PathLike[str]) -> Trashed:
    """The photo first, then its sidecars (a sidecar never outlives its photo in the folder
    unnoticed: if the photo can't go, nothing goes)."""
    from send2trash import send2trash
    photo = Path(photo)
    out = Trashed(str(photo))
    if not photo.is_file():
        out.error = f"{photo}: not there any more; nothing moved"
        return out
    try:
        send2trash(str(photo))
    except OSError as exc:  # TrashPermissionError is one
        out.error = f"{photo}: could not be moved to the trash ({exc}); left in place"
        return out
    for side in sidecar_paths(photo):
        if side.is_file():
            try:
                send2trash(str(side))
                out.sidecars.append(str(side))
            except OSError as exc:  # TrashPermissionError is one
                out.error = f"{side}: sidecar left in place ({exc})"
    return out
