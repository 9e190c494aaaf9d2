"""The learned subject map: where, cell by cell, people marked "the subject" in photos like this.

The ImageNet CAM knows 1000 classes and follows whichever one the classifier names, so a light
switch beside a cat, or fireworks read as "missile", pull a crop off its subject (docs/CROP.md,
rounds 8-9). This head reads the same last feature map the CAM reads (the ImageNet stages'
1280 channels, 14 x 14 cells for a square 448-px input) plus five position terms (x, y, x², y²,
xy of the cell's centre, -0.5 ... 0.5), and gives each cell the probability that it lies inside
the subject box a person would mark: a logistic regression fitted on the hand-marked photos of
tests/data/crop_subjects.json (`tools/train_crop_subject.py`; its card says on which photos, with
which regularisation, and how it was chosen: docs/CROP.md, rounds 10-12).

The head is a plain .npz of float arrays beside a JSON card with its sha256; it is never loaded
if the two disagree. Without it (a trimmed install) the crop runs on the other cues and says so.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..paths import weights_dir

HEAD_NAME = "subject-head"
POSITION_TERMS = ("x", "y", "x^2", "y^2", "xy")


class SubjectHeadError(Exception):
    """The learned subject head's file is damaged, unreadable or not the one its card names."""


def head_dir() -> Path:
    # a sub-folder: weights/*.json are the aesthetic models' cards (core.weights.available)
    return weights_dir() / "crop"


def position_terms(h: int, w: int) -> np.ndarray:
    """(5, h, w): x, y, x², y², xy of each cell's centre, in -0.5 ... 0.5 of the frame."""
    ys = (np.arange(h) + 0.5) / h - 0.5
    xs = (np.arange(w) + 0.5) / w - 0.5
    y, x = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([x, y, x * x, y * y, x * y], 0).astype(np.float32)


def cell_inputs(features: np.ndarray) -> np.ndarray:
    """(h * w, C + 5): each cell's features and position terms, the head's input rows."""
    c, h, w = features.shape
    both = np.concatenate([features.astype(np.float32), position_terms(h, w)], 0)
    rows: np.ndarray = both.reshape(c + len(POSITION_TERMS), h * w).T
    return rows


@dataclass(frozen=True)
class SubjectHead:
    """z = ((x - mean) / std) · beta + bias per cell; the map is sigmoid(z)."""
    beta: np.ndarray          # (C + 5,)
    bias: float
    mean: np.ndarray          # (C + 5,) the training cells' mean and spread
    std: np.ndarray
    card: dict[str, Any]

    @property
    def channels(self) -> int:
        return int(self.beta.shape[0]) - len(POSITION_TERMS)

    @property
    def label(self) -> str:
        return f"{self.card.get('name', HEAD_NAME)}@{str(self.card.get('sha256', ''))[:16]}"

    def folded(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, float]:
        """(feature weights (C,), position weights (5,), bias) with the standardisation folded in,
        so one product over the feature map gives z."""
        w = self.beta / self.std
        b = self.bias - float((self.beta * self.mean / self.std).sum())
        c = self.channels
        return (torch.from_numpy(w[:c].astype(np.float32)).to(device),
                torch.from_numpy(w[c:].astype(np.float32)).to(device), b)

    def predict_rows(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities for (n, C + 5) input rows (cell_inputs)."""
        z = ((rows - self.mean) / self.std) @ self.beta + self.bias
        out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return out

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(h, w) probabilities for a (C, h, w) feature map (the reference the analyzer's folded
        torch version is tested against)."""
        _, h, w = features.shape
        return self.predict_rows(cell_inputs(features)).reshape(h, w).astype(np.float32)


class FoldedHead:
    """The head as the analyzer runs it: one einsum over the feature map it already has."""

    def __init__(self, head: SubjectHead, device: torch.device | str = "cpu"):
        self.head = head
        self.w_feat, self.w_pos, self.bias = head.folded(device)
        self._pos: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """(h, w) probabilities for a (C, h, w) float tensor."""
        _, h, w = features.shape
        pos = self._pos.get((h, w))
        if pos is None:
            terms = torch.from_numpy(position_terms(h, w)).to(features.device)
            pos = self._pos[(h, w)] = torch.einsum("k,khw->hw", self.w_pos, terms) + self.bias
        return torch.sigmoid(torch.einsum("c,chw->hw", self.w_feat, features) + pos)


def head_files(folder: Path | None = None) -> tuple[Path, Path]:
    folder = head_dir() if folder is None else Path(folder)
    return folder / f"{HEAD_NAME}.npz", folder / f"{HEAD_NAME}.json"


def load_subject_head(folder: Path | None = None) -> SubjectHead | None:
    """The shipped head, or None when its files are not installed. A card without its file, a
    file whose sha256 differs from the card's, or arrays of the wrong shape raise
    SubjectHeadError: a damaged head must not silently steer crops."""
    data_path, card_path = head_files(folder)
    if not card_path.exists() and not data_path.exists():
        return None
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        data = data_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise SubjectHeadError(f"{card_path.parent}: cannot read the learned subject head ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("sha256"):
        raise SubjectHeadError(f"{data_path}: sha256 {digest[:16]}… does not match its card "
                               f"({str(card.get('sha256'))[:16]}…); the file is damaged or not this head")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in ("beta", "bias", "mean", "std")}
    except (KeyError, ValueError, OSError) as exc:
        raise SubjectHeadError(f"{data_path}: not a subject head ({exc})") from None
    n = arrays["beta"].shape
    if len(n) != 1 or arrays["mean"].shape != n or arrays["std"].shape != n or arrays["bias"].size != 1 \
            or n[0] <= len(POSITION_TERMS) or not np.all(arrays["std"] > 0) \
            or not all(np.all(np.isfinite(a)) for a in arrays.values()):
        raise SubjectHeadError(f"{data_path}: its arrays do not make a subject head")
    return SubjectHead(beta=arrays["beta"], bias=float(arrays["bias"].reshape(-1)[0]),
                       mean=arrays["mean"], std=arrays["std"], card=card)
