"""Fitting the learned subject head (core.subject_head) on hand-marked subject boxes.

Each cell of a photo's feature map is one row: its features and position terms, and as target
the share of the cell inside the marked box (soft, so a cell the box edge crosses counts in part).
The loss is cross-entropy with each photo weighing the same whatever its number of cells, plus
lam * |beta|²; L-BFGS on the standardised rows. Deterministic for the same rows (no sampling).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..core.subject_head import SubjectHead, cell_inputs

LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)


@dataclass
class Photo:
    """One marked photo's rows: its (C, h, w) feature map and subject box (fractions)."""
    name: str
    group: str                          # photos of one source (a shot and its variants) stay together
    features: np.ndarray
    box: tuple[float, float, float, float]


def cell_targets(box: Sequence[float], h: int, w: int) -> np.ndarray:
    """(h, w): the share of each cell inside the box (left, top, right, bottom as fractions)."""
    x0, y0, x1, y1 = box
    ox = np.clip(np.minimum((np.arange(w) + 1) / w, x1) - np.maximum(np.arange(w) / w, x0), 0, None) * w
    oy = np.clip(np.minimum((np.arange(h) + 1) / h, y1) - np.maximum(np.arange(h) / h, y0), 0, None) * h
    out: np.ndarray = (oy[:, None] * ox[None, :]).astype(np.float32)
    return out


def _rows(photos: Sequence[Photo]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, ws = [], [], []
    for p in photos:
        x = cell_inputs(p.features)
        _, h, w = p.features.shape
        xs.append(x)
        ys.append(cell_targets(p.box, h, w).reshape(-1))
        ws.append(np.full(len(x), 1.0 / len(x), np.float32))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


def fit(photos: Sequence[Photo], lam: float, iters: int = 200) -> SubjectHead:
    """The head fitted on `photos` (its card holds only lam; the tool writes the full card)."""
    x, y, wt = _rows(photos)
    mean = x.mean(0)
    std = x.std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    yt, wt_t = torch.from_numpy(y), torch.from_numpy(wt)
    n_photos = float(wt.sum())
    beta = torch.zeros(x.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([beta, bias], lr=1, max_iter=iters, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = xt @ beta + bias
        ce = torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction="none")
        loss = (wt_t * ce).sum() / n_photos + lam * (beta * beta).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return SubjectHead(beta=beta.detach().numpy().astype(np.float64), bias=float(bias.detach()),
                       mean=mean.astype(np.float64), std=std.astype(np.float64), card={"lam": lam})


def held_out_loss(model: SubjectHead, photos: Sequence[Photo]) -> float:
    x, y, wt = _rows(photos)
    p = np.clip(model.predict_rows(x), 1e-6, 1 - 1e-6)
    return float((wt * -(y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / wt.sum())


def folds(photos: Sequence[Photo], k: int, seed: int) -> list[list[int]]:
    """k folds of photo indices, by group: the groups in sorted order shuffled by the seed,
    fold = position mod k."""
    groups = sorted({p.group for p in photos})
    random.Random(seed).shuffle(groups)
    fold_of = {g: i % k for i, g in enumerate(groups)}
    return [[i for i, p in enumerate(photos) if fold_of[p.group] == f] for f in range(k)]


def choose_lambda(photos: Sequence[Photo], seed: int, lambdas: Sequence[float] = LAMBDAS,
                  k: int = 5) -> dict[float, float]:
    """Held-out cross-entropy per lam, k-fold grouped cross-validation."""
    parts = folds(photos, k, seed)
    out = {}
    for lam in lambdas:
        losses = []
        for held in parts:
            keep = set(held)
            model = fit([p for i, p in enumerate(photos) if i not in keep], lam)
            losses.append(held_out_loss(model, [photos[i] for i in held]))
        out[lam] = float(np.mean(losses))
    return out
