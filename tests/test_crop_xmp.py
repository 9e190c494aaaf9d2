"""Crop in XMP: exiftool reads back Camera Raw crop values that map to the same pixel box, for
every EXIF orientation; other tags survive; the photo is untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageOps

from aesview.core.crop_xmp import read_crop, write_crop
from aesview.core.culling import Flag
from aesview.core.xmp import DecisionChange, update_sidecar

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")


def _coded_photo(path, orientation, size=(240, 160)):
    """A stored image whose pixel (x, y) holds R = x, G = y, saved with an EXIF orientation."""
    w, h = size
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    arr = np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(path, exif=exif.tobytes())   # PNG: lossless, keeps the codes
    return path


def _exiftool_crop(sidecar):
    out = subprocess.run([EXIFTOOL, "-j", "-n", "-XMP-crs:all", "-XMP-tiff:all", str(sidecar)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


@needs_exiftool
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exiftool_reads_the_crop_as_the_same_pixels(tmp_path, orientation):
    photo = _coded_photo(tmp_path / "p.png", orientation)
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    upright = ImageOps.exif_transpose(Image.open(photo))      # PIL as the outside judge
    uw, uh = upright.size
    box = (round(0.1 * uw), round(0.25 * uh), round(0.6 * uw), round(0.9 * uh))
    sidecar = write_crop(photo, box)
    assert sidecar.name == "p.xmp"
    tags = _exiftool_crop(sidecar)
    assert tags["HasCrop"] in (True, 1, "True") and tags["CropAngle"] == 0
    height = tags.get("ImageHeight", tags.get("ImageLength"))    # exiftool's name for ImageLength
    assert (tags["ImageWidth"], height, tags["Orientation"]) == (240, 160, orientation)
    # the stored pixels at the crop's upright corners carry their own stored coordinates
    a = np.asarray(upright)
    corners = [a[box[1], box[0]], a[box[3] - 1, box[2] - 1]]
    xs = sorted(int(c[0]) for c in corners)
    ys = sorted(int(c[1]) for c in corners)
    assert abs(tags["CropLeft"] * 240 - xs[0]) <= 1 and abs(tags["CropRight"] * 240 - (xs[1] + 1)) <= 1
    assert abs(tags["CropTop"] * 160 - ys[0]) <= 1 and abs(tags["CropBottom"] * 160 - (ys[1] + 1)) <= 1
    assert read_crop(photo) == box
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before


@needs_exiftool
def test_crop_keeps_other_tags_and_rewrites_in_place(tmp_path):
    photo = tmp_path / "IMG_1.jpg"
    Image.new("RGB", (640, 480), "gray").save(photo)
    update_sidecar(photo, DecisionChange(Flag.PICK, 4), style="basename")
    write_crop(photo, (0, 0, 384, 480))
    write_crop(photo, (100, 0, 484, 480))                    # a second crop replaces the first
    tags = json.loads(subprocess.run([EXIFTOOL, "-j", "-n", "-XMP:all", str(tmp_path / "IMG_1.xmp")],
                                     capture_output=True, text=True, check=True).stdout)[0]
    assert tags["Rating"] == 4 and tags["Label"] == "Green"
    assert tags["CropLeft"] == pytest.approx(100 / 640, abs=1e-6)
    assert tags["CropRight"] == pytest.approx(484 / 640, abs=1e-6)
    assert read_crop(photo) == (100, 0, 484, 480)
    assert not (tmp_path / "IMG_1.jpg.xmp").exists()


def test_bad_box_and_unreadable_sidecar_write_nothing(tmp_path):
    from aesview.core.xmp import SidecarError
    photo = tmp_path / "a.jpg"
    Image.new("RGB", (100, 80)).save(photo)
    with pytest.raises(ValueError):
        write_crop(photo, (0, 0, 101, 80))
    assert not (tmp_path / "a.xmp").exists()
    (tmp_path / "a.xmp").write_text("<not xml")
    with pytest.raises(SidecarError):
        write_crop(photo, (0, 0, 50, 40))
    assert (tmp_path / "a.xmp").read_text() == "<not xml"
    assert read_crop(tmp_path / "nothing.jpg") is None
