"""The crop judge: the marked set is well formed, and retention is normalised by the best window."""

from __future__ import annotations

import itertools
import json

import pytest

from aesview.core.crop_eval import (
    MARKED_SET,
    best_window,
    load_marked,
    normalised_retention,
    overlap,
    retention,
)


def test_marked_set_is_well_formed():
    doc = json.loads(MARKED_SET.read_text())
    assert doc["marked_by"] and doc["how"] and doc["split"]
    marked = load_marked()
    assert len(marked) >= 40
    assert {m.split for m in marked} == {"validation", "test", "test2", "test3", "test4", "test5", "test6",
                                           "test7", "test8", "test9", "test10", "test11", "test12", "test13"}
    assert sum(m.split == "test" for m in marked) >= 15
    # the fresh test part: at least 25 drawn LIVE-C photos, its draw and skips written down
    assert sum(m.split == "test2" for m in marked) >= 25 and "random.Random(" in doc["test2"]
    assert sum(m.split == "test3" for m in marked) >= 25 and "random.Random(" in doc["test3"]
    assert sum(m.split == "test4" for m in marked) >= 25 and "random.Random(" in doc["test4"]
    assert sum(m.split == "test5" for m in marked) >= 28 and "random.Random(20261206)" in doc["test5"]
    assert sum(m.split == "test6" for m in marked) >= 40 and "random.Random(20261207)" in doc["test6"]
    assert sum(m.split == "test7" for m in marked) >= 40 and "random.Random(20261208)" in doc["test7"]
    assert sum(m.split == "test8" for m in marked) >= 40 and "random.Random(20261209)" in doc["test8"]
    assert sum(m.split == "test9" for m in marked) >= 40 and "random.Random(20261210)" in doc["test9"]
    # test10: its draw extended in order as far as random.sample's branch allows (85) held 36
    assert sum(m.split == "test10" for m in marked) >= 36 and "random.Random(20261211)" in doc["test10"]
    # test11: drawn as test10 (72, then extended in order to 85, as far as the branch allows) held 37
    assert sum(m.split == "test11" for m in marked) >= 37 and "random.Random(20261212)" in doc["test11"]
    # test12: drawn as test10 and test11 (72, then extended in order to 85, as far as the branch allows) held 32
    assert sum(m.split == "test12" for m in marked) >= 32 and "random.Random(20261214)" in doc["test12"]
    # test13: drawn as test10-test12 (72, then extended in order to 85, as far as the branch allows) held 33
    assert sum(m.split == "test13" for m in marked) >= 33 and "random.Random(20261215)" in doc["test13"]
    assert sum(m.split == "validation" for m in marked) >= 70 and "random.Random(" in doc["validation_added2"]
    assert len({m.path for m in marked}) == len(marked)          # no photo marked twice
    for m in marked:                                   # referenced in place, never copied here
        assert "tests/data" not in str(m.path)


def test_best_window_is_the_brute_force_optimum():
    size = (60, 40)
    for subject in [(0, 0, 10, 10), (50, 5, 60, 35), (20, 10, 45, 30), (0, 0, 60, 40), (5, 30, 55, 40)]:
        for aspect in (9 / 16, 1.0, 0.8, 16 / 9, 1.5):
            win = best_window(size, aspect, subject)
            ww, wh = win[2] - win[0], win[3] - win[1]
            assert 0 <= win[0] and win[2] <= 60 and 0 <= win[1] and win[3] <= 40
            best = max(overlap((x, y, x + ww, y + wh), subject)
                       for x, y in itertools.product(range(60 - ww + 1), range(40 - wh + 1)))
            assert overlap(win, subject) == best, (subject, aspect)


def test_normalised_retention():
    size = (160, 90)
    subject = (140, 40, 160, 50)                       # small, at the right edge
    a = 9 / 16
    assert normalised_retention((110, 0, 160, 90), subject, size, a) == pytest.approx(1.0)
    assert normalised_retention((55, 0, 105, 90), subject, size, a) == 0.0
    wide = (0, 40, 160, 50)                            # no 9:16 window can hold it all
    best = retention(best_window(size, a, wide), wide)
    assert best < 0.4
    assert normalised_retention(best_window(size, a, wide), wide, size, a) == pytest.approx(1.0)


