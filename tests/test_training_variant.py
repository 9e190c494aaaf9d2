"""joint.train_split (what `python -m aesview.training.variant` runs) chooses the epoch on the
split's validation photos and never loads its test part; run_split scores the test part after."""

from PIL import Image

from aesview.core.defects import gaussian_blur
from aesview.training import degradations as D
from aesview.training import joint, loop
from aesview.training.datasets import load_rgb, read_livec
from aesview.training.joint import split_names

from .photos import shared_photo


def _livec(tmp_path, n=20):
    src = load_rgb(shared_photo("skimage_coffee.jpg"), 96)
    (tmp_path / "images").mkdir()
    rows = ["file,mos,mos_std"]
    for i in range(n):
        img = src if i % 5 == 0 else gaussian_blur(src, 0.3 * (i % 5))
        Image.fromarray(img).save(tmp_path / "images" / f"{i}.jpg", quality=92)
        rows.append(f"images/{i}.jpg,{95 - 4 * i},12")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return read_livec(tmp_path)


def test_train_split_never_loads_the_test_part(tmp_path, monkeypatch):
    livec = _livec(tmp_path)
    parts = split_names([s.name for s in livec], 0)
    seen: set[str] = set()
    real_init = loop.Inputs.__init__

    def spy(self, samples, *a, **kw):
        seen.update(s.name for s in samples if s.mean is not None)
        real_init(self, samples, *a, **kw)

    monkeypatch.setattr(loop.Inputs, "__init__", spy)
    cfg = loop.TrainConfig(long_side=64, epochs=2, batch_size=8, freeze=15, seed=0,
                           device="cpu", attributes=list(D.ATTRIBUTES), threshold=5.5,
                           human_rank_weight=1.0, backbone_lr_scale=0.1)
    net, summary, got = joint.train_split(livec, [], [], cfg, 0, tmp_path / "run")
    assert got == parts
    assert seen and not seen & set(parts["test"])
    assert set(parts["val"]) <= seen
    assert [e["epoch"] for e in summary["history"]] == [1, 2]
    best = max(summary["history"], key=lambda e: e["select"])
    assert summary["selected_epoch"] == best["epoch"]
    assert all("val_srcc" in e for e in summary["history"])

    # run_split, resumed from the finished checkpoint, scores the test part only then
    seen.clear()
    net2, summary2 = joint.run_split(livec, [], [], cfg, 0, tmp_path / "run", resume=True)
    assert summary2["test"]["n"] == len(parts["test"])
    assert set(parts["test"]) <= seen
    assert summary2["selected_epoch"] == summary["selected_epoch"]
