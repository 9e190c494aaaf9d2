"""The attribute-head refit (aesview/training/attrefit.py): only the head's tensors change, the
pairs say what the check asks, and the fit sorts a planted within-photo difference."""

import hashlib

import numpy as np
import torch

from aesview.core.model import build_model
from aesview.training import attrefit as A
from aesview.training import degradations as D


def test_write_weights_changes_only_the_attribute_head(tmp_path):
    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", len(D.ATTRIBUTES))
    old = tmp_path / "old.pt"
    torch.save({k: v.detach() for k, v in net.state_dict().items()}, old)
    k, c = net.att_head.weight.shape
    W = np.random.default_rng(0).normal(size=(k, c)).astype(np.float32)
    b = np.arange(k, dtype=np.float32)
    sha = A.write_weights(old, (W, b), tmp_path / "new.pt")
    assert sha == hashlib.sha256((tmp_path / "new.pt").read_bytes()).hexdigest()
    before = torch.load(old, weights_only=True)
    after = torch.load(tmp_path / "new.pt", weights_only=True)
    assert list(after) == list(before)
    for name, t in before.items():
        if name.startswith("att_head."):
            assert not torch.equal(after[name], t)
        else:
            assert torch.equal(after[name], t), name
    assert np.array_equal(after["att_head.weight"].numpy(), W)
    assert np.array_equal(after["att_head.bias"].numpy(), b)


def test_pairs_stay_inside_a_photo_and_a_severity():
    fam = ["clean", "near_lossless", "underexposure", "color_cast", "clean", "underexposure"]
    grp = [0, 0, 0, 0, 1, 1]
    pairs = A.within_photo_pairs(fam, grp)
    k = D.ATTRIBUTES.index("exposure")
    assert {tuple(p) for p in pairs} == {(0, 2, k), (1, 2, k), (0, 3, D.ATTRIBUTES.index("color")),
                                         (1, 3, D.ATTRIBUTES.index("color")), (4, 5, k)}
    sev = np.array([0, 0, 2, 2, 0, 1])
    spec = {tuple(p) for p in A.specificity_pairs(fam, grp, sev)}
    # the cast keeps exposure above the dark frame (same photo, same severity), and vice versa
    assert spec == {(3, 2, k), (2, 3, D.ATTRIBUTES.index("color"))}


def test_fit_learns_a_within_photo_drop_that_scenes_hide():
    """Scenes differ along feature 0 far more than a dark frame lowers feature 1: the pair loss
    must still put every photo's dark frame below its clean frame."""
    rng = np.random.default_rng(0)
    n_photo, kk = 30, len(D.ATTRIBUTES)
    xs: list[np.ndarray] = []
    ts: list[np.ndarray] = []
    fam: list[str] = []
    grp: list[int] = []
    for g in range(n_photo):
        scene = rng.normal(size=8).astype(np.float32) * 3
        for f, shift in (("clean", 0.0), ("underexposure", -0.5)):
            v = scene.copy()
            v[1] += shift
            xs.append(v)
            tt = np.ones(kk, np.float32)
            if f != "clean":
                tt[D.ATTRIBUTES.index("exposure")] = 0.0
            ts.append(tt)
            fam.append(f)
            grp.append(g)
    x, t = np.stack(xs), np.stack(ts)
    w = np.ones_like(t)
    W, b = A.fit_head(x, t, w, 1e-3, 500, pairs=A.within_photo_pairs(fam, grp),
                      pair_weight=1.0)[500]
    att = A.sigmoid(x @ W.T + b)[:, D.ATTRIBUTES.index("exposure")]
    assert all(att[2 * g] > att[2 * g + 1] for g in range(n_photo))


