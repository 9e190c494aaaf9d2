"""Model files are only ever loaded with their card, and only when the hash matches."""

import json

import pytest
import torch

from aesview.core.model import build_model
from aesview.core.weights import ModelError, load_model, read_card, save_model

CARD = {
    "name": "test-untrained", "architecture": "efficientnet_lite0",
    "input": {"long_side": 160, "multiple": 32},
    "normalization": {"mean": [0.5] * 3, "std": [0.5] * 3}, "labels": ["low", "high"],
    "attributes": ["a", "b"], "trained": False, "training": {"data": "nothing"}, "metrics": {},
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    torch.manual_seed(3)
    net = build_model("efficientnet_lite0", 2)
    card = save_model(net, CARD, d / "m.pt")
    return d, net, card


def test_round_trip_keeps_every_weight(saved):
    d, net, card = saved
    assert card["file"] == "m.pt" and len(card["sha256"]) == 64
    assert json.loads((d / "m.json").read_text())["sha256"] == card["sha256"]
    loaded = load_model(str(d / "m.pt"), device="cpu")
    for (k, a), b in zip(net.state_dict().items(), loaded.net.state_dict().values()):
        assert torch.equal(a, b), k
    assert loaded.model_id.startswith("test-untrained@")
    assert not loaded.net.training
    assert not list(d.glob("*.part"))


def test_mismatched_hash_is_refused(saved, tmp_path):
    d, _, card = saved
    (tmp_path / "m.pt").write_bytes((d / "m.pt").read_bytes()[:-1] + b"\1")
    (tmp_path / "m.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match"):
        load_model(str(tmp_path / "m.pt"))


def test_missing_card_or_file_is_a_clear_error(saved, tmp_path):
    d, _, card = saved
    (tmp_path / "lonely.pt").write_bytes((d / "m.pt").read_bytes())
    with pytest.raises(ModelError, match="card"):
        load_model(str(tmp_path / "lonely.pt"))
    (tmp_path / "gone.json").write_text(json.dumps(dict(card, file="gone.pt")))
    with pytest.raises(ModelError, match="missing"):
        load_model(str(tmp_path / "gone.json"))
    with pytest.raises(ModelError, match="unknown model"):
        load_model("no-such-model")


def test_incomplete_card_is_refused(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(ModelError, match="lacks"):
        read_card(tmp_path / "x.json")


def test_shipped_default_model_has_a_complete_honest_card():
    model = load_model(device="cpu")
    card = model.card
    assert card.trained is True
    assert card.labels == ("low", "high")
    assert len(card.attributes) == model.net.att_head.out_features
    text = json.dumps(card.training).lower()
    assert "ava" in text and "never" in text   # it says plainly it was never shown AVA
    assert card.metrics
