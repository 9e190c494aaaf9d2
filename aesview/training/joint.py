"""The default model's recipe: people's opinions (LIVE-C) learnt jointly with the self-supervised
defects and synthetic shallow depth of field, under the literature's split protocol.

Splits: the LIVE-C photos (rater-training t*.bmp left out), sorted by name, are shuffled with
`numpy.random.default_rng([seed, split])`; the first 20 % are the split's test part, the next
15 % of the rest its validation part (epoch and setting choices), the remainder trains. So a
split is fixed by (seed, split) alone, before any training, and the card can name it.

Every sample's frozen-prefix features are cached on disk (keyed by file or pixel hash), so the
five splits and the weighting ablation share one pass of the frozen backbone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from . import degradations as D
from .datasets import Sample, load_rgb
from .evaluate import pearson, spearman
from .loop import Inputs, TrainConfig, train
from .selfsup import CLEAN_MEAN, DEFECT_MEAN, attribute_targets, build
from .weighting import pseudo_votes

log = logging.getLogger("aesview.training")

SPLIT_SEED = 20261201
TEST_FRACTION = 0.2
VAL_FRACTION = 0.15


def split_names(names: list[str], split: int, seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """{"train", "val", "test"} name lists of one seeded 80/20 split (val carved from the 80 %)."""
    names = sorted(names)
    order = np.random.default_rng([seed, split]).permutation(len(names))
    n_test = int(round(TEST_FRACTION * len(names)))
    rest = order[n_test:]
    n_val = int(round(VAL_FRACTION * len(rest)))
    pick = lambda idx: sorted(names[i] for i in idx)  # noqa: E731
    return {"test": pick(order[:n_test]), "val": pick(rest[:n_val]), "train": pick(rest[n_val:])}


def mirrored(s: Sample) -> Sample:
    return replace(s, mirror=True)


def bokeh_samples(photos, long_side: int, seed: int = 0, finder=None) -> list[Sample]:
    """Per photo (and its mirror): background blur at each of BOKEH_RADII = high class, subject
    blur = low class with the subject as mask. Groups are offset so they never collide with the
    self-supervised set's groups (the within-photo ranking loss then sees only these)."""
    from .bokeh import BOKEH_RADII, SubjectFinder, background_blur, subject_blur
    finder = finder or SubjectFinder()
    out = []
    for g, path in enumerate(photos):
        img = load_rgb(path, long_side)
        for m, im in enumerate((img, np.ascontiguousarray(img[:, ::-1]))):
            mask = finder.mask(im)
            group = 100000 + 2 * g + m
            out.append(Sample(pseudo_votes(CLEAN_MEAN), attribute_targets("clean", 0), image=im,
                              group=group, family="clean"))
            for r in BOKEH_RADII:
                out.append(Sample(pseudo_votes(CLEAN_MEAN), attribute_targets("clean", 0),
                                  image=background_blur(im, mask, r), group=group,
                                  family="bokeh"))
            out.append(Sample(pseudo_votes(DEFECT_MEAN[2]), attribute_targets("defocus", 2),
                              image=subject_blur(im, mask), mask=mask, group=group,
                              family="subject_blur", severity=2))
    return out


def native_samples(photos, long_side: int, seed: int = 0, mirror: bool = True) -> list[Sample]:
    """Defects made at the photo's full resolution (noise, shake, missed focus; 3 severities)
    and passed, like the clean photo itself, through a JPEG and the app's reduced decode: what
    a camera file looks like to the network. Grain that shrinking almost hides is still grain."""
    import tempfile

    from ..core.imaging import load_image
    from .bursts import NATIVE, NATIVE_ATTRIBUTE, native_defect, through_app
    from .selfsup import ATTRIBUTE_TARGET, seed_for
    out = []
    k = len(D.ATTRIBUTES)
    with tempfile.TemporaryDirectory(prefix="aesview-native-") as tmp:
        for g, path in enumerate(photos):
            full = np.asarray(load_image(path).image.convert("RGB"))
            for m, im in enumerate((full, np.ascontiguousarray(full[:, ::-1])) if mirror
                                   else (full,)):
                rng = np.random.default_rng(seed_for(seed, Path(path).name, "native", m))
                group = 200000 + 2 * g + m
                out.append(Sample(pseudo_votes(CLEAN_MEAN), np.ones(k, np.float32),
                                  image=through_app(im, long_side, Path(tmp)), group=group))
                for fam in NATIVE:
                    for sev in D.SEVERITIES:
                        att = np.ones(k, np.float32)
                        att[D.ATTRIBUTES.index(NATIVE_ATTRIBUTE[fam])] = ATTRIBUTE_TARGET[sev]
                        img = through_app(native_defect(im, fam, sev, rng), long_side, Path(tmp))
                        out.append(Sample(pseudo_votes(DEFECT_MEAN[sev]), att, image=img,
                                          group=group, family=fam, severity=sev))
    return out


