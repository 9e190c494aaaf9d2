"""Bursts in the app (issue 11): after scoring, the bursts of a real burst set (made from the
shared photos, with EXIF times) are found off the GUI thread, each sorts as one stack with its
best frame first and marked, a collapsed view shows best frames only, and B picks the best of
every burst and rejects the rest in one undoable step that reaches the sidecars."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage, QPainter

from aesview.core.culling import Decision, Flag
from aesview.core.settings import Settings
from aesview.core.xmp import read_decision
from aesview.gui.controllers import CullingController
from aesview.gui.controllers.bursts import BurstsController
from aesview.gui.photo_model import Role
from aesview.gui.session import Session
from tests.burst_set import SHARED, make_burst_set
from tests.gui_support import gui_model, wait_until


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    if not SHARED.is_dir():
        pytest.skip("shared photos missing")
    folder = tmp_path_factory.mktemp("burst_shoot")
    return folder, make_burst_set(folder, photos=["mate_Garden.jpg", "friends_by_Aitzol_Berasategi.jpg",
                                                  "skimage_coffee.jpg"],
                                  singles_every=3, max_side=800, seed=5)


def test_bursts_stack_mark_collapse_and_pick_best(qapp, tmp_path, monkeypatch, shoot):
    folder, bursts = shoot
    monkeypatch.setenv("AESVIEW_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AESVIEW_CACHE_DIR", str(tmp_path / "cache"))
    s = Session(Settings(model=gui_model()))
    cull = CullingController(s)
    ctl = BurstsController(s, cull)
    counts = []
    ctl.burstsChanged.connect(counts.append)
    assert s.open_folder(folder)
    assert wait_until(qapp, lambda: bool(counts) and counts[-1] > 0, 240), counts
    try:
        truth = sorted(sorted(str(folder / f) for f in b.frames) for b in bursts.bursts)
        assert sorted(sorted(g) for g, _ in ctl.groups) == truth
        # each burst is one run of rows in the score-sorted grid, its best frame first
        rows = [s.proxy.index(r, 0).data(Role.PATH) for r in range(s.proxy.rowCount())]
        for paths, best in ctl.groups:
            where = sorted(rows.index(p) for p in paths)
            assert where == list(range(where[0], where[0] + len(paths)))
            assert rows[where[0]] == best
            mark = s.proxy.index(where[0], 0).data(Role.BURST)
            assert mark.is_best and mark.size == len(paths)
        # the grid draws the stack marks (looked at in the report's screenshot)
        img = QImage(200, 230, QImage.Format.Format_RGB32)
        from PySide6.QtWidgets import QListView, QStyleOptionViewItem

        from aesview.gui.delegate import ThumbnailDelegate
        view = QListView()
        opt = QStyleOptionViewItem()
        opt.initFrom(view)
        opt.rect = img.rect()
        p = QPainter(img)
        ThumbnailDelegate(180).paint(p, opt, s.proxy.index(0, 0))
        p.end()
        img.save(str(tmp_path / "cell.png"))
        # collapsed: one row per burst plus the singles
        ctl.set_collapsed(True)
        assert s.proxy.rowCount() == len(bursts.bursts) + len(bursts.singles)
        ctl.set_collapsed(False)
        assert s.proxy.rowCount() == len(bursts.files())
        # B: the best of every burst picked, the rest rejected, one undo for all, on disk
        ctl.pick_best()
        assert wait_until(qapp, cull.settled, 30)
        for paths, best in ctl.groups:
            for path in paths:
                want = Flag.PICK if path == best else Flag.REJECT
                assert cull.decision(path).flag is want and read_decision(path).flag is want
        cull.undo()
        assert wait_until(qapp, cull.settled, 30)
        for paths, _ in ctl.groups:
            for path in paths:
                assert cull.decision(path) == Decision()
                assert not (folder / (path.rsplit("/", 1)[1] + ".xmp")).exists()
    finally:
        s.shutdown()
