"""Faults and hostile input (issue 13): the bad-input zoo, kill -9 in the middle of every kind of
write, and the cache's failure modes. Each case asserts a per-file error (never a traceback), the
originals' bytes unchanged, no partial output, nothing lost, and bounded time and memory.

Peak memory is each child process's own VmHWM (ru_maxrss would carry the parent's peak over
exec). The table of figures for the issue comes from tools/fault_report.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from . import fault_zoo as zoo

ROOT = Path(__file__).resolve().parents[1]
PEAK_LIMIT_MB = 1500
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")
needs_posix = pytest.mark.skipif(os.name != "posix", reason="FIFOs, symlinks and SIGKILL")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha(p) for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()}


def our_temps(folder: Path) -> list[Path]:
    from aesview.core.atomic import TEMP_NAME
    return [p for p in folder.iterdir() if TEMP_NAME.match(p.name)]


def child(code: str, *args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    return zoo.build_bombs(tmp_path_factory.mktemp("bombs"))


# ------------------------------------------------------------------------------- bomb cases

@pytest.mark.parametrize("case", [
    "png_196mp_rgb", "png_100mp_rgba", "png_ztxt_100mb", "jpeg_claims_196mp", "jpeg_claims_4gp",
    "jpeg_progressive_100mp", "tiff_header_196mp", "tiff_header_36mp", "bmp_rle8_196mp",
    "exif_thumbnail_bomb"])
def test_bomb_is_refused_or_decoded_within_memory(bombs, case):
    path, expected = bombs[case]
    before = sha(path)
    t0 = time.monotonic()
    proc = child(zoo.LOADER_CHILD, str(path), "score", "thumb", "original")
    took = time.monotonic() - t0
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout)
    outcomes = {op: ("ok" if "ok" in out[op] else "error") for op in ("score", "thumb")}
    assert set(outcomes.values()) == {expected}, out
    for op in ("score", "thumb", "original"):
        if "error" in out[op]:
            assert out[op]["error"] and "\n" not in out[op]["error"]
    assert out["peak_mb"] < PEAK_LIMIT_MB, out
    assert took < 60
    assert sha(path) == before


def test_thumbnail_threads_on_a_folder_of_bombs_stay_bounded(bombs):
    """The GUI's case: many loader threads at once. Big decodes take turns, so the folder's
    peak is one big decode, not one per thread."""
    code = zoo.PEAK_FN + r"""
import sys
from concurrent.futures import ThreadPoolExecutor
from aesview.core.imaging import ImageLoadError, load_thumbnail
def one(p):
    try:
        return load_thumbnail(p, 256).size
    except ImageLoadError as e:
        return e.reason
with ThreadPoolExecutor(8) as pool:
    results = list(pool.map(one, sys.argv[1:] * 2))
