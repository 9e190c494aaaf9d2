"""PySide6 6.12.0 on CPython < 3.12 drops one reference to None each time QModelIndex.data()
returns None, and one to True on each Signal.emit(); after a few hundred calls CPython aborts
("none_dealloc" / "bool_dealloc") — a minute of scrolling the grid did it. These tests ask the
grid's model for every role, in every state a photo can be in, many thousand times, through
both ways views ask (QModelIndex.data and model.data), and hold the reference counts of None,
True and False to what they were."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QImage

import tests.gui_support  # noqa: F401  (headless Qt before any QApplication)
from aesview.core.culling import CullBook, Decision, Flag
from aesview.core.records import ScoreRecord
from aesview.gui.photo_model import PhotoListModel, PhotoProxy, Role

QT_ROLES = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.EditRole,
            Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.StatusTipRole, Qt.ItemDataRole.WhatsThisRole,
            Qt.ItemDataRole.SizeHintRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole,
            Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole,
            Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.AccessibleTextRole]
ALL_ROLES = [int(r) for r in QT_ROLES] + [int(r) for r in Role] + [int(Qt.ItemDataRole.UserRole) + 99]
ROUNDS = 250          # x 5 photos x 34 roles x 2 ways = 85,000 data() calls


def _model():
    """Five photos, one in each state the grid shows: pending, thumbnail only, scored and
    picked, failed, rejected with stars."""
    m = PhotoListModel()
    paths = [f"/shoot/{n}.jpg" for n in ("pending", "thumb", "scored", "failed", "rejected")]
    m.reset(paths)
    img = QImage(8, 8, QImage.Format.Format_RGB32)
    img.fill(0)
    m.set_thumbnail(paths[1], img, 8)
    m.set_thumbnail(paths[2], img, 8)
    m.set_record(ScoreRecord(paths[2], score=0.7, attributes={"sharpness": 0.5},
                             aesam=np.zeros((2, 2), np.float32), attam=np.zeros((1, 2, 2), np.float32),
                             image_size=(10, 10)))
    m.set_record(ScoreRecord(paths[3], error="cannot decode"))
    m.set_record(ScoreRecord(paths[4], score=0.2, image_size=(10, 10)))
    book = CullBook({paths[2]: Decision(Flag.PICK, 0), paths[4]: Decision(Flag.REJECT, 3)})
    m.set_decision_source(book.get)
    m.set_captured(paths[2], 1.0e9)
    m.update_ranks()
    return m


def _counts():
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_every_role_of_the_grid_model_keeps_none_true_and_false_alive(qapp):
    m = _model()
    proxy = PhotoProxy()
    proxy.setSourceModel(m)
    indexes = [m.index(r) for r in range(m.rowCount())] + [QModelIndex()]
    proxied = [proxy.index(r, 0) for r in range(proxy.rowCount())]
    nones = sum(1 for ix in indexes for role in ALL_ROLES if ix.data(role) is None)
    assert nones > 50          # the test exercises the None path it is about
    before = _counts()
    for _ in range(ROUNDS):
        for ix in indexes:
            for role in ALL_ROLES:
                ix.data(role)
                m.data(ix, role)
        for ix in proxied:
            ix.data(int(Role.SORT_SCORE))
            ix.data(Qt.ItemDataRole.SizeHintRole)
    after = _counts()
    # A sound build leaves them exactly where they were; the bug costs ~1 per None returned
    # (tens of thousands here). A few of slack for the interpreter's own bookkeeping.
    assert [a - b for a, b in zip(after, before)] == pytest.approx([0, 0, 0], abs=8), (before, after)


def test_emitting_signals_keeps_true_and_none_alive(qapp):
    class Emitter(QObject):
        ping = Signal(int)
        flag = Signal(bool)
        thing = Signal(object)

    e, got = Emitter(), []
    e.flag.connect(got.append)
    e.thing.connect(got.append)
    m = _model()
    before = _counts()
    for i in range(5000):
        e.ping.emit(i)
        e.flag.emit(True)
        e.thing.emit(None)
        m.dataChanged.emit(m.index(0), m.index(0), [int(Role.SCORE)])
    got.clear()
    after = _counts()
    assert [a - b for a, b in zip(after, before)] == pytest.approx([0, 0, 0], abs=8), (before, after)


def test_the_installed_pyside6_is_not_a_known_bad_one():
    from aesview.gui.app import pyside_problem
    assert pyside_problem() is None
