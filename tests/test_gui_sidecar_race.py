"""A decision taken before the app has read a photo's sidecar must not write defaults over what
is there. 300 photos whose sidecars (as darktable or digiKam left them) hold 3 stars, a colour
label and keywords; the user presses keys 0, 0.1 and 1 s after opening the shoot — Ctrl+A then
P, or End then P. Afterwards exiftool must find every rating, colour label and keyword where it was, the
picks marked beside them, and the grid must show what the sidecars hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aesview.core.culling import Decision, Flag  # noqa: E402
from aesview.core.settings import Settings  # noqa: E402
from aesview.gui.main_window import MainWindow  # noqa: E402
from tests.gui_support import isolate_gui, make_synthetic_shoot, wait_until

EXIFTOOL = shutil.which("exiftool")
N = 300
SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:Rating="3"
    xmp:Label="Red">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>client-{i}</rdf:li>
     <rdf:li>wedding</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _exif_all(folder):
    out = subprocess.run([EXIFTOOL, "-j", "-XMP:Rating", "-XMP:Label", "-XMP:Subject",
                          "-XMP:PickLabel", "-ext", "xmp", str(folder)],
                         capture_output=True, text=True, check=True).stdout
    return {d["SourceFile"].rsplit("/", 1)[-1][:-len(".xmp")]: d for d in json.loads(out)}


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is the judge of the sidecars")
@pytest.mark.parametrize("delay", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("keys", ["select-all-then-P", "end-then-P"])
def test_early_decisions_keep_every_rating_label_and_keyword(qtbot, qapp, tmp_path, monkeypatch,
                                                            delay, keys):
    shoot = isolate_gui(tmp_path, monkeypatch)   # about sidecars only
    photos = make_synthetic_shoot(shoot, N)
    for i, p in enumerate(photos):
        (shoot / f"{p.name}.xmp").write_text(SIDECAR.format(i=i))
    win = MainWindow(Settings(sort_key="name"))
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)   # (qtbot.waitExposed is a context manager)
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)     # the keys go where a person's would
    win.grid.setFocus()
    s, cull = win.session, win.culling

    assert s.open_folder(shoot)
    t0 = time.monotonic()
    while time.monotonic() - t0 < delay:
        qapp.processEvents()
    read_before = sum(1 for p in s.model.paths() if s.model.decision(p).stars == 3)
    if keys == "select-all-then-P":
        QTest.keyClick(win.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        picked = {p.name for p in photos}
    else:
        QTest.keyClick(win.grid, Qt.Key.Key_End)
        picked = {photos[-1].name}
    QTest.keyClick(win.grid, Qt.Key.Key_P)
    assert wait_until(qapp, lambda: cull.settled() and s.thumbs.pending() == 0
                      and s.thumb_pool.activeThreadCount() == 0, 60)
    qapp.processEvents()

    tags = _exif_all(shoot)
    assert len(tags) == N
    for i, p in enumerate(photos):
        t = tags[p.name]
        assert t["Rating"] == 3, (p.name, t)                          # never a default 0
        assert t["Subject"] == [f"client-{i}", "wedding"], (p.name, t)
        assert t["Label"] == "Red", (p.name, t)             # the user's colour label stays
        if p.name in picked:
            assert t["PickLabel"] == 3, (p.name, t)           # the pick goes beside it
        else:
            assert "PickLabel" not in t, (p.name, t)
        # the grid shows what the sidecar holds
        shown = s.model.decision(str(p))
        assert shown == Decision(Flag.PICK if p.name in picked else Flag.NONE, 3, "Red"), (p.name, shown)
    print(f"\n{keys} after {delay:.1f} s: {read_before} of {N} sidecars had been read by then")
    win.close()