def selfsup_samples(train_photos, long_side: int, seed: int = 0) -> list[Sample]:
    return build(train_photos, long_side, near_lossless=2, copies=1, seed=seed,
                 mirror_sources=True)


def selfsup_validation(val_photos, long_side: int, seed: int = 7) -> list[Sample]:
    return build(val_photos, long_side, near_lossless=0, copies=1, seed=seed,
                 families=D.TECHNICAL) + [
        replace(s, group=s.group + 1000) for s in native_samples(val_photos, long_side, seed,
                                                                 mirror=False)]


@torch.no_grad()
def cached_z(net, inputs: Inputs) -> np.ndarray:
    """z = logit_high - logit_low for every sample of `inputs`, from its cached prefix."""
    net.eval()
    z = np.full(len(inputs.samples), np.nan, np.float32)
    for batch, x, _ in inputs.epoch(inputs.batches(np.random.default_rng(0), shuffle=False),
                                    np.random.default_rng(0)):
        lg = net(x, start=inputs.cfg.freeze).aes_logits.float().cpu().numpy()
        z[batch] = lg[:, 1] - lg[:, 0]
    return z


@torch.no_grad()
def cached_map_auc(net, inputs: Inputs, family: str = "local_blur") -> float:
    """Mean AUC of the signed AesAM (lower inside the defect's mask than outside) over the
    samples of `family`, from cached prefixes: the held-out map check, on validation photos."""
    from ..core import maps
    from .evaluate import auc
    net.eval()
    w_aes = net.head_weights()[0]
    idx = [i for i, s in enumerate(inputs.samples) if s.family == family and s.mask is not None]
    sub = set(idx)
    aucs = []
    for batch, x, _ in inputs.epoch(inputs.batches(np.random.default_rng(0), shuffle=False),
                                    np.random.default_rng(0)):
        keep = [j for j, i in enumerate(batch) if i in sub]
        if not keep:
            continue
        feats = net(x[keep], start=inputs.cfg.freeze).features.float().cpu().numpy()
        for f, j in zip(feats, keep):
            m = inputs.samples[batch[j]].mask
            up = maps.upsample(maps.aesam(f, w_aes), m.shape)
            aucs.append(auc(up[m < 0.05], up[m >= 0.5]))
    return float(np.mean(aucs)) if aucs else float("nan")


def selfsup_figures(z: np.ndarray, samples: list[Sample]) -> dict:
    """Clean beats its own technical defects; severities ordered (validation photos)."""
    by = {(s.group, s.family, s.severity): z[i] for i, s in enumerate(samples)}
    wins, order = [], []
    for (g, fam, sev), v in by.items():
        if fam in D.TECHNICAL or fam.startswith("native_"):
            c = by[(g, "clean", 0)]
            wins.append(1.0 if c > v else 0.5 if c == v else 0.0)
            if (g, fam, sev + 1) in by:
                order.append(1.0 if v > by[(g, fam, sev + 1)] else 0.0)
    return {"clean_beats_technical": float(np.mean(wins)), "severity_order": float(np.mean(order))}


def human_figures(z: np.ndarray, samples: list[Sample]) -> dict:
    mos = np.array([s.mean for s in samples])
    return {"srcc": spearman(z, mos), "plcc": pearson(z, mos), "n": len(samples)}


# The epoch kept is the one best on the mean of these validation figures: agreement with
# people, clean beats its own defect, and the AesAM finding a local blur.
SELECT_KEYS = ("val_srcc", "val_clean_beats_technical", "val_local_blur_map_auc")


def make_validation(net_cfg: TrainConfig, val_human, val_selfsup, device):
    """val_fn/select for `train`: SRCC/PLCC on the split's validation photos and the defect
    checks on the validation shoot photos, both from cached features; the epoch kept is the one
    with the best mean of SRCC and the clean-beats-defect rate."""
    from .loop import model_for
    prefix = model_for(net_cfg, len(net_cfg.attributes), imagenet=True).to(device)
    hum = Inputs(val_human, prefix, net_cfg, device)
    sel = Inputs(val_selfsup, prefix, net_cfg, device) if val_selfsup else None

    def val_fn(net):
        out = {f"val_{k}": v for k, v in human_figures(cached_z(net, hum), val_human).items()
               if k != "n"}
        if sel is not None:
            out.update({f"val_{k}": v for k, v in
                        selfsup_figures(cached_z(net, sel), val_selfsup).items()})
            out["val_local_blur_map_auc"] = cached_map_auc(net, sel)
        return out

    def select(entry):
        keys = [k for k in SELECT_KEYS if k in entry]
        return sum(entry[k] for k in keys) / len(keys)

    return val_fn, select


