"""Issue 11: undo puts a photo's sidecar back exactly as it was, including its absence; a
reject keeps the stars; with an existing IMG_1.xmp no second sidecar appears. Driven through
the session and the culling controller (the real Qt objects, no window), judged on the files."""

from __future__ import annotations

import os

import pytest

from aesview.core.culling import Decision, Flag
from aesview.core.settings import Settings
from aesview.core.sidecar_undo import SidecarStep, restore_if_unchanged, snapshot
from aesview.core.xmp import read_decision
from aesview.gui.controllers import CullingController
from aesview.gui.session import Session
from tests.gui_support import isolate_gui, make_synthetic_shoot, wait_until

LIGHTROOM = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:Rating="2" xmp:Label="Red">
   <dc:subject><rdf:Bag><rdf:li>keep</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


@pytest.fixture
def session(qapp, tmp_path, monkeypatch):
    photos = make_synthetic_shoot(isolate_gui(tmp_path, monkeypatch), 3)   # sidecars only
    s = Session(Settings(sort_key="name"))
    cull = CullingController(s)
    s.open_folder(tmp_path / "shoot")
    yield s, cull, sorted(str(p) for p in photos)
    s.shutdown()


def _press(qapp, s, cull, path, action):
    s.select_path(path)
    action()
    assert wait_until(qapp, cull.settled)


def test_undo_of_a_first_rating_removes_the_sidecar(qapp, session):
    s, cull, photos = session
    photo = photos[0]
    assert snapshot(photo) == {photo + ".xmp": None, photo.rsplit(".", 1)[0] + ".xmp": None}
    _press(qapp, s, cull, photo, lambda: cull.set_stars(3))
    assert read_decision(photo) == Decision(Flag.NONE, 3)
    _press(qapp, s, cull, photo, cull.undo)
    assert all(v is None for v in snapshot(photo).values())       # absent again, not Rating=0
    _press(qapp, s, cull, photo, cull.redo)
    assert read_decision(photo) == Decision(Flag.NONE, 3)


def test_undo_restores_another_tools_sidecar_byte_for_byte(qapp, session):
    s, cull, photos = session
    photo = photos[1]
    lr = photo.rsplit(".", 1)[0] + ".xmp"
    open(lr, "w").write(LIGHTROOM)
    original = open(lr, "rb").read()
    _press(qapp, s, cull, photo, cull.reject)
    assert (photo + ".xmp") not in [k for k, v in snapshot(photo).items() if v is not None]
    assert read_decision(photo) == Decision(Flag.REJECT, 2, "Red")      # into IMG.xmp, stars kept
    _press(qapp, s, cull, photo, lambda: cull.set_stars(4))
    assert read_decision(photo) == Decision(Flag.REJECT, 4, "Red")
    _press(qapp, s, cull, photo, cull.undo)
    _press(qapp, s, cull, photo, cull.undo)
    assert open(lr, "rb").read() == original


def test_undo_keeps_a_later_change_by_another_tool(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"")
    side = tmp_path / "a.jpg.xmp"
    step = SidecarStep(before=snapshot(photo))
    side.write_text(LIGHTROOM)
    step.after = snapshot(photo)
    side.write_text(LIGHTROOM.replace('"2"', '"5"'))              # someone else, later
    assert not restore_if_unchanged(photo, step.after, step.before)
    assert side.is_file()
    side.write_text(LIGHTROOM)
    assert restore_if_unchanged(photo, step.after, step.before) and not side.exists()


