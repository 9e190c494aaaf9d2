"""The report in a real browser: headless Chromium (Debian package `chromium`) opens it with
the network cut off, every image must load, no script error or console error may appear, and a
screenshot is taken (AESVIEW_REPORT_SCREENSHOT=path keeps a copy to look at)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from aesview.core.report import ReportOptions, build_report

from .report_support import make_shoot, score

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium; "
    "tools/setup.sh does it when run as root)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         # Offline: any attempt to fetch from the network fails (and would show as a broken image).
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
         "--enable-logging=stderr", "--v=0"]


def _chromium(tmp_path, *args, timeout=120):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"  # fresh each run
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HOME": str(tmp_path)})
    return proc


def _console_errors(stderr: str) -> list[str]:
    """Console messages of the page itself (not Chromium's own log noise about D-Bus etc.)."""
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line or "error" in line.lower())]


class _Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id") == "selfcheck":
            self.attrs = {k: v or "" for k, v in a.items()}


def _open(tmp_path, url):
    proc = _chromium(tmp_path, "--virtual-time-budget=20000", "--dump-dom", url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    check = _Check()
    check.feed(proc.stdout)
    return check.attrs, proc


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-shoot")
    return score(make_shoot(folder))


def _expected_images(model, records):
    n = sum(r.ok for r in records)
    best_worst = min(5, n) + len(range(max(min(5, n), n - min(5, n)), n))
    # per photo: the photo (CSS), chart, 3 map views, one map per attribute; summary: 2 charts
    return n * (2 + 3 + len(model.attributes)) + 2 + best_worst


def test_every_image_loads_and_no_errors_in_chromium(scored, tmp_path):
    model, records, card = scored
    report = build_report(records, model.attributes, card, tmp_path / "report.html")
    attrs, proc = _open(tmp_path, report.as_uri())
    assert attrs.get("data-done") == "1", "the page's self-check did not run: " + proc.stderr[-1500:]
    assert int(attrs["data-images"]) == _expected_images(model, records)
    assert attrs["data-broken"] == "0", attrs
    assert attrs["data-errors"] == "0", attrs.get("data-error-text")
    assert _console_errors(proc.stderr) == []

    shot = tmp_path / "report.png"
    proc = _chromium(tmp_path, "--window-size=1280,2200", f"--screenshot={shot}", report.as_uri())
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-1500:]
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert img.shape[:2] == (2200, 1280)
    # Not a blank or error page: photos make the lower half colourful and varied.
    lower = img[1100:]
    assert lower.std() > 30 and (lower.max(axis=2) - lower.min(axis=2)).mean() > 10
    keep = os.environ.get("AESVIEW_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_folder_report_loads_and_a_missing_image_is_caught(scored, tmp_path):
    model, records, card = scored
    index = build_report(records, model.attributes, card, tmp_path / "rep", folder=True,
                         options=ReportOptions(photo_side=512))
    attrs, proc = _open(tmp_path, index.as_uri())
    assert attrs.get("data-done") == "1" and attrs["data-broken"] == "0", attrs
    assert attrs["data-errors"] == "0" and _console_errors(proc.stderr) == []
    # The check can fail: remove one map and one photo, and both are reported by name.
    images = index.parent / "images"
    next(images.glob("*-absolute.png")).unlink()
    next(images.glob("*-photo.jpg")).unlink()
    attrs, _ = _open(tmp_path, index.as_uri())
    assert attrs["data-broken"] == "2", attrs


def test_a_script_error_would_be_caught(scored, tmp_path):
    model, records, card = scored
    report = build_report(records[:2], model.attributes, card, tmp_path / "r.html")
    text = report.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace("</body>", "<script>undefinedFunction();</script></body>"),
                      encoding="utf-8")
    attrs, proc = _open(tmp_path, broken.as_uri())
    assert attrs["data-errors"] == "1" and "undefinedFunction" in attrs["data-error-text"]
    assert re.search(r"CONSOLE.*undefinedFunction", proc.stderr) and _console_errors(proc.stderr)