def train_split(livec: list[Sample], photos_train, photos_val, cfg: TrainConfig, split: int,
                out_dir: Path | None, resume=False, extra_train: list[Sample] | None = None,
                seed: int = SPLIT_SEED, device="cpu"):
    """Train one split, the epoch chosen on its validation photos; its test part is not
    touched (run_split scores it). Returns (net, summary, the split's parts)."""
    by_name = {s.name: s for s in livec}
    parts = split_names(list(by_name), split, seed)
    train_h = [by_name[n] for n in parts["train"]]
    samples = train_h + [mirrored(s) for s in train_h] + (extra_train or [])
    # Each human-rated photo is its own group, so batches mix photos of different scenes.
    for i, s in enumerate(samples):
        if s.mean is not None:
            s.group = -2 - i
    val_fn, select = make_validation(cfg, [by_name[n] for n in parts["val"]],
                                     selfsup_validation(photos_val, cfg.long_side), device)
    net, summary = train(samples, cfg, out_dir, resume=resume, val_fn=val_fn, select=select)
    for entry in summary["history"]:
        entry["select"] = float(select(entry))
    return net, summary, parts


def run_split(livec: list[Sample], photos_train, photos_val, cfg: TrainConfig, split: int,
              out_dir: Path | None, resume=False, extra_train: list[Sample] | None = None,
              seed: int = SPLIT_SEED, device="cpu"):
    """Train one split with fixed settings; returns (net, summary with the test figures)."""
    t0 = time.time()
    net, summary, parts = train_split(livec, photos_train, photos_val, cfg, split, out_dir,
                                      resume, extra_train, seed, device)
    by_name = {s.name: s for s in livec}
    test = [by_name[n] for n in parts["test"]]
    test_inputs = Inputs(test, net, cfg, device)
    figures = human_figures(cached_z(net, test_inputs), test)
    summary.update({"split": split, "test": figures, "train_time_s": round(time.time() - t0, 1),
                    "parts": {k: len(v) for k, v in parts.items()}})
    log.info("split %d test: SRCC %.4f PLCC %.4f (n=%d)", split, figures["srcc"], figures["plcc"],
             figures["n"])
    return net, summary


def frozen_ridge_scores(livec: list[Sample], cfg: TrainConfig, split: int, device="cpu",
                        seed: int = SPLIT_SEED) -> dict:
    """Baseline: ridge regression on the frozen ImageNet Lite0 features (mean + std pooled at
    the working size) of the split's training photos; its alpha chosen on the validation part."""
    from ..core.model import build_model
    net = build_model(cfg.architecture, 1, imagenet=True).to(device).eval()
    by_name = {s.name: s for s in livec}
    parts = split_names(list(by_name), split, seed)

    def feats(names):
        xs = []
        inputs = Inputs([by_name[n] for n in names], net, cfg, device)
        for batch, x, _ in inputs.epoch(inputs.batches(np.random.default_rng(0), shuffle=False),
                                        np.random.default_rng(0)):
            with torch.no_grad():
                f = net.backbone(x, start=cfg.freeze).float()
            xs.append((batch, torch.cat([f.mean((2, 3)), f.std((2, 3))], 1).cpu().numpy()))
        out = np.zeros((len(names), xs[0][1].shape[1]), np.float64)
        for b, v in xs:
            out[b] = v
        return out, np.array([by_name[n].mean for n in names])

    (xt, yt), (xv, yv), (xs, ys) = (feats(parts[k]) for k in ("train", "val", "test"))
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    xt, xv, xs = ((x - mu) / sd for x in (xt, xv, xs))

    def fit(alpha):
        a = xt.T @ xt + alpha * np.eye(xt.shape[1])
        w = np.linalg.solve(a, xt.T @ (yt - yt.mean()))
        return lambda x: x @ w + yt.mean()

    best = max((10.0 ** k for k in range(0, 6)), key=lambda a: spearman(fit(a)(xv), yv))
    pred = fit(best)(xs)
    return {"srcc": spearman(pred, ys), "plcc": pearson(pred, ys), "alpha": best}


def pixel_baselines(livec: list[Sample], split: int, long_side: int, seed: int = SPLIT_SEED,
                    cache: dict | None = None) -> dict:
    """Laplacian variance and the exposure/contrast score on the split's test photos."""
    from .evaluate import BASELINES
    by_name = {s.name: s for s in livec}
    test = split_names(list(by_name), split, seed)["test"]
    cache = {} if cache is None else cache
    for n in test:      # each photo decoded once, for all the baselines it still lacks
        missing = [name for name in BASELINES if (name, n) not in cache]
        if missing:
            img = load_rgb(str(by_name[n].path), long_side)
            for name in missing:
                cache[(name, n)] = BASELINES[name](img)
    mos = np.array([by_name[n].mean for n in test])
    out = {}
    for name in BASELINES:
        vals = [cache[(name, n)] for n in test]
        out[name] = {"srcc": spearman(vals, mos), "plcc": pearson(vals, mos)}
    return out
