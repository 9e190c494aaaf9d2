"""Issue 13's decode memory: the process-wide decode gate (core.decode_gate) and big PNGs read
a band at a time (core.png_bands) -- the same pixels as Pillow's whole decode, in every PNG
colour type and row filter, at a fraction of the memory."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aesview.core import decode_gate, imaging
from tests.fault_zoo import LOADER_CHILD, png_zeros

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def banded(monkeypatch):
    """Every PNG takes the banded path, in bands of a few rows."""
    monkeypatch.setattr(imaging, "BANDED_MIN_BYTES", 0)
    monkeypatch.setattr(imaging, "BAND_PIXELS", 3000)


def _whole(path, max_side, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(imaging, "BANDED_MIN_BYTES", 1 << 62)
        return imaging.load_image(path, max_side=max_side)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _filtered_png(path: Path, a: np.ndarray, colour_type: int) -> Path:
    """A PNG whose rows use every filter type in turn (0 None .. 4 Paeth), written by hand:
    Pillow's own encoder picks one filter for nearly every row."""
    h = a.shape[0]
    rows = a.reshape(h, -1).astype(np.int16)
    bpp = a.shape[2] if a.ndim == 3 else 1
    out = bytearray()
    prev = np.zeros_like(rows[0])
    for y in range(h):
        x = rows[y]
        left = np.concatenate([np.zeros(bpp, np.int16), x[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
        kind = y % 5
        if kind == 0:
            pred = np.zeros_like(x)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = prev
        elif kind == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        out += bytes([kind]) + ((x - pred) % 256).astype(np.uint8).tobytes()
        prev = x
    ihdr = struct.pack(">IIBBBBB", a.shape[1], h, 8, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                     + _chunk(b"IDAT", zlib.compress(bytes(out))) + _chunk(b"IEND", b""))
    return path


def _photo(w=203, h=151) -> np.ndarray:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1)
    return np.clip(base + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _images(tmp_path: Path) -> dict[str, Path]:
    a = _photo()
    alpha = (np.arange(a.shape[1]) * 255 // a.shape[1]).astype(np.uint8)[None, :].repeat(a.shape[0], 0)
    rgba = np.dstack([a, alpha])
    grey = a[..., 1]
    files = {
        "rgb-filters": _filtered_png(tmp_path / "rgbf.png", a, 2),
        "rgba-filters": _filtered_png(tmp_path / "rgbaf.png", rgba, 6),
        "grey-filters": _filtered_png(tmp_path / "lf.png", grey[..., None], 0),
        "la-filters": _filtered_png(tmp_path / "laf.png", np.dstack([grey, alpha]), 4),
    }
    pil = Image.fromarray(a)
    for name, im in {"I;16": Image.fromarray(grey.astype(np.uint16) * 257),
                     "P+transparency": pil.quantize(60), "1": pil.convert("1")}.items():
        p = tmp_path / f"{name.replace(';', '').replace('+', '-')}.png"
        im.save(p, transparency=5) if name.startswith("P") else im.save(p)
        files[name] = p
    return files


@pytest.mark.parametrize("max_side", [None, 100, 25])
def test_banded_png_gives_pillows_pixels(tmp_path, monkeypatch, banded, max_side):
    for name, path in _images(tmp_path).items():
        got = imaging.load_image(path, max_side=max_side)
        want = _whole(path, max_side, monkeypatch)
        assert got.image.size == want.image.size and got.size == want.size, name
        assert np.array_equal(np.asarray(got.image), np.asarray(want.image)), name


def test_banded_png_orientation_from_an_exif_chunk_after_the_pixels(tmp_path, monkeypatch, banded):
    exif = Image.Exif()
    exif[imaging.ORIENTATION_TAG] = 6
    data = bytearray()
    src = tmp_path / "src.png"
    Image.fromarray(_photo(120, 80)).save(src)
    raw = src.read_bytes()
    iend = raw.rindex(b"IEND") - 4
    body = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes()
    data += raw[:iend] + _chunk(b"eXIf", body) + raw[iend:]
    path = tmp_path / "turned.png"
    path.write_bytes(bytes(data))
    got = imaging.load_image(path)
    want = _whole(path, None, monkeypatch)
    assert got.image.size == want.image.size == (80, 120)     # turned upright, as Pillow's
    assert np.array_equal(np.asarray(got.image), np.asarray(want.image))


def test_banded_png_truncated_is_reported_as_damaged(tmp_path, banded):
    path = tmp_path / "cut.png"
    Image.fromarray(_photo(400, 300)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(imaging.ImageLoadError, match="truncated"):
        imaging.load_image(path, max_side=64)


def _peak(path: Path, op: str) -> dict:
    run = subprocess.run([sys.executable, "-c", LOADER_CHILD, str(path), op], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_thumbnail_of_a_100_mp_png_never_holds_its_frame(tmp_path):
    """400 MB as a whole decode; banded, what is held is a band and the reduced result."""
    path = png_zeros(tmp_path / "big.png", 10000, 10000, 6)
    out = _peak(path, "thumb")
    assert out["thumb"]["ok"] == [256, 256]
    print("\n100 MP RGBA PNG thumbnail peak:", out)
    assert out["peak_mb"] < 260, out           # the interpreter and numpy/PIL: ~100 MB


# ---------------------------------------------------------------------------------- the gate

def _run_threads(gate, sizes, hold=0.02):
    held_seen: list[tuple[int, int]] = []          # (held while inside, own size)
    lock = threading.Lock()

    def work(n):
        with gate.reserve(n):
            with lock:
                held_seen.append((gate.held(), n))
            time.sleep(hold)

    threads = [threading.Thread(target=work, args=(n,)) for n in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a reservation never got in"
    return held_seen


def test_gate_keeps_the_sum_within_its_budget_whatever_the_thread_count():
    gate = decode_gate.DecodeGate(100)
    seen = _run_threads(gate, [40, 30, 60, 10, 90, 50, 20, 70] * 3)
    assert len(seen) == 24
    assert gate.peak_held <= 100
    assert all(held <= 100 for held, _ in seen)
    assert gate.held() == 0


def test_gate_lets_a_decode_bigger_than_the_budget_run_alone():
    gate = decode_gate.DecodeGate(100)
    seen = _run_threads(gate, [30, 250, 30, 30, 250])
    assert all(held == n for held, n in seen if n == 250)       # nothing else held meanwhile
    assert gate.held() == 0


def test_gate_nested_reservation_on_one_thread_does_not_wait_for_itself():
    gate = decode_gate.DecodeGate(100)
    done = threading.Event()

    def work():
        with gate.reserve(90):
            with gate.reserve(90):         # a RAW file's embedded JPEG, inside its own decode
                done.set()

    t = threading.Thread(target=work)
    t.start()
    t.join(5)
    assert done.is_set() and gate.held() == 0


def test_gate_serves_first_come_first_served():
    """A big reservation waiting for room is not overtaken by small ones that would fit."""
    gate = decode_gate.DecodeGate(100)
    order: list[str] = []
    first = threading.Event()
    release = threading.Event()

    def holder():
        with gate.reserve(60):
            first.set()
            release.wait(5)

    def take(name, n):
        with gate.reserve(n):
            order.append(name)

    h = threading.Thread(target=holder)
    h.start()
    first.wait(5)
    big = threading.Thread(target=take, args=("big", 80))
    big.start()
    time.sleep(0.1)
    small = threading.Thread(target=take, args=("small", 10))
    small.start()
    time.sleep(0.1)
    assert order == []                      # the small one would fit, but the big one is first
    release.set()
    for t in (h, big, small):
        t.join(5)
    assert order == ["big", "small"]


def test_loader_threads_go_through_the_gate(tmp_path, monkeypatch):
    """Four threads loading four big PNGs at once never hold more than the gate's budget."""
    gate = decode_gate.DecodeGate(40 * 2**20)
    monkeypatch.setattr(decode_gate, "GATE", gate)
    paths = [png_zeros(tmp_path / f"b{i}.png", 3000, 2500, 6) for i in range(4)]
    errors: list[BaseException] = []

    def load(p):
        try:
            imaging.load_image(p, max_side=500)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=load, args=(p,), name=f"loader-{i}")
               for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert gate.peak_held <= gate.budget
    assert gate.threads() == {f"loader-{i}" for i in range(4)}


def test_banded_png_orientation_from_xmp_or_imagemagick_text(tmp_path, monkeypatch, banded):
    """Pillow also reads the orientation from XMP and from ImageMagick's "Raw profile type exif"
    text; the banded path turns those photos upright too."""
    from PIL import PngImagePlugin
    exif = Image.Exif()
    exif[imaging.ORIENTATION_TAG] = 6
    raw = exif.tobytes()
    xmp = PngImagePlugin.PngInfo()
    xmp.add_itxt("XML:com.adobe.xmp",
                 '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
                 '1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/'
                 'tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    text = PngImagePlugin.PngInfo()
    text.add_text("Raw profile type exif", f"\nexif\n{len(raw):8d}\n" + raw.hex())
    for name, pnginfo in {"xmp": xmp, "text": text}.items():
        path = tmp_path / f"{name}.png"
        Image.fromarray(_photo(120, 80)).save(path, pnginfo=pnginfo)
        got = imaging.load_image(path, max_side=60)
        want = _whole(path, 60, monkeypatch)
        assert got.image.size == want.image.size == (40, 60), name
        assert got.size == want.size == (80, 120), name
        assert np.array_equal(np.asarray(got.image), np.asarray(want.image)), name
