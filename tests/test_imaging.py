"""The loader on real files: every EXIF orientation, colour modes, ICC, HEIF, DNG, bad files."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aesview.core.imaging import (
    MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    ImageLoadError,
    list_images,
    load_image,
    load_original,
    load_thumbnail,
)
from aesview.paths import samples_dir

# What each EXIF orientation asks a viewer to do with the stored pixels (EXIF 2.32, 4.6.4).
DISPLAY = {
    1: lambda s: s,
    2: lambda s: s[:, ::-1],
    3: lambda s: s[::-1, ::-1],
    4: lambda s: s[::-1],
    5: lambda s: s.transpose(1, 0, 2),
    6: lambda s: np.rot90(s, -1),
    7: lambda s: np.rot90(s, 2).transpose(1, 0, 2),
    8: lambda s: np.rot90(s, 1),
}


def _save(arr, path, orientation=1, **kw):
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    Image.fromarray(arr).save(path, exif=exif.tobytes(), **kw)
    return path


def _closest_orientation(got: np.ndarray, stored: np.ndarray) -> list[tuple[float, int]]:
    out = []
    for o, f in DISPLAY.items():
        want = f(stored)
        if want.shape != got.shape:
            want = np.asarray(Image.fromarray(np.ascontiguousarray(want)).resize(
                (got.shape[1], got.shape[0]), Image.BILINEAR))
        out.append((float(np.abs(got.astype(int) - want.astype(int)).mean()), o))
    return sorted(out)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(tmp_path, make_pattern, orientation):
    stored = make_pattern(96, 64)
    path = _save(stored, tmp_path / f"o{orientation}.jpg", orientation, quality=95)
    photo = load_image(path)
    got = np.asarray(photo.image)
    assert photo.image.mode == "RGB"
    upright = (64, 96) if orientation >= 5 else (96, 64)
    assert photo.size == (got.shape[1], got.shape[0]) == upright
    ranking = _closest_orientation(got, stored)
    assert ranking[0][1] == orientation and ranking[0][0] < 3 and ranking[1][0] > 20, ranking


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_after_reduced_decode(tmp_path, make_pattern, orientation):
    stored = make_pattern(1200, 800)
    path = _save(stored, tmp_path / "big.jpg", orientation, quality=92)
    photo = load_image(path, max_side=200)
    w, h = photo.image.size
    assert 200 <= max(w, h) < 400          # libjpeg 1/4 decode: 300 x 200
    assert photo.size == ((800, 1200) if orientation in (6, 8) else (1200, 800))
    ranking = _closest_orientation(np.asarray(photo.image), stored)
    assert ranking[0][1] == orientation and ranking[1][0] > 20, ranking


def test_max_side_bounds_and_full_size(tmp_path, make_pattern):
    arr = make_pattern(1000, 700)
    for ext in ("jpg", "png", "webp", "bmp", "tiff"):
        path = tmp_path / f"p.{ext}"
        Image.fromarray(arr).save(path)
        for max_side in (120, 320, 999):
            photo = load_image(path, max_side=max_side)
            assert max_side <= max(photo.image.size) < 2 * max_side, (ext, max_side)
            assert photo.size == (1000, 700)
        assert load_image(path, max_side=4000).image.size == (1000, 700)   # never enlarged
        assert load_image(path).format == {"jpg": "JPEG", "tiff": "TIFF"}.get(ext, ext.upper())


def test_real_sample_photo_draft_matches_full_decode():
    path = samples_dir() / "picos-de-europa.jpg"
    full = load_image(path)
    small = load_image(path, max_side=320)
    assert full.size == small.size == full.image.size == (1600, 1200)
    assert small.image.size == (400, 300)
    ref = full.image.resize(small.image.size, Image.BOX)
    assert np.abs(np.asarray(ref, int) - np.asarray(small.image, int)).mean() < 4


def test_rotated_sample_displays_upright():
    photo = load_image(samples_dir() / "wine-and-drum.jpg")
    with Image.open(samples_dir() / "wine-and-drum.jpg") as raw:
        assert raw.size == (1600, 1067) and raw.getexif()[0x0112] == 6
    assert photo.size == photo.image.size == (1067, 1600)


def test_cmyk_jpeg(tmp_path):
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :20] = (220, 30, 30)
    rgb[:, 20:40] = (30, 200, 40)
    rgb[:, 40:] = (20, 40, 210)
    src = tmp_path / "rgb.png"
    Image.fromarray(rgb).save(src)
    for made_by in ("pil", "imagemagick"):   # PIL writes plain CMYK, ImageMagick Adobe-inverted
        dst = tmp_path / f"cmyk-{made_by}.jpg"
        if made_by == "pil":
            Image.fromarray(rgb).convert("CMYK").save(dst, quality=95)
        else:
            subprocess.run(["convert", str(src), "-colorspace", "CMYK", "-quality", "95", str(dst)],
                           check=True)
        with Image.open(dst) as im:
            assert im.mode == "CMYK"
        got = np.asarray(load_image(dst).image, int)
        for x0, colour in ((0, (220, 30, 30)), (20, (30, 200, 40)), (40, (20, 40, 210))):
            patch = got[10:30, x0 + 5:x0 + 15].reshape(-1, 3).mean(0)
            assert np.abs(patch - colour).max() < 25, (made_by, patch, colour)


def test_16bit_greyscale_png_and_tiff(tmp_path):
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)[None, :].repeat(8, 0)
    want = np.round(ramp.astype(float) * 255 / 65535)
    for ext in ("png", "tiff"):
        path = tmp_path / f"g16.{ext}"
        Image.fromarray(ramp).save(path)
        with Image.open(path) as im:
            assert im.mode.startswith("I")
        got = np.asarray(load_image(path).image, int)
        assert (got[..., 0] == got[..., 1]).all() and (got[..., 1] == got[..., 2]).all()
        assert np.abs(got[..., 0] - want).max() <= 1


def test_48bit_rgb_tiff(tmp_path):
    path = tmp_path / "rgb48.tif"
    subprocess.run(["convert", "-size", "64x32", "gradient:red-blue", "-depth", "16", str(path)],
                   check=True)
    out = subprocess.run(["exiftool", "-s3", "-BitsPerSample", str(path)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["16", "16", "16"]
    got = np.asarray(load_image(path).image, int)
    assert got.shape == (32, 64, 3)
    assert np.abs(got[0, 0] - (255, 0, 0)).max() <= 1
    assert np.abs(got[-1, 0] - (0, 0, 255)).max() <= 1


def test_float_tiff(tmp_path):
    a = np.linspace(0, 1, 50, dtype=np.float32)[None, :].repeat(4, 0)
    Image.fromarray(a, "F").save(tmp_path / "f.tif")
    got = np.asarray(load_image(tmp_path / "f.tif").image, int)[..., 0]
    assert np.abs(got - np.round(a * 255)).max() <= 1


def test_palette_alpha_and_greyscale_come_out_rgb(tmp_path):
    # palette with a transparent index: transparent pixels become white
    p = Image.new("P", (20, 10), 1)
    p.putpalette([0, 0, 0, 200, 20, 20] + [0] * 762)
    p.paste(0, (0, 0, 10, 10))
    p.save(tmp_path / "pal.png", transparency=0)
    got = np.asarray(load_image(tmp_path / "pal.png").image)
    assert (got[:, :10] == 255).all() and (got[:, 10:] == (200, 20, 20)).all()

    # RGBA: transparent -> white, half-transparent red -> pink, opaque untouched
    rgba = np.zeros((10, 30, 4), np.uint8)
    rgba[:, :, 0] = 255
    rgba[:, 10:20, 3] = 128
    rgba[:, 20:, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    got = np.asarray(load_image(tmp_path / "rgba.png").image, int)
    assert (got[:, :10] == 255).all()
    assert np.abs(got[5, 15] - (255, 127, 127)).max() <= 1
    assert (got[:, 20:] == (255, 0, 0)).all()

    # LA and L
    la = np.zeros((10, 20, 2), np.uint8)
    la[..., 0] = 40
    la[:, 10:, 1] = 255
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    got = np.asarray(load_image(tmp_path / "la.png").image)
    assert (got[:, :10] == 255).all() and (got[:, 10:] == 40).all()
    Image.fromarray(np.full((10, 10), 77, np.uint8)).save(tmp_path / "l.jpg", quality=100)
    got = load_image(tmp_path / "l.jpg").image
    assert got.mode == "RGB" and np.abs(np.asarray(got, int) - 77).max() <= 1


def _adobe_to_srgb(rgb):
    """Textbook Adobe RGB (1998) -> sRGB, D65 matrices, no colour library involved."""
    adobe = np.array([[0.5767309, 0.1855540, 0.1881852], [0.2973769, 0.6273491, 0.0752741],
                      [0.0270343, 0.0706872, 0.9911085]])
    srgb = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                     [0.0193339, 0.1191920, 0.9503041]])
    s = np.clip(np.linalg.solve(srgb, adobe @ ((np.array(rgb) / 255) ** (563 / 256))), 0, 1)
    return 255 * np.where(s <= 0.0031308, 12.92 * s, 1.055 * s ** (1 / 2.4) - 0.055)


def test_icc_profile_converted_to_srgb(tmp_path, wide_gamut_icc):
    colours = [(128, 128, 128), (60, 160, 60), (200, 60, 40), (40, 80, 200)]
    arr = np.array(colours, np.uint8).repeat(8, 0).reshape(1, -1, 3).repeat(8, 0)
    Image.fromarray(arr).save(tmp_path / "wide.png", icc_profile=wide_gamut_icc)
    Image.fromarray(arr).save(tmp_path / "plain.png")
    photo = load_image(tmp_path / "wide.png")
    assert photo.icc == wide_gamut_icc
    got = np.asarray(photo.image, float)[4, 4::8]
    for g, c in zip(got, colours):
        assert np.abs(g - _adobe_to_srgb(c)).max() <= 2, (g, c)
    assert np.abs(got[2] - colours[2]).max() > 20           # the conversion really happened
    assert (np.asarray(load_image(tmp_path / "plain.png").image) == arr).all()   # untagged: as is


def test_icc_sRGB_profile_and_broken_profile_leave_pixels(tmp_path, make_pattern):
    from PIL import ImageCms
    arr = make_pattern(40, 30)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(arr).save(tmp_path / "s.png", icc_profile=srgb)
    Image.fromarray(arr).save(tmp_path / "b.png", icc_profile=b"not a profile at all")
    for name in ("s.png", "b.png"):
        assert (np.asarray(load_image(tmp_path / name).image) == arr).all()


def test_heic_round_trip(tmp_path, make_pattern):
    import pillow_heif
    arr = make_pattern(128, 96)
    heif = pillow_heif.from_pillow(Image.fromarray(arr))
    exif = Image.Exif()
    exif[0x013B] = "aesview test"
    heif.save(tmp_path / "p.heic", quality=95, exif=exif.tobytes())
    photo = load_image(tmp_path / "p.heic")
    assert photo.format == "HEIF" and photo.size == (128, 96)
    assert np.abs(np.asarray(photo.image, int) - arr.astype(int)).mean() < 4
    assert b"aesview test" in photo.exif
    small = load_image(tmp_path / "p.heic", max_side=40)
    assert 40 <= max(small.image.size) < 80 and small.size == (128, 96)


def test_heic_orientation(tmp_path, make_pattern):
    # pillow-heif turns EXIF orientation into the HEIF rotation; reading applies it once.
    stored = make_pattern(96, 64)
    exif = Image.Exif()
    exif[0x0112] = 6
    import pillow_heif
    pillow_heif.register_heif_opener()
    Image.fromarray(stored).save(tmp_path / "r.heic", quality=95, exif=exif.tobytes())
    photo = load_image(tmp_path / "r.heic")
    assert photo.size == (64, 96)
    assert _closest_orientation(np.asarray(photo.image), stored)[0][1] == 6


# ---------------------------------------------------------------------------------------- RAW

def _ifd(buf: bytearray, entries) -> int:
    """Append a little-endian TIFF IFD (entries: (tag, type, values)); return its offset."""
    fmt = {1: "B", 3: "H", 4: "I", 5: "I", 10: "i"}
    if len(buf) % 2:
        buf += b"\0"
    at = len(buf)
    extra_at = at + 2 + 12 * len(entries) + 4
    body, extra = bytearray(struct.pack("<H", len(entries))), bytearray()
    for tag, typ, vals in sorted(entries):
        if typ == 2:
            data, count = vals.encode() + b"\0", len(vals) + 1
        else:
            flat = [v for pair in vals for v in pair] if typ in (5, 10) else list(vals)
            data, count = struct.pack("<" + fmt[typ] * len(flat), *flat), len(vals)
        if len(data) <= 4:
            body += struct.pack("<HHI", tag, typ, count) + data.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, typ, count, extra_at + len(extra))
            extra += data + b"\0" * (len(data) % 2)
    buf += body + struct.pack("<I", 0) + extra
    return at


def make_dng(path, w=64, h=48, preview: Image.Image | None = None, orientation: int = 1):
    """A small but genuine DNG 1.4: 16-bit RGGB mosaic (red sites bright), optionally with a
    JPEG preview in IFD0 and the mosaic in a SubIFD, the way cameras and converters lay it out."""
    cfa = np.full((h, w), 1000, np.uint16)
    cfa[0::2, 0::2] = 3000
    buf = bytearray(b"II*\0\0\0\0\0")
    raw_at = len(buf)
    buf += cfa.tobytes()
    common = [(50706, 1, [1, 4, 0, 0]), (50708, 2, "aesview test camera"), (271, 2, "aesview"),
              (272, 2, "test"), (274, 3, [orientation]), (50778, 3, [21]),
              (50721, 10, [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]),
              (50728, 5, [(1, 1), (1, 1), (1, 1)])]
    mosaic = [(254, 4, [0]), (256, 4, [w]), (257, 4, [h]), (258, 3, [16]), (259, 3, [1]),
              (262, 3, [32803]), (273, 4, [raw_at]), (277, 3, [1]), (278, 4, [h]),
              (279, 4, [cfa.nbytes]), (284, 3, [1]), (33421, 3, [2, 2]), (33422, 1, [0, 1, 1, 2]),
              (50717, 4, [4095])]
    if preview is None:
        first = _ifd(buf, mosaic + common)
    else:
        jpg = io.BytesIO()
        preview.save(jpg, "JPEG", quality=95)
        jpg_at = len(buf)
        buf += jpg.getvalue()
        sub = _ifd(buf, mosaic)
        pw, ph = preview.size
        first = _ifd(buf, [(254, 4, [1]), (256, 4, [pw]), (257, 4, [ph]), (258, 3, [8, 8, 8]),
                           (259, 3, [7]), (262, 3, [6]), (273, 4, [jpg_at]), (277, 3, [3]),
                           (278, 4, [ph]), (279, 4, [len(jpg.getvalue())]), (330, 4, [sub])]
                     + common)
    struct.pack_into("<I", buf, 4, first)
    path.write_bytes(bytes(buf))
    return path


def test_dng_without_preview_is_demosaiced(tmp_path):
    path = make_dng(tmp_path / "nopreview.dng")
    full = load_image(path)
    assert full.format == "RAW" and full.size == full.image.size == (64, 48)
    r, g, b = np.asarray(full.image, float).reshape(-1, 3).mean(0)
    assert r > g + 50 and r > b + 50                       # the bright red sites came through
    half = load_image(path, max_side=32)
    assert half.image.size == (32, 24) and half.size == (64, 48)


def test_dng_preview_is_used_and_oriented(tmp_path, make_pattern):
    preview = Image.fromarray(make_pattern(64, 48))
    path = make_dng(tmp_path / "preview.dng", preview=preview, orientation=6)
    photo = load_image(path, max_side=40)
    assert photo.size == (48, 64)                           # the mosaic's size, turned
    got = np.asarray(photo.image)
    assert got.shape == (64, 48, 3)
    ranking = _closest_orientation(got, np.asarray(preview))
    assert ranking[0][1] == 6 and ranking[0][0] < 4, ranking   # the preview, not the red mosaic
    # asked for more than the sensor has: the full-size preview still serves
    assert _closest_orientation(np.asarray(load_image(path, max_side=1000).image),
                                np.asarray(preview))[0][1] == 6
    # full resolution (exports) comes from the mosaic itself, turned the same way
    full = load_image(path)
    assert full.size == full.image.size == (48, 64)
    r, g, b = np.asarray(full.image, float).reshape(-1, 3).mean(0)
    assert r > g + 50 and r > b + 50


def test_not_a_raw_file(tmp_path):
    (tmp_path / "fake.nef").write_bytes(b"this is no camera file" * 50)
    with pytest.raises(ImageLoadError, match="RAW"):
        load_image(tmp_path / "fake.nef")


# ------------------------------------------------------------------------------------ bad files

def test_truncated_jpeg(tmp_path):
    data = (samples_dir() / "coffee.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated") as e:
        load_image(tmp_path / "cut.jpg")
    assert e.value.path.name == "cut.jpg" and "cut.jpg" in str(e.value)
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(tmp_path / "cut.jpg", max_side=100)


def test_empty_and_non_image_files(tmp_path):
    (tmp_path / "zero.jpg").write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(tmp_path / "zero.jpg")
    (tmp_path / "notes.jpg").write_text("shopping list: film, batteries\n")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_image(tmp_path / "notes.jpg")
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "missing.jpg")


def _png_header_only(path, w, h):
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused_quietly(tmp_path):
    _png_header_only(tmp_path / "bomb.png", 50_000, 50_000)          # 2500 MP claimed
    _png_header_only(tmp_path / "bigish.png", 15_000, 14_000)        # 210 MP: just over our limit
    assert 15_000 * 14_000 > MAX_PIXELS
    for name in ("bomb.png", "bigish.png"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")                           # python -W error
            with pytest.raises(ImageLoadError, match="too large"):
                load_image(tmp_path / name)
    # As the app runs (pytest wraps tests in its own warning filters, so a fresh interpreter):
    # each file refused with our message, and nothing printed however often it is tried.
    code = ("import sys\nfrom aesview.core.imaging import load_image, ImageLoadError\n"
            "for _ in range(3):\n    for p in sys.argv[1:]:\n        try:\n"
            "            load_image(p)\n        except ImageLoadError as e:\n"
            "            print(e.reason)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bomb.png"),
                           str(tmp_path / "bigish.png")], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.count("too large to open safely") == 6


def test_unreadable_file(tmp_path):
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(folder)
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 cannot stop root from reading")
    path = tmp_path / "locked.jpg"
    path.write_bytes((samples_dir() / "coffee.jpg").read_bytes())
    path.chmod(0)
    try:
        with pytest.raises(ImageLoadError, match="permission"):
            load_image(path)
    finally:
        path.chmod(0o644)


# ----------------------------------------------------------------------------- listing, thumbs

def test_list_images(tmp_path, make_pattern):
    names = ["IMG_10.jpg", "IMG_9.JPG", "a.png", "b.heic", "c.dng", "notes.txt", "a.png.xmp",
             "a.xmp", ".hidden.jpg", "._IMG_9.JPG"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.jpg").write_bytes(b"x")
    (tmp_path / ".trash").mkdir()
    (tmp_path / ".trash" / "e.jpg").write_bytes(b"x")
    (tmp_path / "dir.jpg").mkdir()
    flat = [p.name for p in list_images(tmp_path)]
    assert flat == ["a.png", "b.heic", "c.dng", "IMG_9.JPG", "IMG_10.jpg"]
    deep = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert deep == flat + ["sub/d.jpg"]
    assert {".jpg", ".png", ".tif", ".webp", ".bmp", ".heic", ".cr2", ".cr3", ".nef", ".arw",
            ".dng", ".raf", ".orf", ".rw2", ".pef", ".srw"} <= SUPPORTED_EXTENSIONS
    with pytest.raises(NotADirectoryError):
        list_images(tmp_path / "a.png")


def test_samples_folder_lists_the_shoot():
    found = list_images(samples_dir())
    assert len(found) >= 15
    listed = (samples_dir() / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for p in found:
        assert f"| {p.name} |" in listed


def test_thumbnail_uses_exif_thumbnail_when_big_enough(tmp_path, make_pattern):
    stored = make_pattern(400, 300)
    path = _save(stored, tmp_path / "t.jpg", 6, quality=90)
    marker = tmp_path / "marker.jpg"
    Image.new("RGB", (160, 120), (0, 200, 0)).save(marker)   # same shape as the photo, all green
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-ThumbnailImage<={marker}",
                    str(path)], check=True)
    small = load_thumbnail(path, 100)
    assert small.size == (75, 100)                           # oriented: portrait
    assert np.abs(np.asarray(small, int) - (0, 200, 0)).max() < 10     # from the EXIF thumbnail
    big = load_thumbnail(path, 200)                          # bigger than the embedded one
    assert big.size == (150, 200)
    ranking = _closest_orientation(np.asarray(big), stored)
    assert ranking[0][1] == 6


def test_thumbnail_without_exif_thumbnail(tmp_path, make_pattern):
    Image.fromarray(make_pattern(300, 200)).save(tmp_path / "p.png")
    assert load_thumbnail(tmp_path / "p.png", 64).size == (64, 43)
    assert load_thumbnail(tmp_path / "p.png", (50, 50)).size == (50, 33)
    with pytest.raises(ImageLoadError):
        load_thumbnail(tmp_path / "missing.png", 64)


# ------------------------------------------------------------------ memory bounds (issue 13)

def test_decode_budget_refuses_then_a_raised_budget_decodes(tmp_path):
    from aesview.core.imaging import pixel_budget, set_pixel_budget

    from .fault_zoo import png_zeros
    big = png_zeros(tmp_path / "big.png", 4000, 3000)                # 12 MP, 36 MB decoded
    try:
        set_pixel_budget(8)
        with pytest.raises(ImageLoadError, match="AESVIEW_MAX_MEGAPIXELS"):
            load_image(big, max_side=320)
        with pytest.raises(ImageLoadError, match="decode budget"):
            load_original(big)
        set_pixel_budget(16)
        assert pixel_budget() == 16
        assert max(load_image(big, max_side=320).image.size) < 640
    finally:
        set_pixel_budget(None)


def test_jpeg_whose_data_ends_early_is_damaged_not_grey(tmp_path):
    from .fault_zoo import jpeg_claiming
    liar = jpeg_claiming(tmp_path / "liar.jpg", 14000, 14000)
    assert liar.stat().st_size < 1500
    for call in (lambda: load_image(liar, max_side=320), lambda: load_thumbnail(liar, 160)):
        with pytest.raises(ImageLoadError, match="truncated or damaged"):
            call()
    # A genuinely flat grey frame (small, grey to the last row) is a photo, not damage.
    flat = tmp_path / "flat.jpg"
    Image.new("RGB", (2000, 1500), (128, 128, 128)).save(flat, quality=50)
    assert load_image(flat, max_side=320).size == (2000, 1500)


def test_float_and_16bit_conversion_by_strips_matches_whole_frame(tmp_path, monkeypatch):
    import aesview.core.imaging as imaging
    rng = np.random.default_rng(3)
    f = Image.fromarray(rng.random((301, 203)).astype(np.float32), "F")
    i16 = Image.fromarray(rng.integers(0, 65535, (301, 203)).astype(np.uint16))
    whole = [np.asarray(imaging.to_8bit(im)) for im in (f, i16)]
    monkeypatch.setattr(imaging, "_STRIP_PIXELS", 1000)               # ~5 rows per strip
    strips = [np.asarray(imaging.to_8bit(im)) for im in (f, i16)]
    for a, b in zip(whole, strips):
        np.testing.assert_array_equal(a, b)
    assert whole[0].max() > 200                                       # 0..1 floats scaled up


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageLoadError, match="not a regular file"):
        load_image(fifo)
    with pytest.raises(ImageLoadError, match="not a regular file"):
        load_original(fifo)


def test_alpha_reduce_by_strips_matches_pil(monkeypatch):
    import aesview.core.imaging as imaging
    rng = np.random.default_rng(5)
    for mode, bands in (("RGBA", 4), ("LA", 2)):
        im = Image.fromarray(rng.integers(0, 256, (403, 517, bands)).astype(np.uint8), mode)
        want = np.asarray(im.reduce(5))
        monkeypatch.setattr(imaging, "_STRIP_PIXELS", 5000)           # strips of 5 rows
        got = np.asarray(imaging._reduce(im, 100))
        monkeypatch.undo()
        np.testing.assert_array_equal(got, want)
