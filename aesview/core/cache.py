"""Score cache: SQLite in the platformdirs cache folder (`AESVIEW_CACHE_DIR` moves it).

Keyed by absolute path, model id, file size, modification time and a content fingerprint (a
CRC-32 of the first and of the last 64 KiB), so a changed file or another model is a miss, even
a rewrite that keeps the size and restores the modification time. The fingerprint tells a
rewritten file apart; it is not meant to resist forgery (CRC-32 is five times cheaper than
BLAKE2 here, and reopening 2,000 photos must stay well under a second). Maps are stored as raw
float32, zlib-compressed (an .npz costs more to open than the lookup itself).

The cache is a convenience and fails safe; it never costs a score or an exit status:
- a location that can't be used (missing parent, a file in the folder's place, read-only disk,
  no permission): one warning, then scoring goes on without a cache;
- a database another process holds locked: SQLite waits up to `lock_timeout` seconds, then
  this run goes on without the cache (one warning); the file is never renamed;
- only a database SQLite itself reports as corrupt (SQLITE_CORRUPT, SQLITE_NOTADB) is moved
  aside as `.corrupt` and rebuilt.
Warnings go to the "aesview.core.cache" logger (the GUI's log panel, the CLI's stderr).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import platformdirs

from .detail import CHANNELS, DetailResult
from .records import ScoreRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5   # 4: dtype in the blob header, the burst embedding; 5: the subject map
FINGERPRINT_CHUNK = 64 * 1024
DEFAULT_LOCK_TIMEOUT = 5.0
# SQLite's primary result codes that mean the file itself is damaged (sqlite3.h).
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


def default_cache_path() -> Path:
    base = os.environ.get("AESVIEW_CACHE_DIR") or platformdirs.user_cache_dir("aesview")
    return Path(base) / "scores.sqlite"


class FileKey(NamedTuple):
    size: int
    mtime_ns: int
    fingerprint: str


def file_key(path: str | os.PathLike[str]) -> FileKey:
    """Size, mtime and the CRC-32s of the first and the last 64 KiB. Reads at most 128 KiB;
    raises OSError for anything that is not a regular file (a FIFO is never waited on)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file", os.fspath(path))
        head = zlib.crc32(f.read(FINGERPRINT_CHUNK))
        tail = 0
        if st.st_size > FINGERPRINT_CHUNK:
            f.seek(max(FINGERPRINT_CHUNK, st.st_size - FINGERPRINT_CHUNK))
            tail = zlib.crc32(f.read(FINGERPRINT_CHUNK))
        return FileKey(st.st_size, st.st_mtime_ns, f"{head:08x}{tail:08x}")


# The burst embedding is kept as float16 (2.5 KB for Lite0's 1280 channels): similarity needs
# no more, and the maps stay float32.
_DTYPES = {"embedding": "<f2", "detail_meta": "<f8"}


def _pack(rec: ScoreRecord) -> bytes:
    """zlib(JSON header of names, shapes and dtypes, newline, the arrays' bytes in order)."""
    maps = {"aesam": rec.aesam, "attam": rec.attam, "highmap": getattr(rec, "highmap", None),
            "embedding": getattr(rec, "embedding", None), "subject": rec.subject}
    if rec.detail is not None:
        maps.update(_pack_detail(rec.detail))
    arrays = {k: np.ascontiguousarray(v, dtype=_DTYPES.get(k, "<f4"))
              for k, v in maps.items() if v is not None}
    header = json.dumps([[k, list(a.shape), a.dtype.str] for k, a in arrays.items()]).encode()
    return zlib.compress(header + b"\n" + b"".join(a.tobytes() for a in arrays.values()), 6)


def _pack_detail(d: DetailResult) -> dict[str, np.ndarray]:
    # float64 for the numbers the score is recomputed from: exactness survives the cache.
    meta = np.array([d.alpha, d.global_logit, d.detail_size[0], d.detail_size[1], d.cell,
                     d.scale[0], d.scale[1], d.gain], np.float64)
    return {"detail_maps": d.maps, "detail_boxes": d.boxes, "detail_meta": meta}


def _unpack_detail(maps: dict[str, np.ndarray]) -> DetailResult | None:
    if "detail_maps" not in maps:
        return None
    m = maps["detail_meta"]
    return DetailResult(maps=maps["detail_maps"], boxes=maps["detail_boxes"], alpha=float(m[0]),
                        global_logit=float(m[1]), detail_size=(int(m[2]), int(m[3])), cell=int(m[4]),
                        channels=CHANNELS[:maps["detail_maps"].shape[1]], scale=(float(m[5]), float(m[6])),
                        # entries written before the white point had no gain: they were looked at as decoded
                        gain=float(m[7]) if len(m) > 7 else 1.0)


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    data = zlib.decompress(blob)
    cut = data.index(b"\n")
    out, offset = {}, cut + 1
    for name, shape, dtype in json.loads(data[:cut]):
        dt = np.dtype(dtype)
        if dt.str not in ("<f4", "<f2", "<f8"):
            raise ValueError(f"unexpected dtype {dtype}")
        count = int(np.prod(shape))
        out[name] = np.frombuffer(data, dt, count, offset).reshape(shape).copy()
        offset += count * dt.itemsize
    if offset != len(data):
        raise ValueError("cached maps do not add up")
    return out


