"""The accepted crop inside a JPEG (core/crop_embed.py): exiftool reads the crs tags back as the
stored-image fractions of the box, the image data is untouched, and what can't take it is left
byte for byte as it was."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from PIL import Image

from aesview.core.crop_embed import embed_crop
from aesview.core.crop_xmp import stored_fractions
from aesview.core.embedded_xmp import EmbedError, jpeg_image_segments
from aesview.paths import samples_dir

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")


def test_crop_inside_a_sideways_jpeg(tmp_path):
    photo = tmp_path / "wine.jpg"
    shutil.copy(samples_dir() / "wine-and-drum.jpg", photo)     # stored sideways, Orientation 6
    before = photo.read_bytes()
    with Image.open(photo) as im:
        stored, orientation = im.size, im.getexif()[0x0112]
    assert orientation == 6
    upright = (stored[1], stored[0])
    box = (100, 200, 100 + upright[0] // 2, 200 + upright[1] // 3)
    embed_crop(photo, box)
    tags = json.loads(subprocess.run(["exiftool", "-j", "-n", "-XMP-crs:all", str(photo)],
                                     capture_output=True, text=True, check=True).stdout)[0]
    want = stored_fractions(box, upright, orientation)
    got = (tags["CropLeft"], tags["CropTop"], tags["CropRight"], tags["CropBottom"])
    assert tags["HasCrop"] is True and all(abs(a - b) < 1e-6 for a, b in zip(got, want))
    # the stored image's left edge is the upright photo's top: the box's top lands on CropLeft
    assert abs(got[0] - box[1] / upright[1]) < 1e-6
    assert jpeg_image_segments(photo.read_bytes()) == jpeg_image_segments(before)


def test_formats_that_cannot_take_it_are_left_alone(tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (40, 30), "grey").save(png)
    before = png.read_bytes()
    with pytest.raises(EmbedError):
        embed_crop(png, (0, 0, 20, 15))
    assert png.read_bytes() == before
    jpg = tmp_path / "b.jpg"
    Image.new("RGB", (40, 30), "grey").save(jpg)
    before = jpg.read_bytes()
    with pytest.raises(ValueError):
        embed_crop(jpg, (0, 0, 41, 15))                          # outside the photo
    assert jpg.read_bytes() == before
