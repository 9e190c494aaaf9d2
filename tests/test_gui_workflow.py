"""The desktop app end to end, with the real widgets and the shipped model on four small photos:
open -> thumbnails -> scores -> sort -> overlays -> crop -> export -> pick -> XMP (judged by
exiftool) -> undo/redo -> copy picks -> reopen from the cache."""

import hashlib
import json
import shutil
import subprocess
import time

import pytest
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from aesview.core.culling import Decision, Flag  # noqa: E402
from aesview.core.settings import Settings  # noqa: E402
from aesview.core.xmp import write_decision  # noqa: E402
from aesview.gui.app import create_window  # noqa: E402
from aesview.gui.photo_model import Role  # noqa: E402
from tests.gui_support import gui_model, make_shoot, wait_until

EXIFTOOL = shutil.which("exiftool")


def exif(path, *tags):
    out = subprocess.run([EXIFTOOL, "-j", *tags, str(path)], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One config and cache folder for the module, so the later tests open a scored shoot."""
    import os
    base = tmp_path_factory.mktemp("gui")
    saved = {k: os.environ.get(k) for k in ("AESVIEW_CONFIG_DIR", "AESVIEW_CACHE_DIR")}
    os.environ["AESVIEW_CONFIG_DIR"] = str(base / "config")
    os.environ["AESVIEW_CACHE_DIR"] = str(base / "cache")
    shoot = base / "shoot"
    photos = make_shoot(shoot)
    yield {"base": base, "shoot": shoot, "photos": photos,
           "hashes": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos}}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def open_window(qtbot, qapp, folder, **settings):
    t0 = time.monotonic()
    win = create_window(str(folder), Settings(model=gui_model(), **settings))
    win.first_thumbnail_s = None
    win.session.thumbnailArrived.connect(
        lambda _p: setattr(win, "first_thumbnail_s", win.first_thumbnail_s or time.monotonic() - t0))
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)   # (qtbot.waitExposed is a context manager)
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)
    win.grid.setFocus()
    return win


def scored(win):
    c = win.session.model.counts()
    return c["scored"] + c["failed"] == c["photos"]


def test_open_score_explain_crop_export_and_cull(qtbot, qapp, env):
    win = open_window(qtbot, qapp, env["shoot"])
    n = len(env["photos"])
    assert win.session.model.rowCount() == n
    assert wait_until(qapp, lambda: all(it.thumb is not None for it in win.session.model.items()), 10)
    assert win.first_thumbnail_s is not None and win.first_thumbnail_s < 1.0
    assert wait_until(qapp, lambda: scored(win), 180), win.log_panel.entries
    assert win.session.model.counts()["scored"] == n
    assert not [m for lvl, m in win.log_panel.entries if lvl == "error"]

    # --- sorted by score, best first; percentiles from 100 down to 0
    scores = [win.session.proxy.index(r, 0).data(Role.SCORE) for r in range(n)]
    assert scores == sorted(scores, reverse=True)
    assert win.session.proxy.index(0, 0).data(Role.PERCENTILE) == 100.0
    assert win.session.proxy.index(n - 1, 0).data(Role.PERCENTILE) == 0.0
    win.sort_combo.setCurrentIndex(win.sort_combo.findData("name"))
    names = [win.session.proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(n)]
    assert names == sorted(names, key=str.lower)
    win.sort_combo.setCurrentIndex(win.sort_combo.findData("score"))

    s, ex, crop, cull = win.session, win.explanation, win.crop, win.culling
    # --- click the photo stored sideways (EXIF orientation 6): it shows upright, at full size
    target = str(env["shoot"] / "wine-and-drum.jpg")
    idx = win.session.proxy.mapFromSource(win.session.model.index_of(target))
    QTest.mouseClick(win.grid.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, win.grid.visualRect(idx).center())
    assert win.session.current_path() == target
    rec = win.session.model.item(target).record
    assert rec.image_size == (1067, 1600)
    assert wait_until(qapp, lambda: win.viewer.photo.full is not None, 10)
    assert (win.viewer.photo.full.width(), win.viewer.photo.full.height()) == (1067, 1600)

    # --- "why this score": the overlay is off until asked for (colour is judged untinted);
    # the panel's buttons reach the controller, the controller's overlay reaches the viewer
    assert ex.mode == "none" and win.viewer.overlay.pixmap().isNull()
    win.panel.mode_buttons["aesam"].click()
    assert ex.mode == "aesam" and ex.overlay().image is not None
    assert not win.viewer.overlay.pixmap().isNull()
    assert win.viewer.overlay.sceneBoundingRect().size().toSize().width() == 1067
    assert win.panel.legend.high_text == "raises score"
    words = win.panel.words.text()
    assert f"{rec.score:.2f}" in words and ("raises" in words or "lowers" in words)
    assert win.panel.bars.values == rec.attributes
    # what the number means comes from the model's card (people's quality judgement, not AVA)
    assert win.panel.title.toolTip() == win.session.score_meaning != ""
    assert "people" in win.session.score_meaning and "not AVA" in win.session.score_meaning
    aes_image = win.viewer.overlay.pixmap().toImage()
    attr = list(rec.attributes)[1]
    ex.set_attribute(attr)
    ex.set_mode("attam")
    assert win.panel.mode_buttons["attam"].isChecked()
    assert win.panel.legend.high_text == f"for {attr.replace('_', ' ')}"
    assert win.viewer.overlay.pixmap().toImage() != aes_image
    win.panel.opacity.setValue(30)
    assert ex.opacity == pytest.approx(0.3) and win.viewer.overlay.opacity() == pytest.approx(0.3)
    ex.set_mode("none")
    assert win.viewer.overlay.pixmap().isNull() and win.panel.mode_buttons["none"].isChecked()
    ex.set_mode("aesam")

    # --- crop: R (Lightroom's crop key; C is compare) shows the map-guided crop for the
    # preset; it can be dragged; Enter exports
    win.grid.setFocus()
    QTest.keyClick(win.grid, Qt.Key.Key_R)
    assert crop.visible and win.viewer.crop_visible()
    left, t, r, b = win.viewer.crop_box()
    assert 0 <= left < r <= 1067 and 0 <= t < b <= 1600
    assert (r - left) / (b - t) == pytest.approx(1067 / 1600, abs=0.02)  # "original"
    assert crop.set_aspect("1:1")
    assert win.panel.aspect.currentData() == "1:1"
    left, t, r, b = win.viewer.crop_box()
    assert (r - left) == pytest.approx(b - t, abs=2)
    # drag the crop by its middle, as a person would
    vp = win.viewer.viewport()
    step = 8 if t < 1600 - b else -8             # towards the side with room
    start = win.viewer.mapFromScene((left + r) / 2, (t + b) / 2)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, 6):
        QTest.mouseMove(vp, start + QPoint(0, step * k))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(0, step * 5))
    moved = win.viewer.crop_box()
    assert (moved[1] - t) * step > 0                                        # it moved that way
    assert (moved[2] - moved[0], moved[3] - moved[1]) == (r - left, b - t)     # and kept its size
    assert crop.current().box == moved
    exported = []
    crop.exported.connect(exported.extend)
    QTest.keyClick(win.grid, Qt.Key.Key_Return)
    assert wait_until(qapp, lambda: exported, 30), win.log_panel.entries
    out = env["shoot"].parent / f"{env['shoot'].name}-crops" / "wine-and-drum-crop.jpg"
    assert exported == [str(out)]
    tags = exif(out, "-ImageWidth", "-ImageHeight", "-Orientation#", "-Artist")
    assert (tags["ImageWidth"], tags["ImageHeight"]) == (moved[2] - moved[0], moved[3] - moved[1])
    assert tags.get("Orientation", 1) == 1 and tags.get("Artist")          # EXIF kept, upright
    QTest.keyClick(win.grid, Qt.Key.Key_Return)                             # never overwrites
    assert wait_until(qapp, lambda: len(exported) == 2, 30)
    assert exported[1].endswith("wine-and-drum-crop-1.jpg")
    assert sorted(p.name for p in out.parent.iterdir()) == ["wine-and-drum-crop-1.jpg", "wine-and-drum-crop.jpg"]

    # --- culling keys -> XMP sidecars that exiftool (and so darktable/digiKam) reads
    QTest.keyClick(win.grid, Qt.Key.Key_P)
    nxt = win.session.current_path()
    assert nxt != target                                     # advanced to the next photo
    cull.set_stars(4)
    cull.reject()
    assert wait_until(qapp, cull.settled, 10)
    side = env["shoot"] / "wine-and-drum.jpg.xmp"
    assert exif(side, "-XMP:Rating", "-XMP:Label")["Label"] == "Green"
    assert exif(str(nxt) + ".xmp", "-XMP:Rating")["Rating"] == -1
    QTest.keyClick(win.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)    # undo reject
    assert wait_until(qapp, cull.settled, 10) and cull.decision(nxt) == Decision(Flag.NONE, 4)
    assert exif(str(nxt) + ".xmp", "-XMP:Rating")["Rating"] == 4
    cull.redo()
    assert wait_until(qapp, cull.settled, 10)
    assert exif(str(nxt) + ".xmp", "-XMP:Rating")["Rating"] == -1
    cull.undo()
    assert wait_until(qapp, cull.settled, 10)

    # --- filters (the toolbar's, then the session's)
    win.filter_combo.setCurrentIndex(win.filter_combo.findData("picks"))
    assert s.proxy.rowCount() == 1 and s.proxy.index(0, 0).data(Role.PATH) == target
    s.set_filter("stars", 4)
    assert [s.proxy.index(r, 0).data(Role.PATH) for r in range(s.proxy.rowCount())] == [nxt]
    s.set_filter("all")
    assert s.proxy.rowCount() == n

    # --- copy picks (with sidecars) to a folder
    dest = env["base"] / "picked"
    assert cull.transfer_picks(dest, move=False)
    assert wait_until(qapp, lambda: not s.operations.busy(), 30)
    assert sorted(p.name for p in dest.iterdir()) == ["wine-and-drum.jpg", "wine-and-drum.jpg.xmp"]
    assert exif(dest / "wine-and-drum.jpg.xmp", "-XMP:Label")["Label"] == "Green"

    # originals never change
    for p in env["photos"]:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == env["hashes"][p.name]
    win.close()
    assert not s.scoring.worker_thread.isRunning()


def test_reopen_shows_cached_scores_and_sidecar_decisions(qtbot, qapp, env):
    target = str(env["shoot"] / "wine-and-drum.jpg")
    write_decision(target, Decision(Flag.PICK, 0))    # as the first test left it, or darktable
    win = open_window(qtbot, qapp, env["shoot"])
    # every score comes from the cache: the whole shoot is ranked within a few seconds
    assert wait_until(qapp, lambda: scored(win), 90)
    assert all(it.record.cached for it in win.session.model.items())
    assert wait_until(qapp, lambda: win.culling.decision(target).picked, 10)
    assert win.session.model.counts()["picks"] == 1
    assert win.settings.recent_folders[0] == str(env["shoot"])
    win.close()


def test_export_crops_of_picks(qtbot, qapp, env, tmp_path):
    write_decision(env["shoot"] / "wine-and-drum.jpg", Decision(Flag.PICK, 0))
    win = open_window(qtbot, qapp, env["shoot"], export_dir=str(tmp_path / "exports"))
    assert wait_until(qapp, lambda: scored(win), 90)
    assert wait_until(qapp, lambda: win.session.model.counts()["picks"] == 1, 10)
    win.session.select_path(str(env["shoot"] / "coffee.jpg"))
    win.culling.pick()
    assert win.crop.export_picks()
    assert wait_until(qapp, lambda: not win.session.operations.busy(), 60)
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [
        "coffee-crop.jpg", "wine-and-drum-crop.jpg"]
    win.close()


def test_device_switch_and_settings_persist(qtbot, qapp, env):
    import torch
    win = open_window(qtbot, qapp, env["shoot"])
    assert wait_until(qapp, lambda: scored(win), 90)
    before = len(win.log_panel.entries)
    win.device_combo.setCurrentIndex(win.device_combo.findData("cuda"))
    assert wait_until(qapp, lambda: scored(win) and not win.score_progress.isVisible(), 60)
    new = [m for _, m in win.log_panel.entries[before:]]
    if torch.cuda.is_available():
        assert any("on CUDA" in m for m in new), new
    else:
        assert any("no CUDA device" in m for m in new) and any("on CPU" in m for m in new), new
    win.size_slider.setValue(224)
    win.explanation.set_opacity(0.7)
    win.explanation.set_cmap("PiYG")
    win.panel.mode_buttons["attam"].click()
    win.close()                                   # saves the settings

    from aesview.core.settings import load_settings
    st = load_settings()
    assert (st.device, st.thumbnail_size, st.overlay_opacity, st.overlay_cmap, st.overlay) == \
        ("cuda", 224, 0.7, "PiYG", "attam")
    assert st.window_geometry and st.window_state
    win2 = create_window(None, st)               # no folder: the most recent one opens
    qtbot.addWidget(win2)
    assert win2.session.folder == env["shoot"].resolve()
    assert win2.delegate.size == 224 and win2.panel.cmap.currentText() == "PiYG"
    assert win2.explanation.mode == "attam" and win2.panel.mode_buttons["attam"].isChecked()
    assert win2.panel.opacity.value() == 70
    win2.session.set_device("auto")
    win2.close()
