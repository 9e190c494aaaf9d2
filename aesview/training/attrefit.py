"""Refit only the attribute head of a trained model on its frozen GAP features, so that each
named attribute drops under its own defect family, while every other tensor (and therefore the
score, the maps, the detail view) stays bit-identical.

Why the joint run left the attributes weak (measured, docs/TRAINING.md "The shipped model"):
the attribute BCE (weight 0.5) shared the head conv with the score's losses, and its targets are
"P(good)" = 1 for all seven attributes a sample does not spoil. So every attribute sees ~30
positives for each negative of its own family, and the positives include the other families'
defects: a colour cast or a dark frame is a positive for `exposure` / `color` on most samples.
The GAP features of the head conv, trained mostly for the score, make "darker" look like "fewer
highlights clipped", and the linear exposure logit, tuned to catch over-exposure (its negatives
were half bright frames), rises on a darker frame.

The refit: logistic regression per attribute on the frozen pooled features of the training
samples (the 19 training shoot photos' graded defects and mirrors, synthetic bokeh, full-
resolution defects, as in joint.py), each attribute's own negatives up-weighted to balance its
positives, L2 strength and epochs chosen on the 5 validation shoot photos (mean of each
attribute's clean-beats-its-own-defect rate); the held-out photos are scored once, after.

    python -m aesview.training.attrefit --photos ../shared/photos \
        --cache /work/runs/prefix_cache_lite0_320_f16.pt --out /work/runs/attr
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from . import degradations as D

log = logging.getLogger("aesview.training")

FREEZE = 16


def own_attribute(family: str) -> str | None:
    """The attribute a sample's family spoils (None for clean, near-lossless and bokeh)."""
    if family in D.DEFECTS:
        return D.DEFECTS[family][1]
    from .bursts import NATIVE_ATTRIBUTE
    return NATIVE_ATTRIBUTE.get(family)


@torch.no_grad()
def pooled_features(net, samples, cache_file: str | None, device="cpu") -> np.ndarray:
    """(N, C) GAP features of the net's last conv map, from the cached stage-0..15 outputs
    where the cache holds the sample (else the prefix is run here)."""
    from . import protocol
    from .loop import Inputs
    cfg = protocol.config(cache_file)
    net.eval()
    inputs = Inputs(samples, net, cfg, device)
    out = np.zeros((len(samples), net.att_head.in_features), np.float32)
    for batch, x, _ in inputs.epoch(inputs.batches(np.random.default_rng(0), shuffle=False),
                                    np.random.default_rng(0)):
        f = net.backbone(x, start=cfg.freeze).float()
        out[batch] = f.mean(dim=(2, 3)).cpu().numpy()
    return out


@torch.no_grad()
def variant_features(net, photos, seed: int = 1234, long_side: int = 320):
    """The held-out benchmark's variants (evaluate.evaluate_photos: every family at every
    severity, one draw per family shared by its severities) of `photos`: (pooled features,
    [(photo, family, severity)])."""
    from ..core.backbones import SPECS
    from ..core.preprocess import normalize
    from .datasets import load_rgb
    from .selfsup import seed_for
    norm = SPECS["efficientnet_lite0"].normalization
    net.eval()
    feats, meta = [], []
    for p in photos:
        img = load_rgb(p, long_side)
        arrays = [img]
        meta.append((p.name, "clean", 0))
        for fam in D.DEFECTS:
            for sev in D.SEVERITIES:
                rng = np.random.default_rng(seed_for(seed, p.name, fam))
                arrays.append(D.apply(fam, img, sev, rng)[0])
                meta.append((p.name, fam, sev))
        for j in range(0, len(arrays), 16):
            f = net.backbone(normalize(np.stack(arrays[j:j + 16]), norm)).float()
            feats.append(f.mean(dim=(2, 3)).numpy())
    return np.concatenate(feats), meta


