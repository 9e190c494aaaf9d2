"""Z (100 %) lands on the subject: the score pass's subject map, through the real scorer and the
shipped weights, and its trip through the score cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aesview.core.bursts import subject_peak, zoom_point
from aesview.core.cache import ScoreCache
from aesview.core.records import ScoreRecord
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"

# The ladybird in resources/samples/ladybird.jpg (1600 x 1000), read off a 10 x 10 grid over a
# 600-px copy: x 0.65-0.75, y 0.44-0.58 of the frame. The zoom point is the centre of a cell of
# the 320-px map (10 x 6 cells here), so the box is widened by half a cell on each side.
LADYBIRD = (0.65 - 0.05, 0.44 - 1 / 12, 0.75 + 0.05, 0.58 + 1 / 12)


def _inside(p: tuple[float, float] | None, box: tuple[float, float, float, float]) -> bool:
    return p is not None and box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_model(device="cpu"), cache=None, workers=0)


def test_ladybird_zoom_point_is_on_the_ladybird(scorer: Scorer) -> None:
    rec = scorer.score_one(SAMPLES / "ladybird.jpg")
    assert rec.ok and rec.subject is not None and rec.highmap is not None
    assert rec.subject.shape == rec.highmap.shape
    p = zoom_point(rec)
    assert _inside(p, LADYBIRD), p
    # The defect this replaced: the high-class map of the model shipped before (39aee498) peaks
    # on the blurred flowers, upper left. Whatever the model's map says, Z follows the subject
    # map: a high-class map peaking in that corner leaves the zoom point on the ladybird.
    corner = np.zeros_like(rec.highmap)
    corner[: max(1, corner.shape[0] // 4), : max(1, corner.shape[1] // 4)] = 1.0
    misled = ScoreRecord(path=rec.path, score=rec.score, aesam=rec.aesam, attam=rec.attam,
                         highmap=corner, image_size=rec.image_size, subject=rec.subject)
    assert not _inside(subject_peak(misled), LADYBIRD)
    assert zoom_point(misled) == p


def test_subject_map_survives_the_cache_and_old_records_fall_back(scorer: Scorer, tmp_path: Path) -> None:
    photo = tmp_path / "ladybird.jpg"
    photo.write_bytes((SAMPLES / "ladybird.jpg").read_bytes())
    cache = ScoreCache(tmp_path / "cache.sqlite")
    cached = Scorer(scorer.model, cache=cache, workers=0)
    fresh = cached.score_one(photo)
    again = cached.score_one(photo)
    assert again.cached and again.subject is not None and fresh.subject is not None
    np.testing.assert_array_equal(again.subject, fresh.subject)
    assert zoom_point(again) == zoom_point(fresh)
    # a record without the map (another backbone, or one made before it existed) zooms where
    # the high-class map peaks, as before
    old = ScoreRecord(path=str(photo), score=fresh.score, aesam=fresh.aesam, attam=fresh.attam,
                      highmap=fresh.highmap, image_size=fresh.image_size)
    cache.put(old, cached.model_id)
    back = cache.get(str(photo), cached.model_id)
    assert back is not None and back.subject is None
    assert zoom_point(back) == subject_peak(back)
    cache.close()


def test_z_in_the_app_centres_the_ladybird(qtbot, qapp, tmp_path, monkeypatch) -> None:
    """Z in the main window, with the shoot scored by the app's own worker and shipped model."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from aesview.core.settings import Settings
    from aesview.gui.main_window import MainWindow
    from tests.gui_support import isolate_gui, wait_until

    folder = isolate_gui(tmp_path, monkeypatch, scoring=True)
    (folder / "ladybird.jpg").write_bytes((SAMPLES / "ladybird.jpg").read_bytes())
    w = MainWindow(Settings(sort_key="name"))
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    assert QTest.qWaitForWindowExposed(w)
    w.activateWindow()
    assert QTest.qWaitForWindowActive(w)
    w.session.open_folder(folder)
    v = w.viewer

    def ready() -> bool:
        it = w.session.current_item()
        return it is not None and it.record is not None and it.record.subject is not None \
            and v.photo.full is not None and v.full_size == (1600, 1000)
    assert wait_until(qapp, ready, 120)
    w.grid.setFocus()
    QTest.keyClick(w.grid, Qt.Key.Key_Z)
    assert v.zoom() == pytest.approx(1.0)
    c = v.mapToScene(v.viewport().rect().center())
    assert _inside((c.x() / 1600, c.y() / 1000), LADYBIRD)
    v.viewport().grab().save(str(tmp_path / "z.png"))     # to look at (pytest --basetemp)
    w.close()
