"""XMP sidecars, judged by exiftool: what darktable, digiKam and Lightroom would read."""

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from aesview.core.culling import Decision, Flag
from aesview.core.xmp import (
    MAX_DEPTH,
    DecisionChange,
    SidecarError,
    read_decision,
    sidecar_paths,
    update_sidecar,
    write_decision,
)
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
    assert read_decision(photo) == Decision(Flag.REJECT, 4)   # the stars wait for an unreject


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
def test_existing_lightroom_sidecar_is_updated_not_doubled(photo):
    """Issue 11: with only IMG_1.xmp there, a decision goes into it (no second sidecar that
    would disagree with it), keeping its keywords."""
    lr = photo.with_suffix(".xmp")
    lr.write_text(DARKTABLE_SIDECAR.replace("<xmp:Rating>2</xmp:Rating>",
                                            "<xmp:Rating>-1</xmp:Rating>"))
    assert read_decision(photo) == Decision(Flag.REJECT, 0)
    new = write_decision(photo, Decision(Flag.NONE, 4))
    assert new == lr and not photo.with_name(photo.name + ".xmp").exists()
    assert exif(lr, "-XMP:Subject")["Subject"] == ["holiday", "coffee"]
    assert exif(lr, "-XMP:Rating")["Rating"] == 4
    assert read_decision(photo) == Decision(Flag.NONE, 4)


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


# --- read-modify-write: a change touches only what the user changed --------------------------

ALL_TAGS = ("-G1", "-XMP:all")


def _other_tools_sidecar(photo: Path, rating: str = "3", label: str = "Red") -> Path:
    sidecar = photo.with_name(photo.name + ".xmp")
    text = DARKTABLE_SIDECAR.replace("<xmp:Rating>2</xmp:Rating>",
                                     f"<xmp:Rating>{rating}</xmp:Rating>")
    sidecar.write_text(text.replace('acme:Secret="keep me"',
                                    f'acme:Secret="keep me" xmp:Label="{label}"'))
    return sidecar


@needs_exiftool
def test_pick_decided_before_the_sidecar_was_read_keeps_stars_and_label(photo):
    """The race of issue 13: the GUI still shows the default (0 stars, no flag) when P is
    pressed; the change it sends names only the flag, so the 3 stars on disk survive."""
    sidecar = _other_tools_sidecar(photo)
    before = exif(sidecar, *ALL_TAGS)
    shown = Decision()                                    # what the GUI believed
    change = DecisionChange.between(shown, Decision(Flag.PICK, 0))
    assert change == DecisionChange(flag=Flag.PICK)
    result = update_sidecar(photo, change)
    assert result.written and result.path == sidecar
    assert result.decision == Decision(Flag.PICK, 3, "Red")   # the truth on disk, for the GUI
    after = exif(sidecar, *ALL_TAGS)
    assert after["XMP-xmp:Rating"] == 3
    assert after["XMP-xmp:Label"] == "Red"                # the user's colour label stays
    assert after["XMP-digiKam:PickLabel"] == 3            # the pick lives here
    assert read_decision(photo) == Decision(Flag.PICK, 3, "Red")
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {"XMP-digiKam:PickLabel"}, changed  # nothing else moved


@needs_exiftool
def test_stars_change_keeps_label_keywords_and_flag(photo):
    sidecar = _other_tools_sidecar(photo, rating="1", label="Blue")
    update_sidecar(photo, DecisionChange(flag=Flag.PICK))
    update_sidecar(photo, DecisionChange(stars=4))
    tags = exif(sidecar, *ALL_TAGS)
    assert tags["XMP-xmp:Rating"] == 4 and tags["XMP-xmp:Label"] == "Blue"
    assert tags["XMP-dc:Subject"] == ["holiday", "coffee"]
    assert tags["XMP-acme:Secret"] == "keep me"
    assert read_decision(photo) == Decision(Flag.PICK, 4, "Blue")
    # unpick: our PickLabel goes to 0, the user's Blue label and the stars stay
    update_sidecar(photo, DecisionChange(flag=Flag.NONE))
    tags = exif(sidecar, *ALL_TAGS)
    assert (tags["XMP-xmp:Rating"], tags["XMP-xmp:Label"], tags["XMP-digiKam:PickLabel"]) == \
        (4, "Blue", 0)


@needs_exiftool
def test_reject_then_unreject_and_a_no_op_writes_nothing(photo):
    sidecar = _other_tools_sidecar(photo)
    update_sidecar(photo, DecisionChange(flag=Flag.REJECT))
    assert exif(sidecar, "-XMP:Rating")["Rating"] == -1
    assert read_decision(photo) == Decision(Flag.REJECT, 3, "Red")   # the other tool's 3 stars wait
    update_sidecar(photo, DecisionChange(stars=5))        # stars on a rejected photo are kept
    assert exif(sidecar, "-XMP:Rating")["Rating"] == -1
    assert read_decision(photo) == Decision(Flag.REJECT, 5, "Red")
    update_sidecar(photo, DecisionChange(flag=Flag.NONE))
    assert exif(sidecar, "-XMP:Rating", "-XMP:Label") == {
        "SourceFile": str(sidecar), "Rating": 5, "Label": "Red"}
    stamp = sidecar.stat().st_mtime_ns, sidecar.read_bytes()
    result = update_sidecar(photo, DecisionChange(flag=Flag.NONE, stars=5))
    assert not result.written and (sidecar.stat().st_mtime_ns, sidecar.read_bytes()) == stamp


