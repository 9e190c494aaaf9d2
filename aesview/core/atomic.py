"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half of one.

The data goes to a hidden temporary file in the destination's own folder (same file system, so
the final rename is atomic), is flushed to disk, and then takes the destination's name:
`os.replace` when overwriting is allowed, a hard link when it is not, which fails with
FileExistsError instead of clobbering a file that appeared meanwhile.

A run killed mid-write leaves its hidden temporary file behind. The next write into that folder
sweeps them: only names of our own pattern (`.NAME.xxxxxxxx.tmp`, 8 hex digits) that are
regular files older than a minute, so another process's write in progress is never touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
STALE_AFTER_S = 60.0
_RESWEEP_S = 300.0  # a long session sweeps a folder again after this long
_swept: dict[str, float] = {}
_swept_lock = threading.Lock()


def sweep_stale_temps(folder: str | os.PathLike[str], min_age_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove our own temporary files older than `min_age_s` from `folder` (not its
    sub-folders); returns what was removed. Never raises: the sweep is housekeeping."""
    removed: list[Path] = []
    now = time.time()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not TEMP_NAME.match(entry.name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and now - st.st_mtime > min_age_s:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    continue
    except OSError:
        pass
    return removed


def _sweep_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    now = time.monotonic()
    with _swept_lock:
        if now - _swept.get(key, -_RESWEEP_S) < _RESWEEP_S:
            return
        _swept[key] = now
    sweep_stale_temps(folder)


def temp_path(dst: Path) -> Path:
    """A fresh hidden temporary name beside `dst`, of the pattern the sweep knows."""
    return dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.tmp")


def create_temp(dst: Path) -> tuple[Path, int]:
    """(path, fd) of a new temporary file beside `dst`; sweeps the folder's stale ones first."""
    _sweep_once(dst.parent)
    for _ in range(100):
        tmp = temp_path(dst)
        try:
            # 0o666 & ~umask: the finished file gets ordinary permissions, unlike mkstemp's 0600.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot create a temporary file", str(dst.parent))


def _publish(tmp: Path, dst: Path, overwrite: bool) -> None:
    if overwrite:
        with contextlib.suppress(OSError):
            os.chmod(tmp, os.stat(dst).st_mode & 0o7777)  # keep the replaced file's permissions
        os.replace(tmp, dst)
        return
    try:
        os.link(tmp, dst)  # atomic and never replaces: EEXIST if dst is there
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "file already exists", str(dst)) from None
    except OSError:
        # No hard links on this file system (FAT, some network shares): check, then rename.
        if dst.exists():
            raise FileExistsError(errno.EEXIST, "file already exists", str(dst)) from None
        os.replace(tmp, dst)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], overwrite: bool = True) -> Iterator[BinaryIO]:
    """`with atomic_writer(p) as f: f.write(...)`: p appears complete when the block ends
    without an exception, and is left untouched otherwise."""
    dst = Path(path)
    if not overwrite and dst.exists():
        raise FileExistsError(errno.EEXIST, "file already exists", str(dst))
    tmp, fd = create_temp(dst)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, dst, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(dst.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> Path:
    with atomic_writer(path, overwrite) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8",
                      overwrite: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode(encoding), overwrite)


def unique_path(path: str | os.PathLike[str]) -> Path:
    """`path` if it is free, else name-1.ext, name-2.ext, ... (the first free one)."""
    path = Path(path)
    if not path.exists():
        return path
    n = 1
    while True:
        cand = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not cand.exists():
            return cand
        n += 1