def test_the_fresh_test_parts_are_the_draws_their_notes_name():
    """test4 … test13 are exactly the photos the recorded draw gives (marked or named as
    skipped): random.Random(seed).sample(pool, n) over the pool as it stood before each was drawn
    (n = 60; 72 for test6, whose first 60 held too few single subjects, and test7, drawn as test6;
    84 for test8, whose first 72 held too few; 72 for test9; 85 for test10, test11, test12 and test13,
    whose first 72 held too few)."""
    import sys
    sys.path.insert(0, str(MARKED_SET.parents[2] / "tools"))
    import crop_draw
    doc = json.loads(MARKED_SET.read_text())
    later: tuple[str, ...] = ("test8", "test9", "test10", "test11", "test12", "test13")
    for part, seed, n, keep in (("test4", 20261205, 60, ("test4", "test5", "test6", "test7", *later)),
                                ("test5", 20261206, 60, ("test5", "test6", "test7", *later)),
                                ("test6", 20261207, 72, ("test6", "test7", *later)),
                                ("test7", 20261208, 72, ("test7", *later)),
                                ("test8", 20261209, 84, later),
                                ("test9", 20261210, 72, ("test9", "test10", "test11", "test12", "test13")),
                                ("test10", 20261211, 85, ("test10", "test11", "test12", "test13")),
                                ("test11", 20261212, 85, ("test11", "test12", "test13")),
                                ("test12", 20261214, 85, ("test12", "test13")),
                                ("test13", 20261215, 85, ("test13",))):
        marked = {m.path.name for m in load_marked() if m.split == part}
        skipped = set(crop_draw._NAME.findall(doc[part]))
        assert not marked & skipped
        drawn = crop_draw.draw(crop_draw.pool(doc, keep), seed, n)
        assert set(drawn) == marked | skipped, part
        assert len(drawn) == n
        assert f"random.Random({seed})" in doc[part]
    # the pools: 1,162 less 152 marked and 89 skipped before test5 = 921; less test5's 60 = 861
    # (test6's); less test6's 72 = 789 (test7's); less test7's 72 = 717 (test8's); less test8's 84
    # = 633 (test9's); less test9's 72 = 561 (test10's); less test10's 85 = 476 (test11's); less
    # test11's 85 = 391 (test12's); less test12's 85 = 306 (test13's); less test13's 85 = 221, the next
    # draw's
    assert len(crop_draw.pool(doc, ("test5", "test6", "test7", *later))) == 921
    assert len(crop_draw.pool(doc, ("test6", "test7", *later))) == 861
    assert len(crop_draw.pool(doc, ("test7", *later))) == 789
    assert len(crop_draw.pool(doc, later)) == 717
    assert len(crop_draw.pool(doc, ("test9", "test10", "test11", "test12", "test13"))) == 633
    assert len(crop_draw.pool(doc, ("test10", "test11", "test12", "test13"))) == 561
    assert len(crop_draw.pool(doc, ("test11", "test12", "test13"))) == 476
    assert len(crop_draw.pool(doc, ("test12", "test13"))) == 391
    assert len(crop_draw.pool(doc, ("test13",))) == 306
    assert len(crop_draw.pool(doc)) == 221
    # test8's first 72 are the draw at n = 72 (viewed first), as its note says
    assert crop_draw.draw(crop_draw.pool(doc, later), 20261209, 84)[:72] == \
        crop_draw.draw(crop_draw.pool(doc, later), 20261209, 72)
    # for test9's pool of 633 random.sample keeps one branch up to n = 85 too: its 72 are the first
    # 72 of the n = 85 draw (more could have been viewed in the same order)
    pool9 = crop_draw.pool(doc, ("test9", "test10", "test11", "test12", "test13"))
    assert crop_draw.draw(pool9, 20261210, 85)[:72] == crop_draw.draw(pool9, 20261210, 72)
    # test10's first 72 are the draw at n = 72 (viewed first), as its note says; for its pool of 561
    # the branch holds up to n = 85 and not at 86, so 85 was as far as it could be extended in order
    pool10 = crop_draw.pool(doc, ("test10", "test11", "test12", "test13"))
    first72 = crop_draw.draw(pool10, 20261211, 72)
    assert all(crop_draw.draw(pool10, 20261211, n)[:72] == first72 for n in range(72, 86))
    assert crop_draw.draw(pool10, 20261211, 86)[:72] != first72
    # test11's likewise: its first 72 are the n = 72 draw (viewed first); for its pool of 476 the branch
    # holds up to n = 85 and not at 86, so 85 was as far as it could be extended in order
    pool11 = crop_draw.pool(doc, ("test11", "test12", "test13"))
    first72 = crop_draw.draw(pool11, 20261212, 72)
    assert all(crop_draw.draw(pool11, 20261212, n)[:72] == first72 for n in range(72, 86))
    assert crop_draw.draw(pool11, 20261212, 86)[:72] != first72
    # test12's likewise: its first 72 are the n = 72 draw (viewed first); for its pool of 391 the branch
    # holds up to n = 85 and not at 86, so 85 was as far as it could be extended in order
    pool12 = crop_draw.pool(doc, ("test12", "test13"))
    first72 = crop_draw.draw(pool12, 20261214, 72)
    assert all(crop_draw.draw(pool12, 20261214, n)[:72] == first72 for n in range(72, 86))
    assert crop_draw.draw(pool12, 20261214, 86)[:72] != first72
    # test13's likewise: its first 72 are the n = 72 draw (viewed first); for its pool of 306 the branch
    # holds up to n = 85 and not at 86, so 85 was as far as it could be extended in order
    pool13 = crop_draw.pool(doc, ("test13",))
    first72 = crop_draw.draw(pool13, 20261215, 72)
    assert all(crop_draw.draw(pool13, 20261215, n)[:72] == first72 for n in range(72, 86))
    assert crop_draw.draw(pool13, 20261215, 86)[:72] != first72
