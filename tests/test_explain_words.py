"""Plain words grounded in the map (thirds, with shares) and in the rest of the shoot."""

import numpy as np
import pytest

from aesview.core.explain import attribute_words, evidence_shares, explain_photo, value_percentile, where_sentences


def test_a_map_positive_everywhere_still_says_where():
    m = np.full((9, 12), 0.2, np.float32)
    m[6:, :] = 3.0                                    # the lower third carries most
    s = where_sentences(m)
    assert s[0].startswith("The lower third holds most of the evidence that raises the score (")
    assert "an even spread would give 33 %" in s[0]
    assert s[1] == "Almost nothing in the frame lowers it."
    shares = evidence_shares(m)
    assert np.asarray(shares["for_rows"]).sum() == pytest.approx(100.0)
    assert np.asarray(shares["for_rows"])[2] > 80


def test_columns_and_evidence_against_are_named():
    m = np.full((9, 9), 0.5, np.float32)
    m[:, 6:] = 2.5                                    # the right third
    m[:3, :3] = -3.0                                  # the upper left counts against
    s = where_sentences(m)
    assert s[0].startswith("The right third holds")
    assert s[1].startswith("The evidence that lowers it lies mostly in the upper left (100 % of it)")
    mirrored = where_sentences(m[:, ::-1])
    assert mirrored[0].startswith("The left third") and "upper right" in mirrored[1]


def test_even_and_empty_maps():
    flat = where_sentences(np.ones((6, 6)))
    assert flat[0].startswith("The evidence that raises the score is spread evenly")
    assert flat[1] == "Almost nothing in the frame lowers it."     # no relative words
    gentle = np.full((9, 9), 2.0, np.float32)
    gentle[:3, 6:] = 2.6                              # a little stronger in the upper right
    gentle[6:, :3] = 1.5
    words = where_sentences(gentle)
    assert words[0].startswith("The evidence that raises the score is spread evenly")
    assert words[1].startswith("Against its own average (+2.01), it is strongest in the upper "
                               "right (+0.59) and weakest in the lower left (-0.51).")
    neg = where_sentences(-np.ones((6, 6)))
    assert neg[0] == "Nothing in the frame raises the score."
    assert "outweighs the evidence that raises it" in neg[1]


def test_attributes_are_compared_with_the_rest_of_the_shoot():
    mine = {"sharpness": 0.30, "exposure": 0.95, "noise": 0.6}
    others = [{"sharpness": 0.5 + i / 100, "exposure": 0.2 + i / 100, "noise": 0.55 + i / 100}
              for i in range(10)]
    words = attribute_words(mine, others)
    assert words[0] == ("Compared with the rest of the shoot, its weakest point is sharpness (0.30, "
                        "the lowest in this shoot) and its strongest exposure "
                        "(0.95, the highest in this shoot).")
    middling = attribute_words({"sharpness": 0.515, "exposure": 0.255, "noise": 0.595}, others)
    assert middling[0] == ("Compared with the rest of the shoot, its weakest point is sharpness "
                           "(0.52, higher than only 20 % of the other photos) and its strongest "
                           "exposure (0.26, higher than 60 % of them).")
    top = attribute_words({"sharpness": 0.515, "exposure": 0.255, "noise": 0.1}, others)
    assert top[0].endswith("noise (0.10, the lowest in this shoot) and its strongest exposure "
                           "(0.26, higher than 60 % of the other photos).")
    assert value_percentile(0.6, [o["noise"] for o in others]) == 50.0
    att = np.zeros((3, 6, 6), np.float32)
    att[0, 4:, 4:] = -2.0                             # sharpness worst in the lower right
    words = attribute_words(mine, others, att, ["sharpness", "exposure", "noise"])
    assert words[1] == "The sharpness map is lowest in the lower right."
    alone = attribute_words(mine)
    assert alone == ["Its weakest attribute is sharpness (0.30), its strongest exposure (0.95)."]


def test_explain_photo_puts_it_together():
    m = np.full((9, 9), 1.0, np.float32)
    m[6:, :] = 4.0
    s = explain_photo(0.71, 4, 32, 90.3, m, {"a": 0.2, "b": 0.9}, [{"a": 0.5, "b": 0.5}])
    assert s[0] == "Score 0.71, rank 4 of 32: better than 90 % of the other photos in this shoot."
    assert s[1].startswith("The lower third")
    assert explain_photo(0.9, 1, 5, 100.0, None)[0] == "Score 0.90, rank 1 of 5: the best of this shoot."
    assert explain_photo(0.5, 1, 1, 100.0, None) == ["Score 0.50."]


def test_an_attribute_the_detail_view_contradicts_is_not_called_the_strongest():
    """The noisy pagoda's noise bar reads 0.96 from the whole frame at 320 px while the detail view
    names grain at 100 %: the words must not praise its noise, and say why the bar reads high."""
    mine = {"sharpness": 0.84, "exposure": 0.99, "noise": 0.999}
    seen = {"noise": "grain", "framing": "ignored: no such bar"}
    alone = attribute_words(mine, seen=seen)
    assert alone[0] == "Its weakest attribute is sharpness (0.84), its strongest exposure (0.99)."
    assert alone[1] == ("The noise bar reads the whole frame, where grain hardly shows; the detail "
                        "view finds it at 100 %.")
    assert len(alone) == 2
    two = attribute_words({**mine, "compression": 0.99},
                          seen={"noise": "grain", "compression": "compression artefacts"})
    assert two[1] == ("The noise and compression bars read the whole frame, where grain and "
                      "compression artefacts hardly show; the detail view finds them at 100 %.")
    others = [{"sharpness": 0.9, "exposure": 0.5, "noise": 0.5}]
    shoot = attribute_words(mine, others, seen=seen)
    assert "its strongest exposure" in shoot[0] and "strongest noise" not in shoot[0]
    assert attribute_words(mine, others)[0].endswith("its strongest noise (1.00, the highest in "
                                                     "this shoot).")
    # every bar contradicted: the strongest is still named, from all of them
    assert "its strongest noise" in attribute_words({"noise": 0.9}, seen={"noise": "grain"})[0]


def test_a_photo_strong_everywhere_is_not_given_a_weakest_point():
    """The noisy pagoda's words read "its weakest point is contrast (1.00, higher than 89 % of the
    other photos)": with every attribute at or above the shoot's middle, say no attribute is weak."""
    others = [{"contrast": 0.5 + i / 20, "exposure": 0.4 + i / 20} for i in range(10)]
    words = attribute_words({"contrast": 0.93, "exposure": 0.98}, others)
    assert words[0] == ("Compared with the rest of the shoot, no attribute is weak: even its "
                        "lowest-placed, contrast (0.93), is higher than 90 % of the other photos; "
                        "its strongest is exposure (0.98, the highest in this shoot).")
    both = attribute_words({"contrast": 0.99, "exposure": 0.98}, others)[0]
    assert "is the highest in this shoot; its strongest is" in both and "100 %" not in both
    assert "weakest point" not in words[0]
    # one attribute below the middle: its weakest point, as before
    assert attribute_words({"contrast": 0.6, "exposure": 0.98}, others)[0].startswith(
        "Compared with the rest of the shoot, its weakest point is contrast (0.60")
