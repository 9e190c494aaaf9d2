"""Sample-specific weighting (Zhang et al. 2018): a training sample counts as much as its
label is unambiguous.

Every sample carries a vote histogram ``v`` over the scores 1..10 (real AVA votes, or a pseudo
histogram made from a mean score or a defect severity). With ``p = v / sum(v)``:

* mean ``mu = sum_i i p_i``, spread ``sigma = sqrt(sum_i (i - mu)^2 p_i)``
* label ``y = 1`` (high) if ``mu > t`` else ``0`` (low); ``t = 5`` on AVA
* confidence ``c`` (``measure``):
    - ``"vote"``:   ``c = |P(v > t) - P(v <= t)|``   (how one-sided the voters were)
    - ``"margin"``: ``c = min(1, |mu - t| / (sigma * scale))``   (distance to the threshold in
      units of the voters' own spread; ``scale`` = 2 makes two spreads full confidence)
* weight  ``w = 0`` if ``|mu - t| <= delta``,  else ``w = c ** gamma``

Data with a human mean ``mu`` and the spread ``sigma`` of its ratings but no histogram (LIVE-C:
about 175 ratings a photo, published as mean and standard deviation) uses the rating
distribution the paper means, taken as normal: ``c = |P(r > t) - P(r <= t)| = |erf((mu - t) /
(sigma sqrt 2))|`` (`normal_confidence`); label and delta band as above.

``gamma = 0`` gives ``w = 1`` outside the band and 0 inside it: exactly the common practice of
dropping images whose mean lies within ``delta`` of 5 (Python's ``0.0 ** 0 == 1``). ``delta = 0,
gamma > 0`` is pure soft weighting. The loss of a batch is ``sum_i w_i l_i / sum_i w_i``, so the
δ-drop setting gives the plain mean over the kept samples, as dropping them would.

Class imbalance (AVA is about 70 % high) is handled separately by ``class_balance``: each class
gets the factor ``W / (2 W_c)`` where ``W_c`` is the summed sample weight of class ``c`` in the
training set, so both classes carry equal total weight after the sample weighting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCORES = np.arange(1, 11, dtype=np.float64)


@dataclass(frozen=True)
class Weighting:
    measure: str = "vote"      # "vote" or "margin"
    gamma: float = 1.0
    delta: float = 0.0
    threshold: float = 5.0
    scale: float = 2.0         # margin only: spreads that count as full confidence

    def __post_init__(self):
        if self.measure not in ("vote", "margin"):
            raise ValueError(f"unknown weighting measure {self.measure!r} (vote or margin)")
        if self.gamma < 0 or self.delta < 0 or self.scale <= 0:
            raise ValueError("gamma and delta must be >= 0 and scale > 0")


def _probs(votes) -> np.ndarray:
    v = np.atleast_2d(np.asarray(votes, dtype=np.float64))
    if v.shape[1] != 10:
        raise ValueError(f"vote histograms need 10 bins (scores 1..10), got {v.shape[1]}")
    total = v.sum(axis=1, keepdims=True)
    if np.any(total <= 0) or np.any(v < 0):
        raise ValueError("a vote histogram is empty or has negative counts")
    return v / total


def mean_score(votes) -> np.ndarray:
    return _probs(votes) @ SCORES


def spread(votes) -> np.ndarray:
    p = _probs(votes)
    mu = p @ SCORES
    return np.sqrt(np.maximum((p * (SCORES[None] - mu[:, None]) ** 2).sum(axis=1), 0.0))


def labels(votes, threshold: float = 5.0) -> np.ndarray:
    return (mean_score(votes) > threshold).astype(np.int64)


def confidence(votes, measure: str = "vote", threshold: float = 5.0,
               scale: float = 2.0) -> np.ndarray:
    p = _probs(votes)
    if measure == "vote":
        above = p[:, SCORES > threshold].sum(axis=1)
        return np.abs(above - (1.0 - above))
    mu = p @ SCORES
    sig = np.maximum(spread(votes), 1e-6)
    return np.minimum(1.0, np.abs(mu - threshold) / (sig * scale))


def sample_weights(votes, cfg: Weighting = Weighting()) -> np.ndarray:
    mu = mean_score(votes)
    c = confidence(votes, cfg.measure, cfg.threshold, cfg.scale)
    w = np.power(c, cfg.gamma)
    w[np.abs(mu - cfg.threshold) <= cfg.delta] = 0.0
    return w


def normal_confidence(mu, sigma, threshold: float = 5.0) -> np.ndarray:
    """|P(r > t) - P(r <= t)| for ratings r ~ N(mu, sigma^2)."""
    from math import erf, sqrt
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.maximum(np.atleast_1d(np.asarray(sigma, dtype=np.float64)), 1e-9)
    z = (mu - threshold) / (sigma * sqrt(2.0))
    return np.abs(np.array([erf(v) for v in z.ravel()]).reshape(z.shape))


def rated_weights(mu, sigma, cfg: Weighting = Weighting()) -> np.ndarray:
    """Sample weights from a mean and a spread (no histogram): w = c ** gamma, 0 in the delta
    band. The measure is always the normal rating distribution's `normal_confidence`."""
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    w = np.power(normal_confidence(mu, sigma, cfg.threshold), cfg.gamma)
    w[np.abs(mu - cfg.threshold) <= cfg.delta] = 0.0
    return w