def variant_drops(att: np.ndarray, meta) -> dict[str, float]:
    """evaluate.py's "attribute drops" on variant_features' rows."""
    index = {m: i for i, m in enumerate(meta)}
    names = sorted({m[0] for m in meta})
    res = {}
    for fam, (_, attr, _) in D.DEFECTS.items():
        k = D.ATTRIBUTES.index(attr)
        w = [1.0 if att[index[(n, "clean", 0)]][k] > att[index[(n, fam, s)]][k] else
             0.5 if att[index[(n, "clean", 0)]][k] == att[index[(n, fam, s)]][k] else 0.0
             for n in names for s in D.SEVERITIES]
        res[f"{fam}->{attr}"] = float(np.mean(w))
    return res


def targets(samples) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) targets and (N, K) weights: each sample's spoiled attribute gets its severity
    target; every other attribute 1. Each attribute's negatives (target < 0.5) are weighted so
    that they carry as much total weight as its positives."""
    t = np.stack([s.attributes for s in samples]).astype(np.float32)
    w = np.ones_like(t)
    for k in range(t.shape[1]):
        neg = t[:, k] < 0.5
        if neg.any():
            w[neg, k] = (~neg).sum() / neg.sum()
    return t, w


def fit_head(x: np.ndarray, t: np.ndarray, w: np.ndarray, l2: float, epochs: int,
             init: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
             lr: float = 0.05, checkpoints: tuple[int, ...] = ()) -> dict[int, tuple]:
    """Full-batch Adam on the weighted BCE of a linear head (K independent logistic
    regressions) + l2 * |W|^2; returns {epoch: (W, b)} at each checkpoint epoch."""
    torch.manual_seed(seed)
    xt, tt, wt = (torch.from_numpy(a) for a in (x, t, w))
    k = t.shape[1]
    W = torch.zeros(k, x.shape[1]) if init is None else torch.from_numpy(init[0]).clone()
    b = torch.zeros(k) if init is None else torch.from_numpy(init[1]).clone()
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.Adam([W, b], lr=lr)
    out = {}
    for e in range(1, epochs + 1):
        logits = xt @ W.T + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(
            logits, tt, weight=wt, reduction="sum") / wt.sum() * k + l2 * (W ** 2).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if e in checkpoints or e == epochs:
            out[e] = (W.detach().numpy().copy(), b.detach().numpy().copy())
    return out


def drops(att: np.ndarray, samples) -> dict[str, float]:
    """Per family: how often the clean photo's own attribute is above the defective one's
    (ties half), over photos x severities; the check of evaluate.py's "attribute drops"."""
    clean = {s.group: att[i] for i, s in enumerate(samples) if s.family == "clean"}
    res: dict[str, list[float]] = {}
    for i, s in enumerate(samples):
        attr = own_attribute(s.family or "")
        if attr is None or s.group not in clean:
            continue
        k = D.ATTRIBUTES.index(attr)
        c, v = clean[s.group][k], att[i][k]
        res.setdefault(f"{s.family}->{attr}", []).append(1.0 if c > v else 0.5 if c == v else 0.0)
    return {k: float(np.mean(v)) for k, v in sorted(res.items())}


# The choice rule, fixed before any fit was scored: the setting with the highest mean, over
# the 12 defect families, of validation_drops (the 5 validation photos' benchmark variants, each
# attribute against its own family); ties go to the stronger L2, then to fewer epochs. The
# held-out photos are scored once, with the chosen head.
GRID_L2 = (1e-4, 1e-3, 1e-2)
GRID_EPOCHS = (100, 300, 1000)
GRID_BALANCE = (True, False)


