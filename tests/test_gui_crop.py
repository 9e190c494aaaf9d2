"""The crop in the app: the inference worker computes the photo's crop maps (never the GUI
thread), the proposal is core.crop.plan_crop at the chosen aspect and tightness, ] and [ cycle
the aspects, E shows the map that drove the crop, Ctrl+Enter records it as Camera Raw crop tags
(exiftool reads them back), and exporting the picks' crops is a cancellable operation. Real
model, real photos, the real window."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from aesview.core.crop import next_aspect, parse_aspect, plan_crop
from aesview.core.settings import Settings
from tests.gui_support import gui_model, make_shoot, wait_until

SHOOT = ("nuthatch-awkward-crop.jpg", "coffee.jpg", "wine-and-drum.jpg")


@pytest.fixture
def window(qtbot, qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    from aesview.gui.main_window import MainWindow
    win = MainWindow(Settings(model=gui_model(), sort_key="name", crop_aspect="1:1",
                              export_dir=str(tmp_path / "out")))
    qtbot.addWidget(win)
    win.show()
    assert QTest.qWaitForWindowExposed(win)
    win.activateWindow()
    assert QTest.qWaitForWindowActive(win)   # the shortcuts need the active window, as a person's keys do
    make_shoot(tmp_path / "shoot", SHOOT)
    assert win.session.open_folder(tmp_path / "shoot")
    assert wait_until(qapp, lambda: win.session.model.counts()["scored"] == len(SHOOT)
                      and not win.session.scoring_busy(), 180)
    yield win
    win.close()


def _analyzer():
    from aesview.core.subject import CropAnalyzer
    from aesview.core.weights import load_model
    return CropAnalyzer(load_model(None, device="cpu"))


def test_crop_maps_come_from_the_worker_and_drive_the_proposal(window, qtbot, qapp, tmp_path):
    win, crop = window, window.crop
    s = win.session
    path = s.current_path()
    assert path.endswith("coffee.jpg")             # sorted by name
    threads = []
    s.scoring.worker.cropmaps.connect(lambda _m: threads.append(threading.current_thread()),
                                      Qt.ConnectionType.DirectConnection)

    toggle = win.actions_by_name["toggle_crop"]
    assert toggle.text() == "Show &crop"
    qtbot.keyClick(win, Qt.Key.Key_R)              # show crop
    assert crop.maps_of(path) is None              # asked for, not computed on this thread
    assert toggle.text() == "Hide &crop"           # the menu says what R does next
    first = crop.current()
    assert first is not None and first.source == "scoring map"      # provisional until then
    assert wait_until(qapp, lambda: crop.current().source == "maps", 60)
    assert threads and threads[0] is not threading.main_thread()
    assert win.viewer.crop_visible()

    # the proposal is plan_crop over maps computed independently here
    maps = _analyzer().analyze(path)
    assert crop.current().box == plan_crop(maps, "1:1").box
    assert tuple(win.viewer.crop_box()) == crop.current().box
    assert "subject" in win.panel.crop_controls.info.text()

    # ] and [ step through the presets; the crop follows with the new shape
    qtbot.keyClick(win, Qt.Key.Key_BracketRight)
    assert crop.aspect_key == next_aspect("1:1") == "4:5"
    assert win.panel.aspect.currentData() == "4:5"
    assert crop.current().box == plan_crop(maps, "4:5").box
    left, top, right, bottom = win.viewer.crop_box()
    assert abs((right - left) / (bottom - top) - 0.8) < 0.01
    qtbot.keyClick(win, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(win, Qt.Key.Key_BracketLeft)
    assert crop.aspect_key == "original"

    # tightness: the slider sets plan_crop's tightness; the window never grows
    crop.set_aspect("4:5")
    loose = crop.current().box
    win.panel.crop_controls.slider.setValue(100)
    assert crop.tightness == 1.0 and s.settings.crop_tightness == 1.0
    tight = crop.current().box
    assert tight == plan_crop(maps, "4:5", tightness=1.0).box
    assert (tight[2] - tight[0]) <= (loose[2] - loose[0])

    # E: the map that drove the crop as the overlay
    qtbot.keyClick(win, Qt.Key.Key_E)
    ov = win.explanation.overlay()
    assert ov.mode == "crop" and ov.image is not None and not ov.image.isNull()
    assert win.viewer.overlay.isVisible() and not win.viewer.overlay.pixmap().isNull()


def test_accepting_writes_camera_raw_crop_tags_exiftool_reads(window, qtbot, qapp):
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    win, crop, s = window, window.crop, window.session
    path = s.current_path()
    crop.show()
    assert wait_until(qapp, lambda: crop.current().source == "maps", 60)
    box = crop.current().box
    accepted = []
    crop.accepted.connect(accepted.append)
    qtbot.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert wait_until(qapp, lambda: bool(accepted), 30)
    sidecar = accepted[0].sidecar
    assert sidecar.endswith("coffee.xmp") and not accepted[0].embedded
    tags = json.loads(subprocess.run(["exiftool", "-j", "-XMP-crs:all", "-XMP-tiff:all", sidecar],
                                     capture_output=True, text=True, check=True).stdout)[0]
    assert tags["HasCrop"] is True and tags["CropAngle"] == 0
    w, h = Image.open(path).size                   # coffee.jpg is stored upright
    got = (tags["CropLeft"] * w, tags["CropTop"] * h, tags["CropRight"] * w, tags["CropBottom"] * h)
    assert all(abs(a - b) < 0.01 for a, b in zip(got, box))


def test_a_photo_that_failed_is_refused_a_crop_with_its_reason(window, qtbot, qapp, tmp_path):
    # Found in an Xvfb soak: R on a truncated file logged "the crop shows when its maps
    # arrive" on every press, though no maps can ever come.
    win, crop, s = window, window.crop, window.session
    shoot = tmp_path / "shoot"
    broken = shoot / "zz-broken.jpg"
    broken.write_bytes((shoot / "coffee.jpg").read_bytes()[:1500])     # truncated JPEG
    assert s.open_folder(shoot)
    assert wait_until(qapp, lambda: s.model.counts()["failed"] == 1 and not s.scoring_busy(), 180)
    assert s.select_path(str(broken))
    win.log_panel.entries.clear()
    qtbot.keyClick(win, Qt.Key.Key_R)                                    # show crop
    qtbot.keyClick(win, Qt.Key.Key_Return)                               # export it
    qtbot.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)   # accept it
    said = [m for _lvl, m in win.log_panel.entries if "zz-broken.jpg" in m]
    assert len(said) == 3 and all("no crop (" in m and "truncated" in m for m in said), said
    assert not crop.visible and not win.viewer.crop_visible()
    assert not any((shoot / n).exists() for n in ("zz-broken.xmp", "zz-broken.jpg.xmp"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    # the next photo still gets its crop
    assert s.select_path(str(shoot / "coffee.jpg"))
    qtbot.keyClick(win, Qt.Key.Key_R)
    assert wait_until(qapp, lambda: crop.visible and crop.current().source == "maps", 60)


def test_accepting_with_embed_on_writes_the_crop_inside_the_jpeg(window, qtbot, qapp):
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool not installed")
    from aesview.core.embedded_xmp import jpeg_image_segments
    crop, s = window.crop, window.session
    s.settings.embed_xmp = True
    s.select_path(next(p for p in s.model.paths() if p.endswith("wine-and-drum.jpg")))
    path = s.current_path()
    before = jpeg_image_segments(open(path, "rb").read())
    crop.set_aspect("16:9")
    crop.show()
    assert wait_until(qapp, lambda: crop.current() is not None and crop.current().source == "maps", 60)
    box = crop.current().box
    accepted = []
    crop.accepted.connect(accepted.append)
    assert crop.accept()
    assert wait_until(qapp, lambda: bool(accepted), 60)
    assert accepted[0].embedded and accepted[0].warning is None
    assert jpeg_image_segments(open(path, "rb").read()) == before        # not re-encoded
    inside = json.loads(subprocess.run(["exiftool", "-j", "-XMP-crs:all", path],
                                       capture_output=True, text=True, check=True).stdout)[0]
    from aesview.core import crop_xmp
    sidecar = json.loads(subprocess.run(["exiftool", "-j", "-XMP-crs:all", accepted[0].sidecar],
                                        capture_output=True, text=True, check=True).stdout)[0]
    for k in ("CropLeft", "CropTop", "CropRight", "CropBottom"):
        assert abs(inside[k] - sidecar[k]) < 1e-6
    assert crop_xmp.read_crop(path) == box          # the sidecar maps back to the same box


def test_exporting_the_picks_crops_is_an_operation_that_cancels(window, qapp, tmp_path):
    win, crop, s = window, window.crop, window.session
    for p in s.model.paths():
        s.select_path(p)
        win.culling.pick()
    assert wait_until(qapp, win.culling.settled, 20)
    crop.set_aspect("9:16")
    out = tmp_path / "out"

    # cancelled at once: the work stops before its first file (its maps still to compute)
    done = []
    crop.exported.connect(done.append)
    assert crop.export_picks()
    s.operations.cancel_all()
    assert wait_until(qapp, lambda: bool(done), 120)
    assert done[-1] == [] and not list(out.glob("*.jpg"))

    progress = []
    s.operations.progressed.connect(lambda d, t, _m: progress.append((d, t)))
    assert crop.export_picks()
    assert wait_until(qapp, lambda: len(done) == 2, 180)
    written = done[-1]
    assert len(written) == len(SHOOT) and progress[-1] == (len(SHOOT), len(SHOOT))
    analyzer = _analyzer()
    for f in written:
        src = next(p for p in s.model.paths() if f.endswith(p.rsplit("/", 1)[1].replace(".jpg", "-crop.jpg")))
        with Image.open(f) as im:
            size = im.size
        maps = analyzer.analyze(src)
        left, top, right, bottom = plan_crop(maps, "9:16").box
        assert size == (right - left, bottom - top)
        assert abs(size[0] / size[1] - parse_aspect("9:16", (1, 1))) < 0.01


def test_the_crop_line_names_the_people_cue_only_when_it_found_someone():
    import numpy as np

    from aesview.core.subject import CropMaps
    from aesview.gui.controllers.crop import CropView
    from aesview.gui.crop_controls import describe

    maps = CropMaps(image_size=(900, 900), aesam=np.zeros((14, 14), np.float32),
                    subject=np.ones((14, 14), np.float32), detail=np.ones((56, 56), np.float32),
                    working_size=(448, 448), people=[(400.0, 150.0, 500.0, 270.0, 0.9, "face")])
    plan = plan_crop(maps, "16:9")
    line = describe(CropView("p.jpg", plan.box, 16 / 9, "maps", plan.explain()))
    assert f"people {100 * plan.kept['people']:.0f} %" in line and "faces" not in line
    maps.people = []
    plan = plan_crop(maps, "16:9")
    line = describe(CropView("p.jpg", plan.box, 16 / 9, "maps", plan.explain()))
    assert "people" not in line and "learned" not in line            # no learned head in these maps
    maps.learned = np.ones((14, 14), np.float32)
    plan = plan_crop(maps, "16:9")
    line = describe(CropView("p.jpg", plan.box, 16 / 9, "maps", plan.explain()))
    assert line.startswith(f"Inside the crop: learned subject {100 * plan.kept['learned']:.0f} %")


def test_keeping_heads_whole_is_a_toggle_the_proposal_follows(window, qtbot, qapp):
    """View → Crops keep heads whole: the proposal shown stops cutting a head that a window of its
    size could hold whole, the choice is kept in the settings, and turning it off brings the
    plain proposal back. The head is a face box put into the photo's real crop maps where the
    plain proposal cuts it."""
    from dataclasses import replace

    from aesview.core.crop import DEFAULT_SETTINGS

    win, crop = window, window.crop
    path = win.session.current_path()
    qtbot.keyClick(win, Qt.Key.Key_R)
    assert wait_until(qapp, lambda: crop.current() is not None and crop.current().source == "maps", 60)
    maps = crop.maps_of(path)
    w, h = maps.image_size
    cut = None
    for i in range(1, 40):                       # a head the plain proposal cuts
        x = i * w / 40
        face = (x - 0.04 * w, 0.35 * h, x + 0.04 * w, 0.45 * h, 0.99)
        trial = replace(maps, faces=[face])
        plan = plan_crop(trial, "1:1", settings=DEFAULT_SETTINGS)
        if plan.sources["heads"]["cut"]:
            cut = trial
            break
    assert cut is not None
    crop._maps[crop._key(path)] = cut
    crop.show()
    plain = crop.current()
    assert plain.explain["maps"]["heads"]["cut"] == 1
    action = win.actions_by_name["keep_heads"]
    assert action.isCheckable() and not action.isChecked()
    action.trigger()
    kept = crop.current()
    assert win.session.settings.crop_keep_heads
    assert kept.explain["maps"]["heads"]["cut"] == 0 and kept.box != plain.box
    assert kept.explain["maps"]["heads"]["kept_whole_where_possible"]
    assert tuple(win.viewer.crop_box()) == kept.box
    action.trigger()
    assert not win.session.settings.crop_keep_heads and crop.current().box == plain.box
