"""XMP sidecars, judged by exiftool: what darktable, digiKam and Lightroom would read."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aesview.core.culling import Decision, Flag
from aesview.core.xmp import SidecarError, read_decision, sidecar_paths, write_decision
from aesview.paths import samples_dir

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed")


def exif(path: Path, *tags: str) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", *tags, str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


@pytest.fixture
def photo(tmp_path) -> Path:
    dst = tmp_path / "IMG_1.jpg"
    shutil.copyfile(samples_dir() / "coffee.jpg", dst)
    return dst


DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:acme="http://example.com/acme/1.0/"
    darktable:xmp_version="5"
    darktable:history_end="1"
    acme:Secret="keep me">
   <xmp:Rating>2</xmp:Rating>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
     <rdf:li>coffee</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@needs_exiftool
def test_pick_with_stars_is_read_by_exiftool(photo):
    path = write_decision(photo, Decision(Flag.PICK, 3))
    assert path == photo.with_name("IMG_1.jpg.xmp")          # darktable's naming by default
    tags = exif(path, "-XMP:Rating", "-XMP:Label", "-XMP:PickLabel")
    assert tags["Rating"] == 3
    assert tags["Label"] == "Green"
    assert tags["PickLabel"] == 3
    assert read_decision(photo) == Decision(Flag.PICK, 3)
    assert sorted(p.name for p in photo.parent.iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]


@needs_exiftool
def test_reject_is_rating_minus_one(photo):
    write_decision(photo, Decision(Flag.PICK, 4))
    path = write_decision(photo, Decision(Flag.REJECT, 4))
    tags = exif(path, "-XMP:Rating", "-XMP:Label", "-XMP:PickLabel")
    assert tags["Rating"] == -1
    assert "Label" not in tags                 # our Green pick label goes with the pick
    assert tags["PickLabel"] == 1
    assert read_decision(photo) == Decision(Flag.REJECT, 0)


@needs_exiftool
def test_unflag_keeps_a_label_we_did_not_write(photo):
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_text(DARKTABLE_SIDECAR.replace('acme:Secret="keep me"',
                                                 'acme:Secret="keep me" xmp:Label="Red"'))
    write_decision(photo, Decision(Flag.NONE, 1))
    tags = exif(sidecar, "-XMP:Rating", "-XMP:Label")
    assert tags == {"SourceFile": str(sidecar), "Rating": 1, "Label": "Red"}


@needs_exiftool
def test_existing_darktable_sidecar_keeps_everything_else(photo):
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_text(DARKTABLE_SIDECAR)
    assert read_decision(photo) == Decision(Flag.NONE, 2)     # element-form rating is read
    write_decision(photo, Decision(Flag.PICK, 5))
    tags = exif(sidecar, "-G1", "-XMP:all")
    assert tags["XMP-xmp:Rating"] == 5 and tags["XMP-xmp:Label"] == "Green"
    assert tags["XMP-dc:Subject"] == ["holiday", "coffee"]
    assert tags["XMP-darktable:Xmp_version"] == 5
    assert tags["XMP-darktable:HistoryOperation"] == "exposure"
    assert tags["XMP-acme:Secret"] == "keep me"
    assert tags["XMP-x:XMPToolkit"] == "XMP Core 4.4.0-Exiv2"
    text = sidecar.read_text()
    # prefixes survive (darktable looks its history up by them), unknown namespaces too
    assert "darktable:history" in text and 'darktable:operation="exposure"' in text
    assert 'acme:Secret="keep me"' in text
    # changed in place (element form), not added a second time as an attribute
    assert text.count("<xmp:Rating>") == 1 and "xmp:Rating=" not in text


@needs_exiftool
def test_lightroom_sidecar_is_read_and_seeds_the_new_one(photo):
    lr = photo.with_suffix(".xmp")
    lr.write_text(DARKTABLE_SIDECAR.replace("<xmp:Rating>2</xmp:Rating>",
                                            "<xmp:Rating>-1</xmp:Rating>"))
    before = lr.read_bytes()
    assert read_decision(photo) == Decision(Flag.REJECT, 0)
    new = write_decision(photo, Decision(Flag.NONE, 4))
    assert new.name == "IMG_1.jpg.xmp"
    assert lr.read_bytes() == before                      # the other tool's file is untouched
    assert exif(new, "-XMP:Subject")["Subject"] == ["holiday", "coffee"]
    assert read_decision(photo) == Decision(Flag.NONE, 4)  # ours wins once both exist


@needs_exiftool
def test_basename_style(photo):
    path = write_decision(photo, Decision(Flag.PICK, 0), style="basename")
    assert path == photo.with_suffix(".xmp")
    assert exif(path, "-XMP:Label")["Label"] == "Green"
    assert read_decision(photo, style="basename").picked
    assert sidecar_paths(photo, "basename")[0] == path


def test_broken_sidecar_is_reported_and_never_overwritten(photo):
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")
    with pytest.raises(SidecarError, match="IMG_1.jpg.xmp"):
        read_decision(photo)
    with pytest.raises(SidecarError):
        write_decision(photo, Decision(Flag.PICK, 1))
    assert sidecar.read_text() == "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF"


def test_entity_expansion_is_refused(photo):
    sidecar = photo.with_name(photo.name + ".xmp")
    sidecar.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">'
                       '<!ENTITY b "&a;&a;&a;&a;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&b;'
                       '</x:xmpmeta>')
    with pytest.raises(SidecarError):
        read_decision(photo)


def test_no_sidecar_means_no_decision(photo):
    assert read_decision(photo) == Decision()
