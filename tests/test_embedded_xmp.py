"""Opt-in XMP inside JPEG/TIFF (issue 11): every culling state is read back by exiftool (and by
exiv2 when installed) from inside the file, the image data is byte-identical before and after,
and a copy that would change the image leaves the photo untouched."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from aesview.core import embedded_xmp as E
from aesview.core.culling import Decision, Flag

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None, reason="needs exiftool")

STATES = [(Decision(Flag.PICK, 3), None, {"Rating": 3, "Label": "Green", "PickLabel": 3, "ColorLabel": 4}),
          (Decision(Flag.NONE, 3), None, {"Rating": 3, "PickLabel": 0}),
          (Decision(Flag.REJECT, 2), None, {"Rating": -1, "RejectedRating": 2, "PickLabel": 1}),
          (Decision(Flag.NONE, 5), "Blue", {"Rating": 5, "Label": "Blue", "PickLabel": 0, "ColorLabel": 5}),
          (Decision(Flag.NONE, 0), None, {"Rating": 0, "PickLabel": 0}),
          (Decision(Flag.REJECT, 0), None, {"Rating": -1, "PickLabel": 1}),
          (Decision(Flag.REJECT, 4), "Red", {"Rating": -1, "RejectedRating": 4, "Label": "Red",
                                             "PickLabel": 1, "ColorLabel": 1})]


def _jpeg(path):
    rng = np.random.default_rng(0)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8769)[36867] = "2026:11:28 10:00:00"
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), np.uint8)).save(path, quality=90,
                                                                          exif=exif.tobytes())
    return path


def _tiff(path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).save(path)
    return path


@pytest.mark.parametrize("make", [_jpeg, _tiff], ids=["jpeg", "tiff"])
def test_every_state_round_trips_inside_the_file_with_identical_image_data(tmp_path, make):
    photo = make(tmp_path / ("a.jpg" if make is _jpeg else "a.tif"))
    with Image.open(photo) as im:
        pixels = np.asarray(im).copy()
    segments = E.jpeg_image_segments(photo.read_bytes()) if make is _jpeg else None
    for decision, label, want in STATES:
        E.embed_decision(photo, decision, label)
        assert E.read_embedded(photo) == want, decision
        with Image.open(photo) as im:
            assert np.array_equal(np.asarray(im), pixels)
        if segments is not None:
            assert E.jpeg_image_segments(photo.read_bytes()) == segments
    if make is _jpeg:     # the camera's EXIF is still there
        out = subprocess.run(["exiftool", "-s3", "-Make", "-DateTimeOriginal", str(photo)],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        assert out[:2] == ["Camera maker", "2026:11:28 10:00:00"]
    assert [p.name for p in tmp_path.iterdir()] == [photo.name]     # no temporary left


def test_the_decision_reads_back_from_inside_the_file(tmp_path):
    """The file's own XMP packet, as exiftool extracts it, read by aesview's sidecar reader: a
    rejected photo's stars are in the file too, and an unreject leaves no stale copy."""
    from aesview.core.xmp import read_sidecar
    photo = _jpeg(tmp_path / "a.jpg")
    packet = tmp_path / "packet.xmp"
    for decision, label in [(Decision(Flag.REJECT, 3), None), (Decision(Flag.NONE, 3), None),
                            (Decision(Flag.PICK, 5), None), (Decision(Flag.REJECT, 5), "Blue"),
                            (Decision(Flag.REJECT, 0), None), (Decision(Flag.NONE, 0), None)]:
        E.embed_decision(photo, decision, label)
        packet.write_bytes(subprocess.run(["exiftool", "-xmp", "-b", str(photo)],
                                          capture_output=True, check=True).stdout)
        assert read_sidecar(packet) == Decision(decision.flag, decision.stars, label or ""), decision


@pytest.mark.skipif(shutil.which("exiv2") is None, reason="exiv2 not installed")
def test_exiv2_reads_the_embedded_decision(tmp_path):
    photo = _jpeg(tmp_path / "a.jpg")
    E.embed_decision(photo, Decision(Flag.PICK, 4))
    out = subprocess.run(["exiv2", "-px", str(photo)], capture_output=True, text=True).stdout
    assert "Xmp.xmp.Rating" in out and "4" in out.split("Xmp.xmp.Rating")[1].splitlines()[0]
    assert "Green" in out


def test_the_check_sees_a_changed_scan_and_nothing_is_replaced(tmp_path, monkeypatch):
    photo = _jpeg(tmp_path / "a.jpg")
    data = photo.read_bytes()
    flipped = bytearray(data)
    flipped[-100] ^= 0x01                      # one bit of the entropy-coded data
    assert E.jpeg_image_segments(bytes(flipped)) != E.jpeg_image_segments(data)

    real = E._same_image

    def corrupting(original, copy, kind):
        b = bytearray(copy.read_bytes())
        b[-100] ^= 0x01
        copy.write_bytes(bytes(b))
        return real(original, copy, kind)
    monkeypatch.setattr(E, "_same_image", corrupting)
    with pytest.raises(E.EmbedError, match="different image data"):
        E.embed_decision(photo, Decision(Flag.PICK, 1))
    assert photo.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg"]


def test_formats_it_does_not_write_into_are_refused(tmp_path):
    png = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(png)
    with pytest.raises(E.EmbedError, match="JPEG, TIFF and DNG"):
        E.embed_decision(png, Decision(Flag.PICK))
    assert not E.can_embed(png) and E.can_embed(tmp_path / "b.DNG")
