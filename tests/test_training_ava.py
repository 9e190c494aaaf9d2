"""The AVA path proven without AVA: a generated dataset in AVA's file layout whose votes follow
a planted property (one half blurred = low). `train --dataset ava` must learn it, and the
signed AesAM must point at the blurred half."""

import json

import numpy as np
import pytest

from aesview.core import maps
from aesview.core.weights import load_model
from aesview.training.avasynth import write_ava
from aesview.training.cli import main
from aesview.training.datasets import load_rgb, read_ava
from aesview.training.evaluate import predict

pytestmark = pytest.mark.slow


def test_train_on_ava_layout_learns_the_planted_property(tmp_path):
    data = tmp_path / "ava"
    write_ava(data, n_train=64, n_test=32, size=(128, 96), seed=3)
    out = tmp_path / "run"
    rc = main(["train", "--dataset", "ava", "--data", str(data), "--out", str(out),
               "--long-side", "128", "--epochs", "12", "--batch-size", "16", "--lr", "2e-3",
               "--freeze", "12", "--seed", "0", "--save", str(out / "ava_synth.pt")])
    assert rc == 0
    card = json.loads((out / "ava_synth.json").read_text())
    assert card["trained"] and card["metrics"]["n"] == 32
    assert card["metrics"]["accuracy"] >= 0.8, card["metrics"]   # chance is 0.5
    assert "train.log" in {p.name for p in out.iterdir()}
    assert "sample weight histogram" in (out / "train.log").read_text()

    model = load_model(out / "ava_synth.pt", device="cpu")
    planted = json.loads((data / "planted.json").read_text())
    test = read_ava(data, "test")
    low = [(s, planted[s.path.rsplit("/", 1)[1][:-4]]) for s in test
           if planted[s.path.rsplit("/", 1)[1][:-4]]]
    arrays = [load_rgb(s.path, 128) for s, _ in low]
    _, _, amaps = predict(model.net, arrays, model.card.normalization, with_maps=True)
    hits = []
    for (_s, side), m, a in zip(low, amaps, arrays):
        up = maps.upsample(m, a.shape[:2])
        half = up.shape[1] // 2
        left, right = up[:, :half].mean(), up[:, half:].mean()
        hits.append((left < right) if side == "left" else (right < left))
    assert np.mean(hits) >= 0.75, hits


def test_the_papers_vgg16_trains_from_the_users_own_weights_file(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    import torch

    from aesview.core.weights import read_card
    # Stands in for the torchvision ImageNet file a user has on disk: same layout, random values.
    weights = tmp_path / "vgg16.pth"
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), weights)
    data = tmp_path / "ava"
    write_ava(data, n_train=8, n_test=4, size=(64, 48), seed=1)
    out = tmp_path / "run"
    common = ["train", "--dataset", "ava", "--data", str(data), "--out", str(out),
              "--architecture", "vgg16", "--long-side", "64", "--epochs", "1",
              "--batch-size", "4", "--freeze", "4", "--save", str(out / "vgg.pt")]
    assert main(common) == 2                         # no weights file: a clear refusal
    assert not (out / "vgg.pt").exists()
    assert main(common + ["--imagenet-weights", str(weights)]) == 0
    card = read_card(out / "vgg.json")
    assert card.architecture == "vgg16" and card.input.multiple == 16
    model = load_model(out / "vgg.pt", device="cpu")
    assert model.net.aes_head.in_features == 512