def _is_corrupt(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return isinstance(exc, sqlite3.DatabaseError) and any(
        m in str(exc) for m in ("malformed", "not a database"))


def _is_busy(exc: BaseException) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


class ScoreCache:
    """`get`/`put` never raise for cache trouble; `available` says whether the cache is in use
    and `problem` why not."""

    def __init__(self, path: str | Path | None = None,
                 lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
        self.path = Path(path) if path else default_cache_path()
        self.lock_timeout = lock_timeout
        self._lock = threading.Lock()
        self.rebuilt = False
        self.problem: str | None = None
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (OSError, sqlite3.Error) as exc:
            self._give_up(exc)

    @property
    def available(self) -> bool:
        return self._db is not None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=self.lock_timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                db.execute("DROP TABLE IF EXISTS scores")  # an older layout: rescore, once
            db.execute("""CREATE TABLE IF NOT EXISTS scores (
                path TEXT NOT NULL, model_id TEXT NOT NULL, size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL, fingerprint TEXT NOT NULL, score REAL NOT NULL,
                attributes TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
                maps BLOB NOT NULL, PRIMARY KEY (path, model_id))""")
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM scores").fetchone()
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            self._discard(exc)
            return self._connect()

    def _discard(self, exc: BaseException) -> None:
        log.warning("%s: the score cache is damaged (%s); kept aside as .corrupt and rebuilt",
                    self.path, exc)
        self.rebuilt = True
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                os.replace(p, str(p) + ".corrupt")

    def _give_up(self, exc: BaseException) -> None:
        """Go on without a cache for the rest of this run; say so once."""
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
        if self.problem is not None:
            return
        if isinstance(exc, sqlite3.Error) and _is_busy(exc):
            why = f"another program holds it locked (waited {self.lock_timeout:g} s)"
        else:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self.problem = f"{self.path}: score cache not used ({why}); scoring without it"
        log.warning("%s", self.problem)

    def _run(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """fn(db), or None when there is no usable cache (never raises for cache trouble)."""
        with self._lock:
            if self._db is None:
                return None
            try:
                return fn(self._db)
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    self._give_up(exc)
                    return None
                # Damaged under us (disk trouble, a foreign writer): start over, stay usable.
                try:
                    self._db.close()
                    self._db = None
                    self._discard(exc)
                    self._db = self._connect()
                    return fn(self._db)
                except (OSError, sqlite3.Error) as again:
                    self._give_up(again)
                    return None

    def get(self, path: str, model_id: str) -> ScoreRecord | None:
        if self._db is None:
            return None
        try:
            key = file_key(path)
        except OSError:
            return None
        row = self._run(lambda db: db.execute(
            "SELECT score, attributes, width, height, maps FROM scores WHERE path=? AND "
            "model_id=? AND size=? AND mtime_ns=? AND fingerprint=?",
            (path, model_id, *key)).fetchone())
        if row is None:
            return None
        try:
            maps = _unpack(row[4])
            attributes = json.loads(row[1])
            rec = ScoreRecord(path=path, score=row[0], attributes=attributes,
                              aesam=maps["aesam"], attam=maps["attam"],
                              image_size=(row[2], row[3]), cached=True)
        except (zlib.error, ValueError, TypeError, OSError, KeyError):
            return None
        if "highmap" in maps and hasattr(rec, "highmap"):
            rec.highmap = maps["highmap"]
        if "embedding" in maps:
            rec.embedding = maps["embedding"]
        rec.subject = maps.get("subject")
        try:
            rec.detail = _unpack_detail(maps)
        except (KeyError, IndexError, ValueError, TypeError):
            return None
        return rec

    def put(self, rec: ScoreRecord, model_id: str, key: FileKey | None = None) -> None:
        """`key` is the file_key seen before decoding, so a file changed while it was being
        scored is stored under its old key and rescored next time."""
        if self._db is None or not rec.ok or rec.aesam is None or rec.attam is None:
            return
        try:
            size, mtime, fingerprint = key or file_key(rec.path)
        except OSError:
            return
        if rec.score is None or rec.image_size is None:
            return
        blob = _pack(rec)
        row = (rec.path, model_id, size, mtime, fingerprint, float(rec.score),
               json.dumps(rec.attributes), rec.image_size[0], rec.image_size[1], blob)

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            db.commit()
        self._run(write)

    def clear(self) -> None:
        def wipe(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM scores")
            db.commit()
        self._run(wipe)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