def test_embedding_is_opt_in_behind_a_warning_and_writes_into_the_jpeg(qapp, session, monkeypatch):
    import shutil

    from PySide6.QtWidgets import QMessageBox, QWidget

    from aesview.core.embedded_xmp import jpeg_image_segments, read_embedded
    from aesview.gui.dialogs import Dialogs
    if shutil.which("exiftool") is None:
        pytest.skip("needs exiftool")
    s, cull, photos = session
    assert s.settings.embed_xmp is False                 # off by default
    parent = QWidget()
    dialogs = Dialogs(parent, s, cull, None)             # type: ignore[arg-type]
    asked = []

    def answer(button):
        def warning(*args, **kwargs):
            asked.append(args[2])
            return button
        return warning
    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Cancel))
    dialogs.set_embed_xmp(True)
    assert s.settings.embed_xmp is False and "changes the photo files" in asked[0]
    monkeypatch.setattr(QMessageBox, "warning", answer(QMessageBox.StandardButton.Yes))
    dialogs.set_embed_xmp(True)
    assert s.settings.embed_xmp is True
    photo = photos[2]
    segments = jpeg_image_segments(open(photo, "rb").read())
    _press(qapp, s, cull, photo, lambda: cull.set_stars(4))
    _press(qapp, s, cull, photo, cull.pick)
    assert read_embedded(photo) == {"Rating": 4, "Label": "Green", "PickLabel": 3, "ColorLabel": 4}
    _press(qapp, s, cull, photo, cull.undo)              # undo reaches inside the file too
    assert read_embedded(photo) == {"Rating": 4, "PickLabel": 0}
    _press(qapp, s, cull, photo, cull.reject)            # the stars wait inside the file too
    assert read_embedded(photo) == {"Rating": -1, "RejectedRating": 4, "PickLabel": 1}
    _press(qapp, s, cull, photo, cull.unflag)            # and come back, with no stale copy
    assert read_embedded(photo) == {"Rating": 4, "PickLabel": 0}
    assert jpeg_image_segments(open(photo, "rb").read()) == segments


def test_rejects_go_to_the_trash_with_their_sidecars_after_a_yes(qapp, session, tmp_path,
                                                                  monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QWidget

    from aesview.gui.dialogs import Dialogs
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))   # the trash send2trash uses
    s, cull, photos = session
    for p in photos[:2]:
        _press(qapp, s, cull, p, cull.reject)
    assert all(read_decision(p).rejected for p in photos[:2])
    dialogs = Dialogs(QWidget(), s, cull, None)           # type: ignore[arg-type]
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel)
    dialogs.confirm_trash_rejects()
    assert asked[0].startswith("Move 2 rejected photos and their XMP sidecars to the system trash?")
    assert wait_until(qapp, lambda: not s.operations.busy(), 10)
    assert all(os.path.exists(p) for p in photos)        # a no keeps everything
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialogs.confirm_trash_rejects()
    assert wait_until(qapp, lambda: s.model.rowCount() == 1, 30)
    trash = tmp_path / "xdg" / "Trash" / "files"
    names = sorted(p.name for p in trash.iterdir())
    base = [os.path.basename(p) for p in photos[:2]]
    assert names == sorted(base + [b + ".xmp" for b in base])   # photos and sidecars, not deleted
    assert not any(os.path.exists(p) or os.path.exists(p + ".xmp") for p in photos[:2])
    assert os.path.exists(photos[2]) and s.model.paths() == [photos[2]]


def test_a_write_that_fails_leaves_the_grid_showing_what_is_saved(qapp, session, monkeypatch):
    import aesview.core.xmp as xmp
    s, cull, photos = session
    photo = photos[0]
    _press(qapp, s, cull, photo, lambda: cull.set_stars(2))
    logged = []
    s.logged.connect(lambda level, text: logged.append((level, text)))

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(xmp, "atomic_write_bytes", disk_full)
    _press(qapp, s, cull, photo, cull.reject)
    assert any(level == "error" and "No space left" in text for level, text in logged)
    assert cull.decision(photo) == Decision(Flag.NONE, 2)        # what the sidecar holds
    from aesview.gui.photo_model import Role
    idx = s.model.index_of(photo)
    assert s.model.data(idx, Role.DECISION) == Decision(Flag.NONE, 2)
