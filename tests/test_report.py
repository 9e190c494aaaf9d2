"""The HTML report: content, offline, escaping, atomic writes, cancel, folder mode, the CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
from html.parser import HTMLParser

import pytest
from PIL import Image

from aesview.core.report import ReportCancelled, ReportOptions, build_report

from .report_support import NAMES, make_shoot, score


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shoot")
    paths = make_shoot(folder)
    model, records, card = score(paths)
    return folder, paths, model, records, card


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.sections, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        if tag == "section" and "photo" in (a.get("class") or ""):
            self.sections.append(a)
        if tag in ("a", "link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))


def _data(uri: str) -> bytes:
    head, b64 = uri.split(",", 1)
    assert head.startswith("data:image/") and head.endswith(";base64")
    return base64.b64decode(b64)


def _build(shoot, out, **kw):
    _, _, model, records, card = shoot
    return build_report(records, model.attributes, card, out, **kw)


def test_one_self_contained_file_with_every_part(shoot, tmp_path):
    folder, paths, model, records, card = shoot
    out = _build(shoot, tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    n_ok = sum(r.ok for r in records)
    assert n_ok == len(paths) - 1
    assert len(page.sections) == n_ok
    # offline: nothing is fetched; every image and every photo is embedded
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text) and "@import" not in text
    assert "@font-face" not in text
    assert all(i["src"].startswith("data:image/") for i in page.imgs)
    assert all(link.startswith("#") for link in page.links)
    photos = [re.search(r"url\('([^']+)'\)", s["style"]).group(1) for s in page.sections]
    for uri in photos:
        im = Image.open(io.BytesIO(_data(uri)))
        assert im.format == "JPEG" and max(im.size) <= 1024
    overlays = [i for i in page.imgs if "map" in (i.get("data-name") or "")]
    assert len(overlays) == n_ok * (3 + len(model.attributes))
    ov = Image.open(io.BytesIO(_data(overlays[0]["src"])))
    assert ov.format == "PNG" and "transparency" in ov.info or ov.mode in ("RGBA", "PA", "P")
    # summary: histogram, attribute distributions, best and lowest, all photos by rank
    for needle in ("Scores of the shoot.", "Each attribute over the shoot", ">Best<", ">Lowest<",
                   f"All {n_ok} photos by rank", "Could not be scored", "broken.jpg"):
        assert needle in text, needle
    # per photo, best first: rank, percentile, words grounded in the map, legends naming the mode
    ranks = [int(m) for m in re.findall(r'<span class="rank">#(\d+)</span>', text)]
    assert ranks == list(range(1, n_ok + 1))
    assert text.count("percentile ") >= n_ok
    assert text.count("third") >= n_ok and "Compared with the rest of the shoot" in text
    for legend in ("lowers the score", "raises the score", "the photo&#39;s average", "the photo&#39;s weakest"):
        assert legend in text, legend
    for name in NAMES:
        assert name in text


def test_file_names_are_text_not_markup(shoot, tmp_path):
    text = _build(shoot, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "odd <b>" not in text and "odd &lt;b&gt;&amp;amp; name.jpg" in text


def test_report_of_a_few_photos_stays_small(shoot, tmp_path):
    out = _build(shoot, tmp_path / "r.html")
    n_ok = sum(r.ok for r in shoot[3])
    assert out.stat().st_size < n_ok * 400_000          # the 100-photo target is 40 MB


def test_cancel_leaves_nothing_and_keeps_an_old_report(shoot, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("the previous report")
    cancel = threading.Event()
    done = []

    def progress(n):
        done.append(n)
        if len(done) == 2:
            cancel.set()
    with pytest.raises(ReportCancelled):
        _build(shoot, target, progress=progress, cancel=cancel)
    assert target.read_text() == "the previous report"
    assert sorted(os.listdir(tmp_path)) == ["report.html"]          # no temp file left


def test_ctrl_c_leaves_no_partial_file(shoot, tmp_path):
    def progress(n):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _build(shoot, tmp_path / "report.html", progress=progress)
    assert os.listdir(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        _build(shoot, tmp_path / "as-folder", folder=True, progress=progress)
    assert os.listdir(tmp_path) == []


def test_folder_report_links_its_images(shoot, tmp_path):
    index = _build(shoot, tmp_path / "rep", folder=True, options=ReportOptions(photo_side=640))
    assert index == tmp_path / "rep" / "index.html"
    text = index.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    srcs = [i["src"] for i in page.imgs] + re.findall(r"url\('([^']+)'\)", text)
    assert srcs and not any(s.startswith("data:") for s in srcs)
    for s in srcs:
        assert (index.parent / s).is_file(), s
    photo = next(s for s in srcs if s.endswith("-photo.jpg"))
    assert max(Image.open(index.parent / photo).size) <= 640
    with pytest.raises(FileExistsError):
        _build(shoot, tmp_path / "rep", folder=True)


def test_cli_report_scores_reports_and_names_failures(shoot, tmp_path, capsys, monkeypatch):
    from aesview.cli import main
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    folder = shoot[0]
    out = tmp_path / "shoot.html"
    assert main(["report", str(folder), "-o", str(out), "--quiet", "--title", "Class 3"]) == 1
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err and str(out) in captured.out
    text = out.read_text(encoding="utf-8")
    assert "<title>Class 3</title>" in text
    assert main(["report", str(folder), "-o", str(tmp_path), "--quiet"]) == 2      # a folder
    assert "is a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "-o", str(tmp_path / "none.html"), "--quiet"]) == 2
    assert not (tmp_path / "none.html").exists()
    assert main(["report", str(folder), "-o", str(tmp_path / "missing" / "r.html"), "--quiet"]) == 2


def test_cli_whatif(shoot, tmp_path, capsys, monkeypatch):
    from aesview.cli import main
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    photo = shoot[1][0]
    out = tmp_path / "cmp.png"
    assert main(["whatif", str(photo), "--change", "blur", "--strength", "2", "--json",
                 "-o", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    change = doc["changes"][0]
    assert change["change"] == "blur" and change["delta"] == pytest.approx(change["score"] - doc["score"])
    im = Image.open(out)
    assert im.format == "PNG" and im.width > 2 * im.height * 0.9
    assert main(["whatif", str(photo), "--change", "blur", "-o", str(out)]) == 1   # never overwrites
    assert main(["whatif", str(photo), "--change", "noise", "--strength", "-1"]) == 2
    assert main(["whatif", str(photo), "--change", "exposure", "--strength", "-1"]) == 0
    assert "exposure -1.0 EV" in capsys.readouterr().out
