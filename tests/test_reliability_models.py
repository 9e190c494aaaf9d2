"""Model files are trusted no further than their card allows (issue 13, case 5): the card's
`file` names a regular file in the card's own folder, sizes are checked before reading, and every
malformed model file is one clear line with exit 2 through the CLI, never a traceback and never
torch's advice to turn safe loading off."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import pytest
import torch

from aesview import cli
from aesview.core.weights import MAX_CARD_BYTES, ModelError, load_model

from .test_weights import CARD

PWNED = "aesview-pwned-marker"


class _Payload:
    """A pickle that would run code on a plain pickle.load."""

    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _write(folder: Path, data: bytes | None, file: str = "m.pt", **card) -> Path:
    if data is not None:
        (folder / file).write_bytes(data)
    meta = dict(CARD, file=file, sha256=hashlib.sha256(data or b"").hexdigest(), **card)
    (folder / "m.json").write_text(json.dumps(meta))
    return folder / "m.json"


def _cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (card to load, words the one-line error must contain)."""
    out = {}

    def folder(name: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        return d

    out["file=/dev/zero"] = (_write(folder("devzero"), None, file="/dev/zero"), "beside the card")
    out["file=../../etc/passwd"] = (_write(folder("traversal"), None,
                                           file="../../../../etc/passwd"), "beside the card")
    d = folder("symlink-out")
    os.symlink("/etc/passwd", d / "m.pt")
    out["symlink out of the folder"] = (_write(d, None), "leads out")
    d = folder("fifo")
    os.mkfifo(d / "m.pt")
    out["FIFO as model file"] = (_write(d, None), "not a regular file")
    out["empty .pt"] = (_write(folder("empty"), b""), "empty")
    out["pickle with __reduce__"] = (_write(folder("payload"), pickle.dumps(_Payload(), 2)),
                                     "unsupported GLOBAL posix.system")
    out["torch zip with __reduce__"] = (_write(folder("payload-zip"), _torch_bytes(_Payload())),
                                        "unsupported GLOBAL posix.system")
    out["a list, not a state dict"] = (_write(folder("list"), _torch_bytes([1, 2, 3])),
                                       "not a state dict")
    out["garbage bytes"] = (_write(folder("garbage"), b"\x00garbage" * 100),
                            "not a plain weights file")
    out["truncated torch zip"] = (_write(folder("cut"), _torch_bytes({"w": torch.zeros(99)})[:300]),
                                  "not a readable PyTorch weights file")
    out["wrong tensors"] = (_write(folder("wrong"), _torch_bytes({"w": torch.zeros(3)})),
                            "does not fit")
    inp = {"multiple": 32}
    out["card without input.long_side"] = (_write(folder("no-long-side"), b"x", input=inp),
                                           "malformed model card")
    out["card with 5,000 attributes"] = (
        _write(folder("attrs"), b"x", attributes=[f"a{i}" for i in range(5000)]),
        "attributes")
    d = folder("huge-card")
    (d / "m.json").write_text(json.dumps(dict(CARD, file="m.pt", sha256="0" * 64,
                                              pad="x" * MAX_CARD_BYTES)))
    out["2 MB card"] = (d / "m.json", "MB")
    d = folder("not-object")
    (d / "m.json").write_text("[1, 2]")
    out["card is a JSON list"] = (d / "m.json", "JSON object")
    d = folder("deep-json")
    (d / "m.json").write_text("[" * 100_000 + "]" * 100_000)
    out["100,000-deep JSON card"] = (d / "m.json", "model card")
    return out


def test_every_malformed_model_is_one_clear_line_with_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"never decoded: the model fails first")
    cases = _cases(tmp_path)
    for name, (card, words) in cases.items():
        with pytest.raises(ModelError, match=None) as info:
            load_model(str(card), device="cpu")
        assert words in str(info.value), (name, str(info.value))
        rc = cli.main(["score", str(photo), "--model", str(card), "--no-cache", "-q"])
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert rc == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith("aesview: "), (name, err)
        assert "weights_only" not in err and "Traceback" not in err, (name, err)
        assert out == ""
    assert not (tmp_path / PWNED).exists()      # no payload ran
    assert len(cases) == 16