print(peak_mb())
"""
    paths = [str(p) for p, _ in bombs.values()]
    proc = child(code, *paths)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) < PEAK_LIMIT_MB


# ------------------------------------------------------------------------ the bad-input zoo

@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    """Good photos among every kind of bad file a card reader or a careless copy produces."""
    folder = tmp_path_factory.mktemp("zoo")
    good = zoo.sample_jpeg()
    png = folder / "real-png-named.jpg"                     # wrong extension, right content
    Image.open(zoo.io.BytesIO(good)).save(png, "PNG")
    (folder / "good.jpg").write_bytes(good)
    (folder / "ünïcødé 写真.jpg").write_bytes(good)
    (folder / "new\nline.jpg").write_bytes(good)
    zoo.odd_exif(folder / "odd-exif.jpg")
    bad = {
        "half.jpg": zoo.truncated(folder / "half.jpg", good, 0.5),
        "header-only.jpg": zoo.truncated(folder / "header-only.jpg", good, 0.02),
        "one-byte.png": zoo.truncated(folder / "one-byte.png", b"\x89", 1.0),
        "half.png": zoo.truncated(folder / "half.png", png.read_bytes(), 0.6),
        "empty.jpg": zoo.truncated(folder / "empty.jpg", b"", 0.0),
        "text.jpg": folder / "text.jpg",
        "jpeg-named.cr2": folder / "jpeg-named.cr2",
        "html.heic": folder / "html.heic",
        "claims-14000.jpg": zoo.jpeg_claiming(folder / "claims-14000.jpg", 14000, 14000),
        "bomb-14000.png": zoo.png_zeros(folder / "bomb-14000.png", 14000, 14000),
    }
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("shopping list\n")
    (folder / "jpeg-named.cr2").write_bytes(b"II*\0" + b"\0" * 200)
    (folder / "html.heic").write_text("<html>404</html>")
    loop = zoo.symlink_loop(folder, "loop.jpg")
    os.mkfifo(folder / "pipe.jpg")
    return folder, bad, [loop, folder / "pipe.jpg"]


PEAK_CLI = zoo.PEAK_FN + r"""
import sys
from aesview.cli import main
rc = main(sys.argv[1:])
sys.stderr.write("PEAK_MB %.0f\n" % peak_mb())
sys.exit(rc)
"""


@needs_posix
def test_cli_scores_the_good_and_names_each_bad_file(bad_folder, tmp_path):
    folder, bad, specials = bad_folder
    before = hashes(folder)
    t0 = time.monotonic()
    proc = child(PEAK_CLI, "score", str(folder), *map(str, specials), "--json", "-q",
                 env={"AESVIEW_CACHE_DIR": str(tmp_path / "cache")}, timeout=300)
    took = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    peak = float(proc.stderr.rsplit("PEAK_MB", 1)[1])
    assert peak < PEAK_LIMIT_MB
    images = {Path(i["path"]).name: i for i in json.loads(proc.stdout)["images"]}
    for name in ("good.jpg", "ünïcødé 写真.jpg", "new\nline.jpg", "real-png-named.jpg",
                 "odd-exif.jpg"):
        assert images[name]["score"] is not None and images[name]["error"] is None, name
    for name in [*bad, "loop.jpg", "pipe.jpg"]:
        err = images[name]["error"]
        assert images[name]["score"] is None and err and "\n" not in err, (name, err)
    assert "truncated" in images["half.jpg"]["error"]
    assert "truncated or damaged" in images["claims-14000.jpg"]["error"]
    assert "decode budget" in images["bomb-14000.png"]["error"]
    assert "not a regular file" in images["pipe.jpg"]["error"]
    assert hashes(folder) == before
    assert took < 240


# --------------------------------------------------------------------------- hostile XMP

HOSTILE_XMP = {
    "billion-laughs": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                      '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;'
                      '&b;&b;&b;&b;&b;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&c;</x:xmpmeta>',
    "external-entity": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                       '<x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
    "deep": '<x:xmpmeta xmlns:x="adobe:ns:meta/">' + "<a>" * 200_000 + "</a>" * 200_000
            + "</x:xmpmeta>",
    "binary": "\x00\xff\xfe garbage \x01",
    "not-xmp-root": '<?xml version="1.0"?><html><body/></html>',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_XMP))
def test_hostile_sidecar_is_named_and_left_untouched(tmp_path, kind):
    from aesview.core.culling import Flag
    from aesview.core.xmp import DecisionChange, SidecarError, read_decision, update_sidecar
    photo = tmp_path / "IMG_7.jpg"
    photo.write_bytes(zoo.sample_jpeg(64, 48))
    sidecar = tmp_path / "IMG_7.jpg.xmp"
    sidecar.write_bytes(HOSTILE_XMP[kind].encode("utf-8", "surrogatepass"))
    before, photo_before = sha(sidecar), sha(photo)
    t0 = time.monotonic()
    with pytest.raises(SidecarError, match="IMG_7.jpg.xmp"):
        read_decision(photo)
    with pytest.raises(SidecarError, match="IMG_7.jpg.xmp"):
        update_sidecar(photo, DecisionChange(flag=Flag.PICK))
    assert time.monotonic() - t0 < 10
    assert sha(sidecar) == before and sha(photo) == photo_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_7.jpg", "IMG_7.jpg.xmp"]


def test_oversized_sidecar_is_refused_without_reading_it(tmp_path):
    from aesview.core.xmp import MAX_BYTES, SidecarError, read_decision
    photo = tmp_path / "IMG_8.jpg"
    photo.write_bytes(b"x")
    with open(tmp_path / "IMG_8.jpg.xmp", "wb") as f:
        f.truncate(MAX_BYTES + 1)                     # sparse: costs no disk
    with pytest.raises(SidecarError, match="IMG_8.jpg.xmp.*larger than"):
        read_decision(photo)


# ------------------------------------------------------------------------------- kill -9

def _kill_during(code: str, args: list[str], delays: list[float]) -> list[str]:
    """Run the writer loop `code` once per delay, SIGKILL it that long after it said 'go';
    returns what each run printed (progress counters)."""
    outs = []
    for delay in delays:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = proc.stdout.readline()
        assert first.strip() == "go", first + proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "finished before the kill: make it longer"
        outs.append(out)
    return outs


def _age(paths, seconds=120):
    for p in paths:
        st = p.stat()
        os.utime(p, (st.st_atime - seconds, st.st_mtime - seconds))


EXPORT_LOOP = r"""
import sys
from pathlib import Path
from aesview.core.export import export_crop
src, out = sys.argv[1], Path(sys.argv[2])
print("go", flush=True)
for i in range(100000):
    export_crop(src, (10, 10, 2990, 1990), out / f"crop-{i:05d}.tif", overwrite=True)
