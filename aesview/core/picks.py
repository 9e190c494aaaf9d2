"""Copy or move picked photos, with their XMP sidecars, into a folder; never overwrite.

A file lands under a free name (`unique_path`) and is linked into place with os.link, which
fails rather than replace a file that appeared meanwhile. A move on one filesystem is a link
plus an unlink (no data copied); across filesystems it is a copy, then the source goes only
after the copy (and its sidecars) landed.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import create_temp, unique_path
from .xmp import sidecar_paths


@dataclass
class Transfer:
    source: str
    target: str | None = None
    sidecars: list[str] = field(default_factory=list)
    error: str | None = None


def _link_free(src: Path, want: Path, exact: bool = False) -> Path:
    """Hard-link src to `want` or, unless exact, the next free name. Raises FileExistsError
    (exact) or OSError (links unsupported)."""
    while True:
        cand = want if exact else unique_path(want)
        try:
            os.link(src, cand)
            return cand
        except FileExistsError:
            if exact:
                raise


def _copy_free(src: Path, want: Path, exact: bool = False) -> Path:
    # Our temp pattern, so a copy killed half-way is swept by the next write into this folder.
    tmp_path, fd = create_temp(want)
    os.close(fd)
    tmp = str(tmp_path)
    try:
        shutil.copy2(src, tmp)
        try:
            return _link_free(Path(tmp), want, exact)
        except OSError as exc:
            if isinstance(exc, FileExistsError) or exc.errno not in (
                    errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise
            # No hard links here (FAT/exFAT cards): check-then-replace, the best such disks allow.
            cand = want if exact else unique_path(want)
            if cand.exists():
                raise FileExistsError(errno.EEXIST, "already exists", str(cand)) from None
            os.replace(tmp, cand)
            return cand
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _place(src: Path, want: Path, move: bool, exact: bool = False) -> Path:
    if move:
        try:
            return _link_free(src, want, exact)
        except FileExistsError:
            raise
        except OSError:
            pass  # another filesystem, or no links: copy instead
    return _copy_free(src, want, exact)


def _sidecar_target(sidecar: Path, photo: Path, target: Path) -> Path:
    """`IMG_1.jpg.xmp` follows `IMG_1-1.jpg` as `IMG_1-1.jpg.xmp`; `IMG_1.xmp` as `IMG_1-1.xmp`."""
    if sidecar.name == photo.name + ".xmp":
        return target.with_name(target.name + ".xmp")
    return target.with_suffix(".xmp")


def transfer_one(photo: str | os.PathLike[str], dest: str | os.PathLike[str], move: bool = False) -> Transfer:
    src = Path(photo)
    result = Transfer(str(src))
    try:
        if not src.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such photo", str(src))
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if dest.resolve() == src.parent.resolve():
            raise ValueError("the destination is the photo's own folder")
        target = _place(src, dest / src.name, move)
        result.target = str(target)
        sidecars = [s for s in dict.fromkeys(sidecar_paths(src)) if s.is_file()]
        for sc in sidecars:
            placed = _place(sc, _sidecar_target(sc, src, target), move, exact=True)
            result.sidecars.append(str(placed))
        if move:
            for sc in sidecars:
                sc.unlink()
            src.unlink()
    except FileExistsError as exc:
        result.error = f"{src}: {exc.filename or 'target'} already exists; nothing overwritten"
    except (OSError, ValueError) as exc:
        msg = getattr(exc, "strerror", None) or str(exc)
        result.error = f"{src}: cannot {'move' if move else 'copy'} ({msg})"
    return result


def transfer_picks(photos: Iterable[str | os.PathLike[str]], dest: str | os.PathLike[str],
                   move: bool = False,
                   progress: Callable[[Transfer], None] | None = None) -> list[Transfer]:
    out = []
    for p in photos:
        t = transfer_one(p, dest, move)
        out.append(t)
        if progress:
            progress(t)
    return out