def choose(xtr, ttr, wtr, xval, meta_val) -> tuple[dict, list[dict]]:
    """Fit every grid setting; returns (the chosen row with its head, all rows)."""
    rows = []
    for balance in GRID_BALANCE:
        w = wtr if balance else np.ones_like(wtr)
        for l2 in GRID_L2:
            fits = fit_head(xtr, ttr, w, l2, max(GRID_EPOCHS), checkpoints=GRID_EPOCHS)
            for ep in GRID_EPOCHS:
                W, b = fits[ep]
                d = variant_drops(sigmoid(xval @ W.T + b), meta_val)
                rows.append({"balance": balance, "l2": l2, "epochs": ep, "drops": d,
                             "mean": float(np.mean(list(d.values()))), "head": (W, b)})
                log.info("balance=%s l2=%g epochs=%d: validation mean %.4f", balance, l2, ep,
                         rows[-1]["mean"])
    best = max(rows, key=lambda r: (round(r["mean"], 6), r["l2"], -r["epochs"]))
    return best, rows


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def main(argv=None) -> int:
    from ..core.weights import load_model
    from .joint import bokeh_samples, native_samples, selfsup_samples, selfsup_validation
    from .selfsup import HELD_OUT, VALIDATION, list_photos
    p = argparse.ArgumentParser(prog="python -m aesview.training.attrefit")
    p.add_argument("--photos", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    lm = load_model(args.model, device="cpu")
    net = lm.net
    photos = list_photos(args.photos)
    held, val = set(HELD_OUT), set(VALIDATION)
    train_photos = [q for q in photos if q.name not in held | val]
    val_photos = [q for q in photos if q.name in val]
    feats = out / "features.npz"
    if not feats.is_file():
        t0 = time.time()
        tr = (selfsup_samples(train_photos, 320, 0) + bokeh_samples(train_photos, 320, 0)
              + native_samples(train_photos, 320, 0))
        va = selfsup_validation(val_photos, 320)
        log.info("%d training, %d validation samples built (%.0f s)", len(tr), len(va),
                 time.time() - t0)
        xtr = pooled_features(net, tr, args.cache)
        xva = pooled_features(net, va, args.cache)
        ttr, wtr = targets(tr)
        np.savez(feats, xtr=xtr, xva=xva, ttr=ttr, wtr=wtr,
                 fam_tr=np.array([s.family or "" for s in tr]),
                 grp_tr=np.array([s.group for s in tr]),
                 fam_va=np.array([s.family or "" for s in va]),
                 grp_va=np.array([s.group for s in va]),
                 sev_va=np.array([s.severity or 0 for s in va]))
        log.info("features in %.0f s", time.time() - t0)
    f = np.load(feats)
    val_photos_sorted = sorted(val_photos)
    vv = out / "val_variants.npz"
    if not vv.is_file():
        xv, mv = variant_features(net, val_photos_sorted)
        np.savez(vv, x=xv, meta=np.array(mv, dtype=object))
    v = np.load(vv, allow_pickle=True)
    meta_val = [tuple(m) for m in v["meta"]]
    meta_val = [(str(a), str(b), int(c)) for a, b, c in meta_val]
    W0, b0 = (t.detach().numpy() for t in (net.att_head.weight, net.att_head.bias))
    before = variant_drops(sigmoid(v["x"] @ W0.T + b0), meta_val)
    t0 = time.time()
    best, rows = choose(f["xtr"], f["ttr"], f["wtr"], v["x"], meta_val)
    W, b = best["head"]
    np.savez(out / "head.npz", W=W, b=b)
    report = {"rule": "max mean over the 12 families of the validation photos' attribute drops "
                      "(evaluate_photos variants, seed 1234); ties: stronger l2, fewer epochs",
              "validation_before": before,
              "chosen": {k: best[k] for k in ("balance", "l2", "epochs", "mean", "drops")},
              "grid": [{k: r[k] for k in ("balance", "l2", "epochs", "mean", "drops")}
                       for r in rows],
              "fit_time_s": round(time.time() - t0, 1),
              "samples": int(len(f["xtr"]))}
    (out / "choice.json").write_text(json.dumps(report, indent=1))
    log.info("chosen: balance=%s l2=%g epochs=%d validation mean %.4f (before %.4f)",
             best["balance"], best["l2"], best["epochs"], best["mean"],
             float(np.mean(list(before.values()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