"""


@needs_posix
def test_kill_during_crop_export_leaves_no_partial_crop_and_temps_are_swept(tmp_path):
    from aesview.core.export import export_crop
    src = tmp_path / "shoot" / "big.jpg"
    src.parent.mkdir()
    Image.open(zoo.io.BytesIO(zoo.sample_jpeg(3000, 2000))).save(src, quality=92)
    out = tmp_path / "export"
    out.mkdir()
    before = sha(src)
    rng = random.Random(13)
    _kill_during(EXPORT_LOOP, [str(src), str(out)], [rng.uniform(0.2, 1.2) for _ in range(4)])
    crops = sorted(out.glob("crop-*.tif"))
    for c in crops:                                     # every crop that exists is whole
        with Image.open(c) as im:
            im.load()
            assert im.size == (2980, 1980)
    leftovers = our_temps(out)
    assert all(p.name.startswith(".crop-") for p in leftovers)
    _age(leftovers)
    export_crop(src, (0, 0, 100, 100), out / "after.jpg")
    assert our_temps(out) == []                         # swept by the next write
    assert sha(src) == before and not our_temps(src.parent)


SIDECAR_LOOP = r"""
import sys
from aesview.core.culling import Flag
from aesview.core.xmp import DecisionChange, update_sidecar
photos = sys.argv[1:]
print("go", flush=True)
i = 0
while True:
    for p in photos:
        update_sidecar(p, DecisionChange(flag=Flag.PICK if i % 2 else Flag.NONE))
    i += 1
"""


@needs_exiftool
@needs_posix
def test_kill_during_sidecar_writes_loses_no_rating_label_or_keyword(tmp_path):
    from .test_xmp import DARKTABLE_SIDECAR
    photos = []
    for n in range(30):
        p = tmp_path / f"IMG_{n:03d}.jpg"
        p.write_bytes(b"\xff\xd8 not decoded here")
        p.with_name(p.name + ".xmp").write_text(
            DARKTABLE_SIDECAR.replace("<xmp:Rating>2</xmp:Rating>", "<xmp:Rating>3</xmp:Rating>")
            .replace('acme:Secret="keep me"', 'acme:Secret="keep me" xmp:Label="Red"'))
        photos.append(p)
    originals = {p.name: sha(p) for p in photos}
    rng = random.Random(7)
    _kill_during(SIDECAR_LOOP, [str(p) for p in photos], [rng.uniform(0.05, 0.6) for _ in range(6)])
    sidecars = sorted(tmp_path.glob("*.xmp"))
    assert len(sidecars) == 30
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-XMP:Rating", "-XMP:Label", "-XMP:Subject",
                                      "-XMP-acme:all", *map(str, sidecars)],
                                     capture_output=True, text=True, check=True).stdout)
    for t in tags:
        assert (t["Rating"], t["Label"], t["Subject"], t["Secret"]) == \
            (3, "Red", ["holiday", "coffee"], "keep me"), t
    assert {p.name: sha(p) for p in photos} == originals
    leftovers = our_temps(tmp_path)
    _age(leftovers)
    from aesview.core.culling import Flag
    from aesview.core.xmp import DecisionChange, update_sidecar
    update_sidecar(photos[0], DecisionChange(flag=Flag.REJECT))
    assert our_temps(tmp_path) == []


CACHE_LOOP = r"""
import sys
import numpy as np
from aesview.core.cache import FileKey, ScoreCache
from aesview.core.records import ScoreRecord
cache = ScoreCache(sys.argv[1])
rng = np.random.default_rng(0)
print("go", flush=True)
for i in range(10**6):
    rec = ScoreRecord(path=f"/photos/{i}.jpg", score=float(i % 97) / 97, attributes={"a": 0.5},
                      aesam=rng.normal(size=(10, 15)).astype("float32"),
                      attam=rng.normal(size=(4, 10, 15)).astype("float32"), image_size=(640, 427))
    cache.put(rec, "m", FileKey(i, i, f"{i:032x}"))
    print(i, flush=True)