def test_pooled_features_read_the_cache_of_the_models_own_prefix(tmp_path):
    """A model trained from stage 12 needs its GAP features computed from the cached stage-0..11
    outputs: the cache entry keyed with freeze 12 is used, the stage-16 key is not."""
    from aesview.training import protocol
    from aesview.training.datasets import Sample
    from aesview.training.loop import sample_key
    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", len(D.ATTRIBUTES)).eval()
    img = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    s = Sample(np.ones(10), np.ones(len(D.ATTRIBUTES), np.float32), image=img)
    planted = torch.full((112, 4, 6), 0.25, dtype=torch.float16)   # stride 16, 112 channels
    cache = tmp_path / "prefix.pt"
    torch.save({sample_key(s, protocol.config(str(cache), freeze=12)): planted}, cache)
    with torch.no_grad():
        want = net.backbone(planted[None].float(), start=12).float().mean(dim=(2, 3)).numpy()
        real = A.pooled_features(net, [s], None, freeze=16)
    got = A.pooled_features(net, [s], str(cache), freeze=12)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(real, want, atol=1e-3)
    # the default (the shipped recipe's stage 16) does not read the stage-12 entry
    np.testing.assert_allclose(A.pooled_features(net, [s], str(cache)), real, rtol=1e-4, atol=1e-5)


def test_cast_evidence_rows_and_drops(tmp_path):
    """--livec-casts' pieces: cast_features gives each photo a clean row then 3 severities x dirs
    casts (the test's directions: default_rng(d)), cast_training turns them into colour-only
    targets in one group per photo (so within_photo_pairs pairs clean with each cast), and
    cast_drops counts the casts below their own photo's clean frame."""
    from PIL import Image
    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", len(D.ATTRIBUTES)).eval()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        p = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    x, meta = A.cast_features(net, paths, dirs=2, long_side=64)
    assert x.shape == (2 * 7, net.att_head.in_features)
    assert meta[:7] == [(0, 0, 0)] + [(0, s, d) for s in (1, 2, 3) for d in (0, 1)]
    # a row is the GAP of the network's features of that very cast frame
    from aesview.core.backbones import SPECS
    from aesview.core.preprocess import normalize
    from aesview.training.datasets import load_rgb
    img = load_rgb(paths[1], 64)
    cast = D.color_cast(img, 2, np.random.default_rng(1))[0]
    with torch.no_grad():
        want = net.features(normalize(cast[None], SPECS["efficientnet_lite0"].normalization))
    np.testing.assert_allclose(x[meta.index((1, 2, 1))], want.float().mean(dim=(2, 3))[0].numpy(),
                               rtol=1e-4, atol=1e-5)
    _, t, fam, grp = A.cast_training(x, meta, first_group=100)
    k = D.ATTRIBUTES.index("color")
    assert list(grp) == [100] * 7 + [101] * 7
    assert t[0].tolist() == [1.0] * len(D.ATTRIBUTES)
    assert t[meta.index((0, 3, 1)), k] == 0.0 and t[meta.index((0, 1, 0)), k] == np.float32(0.2)
    assert np.all(np.delete(t, k, axis=1) == 1.0)
    pairs = A.within_photo_pairs(fam, grp)
    assert len(pairs) == 12 and set(pairs[:, 2]) == {k}
    assert all(meta[g][0] == meta[d][0] and meta[g][1] == 0 for g, d, _ in pairs)
    colour = np.array([0.9, 0.8, 0.95, 0.7, 0.7, 0.6, 0.5] + [0.5] + [0.6] * 6, np.float32)
    assert A.cast_drops(colour, meta) == (5 + 0) / 12


def test_livec_casts_needs_the_livec_root():
    import pytest
    with pytest.raises(SystemExit):
        A.main(["--photos", "x", "--out", "y", "--livec-casts", "10"])


def test_cast_features_first_dir_draws_those_directions(tmp_path):
    """--livec-clean-weight chooses on directions 3-5: cast_features(first_dir=3) gives the very
    rows that directions 3.. give, labelled 3.., none of the suite's 0-2."""
    from PIL import Image
    torch.manual_seed(0)
    net = build_model("efficientnet_lite0", len(D.ATTRIBUTES)).eval()
    p = tmp_path / "p.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(p)
    x6, m6 = A.cast_features(net, [str(p)], dirs=6, long_side=64)
    x3, m3 = A.cast_features(net, [str(p)], dirs=3, long_side=64, first_dir=3)
    assert m3 == [(0, 0, 0)] + [(0, s, d) for s in (1, 2, 3) for d in (3, 4, 5)]
    for r, m in enumerate(m3):
        np.testing.assert_allclose(x3[r], x6[m6.index(m)], rtol=1e-5, atol=1e-6)
    assert A.LIVEC_CHOICE_DIRS[0] >= 3     # apart from the suite's directions 0-2


