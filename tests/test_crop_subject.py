"""The crop on real photos with the shipped model and the ImageNet classifier: a small sharp
subject on a plain background is kept wherever it sits, aspects are exact, the plan explains
itself, and the command line records the crop in XMP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest

from aesview.core.crop import ASPECT_KEYS, DEFAULT_SETTINGS, centre_crop, parse_aspect, plan_crop
from aesview.core.crop_eval import load_marked, normalised_retention, retention
from aesview.core.subject import CropAnalyzer
from aesview.core.weights import load_model

from .photos import ladybird_on_plain, shared_photo


@pytest.fixture(scope="module")
def analyzer():
    return CropAnalyzer(load_model(device="cpu"))


@pytest.mark.parametrize("where", [(0.0, 0.0), (0.97, 0.5), (0.1, 0.9), (0.8, 0.1)])
def test_small_sharp_subject_on_plain_background_is_kept(tmp_path, analyzer, where):
    path, subject = ladybird_on_plain(tmp_path, where)
    maps = analyzer.analyze(path)
    for aspect in ("9:16", "1:1", "4:5"):
        a = parse_aspect(aspect, maps.image_size)
        box = plan_crop(maps, a).box
        assert retention(box, subject) >= 0.9, (where, aspect, box, subject)
    # the baseline loses it at the edges: the test can tell a good crop from a centred one
    if where[0] in (0.0, 0.97):
        assert retention(centre_crop(maps.image_size, 9 / 16), subject) < 0.5


def test_marked_small_subjects_kept_on_real_photos(analyzer):
    """Hand-marked small subjects (ladybird, robin, nuthatch, motorcyclists) at 9:16 and 4:5."""
    marked = {m.path.name: m for m in load_marked()}
    for name in ("mate_LadyBird.jpg", "731.JPG", "Kleiber_by_Lukas_Baubkus.jpg", "296.webp"):
        m = marked[name]
        if not m.path.is_file():
            pytest.skip(f"{m.path} not available")
        maps = analyzer.analyze(m.path)
        for aspect in ("9:16", "4:5"):
            a = parse_aspect(aspect, maps.image_size)
            box = plan_crop(maps, a).box
            assert normalised_retention(box, m.box(maps.image_size), maps.image_size, a) >= 0.9, (name, aspect)


def test_every_aspect_exact_and_as_large_as_allowed(analyzer):
    maps = analyzer.analyze(shared_photo("Dragonfly_by_Bolly.jpg"))
    w, h = maps.image_size
    for key in ASPECT_KEYS + ("7:3", "1:2.39"):
        plan = plan_crop(maps, key)
        left, top, right, bottom = plan.box
        assert 0 <= left < right <= w and 0 <= top < bottom <= h
        a = parse_aspect(key, maps.image_size)
        if a is not None:
            bw, bh = right - left, bottom - top
            assert abs(bw - a * bh) <= 1, (key, plan.box)
            # tightness 0: spans one side, to the pixel the exact ratio allows
            assert bw >= w - 1 - a or bh >= h - 1 - 1 / a, (key, plan.box)
        tight = plan_crop(maps, key, tightness=1.0)
        tb = tight.box
        assert (tb[2] - tb[0]) * (tb[3] - tb[1]) <= (right - left) * (bottom - top)


def test_plan_explains_what_drove_it(analyzer):
    maps = analyzer.analyze(shared_photo("skimage_coffee.jpg"))
    plan = plan_crop(maps, "9:16")
    info = json.loads(json.dumps(plan.explain()))
    cues = ("subject", "aesam", "detail", "centre", "face", "people", "learned")
    assert set(info["kept"]) == {*cues, "negative"}
    assert info["maps"]["subject"]["top_classes"][0][0] == 967          # ImageNet "espresso"
    assert info["maps"]["learned"]["what"].startswith("where people marked the subject")
    assert "subject-head@" in info["maps"]["learned"]["what"] and info["weights"]["learned"] > 0
    weights = {k: info["weights"][k] for k in cues}
    expected = sum(weights[k] * info["kept"][k] for k in weights) - info["weights"]["mu"] * info["kept"]["negative"]
    assert info["objective"] == pytest.approx(expected, abs=1e-3)
    assert plan.evidence.shape == (43, 64) and plan.evidence.min() >= 0


def test_a_face_stays_inside_a_landscape_crop_of_a_square_portrait(analyzer):
    """The classifier knows no face; MTCNN's face box keeps the astronaut's head in a 16:9
    crop (without it the crop framed her torso and cut the head: normalised retention 0)."""
    if not analyzer.face_finder:
        pytest.skip("facenet-pytorch not installed (tools/setup.sh installs it)")
    maps = analyzer.analyze(shared_photo("skimage_astronaut.jpg"))
    assert "MTCNN" in maps.face_finder and len(maps.faces) >= 1
    left, top, right, bottom, p = maps.faces[0]
    assert p >= 0.9 and 150 < (left + right) / 2 < 300 and top < 120      # her face, upper middle
    box = plan_crop(maps, "16:9").box
    assert box[1] <= top and bottom <= box[3], (box, maps.faces[0])
    info = plan_crop(maps, "16:9").explain()
    assert info["kept"]["face"] == pytest.approx(1.0) and info["maps"]["face"]["faces"]
    head = info["maps"]["face"]["heads"][0]              # her hair above the face box stays too
    assert head[1] < top and box[1] <= head[1] and head[3] <= box[3], (box, head)


def test_people_cue_finds_heads_and_keeps_a_face_mtcnn_misses(analyzer):
    """MediaPipe (core.people) finds the astronaut's face and her head and shoulders, nothing on
    a photo without people, and on a validation photo whose face MTCNN misses (684.JPG: a child
    whose face the 16:9 crop cut) its head box brings the marked subject back into the crop."""
    if not analyzer.people_finder:
        pytest.skip("mediapipe not installed (tools/setup.sh installs it)")
    maps = analyzer.analyze(shared_photo("skimage_astronaut.jpg"))
    assert "MediaPipe" in maps.people_finder
    kinds = {p[5]: p for p in maps.people}
    assert set(kinds) == {"face", "pose"}, maps.people
    mtcnn = maps.faces[0]
    cx, cy = (mtcnn[0] + mtcnn[2]) / 2, (mtcnn[1] + mtcnn[3]) / 2
    for left, top, right, bottom, score, _kind in kinds.values():   # both hold her face
        assert left < cx < right and top < cy < bottom and score >= 0.5
    assert kinds["pose"][3] < 0.6 * maps.image_size[1]              # head and shoulders, not the body
    assert analyzer.analyze(shared_photo("skimage_coffee.jpg")).people == []
    m = {x.path.name: x for x in load_marked()}["684.JPG"]
    if not m.path.is_file():
        pytest.skip(f"{m.path} not available")
    maps = analyzer.analyze(m.path)
    a = parse_aspect("16:9", maps.image_size)
    subject = m.box(maps.image_size)
    assert maps.faces == [] and any(p[5] == "face" for p in maps.people)
    # the people cue's own part, apart from the learned map (which alone keeps this child too)
    no_learned = replace(DEFAULT_SETTINGS, learned=0.0)
    without = plan_crop(maps, a, settings=replace(no_learned, people=0.0)).box
    assert normalised_retention(without, subject, maps.image_size, a) < 0.6
    alone = plan_crop(maps, a, settings=no_learned)
    assert normalised_retention(alone.box, subject, maps.image_size, a) >= 0.75
    plan = plan_crop(maps, a)
    assert normalised_retention(plan.box, subject, maps.image_size, a) >= 0.75
    assert plan.explain()["maps"]["people"]["boxes"] and plan.kept["people"] > 0.5


def test_the_people_finder_is_made_once_and_its_absence_is_clean(monkeypatch, analyzer):
    """One finder per process (the worker's and the export's analyzers share MediaPipe's graphs);
    without mediapipe (the frozen app leaves it out) there is none, remembered, not retried; and
    fd 2, muted while the graphs start, comes back even when the block fails."""
    import os
    import threading

    from aesview.core import people

    ino = os.fstat(2).st_ino
    with pytest.raises(ValueError):
        with people._quiet_stderr():
            assert os.fstat(2).st_ino != ino
            raise ValueError("the graph failed to start")
    assert os.fstat(2).st_ino == ino

    def mute() -> None:
        for _ in range(100):
            with people._quiet_stderr():
                pass
    threads = [threading.Thread(target=mute) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert os.fstat(2).st_ino == ino                   # no thread left it at the null device

    if analyzer.people_finder is not None:
        assert people.load_people_finder() is analyzer.people_finder
    monkeypatch.setattr(people, "_finder_tried", False)
    monkeypatch.setattr(people, "_finder", None)
    for name in ("mediapipe", "mediapipe.python", "mediapipe.python.solutions"):
        monkeypatch.setitem(sys.modules, name, None)
    assert people.load_people_finder() is None
    monkeypatch.setattr(people, "PeopleFinder", lambda: pytest.fail("retried"))
    assert people.load_people_finder() is None


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_cli_crop_xmp_records_the_same_box(tmp_path):
    photo = tmp_path / "nuthatch.jpg"
    shutil.copy(shared_photo("Kleiber_by_Lukas_Baubkus.jpg"), photo)
    before = photo.read_bytes()
    res = subprocess.run([sys.executable, "-m", "aesview", "crop", str(photo), "--aspect", "4:5",
                          "--xmp", "--json", "--no-cache"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["xmp"] == str(tmp_path / "nuthatch.xmp")
    tags = json.loads(subprocess.run(["exiftool", "-j", "-n", "-XMP-crs:all", out["xmp"]],
                                     capture_output=True, text=True, check=True).stdout)[0]
    w, h = out["image_size"]
    x0, y0, x1, y1 = out["box"]
    assert tags["HasCrop"] in (True, 1, "True")
    assert (round(tags["CropLeft"] * w), round(tags["CropTop"] * h),
            round(tags["CropRight"] * w), round(tags["CropBottom"] * h)) == (x0, y0, x1, y1)
    assert photo.read_bytes() == before
