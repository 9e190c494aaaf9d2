import torch

from aesview.training.avasynth import write_ava
from aesview.training.datasets import read_ava
from aesview.training.loop import TrainConfig, setup_logging, train


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
    orig = loop.atomic_torch_save
    calls = []

    def save_then_stop(obj, path):
        orig(obj, path)
        calls.append(obj["epoch"])
        if obj["epoch"] == 1:
            raise KeyboardInterrupt

    loop.atomic_torch_save = save_then_stop
    try:
        try:
            train(samples, cfg, out)
        except KeyboardInterrupt:
            pass
    finally:
        loop.atomic_torch_save = orig
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
