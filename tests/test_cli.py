"""The command-line contract, on real photos with the shipped model, run as a user runs it."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .photos import shared_photo

PHOTOS = ["skimage_coffee.jpg", "mate_LadyBird.jpg", "Bridge_by_Sander_Klootwijk.jpg"]


def run(args, env_dir, check_rc=None):
    env = dict(os.environ, AESVIEW_CACHE_DIR=str(env_dir / "cache"),
               AESVIEW_CONFIG_DIR=str(env_dir / "config"))
    proc = subprocess.run([sys.executable, "-m", "aesview", *args], capture_output=True,
                          text=True, env=env, timeout=300)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    folder = root / "shoot"
    folder.mkdir()
    for name in PHOTOS:
        # Downscaled copies keep the test quick; they are still the real photos.
        Image.open(shared_photo(name)).convert("RGB").resize((640, 427)).save(folder / name, quality=90)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo at all")
    return root, folder


@pytest.fixture(scope="module")
def scored(shoot):
    root, folder = shoot
    before = digests(folder)
    proc = run(["score", str(folder), "--json", "--maps", str(root / "maps")], root)
    return proc, before


def test_score_json_contract(scored, shoot):
    proc, before = scored
    root, folder = shoot
    assert proc.returncode == 1, proc.stderr          # some files failed, the rest were scored
    out = json.loads(proc.stdout)
    assert out["model"]["name"] and out["model"]["sha256"] and out["model"]["attributes"]
    images = out["images"]
    assert len(images) == 5
    good, bad = images[:3], images[3:]
    assert sorted(Path(i["path"]).name for i in good) == sorted(PHOTOS)
    assert [i["rank"] for i in good] == [1, 2, 3]
    scores = [i["score"] for i in good]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert good[0]["percentile"] == 100.0 and good[-1]["percentile"] == 0.0
    for i in good:
        assert i["error"] is None and os.path.isabs(i["path"])
        assert set(i["attributes"]) == set(out["model"]["attributes"])
        assert all(0 <= v <= 1 for v in i["attributes"].values())
    assert {Path(i["path"]).name for i in bad} == {"empty.jpg", "notes.jpg"}
    for i in bad:
        assert i["score"] is None and i["rank"] is None and isinstance(i["error"], str) and i["error"]
    assert digests(folder) == before                    # originals untouched
    assert "scoring" in proc.stderr                     # the progress bar is on stderr


def test_maps_files(scored, shoot):
    root, _ = shoot
    out = json.loads(scored[0].stdout)
    k = len(out["model"]["attributes"])
    for name in PHOTOS:
        with np.load(root / "maps" / f"{name}.npz") as z:
            assert z["aesam"].ndim == 2 and z["aesam"].dtype == np.float32
            assert (z["aesam"] > 0).any() or (z["aesam"] < 0).any()
            assert z["attam"].dtype == np.float32 and z["attam"].shape == (k,) + z["aesam"].shape
            assert list(z["attributes"]) == out["model"]["attributes"]
    # 640x427 photo: the map covers the whole frame with its aspect (no centre crop).
    with np.load(root / "maps" / f"{PHOTOS[0]}.npz") as z:
        h, w = z["aesam"].shape
        assert w > h


def test_second_run_comes_from_the_cache_and_agrees(scored, shoot):
    root, folder = shoot
    first = {i["path"]: i["score"] for i in json.loads(scored[0].stdout)["images"]}
    proc = run(["score", str(folder / PHOTOS[0]), str(folder / PHOTOS[1]), "--json"], root, 0)
    again = json.loads(proc.stdout)["images"]
    assert all(i["cached"] for i in again)
    for i in again:
        assert i["score"] == pytest.approx(first[i["path"]], abs=1e-6)
    fresh = json.loads(run(["score", str(folder / PHOTOS[0]), "--json", "--no-cache"], root, 0).stdout)
    assert fresh["images"][0]["cached"] is False
    assert fresh["images"][0]["score"] == pytest.approx(first[fresh["images"][0]["path"]], abs=1e-4)


def test_table_output_lists_best_first(scored, shoot):
    root, folder = shoot
    proc = run(["score", str(folder)], root, 1)
    best = json.loads(scored[0].stdout)["images"][0]["path"]
    lines = proc.stdout.splitlines()
    first_row = next(line for line in lines if line.strip().startswith("1 "))
    assert best in first_row
    assert "could not be scored" in proc.stdout and "empty.jpg" in proc.stdout


def test_usage_errors_exit_2(shoot):
    root, folder = shoot
    assert run(["score"], root).returncode == 2
    assert run(["score", str(folder), "--bogus"], root).returncode == 2
    proc = run(["score", str(folder), "--model", "no-such-model"], root)
    assert proc.returncode == 2 and "no-such-model" in proc.stderr


def test_crop_json_and_export(shoot):
    root, folder = shoot
    photo = folder / PHOTOS[2]
    before = digests(folder)
    out = json.loads(run(["crop", str(photo), "--aspect", "1:1", "--json"], root, 0).stdout)
    left, top, right, bottom = out["box"]
    assert 0 <= left < right <= 640 and 0 <= top < bottom <= 427
    assert abs((right - left) - (bottom - top)) <= 1
    assert out["explain"]["maps"]["heads"]["kept_whole_where_possible"] is False
    keep = json.loads(run(["crop", str(photo), "--aspect", "1:1", "--keep-heads", "--json"], root, 0).stdout)
    assert keep["explain"]["maps"]["heads"]["kept_whole_where_possible"] is True
    assert keep["explain"]["maps"]["heads"]["cut"] == 0
    dest = root / "crop.jpg"
    res = json.loads(run(["crop", str(photo), "--aspect", "3:2", "-o", str(dest), "--json"], root, 0).stdout)
    l2, t2, r2, b2 = res["box"]
    assert Image.open(dest).size == (r2 - l2, b2 - t2)
    stamp = dest.read_bytes()
    again = run(["crop", str(photo), "--aspect", "1:1", "-o", str(dest)], root)
    assert again.returncode == 1 and "exists" in again.stderr
    assert dest.read_bytes() == stamp                  # never overwritten
    assert digests(folder) == before


@pytest.mark.parametrize("args", [
    ["score", "{photo}", "--size", "0"],
    ["score", "{photo}", "--size", "-64"],
    ["score", "{photo}", "--size", "8000"],
    ["score", "{photo}", "--batch-size", "0"],
    ["score", "{photo}", "--maps", "{photo}"],               # a file, not a folder
    ["score", "{photo}", "--maps", "/proc/aesview-no/maps"],  # cannot be created
    ["crop", "{photo}", "--quality", "0"],
    ["crop", "{photo}", "--quality", "101"],
    ["crop", "{photo}", "-o", "{root}/crop.bmp"],
])
def test_bad_arguments_are_refused_before_any_work(shoot, args, capsys, monkeypatch):
    """In-process (no model load can hide in it): the check comes before any work."""
    from aesview import cli

    root, folder = shoot
    photo = folder / PHOTOS[0]
    argv = [a.format(photo=photo, root=root) for a in args]
    before = digests(folder)
    cli.build_parser()  # subcommand modules import _load now, never the stand-in below
    monkeypatch.setattr(cli, "_load", lambda a: pytest.fail("model loaded before the check"))
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aesview: "), err
    assert out == ""
    assert digests(folder) == before
    assert not (root / "crop.bmp").exists()


@pytest.mark.parametrize("cache_dir", ["/proc/aesview-nope", "{photo}"])
def test_unusable_cache_location_scores_without_a_cache(shoot, cache_dir):
    root, folder = shoot
    photo = folder / PHOTOS[0]
    env = dict(os.environ, AESVIEW_CACHE_DIR=cache_dir.format(photo=photo),
               AESVIEW_CONFIG_DIR=str(root / "config"))
    proc = subprocess.run([sys.executable, "-m", "aesview", "score", str(photo), "--json", "-q"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "scoring without it" in warnings[0], proc.stderr
    images = json.loads(proc.stdout)["images"]
    assert len(images) == 1 and images[0]["score"] is not None and not images[0]["cached"]
