"""Crop export and atomic writes, judged from outside by exiftool and by re-reading pixels."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageOps

from aesview.core.atomic import atomic_write_bytes, atomic_write_text, atomic_writer, unique_path
from aesview.core.export import export_crop
from aesview.core.imaging import load_image
from aesview.paths import samples_dir


def exiftool(path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-a", "-G1", "-n", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)[0]


def sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def tagged_jpeg(tmp_path, make_pattern, wide_gamut_icc):
    """A 300x200 JPEG stored on its side (Orientation 6) with EXIF, GPS, an EXIF thumbnail and
    a wide-gamut ICC profile, as a camera set to Adobe RGB would write it."""
    path = tmp_path / "src" / "IMG_0001.jpg"
    path.parent.mkdir()
    Image.fromarray(make_pattern(300, 200)).save(path, quality=95, icc_profile=wide_gamut_icc)
    thumb = tmp_path / "thumb.jpg"
    Image.new("RGB", (160, 107), "gray").save(thumb)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Orientation#=6",
                    "-Artist=A. Photographer", "-Copyright=CC-BY-4.0",
                    "-DateTimeOriginal=2024:05:06 07:08:09", "-GPSLatitude=43.1", "-GPSLatitudeRef=N",
                    "-ExifImageWidth=300", "-ExifImageHeight=200",
                    f"-ThumbnailImage<={thumb}", str(path)], check=True)
    return path


def _oriented_source(path) -> Image.Image:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert(im.mode)


def test_jpeg_export_keeps_metadata_and_profile(tmp_path, tagged_jpeg):
    before = sha(tagged_jpeg)
    box = (20, 50, 170, 250)                                   # in the upright 200x300 frame
    out = export_crop(tagged_jpeg, box, tmp_path / "crop.jpg", quality=95)
    tags = exiftool(out)
    assert tags["IFD0:Artist"] == "A. Photographer" and tags["IFD0:Copyright"] == "CC-BY-4.0"
    assert tags["ExifIFD:DateTimeOriginal"] == "2024:05:06 07:08:09"
    assert tags["GPS:GPSLatitude"] == pytest.approx(43.1)
    assert tags.get("IFD0:Orientation", 1) == 1
    assert (tags["ExifIFD:ExifImageWidth"], tags["ExifIFD:ExifImageHeight"]) == (150, 200)
    assert tags["ICC-header:ColorSpaceData"] == "RGB "
    assert tags["ICC_Profile:ProfileDescription"] == "Wide gamut test RGB"
    assert "IFD1:ThumbnailImage" not in tags and "IFD1:ThumbnailLength" not in tags
    assert (tags["File:ImageWidth"], tags["File:ImageHeight"]) == (150, 200)
    want = np.asarray(_oriented_source(tagged_jpeg).crop(box), int)
    got = np.asarray(Image.open(out), int)                   # raw values: the profile still applies
    assert np.abs(got - want).mean() < 2.5
    assert sha(tagged_jpeg) == before


def test_png_export_is_pixel_exact_and_tiff_keeps_tags(tmp_path, tagged_jpeg):
    before = sha(tagged_jpeg)
    box = (0, 0, 200, 120)
    want = np.asarray(_oriented_source(tagged_jpeg).crop(box))
    for name in ("crop.png", "crop.tif"):
        out = export_crop(tagged_jpeg, box, tmp_path / name)
        assert (np.asarray(Image.open(out)) == want).all(), name
        tags = exiftool(out)
        assert tags["IFD0:Artist"] == "A. Photographer"
        assert tags.get("IFD0:Orientation", 1) == 1
        assert tags["ICC_Profile:ProfileDescription"] == "Wide gamut test RGB"
    assert sha(tagged_jpeg) == before


def test_never_overwrites_and_unique_path(tmp_path, tagged_jpeg):
    dst = tmp_path / "crop.jpg"
    export_crop(tagged_jpeg, (0, 0, 100, 100), dst)
    first = sha(dst)
    with pytest.raises(FileExistsError):
        export_crop(tagged_jpeg, (0, 0, 50, 50), dst)
    assert sha(dst) == first
    assert unique_path(dst) == tmp_path / "crop-1.jpg"
    export_crop(tagged_jpeg, (0, 0, 50, 50), unique_path(dst))
    assert unique_path(dst) == tmp_path / "crop-2.jpg"
    export_crop(tagged_jpeg, (0, 0, 60, 60), dst, overwrite=True)
    assert Image.open(dst).size == (60, 60)
    with pytest.raises(ValueError, match="original"):
        export_crop(tagged_jpeg, (0, 0, 60, 60), tagged_jpeg, overwrite=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["crop-1.jpg", "crop.jpg", "src", "thumb.jpg"]


def test_bad_boxes_and_formats(tmp_path, tagged_jpeg):
    for box in ((0, 0, 201, 100), (-1, 0, 10, 10), (10, 10, 10, 20), (0, 0, 100), "abcd"):
        with pytest.raises(ValueError):
            export_crop(tagged_jpeg, box, tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="format"):
        export_crop(tagged_jpeg, (0, 0, 10, 10), tmp_path / "x.gif")
    export_crop(tagged_jpeg, (0, 0, 10, 10), tmp_path / "x.out", fmt="png")
    assert Image.open(tmp_path / "x.out").format == "PNG"
    assert not list(tmp_path.glob("x.jpg")) and not list(tmp_path.glob(".*"))


def test_failed_write_leaves_nothing(tmp_path, tagged_jpeg, monkeypatch):
    def broken_save(self, fp, *a, **k):
        fp.write(b"partial data")
        raise OSError("disk full")
    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_crop(tagged_jpeg, (0, 0, 10, 10), tmp_path / "x.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src", "thumb.jpg"]


def test_modes_fit_the_output_format(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 2] = 255
    rgba[:, 10:, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "a.png")
    got = np.asarray(Image.open(export_crop(tmp_path / "a.png", (0, 0, 20, 20), tmp_path / "a.jpg",
                                            quality=100)), int)
    assert np.abs(got[5, 2] - 255).max() < 8 and np.abs(got[5, 15] - (0, 0, 255)).max() < 8

    ramp = np.linspace(0, 65535, 64).astype(np.uint16)[None].repeat(4, 0)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    out = export_crop(tmp_path / "g16.png", (8, 0, 40, 4), tmp_path / "g16-crop.png")
    assert (np.asarray(Image.open(out)) == ramp[:, 8:40]).all()     # 16-bit values kept
    out = export_crop(tmp_path / "g16.png", (8, 0, 40, 4), tmp_path / "g16-crop.jpg")
    assert Image.open(out).mode == "L"

    Image.new("CMYK", (10, 10), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    out = export_crop(tmp_path / "c.jpg", (0, 0, 10, 10), tmp_path / "c.png")
    assert Image.open(out).mode == "RGB"
    assert np.abs(np.asarray(Image.open(out), int)[5, 5] - (255, 0, 0)).max() < 12


def test_real_sample_rotated_export(tmp_path):
    src = samples_dir() / "wine-and-drum.jpg"
    before = sha(src)
    photo = load_image(src)
    assert photo.size == (1067, 1600)
    box = (100, 300, 900, 1300)
    out = export_crop(src, box, tmp_path / "wine.jpg")
    again = load_image(out)
    assert again.size == (800, 1000)
    diff = np.abs(np.asarray(again.image, int) - np.asarray(photo.image.crop(box), int)).mean()
    assert diff < 3
    tags = exiftool(out)
    assert tags["IFD0:Artist"] == "Jakub Mede, 2018" and tags.get("IFD0:Orientation", 1) == 1
    assert sha(src) == before


def test_raw_export(tmp_path):
    from tests.test_imaging import make_dng
    src = make_dng(tmp_path / "r.dng")
    out = export_crop(src, (8, 8, 40, 32), tmp_path / "r.png")
    full = np.asarray(load_image(src).image)
    assert (np.asarray(Image.open(out)) == full[8:32, 8:40]).all()


# ---------------------------------------------------------------------------------- atomic

def test_atomic_writes(tmp_path):
    p = tmp_path / "card.json"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")                               # replacing is the default
    assert p.read_text() == "two"
    with pytest.raises(FileExistsError):
        atomic_write_bytes(p, b"three", overwrite=False)
    assert p.read_text() == "two"

    umask = os.umask(0o022)
    os.umask(umask)
    fresh = atomic_write_bytes(tmp_path / "fresh.bin", b"x")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask    # not mkstemp's 0600
    p.chmod(0o640)
    atomic_write_text(p, "four")
    assert p.stat().st_mode & 0o777 == 0o640                  # a replaced file keeps its mode

    with pytest.raises(RuntimeError):
        with atomic_writer(p) as f:
            f.write(b"half")
            raise RuntimeError("interrupted")
    assert p.read_text() == "four"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["card.json", "fresh.bin"]
