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
import pickle
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import weights_dir
from .atomic import atomic_write_bytes, atomic_write_text
from .backbone_specs import SPECS
from .detail import DetailSpec
from .gc_pauses import freeze_long_lived
from .head_spec import HeadSpec
from .preprocess import Normalization

if TYPE_CHECKING:
    import torch

    from .model import AesNet

# torch is imported by the functions that load, place or save a network, not here: the GUI
# reads cards (the model menu, a report's header) on its own thread, where importing torch
# would freeze the window for seconds or wait on the scoring thread's import of it.

REQUIRED = ("name", "file", "sha256", "architecture", "input", "normalization", "labels",
            "attributes", "trained", "training", "metrics")
# Checked before a byte is read: a card is a few KB; the biggest backbone (VGG-16) is 528 MB.
MAX_CARD_BYTES = 1 << 20
MAX_MODEL_BYTES = 1 << 30
MAX_ATTRIBUTES = 256


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
    detail: DetailSpec | None = None   # the detail view (core/detail.py), if the model has one
    head: HeadSpec | None = None       # levels the GAP heads read besides the last map (core/model.py)

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
            if not 32 <= int(inp["long_side"]) <= 4096 or not 1 <= int(inp.get("multiple", 32)) <= 256:
                raise ValueError("input.long_side must be 32..4096 and input.multiple 1..256")
            if len(meta["attributes"]) > MAX_ATTRIBUTES or len(meta["labels"]) != 2:
                raise ValueError(f"a model has 2 labels and at most {MAX_ATTRIBUTES} attributes")
            card = cls(name=str(meta["name"]), file=str(meta["file"]), sha256=str(meta["sha256"]),
                       architecture=str(meta["architecture"]),
                       input=InputSpec(int(inp["long_side"]), int(inp.get("multiple", 32))),
                       normalization=Normalization((mean[0], mean[1], mean[2]), (std[0], std[1], std[2])),
                       labels=tuple(str(v) for v in meta["labels"]),
                       attributes=tuple(str(v) for v in meta["attributes"]),
                       trained=bool(meta["trained"]), training=dict(meta["training"]),
                       metrics=dict(meta["metrics"]), raw=dict(meta),
                       detail=DetailSpec.from_dict(meta["detail"]) if meta.get("detail") else None,
                       head=HeadSpec.from_dict(meta["head"]) if meta.get("head") else None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{source}: malformed model card ({exc!r})") from exc
        return card

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @property
    def score_meaning(self) -> str:
        """What the score means, in one sentence, for people reading it (card's training.score_meaning)."""
        return str(self.training.get("score_meaning") or
                   "P(high): the model's probability that the photo belongs to the high class")

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
    return _weights_beside(card, meta.file), card, meta


def _regular_size(path: Path, what: str, limit: int) -> int:
    """The size of a regular file no bigger than `limit`, checked before reading it (a card
    naming /dev/zero or a FIFO must not hang the app or fill its memory)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelError(f"{path}: {what} is missing") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ModelError(f"{path}: the {what} is not a regular file")
    if st.st_size == 0:
        raise ModelError(f"{path}: the {what} is empty")
    if st.st_size > limit:
        raise ModelError(f"{path}: the {what} is {st.st_size / 2**20:.0f} MB, more than any "
                         f"model aesview knows ({limit / 2**20:.0f} MB limit)")
    return st.st_size


def _weights_beside(card_path: Path, file: str) -> Path:
    """The card's `file`, which must be a plain name in the card's own folder (not a path that
    leads elsewhere, not a link out of the folder)."""
    if not file or file != Path(file).name or file in (".", "..") or "\\" in file:
        raise ModelError(f"{card_path}: its \"file\" must name a file beside the card, "
                         f"not {file!r}")
    weights = card_path.parent / file
    try:
        inside = weights.resolve().parent == card_path.parent.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise ModelError(f"{card_path}: its \"file\" {file!r} leads out of the card's folder")
    return weights


def read_card(card_path: Path) -> ModelCard:
    _regular_size(Path(card_path), "model card", MAX_CARD_BYTES)
    try:
        meta = json.loads(Path(card_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"{card_path}: unreadable model card ({_one_line(exc)})") from exc
    if not isinstance(meta, dict):
        raise ModelError(f"{card_path}: a model card is a JSON object")
    return ModelCard.from_dict(meta, card_path)


def pick_device(device: str = "auto", fall_back: bool = False) -> torch.device:
    """The one place a device choice (core.choices.DEVICES) becomes a torch device. auto: CUDA
    when torch sees one, else the CPU. cuda without CUDA: ModelError, or with `fall_back` the CPU
    (the GUI says so in its log; the CLI and the trainer refuse)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        if fall_back:
            return torch.device("cpu")
        raise ModelError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(device)


def load_model(name_or_file: str | None = None, device: str = "auto", fall_back: bool = False) -> LoadedModel:
    freeze_long_lived()        # torch's imports out of the collector's walks, before the model exists
    weights, card_path, card = resolve(name_or_file)
    _regular_size(weights, f"model file named by {card_path.name}", MAX_MODEL_BYTES)
    try:
        data = weights.read_bytes()  # read once: hashed, then loaded from memory
    except OSError as exc:
        raise ModelError(f"{weights}: cannot read the model file ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.sha256:
        raise ModelError(f"{weights}: sha256 {digest[:16]}… does not match its card "
                         f"({card.sha256[:16]}…); the file is damaged or not this model")
    from .detail_net import DetailHead
    from .model import build_model

    try:
        net = build_model(card.architecture, len(card.attributes), head=card.head)
    except ValueError as exc:
        raise ModelError(f"{card_path}: head does not fit {card.architecture} ({exc})") from exc
    # The levels are pooled to the last map's grid in windows that must tile them (core/model.py):
    # a card rounding sides to less than the stride would fail on a photo's scores, not here.
    stride = net.backbone.spec.stride
    if card.head is not None and card.input.multiple % stride:
        raise ModelError(f"{card_path}: a head with levels needs input.multiple a multiple of "
                         f"{stride}, not {card.input.multiple}")
    if card.detail is not None:
        net.detail_head = DetailHead(card.detail.channels_in, len(card.detail.channels))
    state = _safe_state_dict(weights, data)
    try:
        net.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelError(f"{weights}: does not fit {card.architecture} ({_one_line(exc)})") from exc
    if card.head is not None and net.head_spec is not None and not all(
            abs(a - b) <= 1e-6 * max(1.0, abs(b)) for a, b in zip(net.head_spec.scales, card.head.scales)):
        raise ModelError(f"{weights}: its level scales {list(net.head_spec.scales)} differ from "
                         f"its card's {list(card.head.scales)}")
    dev = pick_device(device, fall_back)
    net.eval().to(dev)
    return LoadedModel(card, net, dev, weights)


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safe_state_dict(weights: Path, data: bytes) -> dict[str, torch.Tensor]:
    """torch.load with weights_only=True, its refusals turned into one plain line. torch's own
    message suggests retrying with weights_only=False; that advice must never reach a user,
    since safe loading is exactly what stopped a pickle from running code."""
    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # Keep torch's diagnosis ("unsupported GLOBAL posix.system ..."), drop all its advice.
        parts = [" ".join(p.replace("WeightsUnpickler error:", "").split())
                 for p in re.split(r"\n\s*\n", str(exc))]
        advice = ("weights_only", "documentation", "file an issue", "safe_globals", "trusted")
        facts = [p for p in parts if p and not any(a in p for a in advice)]
        why = facts[0].split(". ")[0][:160] if facts else "not a pickle it reads"
        raise ModelError(f"{weights}: not a plain weights file; safe loading refused it ({why})"
                         ) from None
    except Exception as exc:  # noqa: BLE001 - zip/EOF/struct errors of a damaged file
        raise ModelError(f"{weights}: not a readable PyTorch weights file ({type(exc).__name__})"
                         ) from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise ModelError(f"{weights}: holds a {type(state).__name__}, not a state dict of "
                         "named tensors")
    return state


def save_model(net: AesNet, card: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Write NAME.pt and NAME.json atomically; the card gets the file name and sha256."""
    import torch

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
