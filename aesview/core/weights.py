"""Model files and their cards.

A weights file `NAME.pt` is never loaded without its card `NAME.json` beside it (architecture,
input size, normalisation, labels, attribute names, what it was trained on, metrics, sha256),
and never if its sha256 differs from the card's: a model whose provenance can't be shown
doesn't get to rank anyone's photos.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..paths import weights_dir
from .atomic import atomic_write_bytes, atomic_write_text
from .backbones import SPECS
from .model import AesNet, build_model
from .preprocess import Normalization

REQUIRED = ("name", "file", "sha256", "architecture", "input", "normalization", "labels",
            "attributes", "trained", "training", "metrics")


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class InputSpec:
    long_side: int        # the working size the model was trained at
    multiple: int = 32    # the backbone's stride: each side is rounded to it


@dataclass(frozen=True)
class ModelCard:
    """A model card, typed. `raw` keeps the JSON as stored (for `--json` output and re-saving)."""
    name: str
    file: str
    sha256: str
    architecture: str
    input: InputSpec
    normalization: Normalization
    labels: tuple[str, ...]
    attributes: tuple[str, ...]
    trained: bool
    training: dict[str, Any]
    metrics: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, meta: dict[str, Any], source: str | Path = "model card") -> ModelCard:
        missing = [k for k in REQUIRED if k not in meta]
        if missing:
            raise ModelError(f"{source}: model card lacks {', '.join(missing)}")
        if meta["architecture"] not in SPECS:
            raise ModelError(f"{source}: unknown architecture {meta['architecture']!r}")
        try:
            inp, norm = meta["input"], meta["normalization"]
            mean = tuple(float(v) for v in norm["mean"])
            std = tuple(float(v) for v in norm["std"])
            if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
                raise ValueError("normalization needs 3 means and 3 positive stds")
            card = cls(name=str(meta["name"]), file=str(meta["file"]), sha256=str(meta["sha256"]),
                       architecture=str(meta["architecture"]),
                       input=InputSpec(int(inp["long_side"]), int(inp.get("multiple", 32))),
                       normalization=Normalization((mean[0], mean[1], mean[2]), (std[0], std[1], std[2])),
                       labels=tuple(str(v) for v in meta["labels"]),
                       attributes=tuple(str(v) for v in meta["attributes"]),
                       trained=bool(meta["trained"]), training=dict(meta["training"]),
                       metrics=dict(meta["metrics"]), raw=dict(meta))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{source}: malformed model card ({exc!r})") from exc
        return card

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @property
    def data_short(self) -> str:
        """What it was trained on, in a few words."""
        return str(self.training.get("data_short") or self.training.get("data", "?"))


@dataclass
class LoadedModel:
    card: ModelCard
    net: AesNet
    device: torch.device
    path: Path | None = None  # the weights file it came from

    @property
    def model_id(self) -> str:
        return f"{self.card.name}@{self.card.sha256[:16]}"

    @property
    def attributes(self) -> list[str]:
        return list(self.card.attributes)


def default_model_name() -> str:
    """AESVIEW_MODEL (a name or a .pt file) if set, else the model named in weights/DEFAULT."""
    if os.environ.get("AESVIEW_MODEL"):
        return os.environ["AESVIEW_MODEL"]
    marker = weights_dir() / "DEFAULT"
    if not marker.is_file():
        raise ModelError(f"no default model: {marker} is missing")
    return marker.read_text().strip()


def list_models() -> list[str]:
    return sorted(p.stem for p in weights_dir().glob("*.json"))


def resolve(name_or_file: str | None) -> tuple[Path, Path, ModelCard]:
    """(weights file, card file, card) for a model name from weights/, a .pt file or a .json
    card."""
    if not name_or_file:
        name_or_file = default_model_name()
    p = Path(name_or_file)
    if p.suffix in (".pt", ".json") or p.exists():
        card = p.with_suffix(".json")
    else:
        card = weights_dir() / f"{name_or_file}.json"
        if not card.is_file():
            raise ModelError(f"unknown model {name_or_file!r}; shipped models: "
                             + (", ".join(list_models()) or "none"))
    if not card.is_file():
        raise ModelError(f"{p}: its card {card.name} is missing beside it; a model file is "
                         "never loaded without its card")
    meta = read_card(card)
    return card.parent / meta.file, card, meta


def read_card(card_path: Path) -> ModelCard:
    try:
        meta = json.loads(Path(card_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{card_path}: unreadable model card ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"{card_path}: a model card is a JSON object")
    return ModelCard.from_dict(meta, card_path)


def pick_device(device: str = "auto", fall_back: bool = False) -> torch.device:
    """The one place a device choice (core.choices.DEVICES) becomes a torch device. auto: CUDA
    when torch sees one, else the CPU. cuda without CUDA: ModelError, or with `fall_back` the CPU
    (the GUI says so in its log; the CLI and the trainer refuse)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        if fall_back:
            return torch.device("cpu")
        raise ModelError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(device)


def load_model(name_or_file: str | None = None, device: str = "auto", fall_back: bool = False) -> LoadedModel:
    weights, card_path, card = resolve(name_or_file)
    try:
        data = weights.read_bytes()  # read once: hashed, then loaded from memory
    except FileNotFoundError:
        raise ModelError(f"{weights}: model file named by {card_path.name} is missing") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.sha256:
        raise ModelError(f"{weights}: sha256 {digest[:16]}… does not match its card "
                         f"({card.sha256[:16]}…); the file is damaged or not this model")
    net = build_model(card.architecture, len(card.attributes))
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{weights}: does not fit {card.architecture} ({exc})") from exc
    dev = pick_device(device, fall_back)
    net.eval().to(dev)
    return LoadedModel(card, net, dev, weights)


def save_model(net: AesNet, card: dict, path: str | Path) -> dict:
    """Write NAME.pt and NAME.json atomically; the card gets the file name and sha256."""
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buf)
    data = buf.getvalue()
    card = dict(card, file=path.name, sha256=hashlib.sha256(data).hexdigest())
    missing = [k for k in REQUIRED if k not in card]
    if missing:
        raise ModelError(f"card lacks {', '.join(missing)}")
    atomic_write_bytes(path, data)
    atomic_write_text(path.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    return card