def test_clean_weight_reaches_only_the_appended_clean_rows_colour():
    fam = np.array(["clean", "color_cast", "clean", "color_cast", "noise", "clean"])
    w = np.arange(1, 6 * len(D.ATTRIBUTES) + 1, dtype=np.float32).reshape(6, -1)
    out = A.clean_weighted(w, fam, first_row=2, weight=4.0)
    k = D.ATTRIBUTES.index("color")
    changed = np.argwhere(out != w)
    assert sorted(map(tuple, changed)) == [(2, k), (5, k)]
    assert out[2, k] == 4 * w[2, k] and out[5, k] == 4 * w[5, k]
    assert np.array_equal(w[0], out[0])       # the shoot photos' rows untouched


def test_clean_guard_and_mean():
    meta = [(0, 0, 0), (0, 1, 3), (1, 0, 0), (1, 3, 5)]
    assert A.clean_mean(np.array([0.9, 0.1, 0.7, 0.2]), meta) == np.float64(0.8).item()
    assert A.clean_guard(0.95, 0.95 - A.CLEAN_MARGIN)
    assert A.clean_guard(0.95, 0.99)
    assert not A.clean_guard(0.95, 0.95 - A.CLEAN_MARGIN - 0.001)
    assert not A.clean_guard(0.97, 0.69)      # round 9's --livec-casts 400 row would be refused


def test_clean_weight_keeps_clean_photos_of_a_cast_heavy_domain_high():
    """The failure it answers, planted: a second domain (LIVE-C) brings 6 casts per clean frame;
    one feature marks the domain, one (noisy) the cast. With the clean frames at weight 1 the BCE learns
    the domain as poor colour and the domain's clean frames sink; weighted x6 they stay high while
    the casts still drop below them."""
    rng = np.random.default_rng(0)
    k = D.ATTRIBUTES.index("color")
    n_a, n_b = 300, 60
    # (domain, cast) per row: shoot-like clean frames and a few casts, then per LIVE-C photo
    # 1 clean frame + 6 casts
    spec = [(0, 0)] * n_a + [(0, 1)] * (n_a // 6) + ([(1, 0)] + [(1, 1)] * 6) * n_b
    rows = [[float(dom), float(c)] for dom, c in spec]
    t = [1.0 - c for _, c in spec]
    fam = ["color_cast" if c else "clean" for _, c in spec]
    x = np.array(rows)                         # the cast is seen through noise: not separable
    x[:, 1] += 0.8 * rng.normal(size=len(rows))
    x = x.astype(np.float32)
    tt = np.ones((len(rows), len(D.ATTRIBUTES)), np.float32)
    tt[:, k] = t
    _, w = A.targets_weights(tt)
    first = n_a + n_a // 6
    fam = np.array(fam)
    clean_b = np.flatnonzero((np.arange(len(rows)) >= first) & (fam == "clean"))
    cast_b = np.flatnonzero((np.arange(len(rows)) >= first) & (fam == "color_cast"))

    def colour(weights):
        W, b = A.fit_head(x, tt, weights, l2=1e-3, epochs=1500)[1500]
        return A.sigmoid(x @ W.T + b)[:, k]

    plain = colour(w)
    weighted = colour(A.clean_weighted(w, fam, first, 6.0))
    assert plain[clean_b].mean() < 0.6
    assert weighted[clean_b].mean() > plain[clean_b].mean() + 0.15
    assert weighted[cast_b].mean() < weighted[clean_b].mean() - 0.3


def test_livec_clean_weight_needs_livec_casts():
    import pytest
    with pytest.raises(SystemExit):
        A.main(["--photos", "x", "--out", "y", "--livec-clean-weight", "4"])
