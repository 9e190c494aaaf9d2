import numpy as np
import pytest

from aesview.training.weighting import (
    Weighting,
    class_balance,
    confidence,
    labels,
    mean_score,
    pseudo_votes,
    sample_weights,
    spread,
)


def _random_histograms(n=500, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 40, (n, 10)).astype(float)
    v[:, rng.integers(0, 10, n)] += 1  # never empty
    return v


@pytest.mark.parametrize("measure", ["vote", "margin"])
@pytest.mark.parametrize("delta", [0.0, 0.3, 0.5, 1.0])
def test_gamma_zero_is_exactly_the_delta_drop(measure, delta):
    votes = _random_histograms()
    mu = (votes / votes.sum(1, keepdims=True)) @ np.arange(1, 11)
    expected = (np.abs(mu - 5.0) > delta).astype(float)
    w = sample_weights(votes, Weighting(measure=measure, gamma=0.0, delta=delta))
    assert np.array_equal(w, expected)
    assert 0 < expected.sum() < len(expected)  # the band really drops some and keeps some


def test_delta_drop_weighted_loss_equals_mean_over_kept_samples():
    votes = _random_histograms(200, seed=1)
    losses = np.random.default_rng(2).random(200)
    w = sample_weights(votes, Weighting(gamma=0.0, delta=0.5))
    kept = np.abs(mean_score(votes) - 5) > 0.5
    assert np.isclose((w * losses).sum() / w.sum(), losses[kept].mean())


@pytest.mark.parametrize("measure", ["vote", "margin"])
def test_weight_grows_as_the_votes_leave_the_threshold(measure):
    # A fixed-spread histogram slid away from the threshold becomes ever less ambiguous. (On
    # integer votes the vote measure is neutral at a mean near 5.5, between votes 5 and 6.)
    means = [5.7, 6.0, 6.6, 7.4, 8.5]
    w = sample_weights(np.stack([pseudo_votes(m) for m in means]), Weighting(measure, gamma=1.0))
    assert np.all(np.diff(w) > 0), w
    w_low = sample_weights(np.stack([pseudo_votes(m) for m in (4.6, 4.2, 3.6, 2.8, 1.8)]),
                           Weighting(measure, gamma=1.0))
    assert np.all(np.diff(w_low) > 0), w_low


def test_larger_gamma_trusts_ambiguous_samples_less():
    votes = np.stack([pseudo_votes(m) for m in (4.5, 5.5, 6.2, 8.0)])
    w1 = sample_weights(votes, Weighting(gamma=1.0))
    w2 = sample_weights(votes, Weighting(gamma=2.0))
    assert np.all(w2 <= w1 + 1e-12) and w2[0] < w1[0]


def test_vote_confidence_and_labels_on_hand_made_histograms():
    one_sided = np.array([0, 0, 0, 0, 0, 10, 20, 10, 0, 0])
    split = np.array([0, 0, 0, 0, 10, 10, 0, 0, 0, 0])
    assert confidence(one_sided)[0] == pytest.approx(1.0)
    assert confidence(split)[0] == pytest.approx(0.0)
    low = np.array([10, 20, 10, 0, 0, 0, 0, 0, 0, 0])
    assert labels(np.stack([one_sided, split, low])).tolist() == [1, 1, 0]  # mean 5.5 > 5
    assert spread(split)[0] == pytest.approx(0.5)


def test_pseudo_votes_have_the_requested_mean():
    for m in (1.5, 2.3, 4.3, 5.0, 7.5, 9.2):
        assert mean_score(pseudo_votes(m))[0] == pytest.approx(m, abs=1e-6)
    with pytest.raises(ValueError):
        pseudo_votes(11.0)


def test_class_balance_gives_both_classes_equal_total_weight():
    y = np.array([1] * 70 + [0] * 30)
    w = np.random.default_rng(3).random(100)
    f = class_balance(y, w)
    assert np.isclose((w * f)[y == 1].sum(), (w * f)[y == 0].sum())
    assert np.isclose((w * f).sum(), w.sum())


def test_bad_histograms_are_refused():
    with pytest.raises(ValueError):
        sample_weights(np.zeros((1, 10)))
    with pytest.raises(ValueError):
        sample_weights(np.ones((1, 9)))
    with pytest.raises(ValueError):
        Weighting(measure="entropy")