"""


@needs_posix
def test_kill_during_cache_writes_keeps_every_committed_entry(tmp_path):
    from aesview.core.cache import FileKey, ScoreCache
    db = tmp_path / "scores.sqlite"
    rng = random.Random(3)
    outs = _kill_during(CACHE_LOOP, [str(db)], [rng.uniform(0.3, 1.0) for _ in range(3)])
    committed = max(int(line) for out in outs for line in out.split() if line.isdigit())
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    cache = ScoreCache(db)
    assert cache.available and not cache.rebuilt and not list(tmp_path.glob("*.corrupt"))
    row = cache._db.execute("SELECT count(*) FROM scores").fetchone()[0]
    assert row >= committed + 1
    # An entry the killed runs committed reads back whole.
    con = cache._db
    got = con.execute("SELECT score FROM scores WHERE path=?", (f"/photos/{committed}.jpg",))
    assert got.fetchone()[0] == pytest.approx((committed % 97) / 97)
    assert FileKey(1, 1, "x").size == 1


# ------------------------------------------------------------------------------ cache cases

@pytest.fixture(scope="module")
def model():
    from aesview.core.weights import load_model
    return load_model(device="cpu")


def _two_photos(folder: Path) -> list[Path]:
    from .photos import shared_photo
    out = []
    for name in ("skimage_coffee.jpg", "mate_LadyBird.jpg"):
        p = folder / name
        Image.open(shared_photo(name)).convert("RGB").resize((480, 320)).save(p, quality=90)
        out.append(p)
    return out


def test_locked_cache_scores_everything_once_warned_and_renames_nothing(tmp_path, model, caplog):
    """Issue 13's case 3 through the scorer: another process holds the cache locked; scoring
    waits a bounded time, goes on without it, and every cached entry is still there after."""
    import logging

    from aesview.core.cache import ScoreCache
    from aesview.core.scoring import Scorer
    a, b = _two_photos(tmp_path)
    db = tmp_path / "scores.sqlite"
    first = Scorer(model, cache=ScoreCache(db), workers=0).score_one(a)
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="aesview.core.cache"):
            recs = list(Scorer(model, cache=ScoreCache(db, lock_timeout=0.5),
                               workers=0).score_paths([a, b]))
        assert time.monotonic() - t0 < 30
        assert [r.ok for r in recs] == [True, True]
        assert [r.message for r in caplog.records] and len(caplog.records) == 1
        assert "locked" in caplog.records[0].message
        assert sorted(p.name for p in tmp_path.iterdir() if "sqlite" in p.name) == \
            ["scores.sqlite", "scores.sqlite-shm", "scores.sqlite-wal"]
    finally:
        holder.rollback()
        holder.close()
    again = ScoreCache(db).get(str(a), Scorer(model, workers=0).model_id)
    assert again is not None and again.score == pytest.approx(first.score)


def test_corrupt_cache_is_set_aside_and_scoring_goes_on(tmp_path, model):
    from aesview.core.cache import ScoreCache
    from aesview.core.scoring import Scorer
    a, _ = _two_photos(tmp_path)
    db = tmp_path / "scores.sqlite"
    db.write_bytes(b"SQLite format 3\0" + os.urandom(4096))   # SQLite's magic, then noise
    cache = ScoreCache(db)
    rec = Scorer(model, cache=cache, workers=0).score_one(a)
    assert rec.ok and cache.rebuilt and (tmp_path / "scores.sqlite.corrupt").exists()
    assert Scorer(model, cache=ScoreCache(db), workers=0).score_one(a).cached


def test_stale_score_is_rescored_after_a_same_size_rewrite(tmp_path, model):
    """Issue 13's case 4, end to end with the shipped model: the bytes change, the size and
    the mtime are put back, the next run rescores."""
    from aesview.core.cache import ScoreCache
    from aesview.core.scoring import Scorer

    from .photos import shared_photo
    a, b = (Image.open(shared_photo(n)).convert("RGB").resize((480, 320))
            for n in ("skimage_coffee.jpg", "Bridge_by_Sander_Klootwijk.jpg"))
    bufs = []
    for im in (a, b):
        buf = zoo.io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        bufs.append(buf.getvalue())
    size = max(map(len, bufs))
    bufs = [d + b"\0" * (size - len(d)) for d in bufs]  # bytes after EOI: same size, still valid
    photo = tmp_path / "p.jpg"
    photo.write_bytes(bufs[0])
    stamp = photo.stat()
    scorer = Scorer(model, cache=ScoreCache(tmp_path / "c.sqlite"), workers=0)
    first = scorer.score_one(photo)
    assert scorer.score_one(photo).cached
    photo.write_bytes(bufs[1])
    os.utime(photo, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert photo.stat().st_size == stamp.st_size and photo.stat().st_mtime_ns == stamp.st_mtime_ns
    second = scorer.score_one(photo)
    assert not second.cached and second.score != pytest.approx(first.score, abs=1e-4)
    fresh = Scorer(scorer.model, cache=None, workers=0).score_one(photo)
    assert second.score == pytest.approx(fresh.score, abs=1e-5)
