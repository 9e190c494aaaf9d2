"""Every culling state through every sidecar style, read back by exiftool and exiv2 (issue 11):
the two names never disagree, and what a reopen reads is what was set."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from PIL import Image

from aesview.core.culling import Decision, Flag
from aesview.core.xmp import DecisionChange, read_decision, sidecar_paths, update_sidecar

EXIFTOOL, EXIV2 = shutil.which("exiftool"), shutil.which("exiv2")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="needs exiftool")

# (change, decision afterwards, Rating, Label, PickLabel)
STEPS = [(DecisionChange(stars=2), Decision(Flag.NONE, 2), 2, None, None),
         (DecisionChange(flag=Flag.PICK), Decision(Flag.PICK, 2), 2, "Green", 3),
         (DecisionChange(flag=Flag.REJECT), Decision(Flag.REJECT, 2), -1, None, 1),
         (DecisionChange(stars=4), Decision(Flag.REJECT, 4), -1, None, 1),
         (DecisionChange(flag=Flag.NONE), Decision(Flag.NONE, 4), 4, None, 0),
         (DecisionChange(flag=Flag.PICK, stars=5), Decision(Flag.PICK, 5), 5, "Green", 3),
         (DecisionChange(flag=Flag.NONE, stars=0), Decision(Flag.NONE, 0), 0, None, 0)]


def _exiftool(path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-XMP:Rating", "-XMP:Label", "-XMP-digiKam:PickLabel",
                          "-XMP-digiKam:ColorLabel", "-XMP-darktable:Colorlabels", str(path)],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)[0]
    d.pop("SourceFile")
    return d


def _exiv2(path) -> dict:
    out = subprocess.run([EXIV2, "-px", str(path)], capture_output=True, text=True).stdout
    tags = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            tags[parts[0]] = parts[3]
    return tags


@pytest.mark.parametrize("style", ["darktable", "basename", "both"])
def test_every_state_in_every_style(tmp_path, style):
    photo = tmp_path / "IMG_7.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    for change, want, rating, label, pick in STEPS:
        update_sidecar(photo, change, style)
        files = [p for p in sidecar_paths(photo, style) if p.exists()]
        assert len(files) == (2 if style == "both" else 1)
        seen = [_exiftool(p) for p in files]
        assert all(s == seen[0] for s in seen), "the two sidecars disagree"
        tags = seen[0]
        assert tags["Rating"] == rating and tags.get("Label") == label
        assert tags.get("PickLabel") == pick
        assert (tags.get("ColorLabel"), tags.get("Colorlabels")) == ((4, 2) if label else (None, None))
        assert read_decision(photo, style) == want
        if EXIV2:
            x = [_exiv2(p) for p in files]
            assert all(t == x[0] for t in x)
            assert x[0]["Xmp.xmp.Rating"] == str(rating)
            assert x[0].get("Xmp.xmp.Label") == label
            if pick is not None:
                assert x[0]["Xmp.digiKam.PickLabel"] == str(pick)


@pytest.mark.parametrize("style", ["darktable", "basename", "both"])
@pytest.mark.parametrize("colour, dt, dk", [("Red", 0, 1), ("Yellow", 1, 3), ("Blue", 3, 5),
                                           ("Purple", 4, 6)])
def test_colour_labels_in_every_style(tmp_path, style, colour, dt, dk):
    photo = tmp_path / "IMG_8.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    update_sidecar(photo, DecisionChange(flag=Flag.PICK, stars=2), style)
    update_sidecar(photo, DecisionChange(colour=colour), style)
    files = [p for p in sidecar_paths(photo, style) if p.exists()]
    for p in files:
        tags = _exiftool(p)
        assert (tags["Label"], tags["Colorlabels"], tags["ColorLabel"], tags["PickLabel"]) == \
            (colour, dt, dk, 3)
        if EXIV2:
            x = _exiv2(p)
            assert (x["Xmp.xmp.Label"], x["Xmp.digiKam.ColorLabel"]) == (colour, str(dk))
    assert read_decision(photo, style) == Decision(Flag.PICK, 2, colour)
    update_sidecar(photo, DecisionChange(colour=""), style)    # off: the pick's green is back
    for p in files:
        tags = _exiftool(p)
        assert (tags["Label"], tags["Colorlabels"], tags["ColorLabel"]) == ("Green", 2, 4)
    assert read_decision(photo, style) == Decision(Flag.PICK, 2)