def test_concurrent_changes_to_one_photo_all_land(photo):
    """Read-modify-write is serialised per sidecar: a stars change and a flag change racing
    from two threads both end up in the file."""
    _other_tools_sidecar(photo, rating="0")
    for round_ in range(10):
        stars = round_ % 5 + 1
        flag = Flag.PICK if round_ % 2 else Flag.NONE
        barrier = threading.Barrier(2)

        def go(change, barrier):
            barrier.wait()
            update_sidecar(photo, change)
        threads = [threading.Thread(target=go, args=(DecisionChange(stars=stars), barrier)),
                   threading.Thread(target=go, args=(DecisionChange(flag=flag), barrier))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert read_decision(photo) == Decision(flag, stars, "Red")


def test_deep_xml_sidecar_is_refused_naming_the_file(photo):
    sidecar = photo.with_name(photo.name + ".xmp")
    depth = 200_000
    body = ('<?xml version="1.0"?><x:xmpmeta xmlns:x="adobe:ns:meta/">' + "<a>" * depth
            + "</a>" * depth + "</x:xmpmeta>").encode()
    sidecar.write_bytes(body)
    with pytest.raises(SidecarError, match=r"IMG_1\.jpg\.xmp.*nested more than"):
        read_decision(photo)
    with pytest.raises(SidecarError, match=r"IMG_1\.jpg\.xmp"):
        update_sidecar(photo, DecisionChange(flag=Flag.PICK))
    assert sidecar.read_bytes() == body
    # a sidecar just inside the limit is still read
    ok = DARKTABLE_SIDECAR.replace("<dc:subject>", "<dc:subject>" + "<a>" * (MAX_DEPTH - 10)
                                   + "</a>" * (MAX_DEPTH - 10))
    sidecar.write_text(ok)
    assert read_decision(photo) == Decision(Flag.NONE, 2)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_in_a_sidecars_place_is_refused_without_hanging(photo):
    fifo = photo.with_name(photo.name + ".xmp")
    os.mkfifo(fifo)
    assert read_decision(photo) == Decision()             # not a file: not a sidecar
    with pytest.raises(SidecarError, match="not a regular file"):
        update_sidecar(photo, DecisionChange(flag=Flag.PICK))
    assert fifo.is_fifo()


@needs_exiftool
def test_symlinked_sidecar_is_written_through(photo, tmp_path):
    real = tmp_path / "elsewhere" / "IMG_1.xmp"
    real.parent.mkdir()
    real.write_text(DARKTABLE_SIDECAR)
    link = photo.with_name(photo.name + ".xmp")
    link.symlink_to(real)
    update_sidecar(photo, DecisionChange(stars=5))
    assert link.is_symlink()
    assert exif(real, "-XMP:Rating", "-XMP:Subject")["Rating"] == 5


@needs_exiftool
@pytest.mark.parametrize("style", ["darktable", "basename", "both"])
def test_colour_labels_agree_in_every_tool_and_style(photo, style):
    """Issue 11: pick and unpick keep xmp:Label, darktable:colorlabels and digiKam:ColorLabel
    in step, in every sidecar the style writes; exiftool reads every state back."""
    from aesview.core.xmp import DecisionChange, sidecar_paths, update_sidecar
    update_sidecar(photo, DecisionChange(flag=Flag.PICK), style)
    written = [p for p in sidecar_paths(photo, style) if p.exists()]
    assert len(written) == (2 if style == "both" else 1)
    for p in written:
        tags = exif(p, "-XMP:Label", "-XMP-darktable:Colorlabels", "-XMP-digiKam:ColorLabel",
                    "-XMP-digiKam:PickLabel")
        assert tags["Label"] == "Green" and str(tags["Colorlabels"]) == "2"
        assert tags["ColorLabel"] == 4 and tags["PickLabel"] == 3
    update_sidecar(photo, DecisionChange(flag=Flag.NONE), style)
    for p in written:
        tags = exif(p, "-XMP:Label", "-XMP-darktable:Colorlabels", "-XMP-digiKam:ColorLabel",
                    "-XMP-digiKam:PickLabel")
        assert "Label" not in tags and "Colorlabels" not in tags and "ColorLabel" not in tags
        assert tags["PickLabel"] == 0
    update_sidecar(photo, DecisionChange(flag=Flag.REJECT, stars=None), style)
    for p in written:
        assert exif(p, "-XMP:Rating")["Rating"] == -1
    assert [read_decision(photo, style) for _ in written][0].rejected


@needs_exiftool
def test_stars_survive_reject_and_unreject(photo):
    """Issue 11: X then 2 stars, reopen: the stars are still there; unreject brings them back
    as xmp:Rating. Rating stays -1 while rejected (what darktable and Lightroom read)."""
    from aesview.core.xmp import DecisionChange, update_sidecar
    update_sidecar(photo, DecisionChange(stars=3))
    update_sidecar(photo, DecisionChange(flag=Flag.REJECT))
    side = photo.with_name(photo.name + ".xmp")
    assert exif(side, "-XMP:Rating")["Rating"] == -1
    assert read_decision(photo) == Decision(Flag.REJECT, 3)
    update_sidecar(photo, DecisionChange(stars=2))             # stars while rejected
    assert exif(side, "-XMP:Rating")["Rating"] == -1
    assert read_decision(photo) == Decision(Flag.REJECT, 2)     # what a reopen shows
    update_sidecar(photo, DecisionChange(flag=Flag.NONE))
    tags = exif(side, "-XMP:Rating", "-XMP-aesview:all")
    assert tags["Rating"] == 2 and "RejectedRating" not in tags
    assert read_decision(photo) == Decision(Flag.NONE, 2)
    # a reject with no stars leaves no extra field
    update_sidecar(photo, DecisionChange(stars=0))
    update_sidecar(photo, DecisionChange(flag=Flag.REJECT))
    assert "RejectedRating" not in side.read_text()
