"""Score cache: SQLite in the platformdirs cache folder.

Keyed by absolute path, file size, modification time and model id, so a changed file or another
model is a miss. Maps are stored zlib-compressed. A cache that can't be read is moved aside and
rebuilt: losing cached scores costs a rescore, never a crash.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
import zlib
from pathlib import Path

import numpy as np
import platformdirs

from .records import ScoreRecord

SCHEMA_VERSION = 1


def default_cache_path() -> Path:
    base = os.environ.get("AESVIEW_CACHE_DIR") or platformdirs.user_cache_dir("aesview")
    return Path(base) / "scores.sqlite"


def file_key(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _pack(aesam: np.ndarray, attam: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, aesam=aesam.astype(np.float32), attam=attam.astype(np.float32))
    return zlib.compress(buf.getvalue(), 6)


def _unpack(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    with np.load(io.BytesIO(zlib.decompress(blob))) as z:
        return z["aesam"], z["attam"]


class ScoreCache:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_cache_path()
        self._lock = threading.Lock()
        self.rebuilt = False
        self._db = self._open()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            db.execute("DROP TABLE IF EXISTS scores")
        db.execute("""CREATE TABLE IF NOT EXISTS scores (
            path TEXT NOT NULL, model_id TEXT NOT NULL, size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL, score REAL NOT NULL, attributes TEXT NOT NULL,
            width INTEGER NOT NULL, height INTEGER NOT NULL, maps BLOB NOT NULL,
            PRIMARY KEY (path, model_id))""")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("SELECT count(*) FROM scores").fetchone()
        db.commit()
        return db

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError:
            self._discard()
            return self._connect()

    def _discard(self) -> None:
        self.rebuilt = True
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                os.replace(p, str(p) + ".corrupt")

    def _run(self, fn):
        with self._lock:
            try:
                return fn(self._db)
            except sqlite3.DatabaseError:
                # Corrupted under us (disk trouble, a foreign writer): start over, stay usable.
                try:
                    self._db.close()
                except sqlite3.Error:
                    pass
                self._discard()
                self._db = self._connect()
                return fn(self._db)

    def get(self, path: str, model_id: str) -> ScoreRecord | None:
        try:
            size, mtime = file_key(path)
        except OSError:
            return None
        row = self._run(lambda db: db.execute(
            "SELECT score, attributes, width, height, maps FROM scores WHERE path=? AND "
            "model_id=? AND size=? AND mtime_ns=?", (path, model_id, size, mtime)).fetchone())
        if row is None:
            return None
        try:
            aesam, attam = _unpack(row[4])
            attributes = json.loads(row[1])
        except (zlib.error, ValueError, OSError, KeyError):
            return None
        return ScoreRecord(path=path, score=row[0], attributes=attributes, aesam=aesam,
                           attam=attam, image_size=(row[2], row[3]), cached=True)

    def put(self, rec: ScoreRecord, model_id: str, key: tuple[int, int] | None = None) -> None:
        """`key` is the (size, mtime_ns) seen before decoding, so a file changed while it was
        being scored is stored under its old key and rescored next time."""
        if not rec.ok or rec.aesam is None:
            return
        try:
            size, mtime = key or file_key(rec.path)
        except OSError:
            return
        blob = _pack(rec.aesam, rec.attam)
        self._run(lambda db: (db.execute(
            "INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?,?)",
            (rec.path, model_id, size, mtime, float(rec.score), json.dumps(rec.attributes),
             rec.image_size[0], rec.image_size[1], blob)), db.commit()))

    def clear(self) -> None:
        self._run(lambda db: (db.execute("DELETE FROM scores"), db.commit()))

    def close(self) -> None:
        with self._lock:
            self._db.close()
