import contextlib

import torch

from aesview.training.avasynth import write_ava
from aesview.training.datasets import read_ava
from aesview.training.loop import TrainConfig, setup_logging, train

from .interrupt import stop_after_first_checkpoint


def _cfg(epochs):
    return TrainConfig(long_side=64, epochs=epochs, batch_size=8, freeze=15, seed=5,
                       device="cpu")


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    write_ava(tmp_path / "ava", n_train=16, n_test=2, size=(64, 48))
    samples = read_ava(tmp_path / "ava", "train")
    setup_logging(None)
    straight, _ = train(samples, _cfg(2), tmp_path / "a")
    # Same run stopped after one epoch, then resumed from its checkpoint.
    first, s1 = _train_one_then_resume(samples, tmp_path / "b")
    for (k, v), (k2, v2) in zip(straight.state_dict().items(), first.state_dict().items()):
        assert k == k2 and torch.allclose(v.float(), v2.float(), atol=1e-5), k
    assert [h["epoch"] for h in s1["history"]] == [1, 2]
    assert not list((tmp_path / "b").glob("*.part"))


def _train_one_then_resume(samples, out):
    import aesview.training.loop as loop
    cfg = _cfg(2)
    # Interrupt after the first epoch's checkpoint, as a killed process would.
    with stop_after_first_checkpoint(loop) as calls, contextlib.suppress(KeyboardInterrupt):
        train(samples, cfg, out)
    assert calls == [1]
    ck = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ck["epoch"] == 1
    return train(samples, cfg, out, resume=True)


def test_unreadable_image_is_left_out_and_training_goes_on(tmp_path):
    from aesview.training.cli import main
    write_ava(tmp_path / "ava", n_train=12, n_test=4, size=(64, 48))
    ids = (tmp_path / "ava/aesthetics_image_lists/generic_ls_train.jpgl").read_text().split()
    (tmp_path / "ava/images" / f"{ids[0]}.jpg").write_bytes(b"not a jpeg")
    # Uncached prefix with a decoding worker: the path a big dataset on a GPU takes.
    rc = main(["train", "--dataset", "ava", "--data", str(tmp_path / "ava"),
               "--out", str(tmp_path / "run"), "--long-side", "64", "--epochs", "1",
               "--no-cache", "--workers", "1", "--batch-size", "4", "--device", "cpu"])
    assert rc == 0
    log = (tmp_path / "run" / "train.log").read_text()
    assert f"{ids[0]}.jpg: left out of training" in log
    assert (tmp_path / "run" / "model.pt").is_file() and (tmp_path / "run" / "checkpoint.pt").is_file()


def test_select_returns_the_epoch_the_validation_score_prefers(tmp_path):
    write_ava(tmp_path / "ava", n_train=16, n_test=2, size=(64, 48))
    samples = read_ava(tmp_path / "ava", "train")
    setup_logging(None)
    states = []

    def val_fn(net):
        states.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        return {"val_fake": -len(states)}   # epoch 1 scores best

    net, summary = train(samples, _cfg(3), None, val_fn=val_fn, select=lambda e: e["val_fake"])
    assert summary["selected_epoch"] == 1
    assert [h["val_fake"] for h in summary["history"]] == [-1, -2, -3]
    final = net.state_dict()
    assert all(torch.equal(final[k], v) for k, v in states[0].items())
    assert not all(torch.equal(final[k], v) for k, v in states[2].items())


def test_cross_scene_rank_pairs_a_clean_photo_with_other_photos_severe_defects():
    from types import SimpleNamespace

    from aesview.training.datasets import Sample
    from aesview.training.loop import batch_loss
    from aesview.training.weighting import pseudo_votes
    att = torch.zeros(4, 0)
    samples = [Sample(pseudo_votes(7.5), att[0].numpy(), group=0),     # clean photo A
               Sample(pseudo_votes(3.3), att[0].numpy(), group=0),     # A, severity 2
               Sample(pseudo_votes(3.3), att[0].numpy(), group=1),     # B, severity 2
               Sample(pseudo_votes(4.3), att[0].numpy(), group=1)]     # B, severity 1
    z = torch.tensor([0.0, 3.0, 0.5, 3.0])
    out = SimpleNamespace(aes_logits=torch.stack([torch.zeros(4), z], 1),
                          att_logits=torch.zeros(4, 0), features=torch.zeros(4, 1, 1, 1))
    y = torch.tensor([1, 0, 0, 0])
    w = torch.ones(4)
    cfg = TrainConfig(rank_weight=0, map_weight=0, att_weight=0, cross_rank_weight=2.0)
    _, terms = batch_loss(out, None, [0, 1, 2, 3], SimpleNamespace(samples=samples), y, w, att,
                          False, cfg)
    # Only (A clean, B severity 2) is a pair: 2 * hinge(1 - (0 - 0.5)) = 3.
    assert float(terms["cross_rank"]) == 3.0
    _, terms = batch_loss(out, None, [0, 1, 2, 3], SimpleNamespace(samples=samples), y, w, att,
                          False, TrainConfig(rank_weight=0, map_weight=0, att_weight=0))
    assert "cross_rank" not in terms
