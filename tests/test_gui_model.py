"""The grid's model, proxy and delegate, driven with plain records (no network model needed)."""

import numpy as np
import pytest
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QListView  # noqa: E402

from aesview.core.culling import Decision, Flag  # noqa: E402
from aesview.core.records import ScoreRecord, rank  # noqa: E402
from aesview.gui.delegate import REJECT_RED, ThumbnailDelegate  # noqa: E402
from aesview.gui.photo_model import PhotoListModel, PhotoProxy, Role  # noqa: E402
from tests import gui_support  # noqa: F401  (headless Qt before the QApplication)

PATHS = ["/shoot/a.jpg", "/shoot/b.jpg", "/shoot/c.jpg", "/shoot/d.jpg"]


def _rec(path, score=None, error=None):
    return ScoreRecord(path=path, score=score, error=error,
                       aesam=None if score is None else np.zeros((2, 3), np.float32),
                       attributes={} if score is None else {"sharp": score})


@pytest.fixture
def models(qapp):
    model = PhotoListModel()
    model.reset(PATHS)
    proxy = PhotoProxy()
    proxy.setSourceModel(model)
    proxy.set_sort_key("score")
    return model, proxy


def _order(proxy):
    return [proxy.index(r, 0).data(Role.PATH)[-5] for r in range(proxy.rowCount())]


def test_model_passes_qt_model_tester(qtmodeltester, models):
    model, proxy = models
    model.set_record(_rec(PATHS[0], 0.3))
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)


def test_scores_rerank_live_and_name_the_changed_roles(models):
    model, proxy = models
    roles_seen = []
    model.dataChanged.connect(lambda a, b, roles: roles_seen.append(set(roles)))
    assert _order(proxy) == ["a", "b", "c", "d"]          # unscored: by name
    model.set_record(_rec(PATHS[2], 0.9))
    assert _order(proxy)[0] == "c"
    model.set_record(_rec(PATHS[1], 0.95))
    model.set_record(_rec(PATHS[3], error="broken file"))
    assert _order(proxy) == ["b", "c", "a", "d"]          # scored best first, then the rest
    assert {int(Role.SCORE), int(Role.SORT_SCORE)} <= roles_seen[0]
    assert int(Qt.ItemDataRole.DecorationRole) not in roles_seen[0]
    proxy.set_sort_key("name")
    assert _order(proxy) == ["a", "b", "c", "d"]
    model.set_captured(PATHS[0], 300.0)
    model.set_captured(PATHS[1], 100.0)
    model.set_captured(PATHS[2], 200.0)
    proxy.set_sort_key("time")
    assert _order(proxy) == ["b", "c", "a", "d"]         # no capture time: last


def test_percentiles_match_the_core_ranking(models):
    model, _ = models
    recs = [_rec(p, s) for p, s in zip(PATHS, (0.2, 0.8, 0.5, 0.8))]
    for r in recs:
        model.set_record(r)
    model.update_ranks()
    ranked = rank([_rec(p, s) for p, s in zip(PATHS, (0.2, 0.8, 0.5, 0.8))])
    for r in ranked:
        it = model.item(r.path)
        assert it.percentile == pytest.approx(r.percentile)
        assert it.rank == r.rank


def test_filter_follows_decisions_without_manual_refresh(models):
    from aesview.core.culling import CullBook, set_flag, set_stars
    model, proxy = models
    book = CullBook()                   # the one place decisions live; the grid asks it
    model.set_decision_source(book.get)
    proxy.set_filter("picks")
    assert proxy.rowCount() == 0
    model.decisions_changed(book.apply([PATHS[1]], set_stars(2)).paths)
    model.decisions_changed(book.apply([PATHS[1]], set_flag(Flag.PICK)).paths)
    assert _order(proxy) == ["b"]
    assert model.decision(PATHS[1]) == Decision(Flag.PICK, 2)
    proxy.set_filter("not_rejected")
    model.decisions_changed(book.apply([PATHS[0]], set_flag(Flag.REJECT)).paths)
    assert _order(proxy) == ["b", "c", "d"]
    proxy.set_filter("stars", 2)
    assert _order(proxy) == ["b"]
    proxy.set_filter("all")
    assert proxy.rowCount() == 4


def _red_pixels(img: QImage, x0, y0, x1, y1) -> int:
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            c = QColor(img.pixel(x, y))
            if abs(c.red() - REJECT_RED.red()) < 30 and c.green() < 80 and c.blue() < 90:
                n += 1
    return n


def test_delegate_shows_a_red_badge_on_failed_photos(models, qtbot):
    model, proxy = models
    thumb = QImage(120, 80, QImage.Format.Format_RGB888)
    thumb.fill(QColor(200, 200, 200))
    for p in PATHS[:2]:
        model.set_thumbnail(p, thumb, 120)
    model.set_record(_rec(PATHS[0], 0.7))
    model.set_record(_rec(PATHS[1], error="cannot decode"))
    proxy.set_sort_key("name")
    view = QListView()
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setModel(proxy)
    view.setItemDelegate(ThumbnailDelegate(120, view))
    view.resize(700, 300)
    qtbot.addWidget(view)
    view.show()
    assert QTest.qWaitForWindowExposed(view)   # (qtbot.waitExposed is a context manager)
    img = view.viewport().grab().toImage()
    ok_rect = view.visualRect(proxy.index(0, 0))
    bad_rect = view.visualRect(proxy.index(1, 0))
    assert _red_pixels(img, ok_rect.right() - 40, ok_rect.top(), ok_rect.right(), ok_rect.top() + 40) == 0
    assert _red_pixels(img, bad_rect.right() - 40, bad_rect.top(), bad_rect.right(), bad_rect.top() + 40) > 20
    assert proxy.index(1, 0).data(Role.STATE) == "failed"
    assert "cannot decode" in proxy.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