def mixed_weights(votes, means, stds, cfg: Weighting = Weighting()) -> tuple[np.ndarray, np.ndarray]:
    """(labels, weights) for a set mixing histogram samples and rated ones: where a sample has a
    human mean and spread (`means[i]` not NaN) they decide; elsewhere its vote histogram."""
    votes = np.asarray(votes, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    stds = np.asarray(stds, dtype=np.float64)
    mu = mean_score(votes)
    w = sample_weights(votes, cfg)
    rated = ~np.isnan(means)
    if rated.any():
        mu[rated] = means[rated]
        w[rated] = rated_weights(means[rated], stds[rated], cfg)
    return (mu > cfg.threshold).astype(np.int64), w


def class_balance(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-sample factor giving both classes equal total weight (1 where a class is absent)."""
    y = np.asarray(y)
    w = np.asarray(w, dtype=np.float64)
    total = w.sum()
    out = np.ones_like(w)
    for c in (0, 1):
        wc = w[y == c].sum()
        if wc > 0 and total > 0:
            out[y == c] = total / (2.0 * wc)
    return out


def pseudo_votes(mean: float, sigma: float = 1.5, total: float = 100.0) -> np.ndarray:
    """A histogram over 1..10 shaped like a discretised normal with the given mean and spread,
    for data that carries a score but no votes (AADB, CSV means, defect severities)."""
    if not 1.0 <= mean <= 10.0:
        raise ValueError(f"mean score {mean} is outside 1..10")
    p = np.exp(-0.5 * ((SCORES - mean) / sigma) ** 2)
    p /= p.sum()
    # Shift the discretised histogram so its mean is exactly `mean` (truncation at 1 and 10
    # would otherwise pull it towards 5.5) by tilting it with an exponential factor.
    lo, hi = -5.0, 5.0
    for _ in range(60):
        k = 0.5 * (lo + hi)
        q = p * np.exp(k * SCORES)
        q /= q.sum()
        if q @ SCORES < mean:
            lo = k
        else:
            hi = k
    return q * total


def histogram_text(w: np.ndarray, bins: int = 10) -> str:
    """A one-screen text histogram of sample weights for the training log."""
    w = np.asarray(w, dtype=np.float64)
    counts, edges = np.histogram(w, bins=bins, range=(0.0, 1.0 + 1e-9) if w.max(initial=0) <= 1
                                 else (0.0, float(w.max())))
    top = max(int(counts.max(initial=0)), 1)
    rows = [f"  [{edges[i]:.2f}, {edges[i + 1]:.2f}) {int(c):6d} " + "#" * int(round(40 * c / top))
            for i, c in enumerate(counts)]
    return "\n".join(rows)
