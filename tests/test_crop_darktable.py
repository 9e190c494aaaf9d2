"""darktable as the outside judge of the crop we write: `darktable-cli` (Debian's `darktable`,
4.2) exports the photo with aesview's Camera Raw sidecar beside it, and the JPEG it writes is the
crop box we asked for — its size and its pixels, EXIF orientation included.

darktable runs its Lightroom import (src/develop/lightroom.c) by itself the first time it
develops a photo that has no darktable history, in darktable-cli as in the darkroom; a fresh
in-memory library makes every run a first time. Not installed by tools/setup.sh (hundreds of MB),
so this skips where darktable-cli is absent."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from aesview.core.crop_xmp import write_crop
from aesview.core.culling import Decision, Flag
from aesview.core.xmp import write_decision

from .photos import shared_photo

DARKTABLE_CLI = shutil.which("darktable-cli")
pytestmark = pytest.mark.skipif(
    DARKTABLE_CLI is None,
    reason="darktable-cli not installed (Debian package `darktable`; left out of tools/setup.sh as "
           "too big for CI)")

SAMPLE_ROTATED = Path(__file__).resolve().parents[1] / "resources" / "samples" / "wine-and-drum.jpg"


def _export(photo: Path, out: Path, home: Path) -> Image.Image:
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    run = subprocess.run(
        [DARKTABLE_CLI, str(photo), str(out), "--core", "--configdir", str(home / "config"),
         "--cachedir", str(home / "cache"), "--library", ":memory:"],
        env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and out.is_file(), run.stdout[-2000:] + run.stderr[-2000:]
    return Image.open(out)


def _signature(im: Image.Image) -> np.ndarray:
    a = np.asarray(im.convert("L").resize((48, 48), Image.BILINEAR), np.float64)
    return (a - a.mean()) / a.std()


def _check(tmp_path: Path, source: Path, box: tuple[int, int, int, int], with_rating: bool) -> None:
    photo = tmp_path / "shoot" / f"photo{source.suffix.lower()}"
    photo.parent.mkdir()
    shutil.copy2(source, photo)
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    if with_rating:     # aesview's own darktable-style sidecar (photo.jpg.xmp) beside the crop's
        write_decision(photo, Decision(Flag.PICK, 4))
    assert write_crop(photo, box) == photo.with_suffix(".xmp")

    out = _export(photo, tmp_path / "out.jpg", tmp_path / "dt")
    w, h = box[2] - box[0], box[3] - box[1]
    # darktable's crop lands within a pixel or two of ours (its own rounding of the fractions).
    assert abs(out.width - w) <= 2 and abs(out.height - h) <= 2, (out.size, (w, h))
    upright = ImageOps.exif_transpose(Image.open(photo))
    got = _signature(out)
    same = float((got * _signature(upright.crop(box))).mean())
    assert same > 0.98, same
    for dx, dy in ((48, 0), (0, 48), (-48, -48)):     # the same size elsewhere matches worse
        moved = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        assert same > float((got * _signature(upright.crop(moved))).mean()) + 0.005, (dx, dy)
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before     # the original untouched


def test_darktable_exports_our_crop_of_a_landscape_photo(tmp_path):
    src = shared_photo("Bridge_by_Sander_Klootwijk.jpg")      # 2048 x 1152, no EXIF orientation
    _check(tmp_path, src, (700, 100, 1300, 1060), with_rating=False)     # a 5:8 portrait crop


def test_darktable_exports_our_crop_of_an_exif_rotated_photo_beside_our_rating(tmp_path):
    # Stored 1600 x 1067 with EXIF orientation 6: the box is in the upright 1067 x 1600 photo.
    assert ImageOps.exif_transpose(Image.open(SAMPLE_ROTATED)).size == (1067, 1600)
    _check(tmp_path, SAMPLE_ROTATED, (100, 200, 900, 1200), with_rating=True)
