"""Refit only the attribute head of a trained model on its frozen GAP features, so that each
named attribute drops under its own defect family, while every other tensor (and therefore the
score, the maps, the detail view) stays bit-identical.

Why the joint run left the attributes weak (measured, docs/TRAINING.md "The shipped model"):
its attribute BCE (weight 0.5, epoch 3 of 10 kept for the score) left a head whose rows have
norm ~0.65 and give 0.75-0.98 on every photo; the exposure and color rows followed a general
"quality" direction of the shared features, so a darker or cast frame, read as lower quality,
raised them. The targets point the right way (P(good), 0.2/0.05/0 by severity), but each
attribute's own defects are ~1 in 7 of its targets, the other families' defects count as its
positives, and a pointwise loss lets differences between scenes swamp the within-photo change.
A plain refit of the same BCE on the frozen features still sorted the training photos' own
dark frames only 71 % of the time; the within-photo pair loss is what the check asks for.

The refit: per attribute, class-balanced logistic regression on the frozen pooled features of
the training samples (the 19 training shoot photos' graded defects and mirrors, synthetic
bokeh, full-resolution defects, as in joint.py) + a within-photo pair loss; settings chosen on
the 5 validation shoot photos by the rule below, then each attribute's row taken from the refit
only where its validation figure rose (`per_attribute`).

    python -m aesview.training.attrefit --photos ../shared/photos \
        --cache /work/runs/prefix_cache_lite0_320_f16.pt --out /work/runs/attr \
        --model PREVIOUS/aesview-livec-lite0.json --write /work/runs/attr/aesview-livec-lite0.pt
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

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
def pooled_features(net, samples, cache_file: str | None, device="cpu",
                    freeze: int = FREEZE) -> np.ndarray:
    """(N, C) GAP features of the map the heads read (the last conv map, after a multi-level
    head's pooled levels: C is the heads' input width), from the cached stage-0..freeze-1
    outputs where the cache holds the sample (else the prefix is run here). `freeze` must be
    the model's own: its stages from there on were trained, and the cache key names it."""
    from . import protocol
    from .loop import Inputs
    cfg = protocol.config(cache_file, freeze=freeze)
    net.eval()
    inputs = Inputs(samples, net, cfg, device)
    out = np.zeros((len(samples), net.att_head.in_features), np.float32)
    for batch, x, _ in inputs.epoch(inputs.batches(np.random.default_rng(0), shuffle=False),
                                    np.random.default_rng(0)):
        f = net.features(x, start=cfg.freeze).float()
        out[batch] = f.mean(dim=(2, 3)).cpu().numpy()
    return out


@torch.no_grad()
def _gap_rows(net, arrays) -> list[np.ndarray]:
    """GAP of net.features over HWC uint8 `arrays` (equal shapes), 16 frames a batch, with the
    backbone's normalisation: one (B, C) array per batch."""
    from ..core.backbones import SPECS
    from ..core.preprocess import normalize
    norm = SPECS["efficientnet_lite0"].normalization
    return [net.features(normalize(np.stack(arrays[j:j + 16]), norm)).float().mean(dim=(2, 3)).numpy()
            for j in range(0, len(arrays), 16)]


@torch.no_grad()
def variant_features(net, photos, seed: int = 1234, long_side: int = 320):
    """The held-out benchmark's variants (evaluate.evaluate_photos: every family at every
    severity, one draw per family shared by its severities) of `photos`: (pooled features,
    [(photo, family, severity)])."""
    from .evaluate import photo_variants
    net.eval()
    feats, meta = [], []
    for p in photos:
        variants = photo_variants(p, long_side, seed, near_lossless=0)
        meta += [m[:3] for _, m in variants]
        feats += _gap_rows(net, [a for a, _ in variants])
    return np.concatenate(feats), meta


@torch.no_grad()
def cast_features(net, paths, dirs: int, seed: int | None = None, long_side: int = 320,
                  first_dir: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Pooled features of each photo's clean frame and its colour casts (degradations.color_cast,
    every severity, `dirs` directions shared by the severities): (features, [(photo index,
    severity (0 = clean), direction)]). Directions: np.random.default_rng(d) for d in
    first_dir .. first_dir + dirs - 1 (seed None; first_dir 0 gives the directions
    tests/test_attributes_shipped.py draws), else default_rng([seed, photo, d])."""
    from .datasets import load_rgb
    net.eval()
    feats, meta = [], []
    for i, p in enumerate(paths):
        img = load_rgb(p, long_side)
        arrays, m = [img], [(i, 0, 0)]
        for s in D.SEVERITIES:
            for d in range(first_dir, first_dir + dirs):
                rng = np.random.default_rng(d if seed is None else [seed, i, d])
                arrays.append(D.color_cast(img, s, rng)[0])
                m.append((i, s, d))
        feats += _gap_rows(net, arrays)
        meta += m
    return np.concatenate(feats), meta


def cast_drops(colour: np.ndarray, meta) -> float:
    """Share of cast_features' (photo, severity, direction) casts whose colour attribute is
    below the photo's clean frame's."""
    clean = {i: colour[r] for r, (i, s, _) in enumerate(meta) if s == 0}
    hits = [float(colour[r] < clean[i]) for r, (i, s, _) in enumerate(meta) if s > 0]
    return float(np.mean(hits))


def cast_training(x: np.ndarray, meta, first_group: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """cast_features' rows as refit training rows: (features, targets (colour at its severity's
    ATTRIBUTE_TARGET, the others 1), families, groups (first_group + photo index))."""
    from .selfsup import attribute_targets
    t = np.stack([attribute_targets("color_cast" if s else "clean", s) for _, s, _ in meta])
    fam = np.array(["color_cast" if s else "clean" for _, s, _ in meta])
    grp = np.array([first_group + i for i, _, _ in meta])
    return x, t, fam, grp


def variant_drops(att: np.ndarray, meta) -> dict[str, float]:
    """evaluate.py's "attribute drops" on variant_features' rows."""
    from .evaluate import attribute_clean_beats
    return attribute_clean_beats(att, {m: i for i, m in enumerate(meta)},
                                 sorted({m[0] for m in meta}))


def targets(samples) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) targets and (N, K) weights: each sample's spoiled attribute gets its severity
    target; every other attribute 1. Each attribute's negatives (target < 0.5) are weighted so
    that they carry as much total weight as its positives."""
    return targets_weights(np.stack([s.attributes for s in samples]).astype(np.float32))


def targets_weights(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`targets` on an (N, K) target array."""
    w = np.ones_like(t)
    for k in range(t.shape[1]):
        neg = t[:, k] < 0.5
        if neg.any():
            w[neg, k] = (~neg).sum() / neg.sum()
    return t, w


def _by_group(groups) -> list[list[int]]:
    """Sample indices per source photo, in order of first appearance."""
    by_group: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(int(g), []).append(i)
    return list(by_group.values())


def within_photo_pairs(families, groups) -> np.ndarray:
    """(P, 3) rows (good, defective, attribute index): within each source photo, its clean and
    near-lossless takes against every defect that spoils that attribute. The check is within a
    photo, and a pointwise loss alone lets differences between scenes swamp it."""
    rows = []
    for idx in _by_group(groups):
        good = [i for i in idx if families[i] in ("clean", "near_lossless")]
        for i in idx:
            attr = own_attribute(str(families[i]))
            if attr is not None:
                k = D.ATTRIBUTES.index(attr)
                rows += [(h, i, k) for h in good]
    return np.array(rows, np.int64).reshape(-1, 3)


def severities(families, t: np.ndarray) -> np.ndarray:
    """Each training sample's severity, read back from its own attribute's target."""
    from .selfsup import ATTRIBUTE_TARGET
    by_target = {round(v, 3): k for k, v in ATTRIBUTE_TARGET.items()}
    out = np.zeros(len(families), np.int64)
    for i, fam in enumerate(families):
        attr = own_attribute(str(fam))
        if attr is not None:
            out[i] = by_target[round(float(t[i, D.ATTRIBUTES.index(attr)]), 3)]
    return out


def specificity_pairs(families, groups, sev: np.ndarray) -> np.ndarray:
    """(P, 3) rows (other defect, own defect, attribute): within a source photo and severity,
    a defect of another attribute's family must keep this attribute above its own family's
    defect, so that an attribute drops most under its own family (issue 8's test)."""
    rows = []
    for idx in _by_group(groups):
        for i in idx:
            attr = own_attribute(str(families[i]))
            if attr is None:
                continue
            k = D.ATTRIBUTES.index(attr)
            rows += [(j, i, k) for j in idx if sev[j] == sev[i]
                     and own_attribute(str(families[j])) not in (None, attr)]
    return np.array(rows, np.int64).reshape(-1, 3)


def fit_head(x: np.ndarray, t: np.ndarray, w: np.ndarray, l2: float, epochs: int,
             pairs: np.ndarray | None = None, pair_weight: float = 0.0, seed: int = 0,
             lr: float = 0.05, checkpoints: tuple[int, ...] = ()) -> dict[int, tuple]:
    """Full-batch Adam on the weighted BCE of a linear head (K independent logistic
    regressions) + pair_weight x the logistic pair loss on `pairs` + l2 * |W|^2, on features
    as they come from the GAP; returns {epoch: (W, b)}
    at each checkpoint epoch."""
    torch.manual_seed(seed)
    # Raw features, not standardised: standardising lifts the many near-silent channels of the
    # head conv to unit scale and the fit over-fits them (round 2 below: 0.76 on validation).
    xt = torch.from_numpy(x)
    tt, wt = torch.from_numpy(t), torch.from_numpy(w)
    k = t.shape[1]
    W = torch.zeros(k, x.shape[1], requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=lr)
    pr = torch.from_numpy(pairs) if pairs is not None and len(pairs) else None
    out = {}
    for e in range(1, epochs + 1):
        logits = xt @ W.T + b
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(
            logits, tt, weight=wt, reduction="sum") / wt.sum() * k + l2 * (W ** 2).sum())
        if pr is not None and pair_weight > 0:
            diff = logits[pr[:, 0], pr[:, 2]] - logits[pr[:, 1], pr[:, 2]]
            loss = loss + pair_weight * torch.nn.functional.softplus(-diff).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if e in checkpoints or e == epochs:
            out[e] = (W.detach().numpy().astype(np.float32), b.detach().numpy().astype(np.float32))
    return out


# The choice rule, fixed before any fit was scored: the setting with the highest mean, over
# the 12 defect families, of the validation photos' attribute drops (the 5 validation photos'
# benchmark variants, each attribute against its own family); ties go to the stronger L2, then
# to fewer epochs. The held-out photos are scored once, with the chosen head.
# Round 1 (BCE only, raw features, balance on/off, l2 1e-4..1e-2, 100..1000 epochs) reached
# 0.839 on validation (0.739 before) but still sorted the training photos' own dark frames
# only 71 % of the time: a pointwise loss lets the differences between scenes swamp the
# within-photo change. Round 2 added the within-photo pair loss on standardised features: 0.758
# at best (over-fitted). Round 3 (the grid below, raw features as round 1): the pair loss
# beside the class-balanced BCE. Every round chosen on validation by this rule; the held-out
# photos untouched by all three until the choice was made.
GRID_L2 = (1e-3, 1e-2, 3e-2)
GRID_EPOCHS = (300, 1000, 3000)
GRID_PAIR = (1.0, 4.0)


def choose(xtr, ttr, wtr, pairs, xval, meta_val) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fit every grid setting (class-balanced BCE); returns (the chosen row with its head, all
    rows)."""
    rows: list[dict[str, Any]] = []
    for pw in GRID_PAIR:
        for l2 in GRID_L2:
            fits = fit_head(xtr, ttr, wtr, l2, max(GRID_EPOCHS), pairs=pairs, pair_weight=pw,
                            checkpoints=GRID_EPOCHS)
            for ep in GRID_EPOCHS:
                W, b = fits[ep]
                d = variant_drops(sigmoid(xval @ W.T + b), meta_val)
                rows.append({"pair_weight": pw, "l2": l2, "epochs": ep, "drops": d,
                             "mean": float(np.mean(list(d.values()))), "head": (W, b)})
                log.info("pair=%g l2=%g epochs=%d: validation mean %.4f", pw, l2, ep,
                         rows[-1]["mean"])
    best = max(rows, key=lambda r: (round(r["mean"], 6), r["l2"], -r["epochs"]))
    return best, rows


def variant_specificity(att: np.ndarray, meta) -> dict[str, float]:
    """Per family F of attribute A: how often (photo, severity) A drops more under F than under
    every family of another attribute at the same severity ("each attribute drops most under
    its own defect family")."""
    index = {m: i for i, m in enumerate(meta)}
    names = sorted({m[0] for m in meta})
    res = {}
    for fam, (_, attr, _) in D.DEFECTS.items():
        k = D.ATTRIBUTES.index(attr)
        others = [g for g, v in D.DEFECTS.items() if v[1] != attr]
        w = []
        for n in names:
            c = att[index[(n, "clean", 0)]][k]
            for s in D.SEVERITIES:
                own = c - att[index[(n, fam, s)]][k]
                w.append(float(own > max(c - att[index[(n, g, s)]][k] for g in others)))
        res[f"{fam}->{attr}"] = float(np.mean(w))
    return res


def combined(att: np.ndarray, meta) -> dict[str, float]:
    """Per family: the mean of the clean-beats rate and the specificity rate."""
    a, b = variant_drops(att, meta), variant_specificity(att, meta)
    return {k: 0.5 * (a[k] + b[k]) for k in a}


def pick_rows(candidates: list[tuple[np.ndarray, np.ndarray]], xval, meta_val
              ) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, int]]:
    """Per attribute, the candidate head whose row scores best on validation (mean over the
    attribute's own families of `combined`); ties go to the earlier candidate (the shipped
    head is first). Rows are independent logistic regressions, so a head may mix them."""
    scores = [combined(sigmoid(xval @ W.T + b), meta_val) for W, b in candidates]
    W, b = candidates[0][0].copy(), candidates[0][1].copy()
    chosen = {}
    for attr in D.ATTRIBUTES:
        keys = [k for k in scores[0] if k.endswith("->" + attr)]
        if not keys:
            continue
        vals = [float(np.mean([sc[k] for k in keys])) for sc in scores]
        c = int(np.argmax(np.round(vals, 9)))
        chosen[attr] = c
        k = D.ATTRIBUTES.index(attr)
        W[k], b[k] = candidates[c][0][k], candidates[c][1][k]
    return (W, b), chosen


def per_attribute(before: dict[str, float], after: dict[str, float]) -> dict[str, bool]:
    """Attribute -> take the refit row? Yes where the mean of its own families' validation
    clean-beats rates rises; a tie keeps the shipped row (rows are independent logistic
    regressions, so a head may mix them)."""
    take = {}
    for attr in D.ATTRIBUTES:
        keys = [k for k in before if k.endswith("->" + attr)]
        if keys:
            take[attr] = bool(np.mean([after[k] for k in keys]) >
                              np.mean([before[k] for k in keys]) + 1e-9)
    return take


def merged_head(old: tuple[np.ndarray, np.ndarray], new: tuple[np.ndarray, np.ndarray],
                take: dict[str, bool]) -> tuple[np.ndarray, np.ndarray]:
    W, b = old[0].copy(), old[1].copy()
    for attr, yes in take.items():
        if yes:
            k = D.ATTRIBUTES.index(attr)
            W[k], b[k] = new[0][k], new[1][k]
    return W, b


def write_weights(old_pt: Path, head: tuple[np.ndarray, np.ndarray], new_pt: Path) -> str:
    """The old state dict with only att_head.weight/bias replaced, written atomically; every
    other tensor is checked bit-identical after a reload. Returns the new file's sha256."""
    import hashlib
    import io

    from ..core.atomic import atomic_write_bytes
    state = torch.load(old_pt, map_location="cpu", weights_only=True)
    new = dict(state)
    new["att_head.weight"] = torch.from_numpy(head[0]).to(state["att_head.weight"].dtype)
    new["att_head.bias"] = torch.from_numpy(head[1]).to(state["att_head.bias"].dtype)
    buf = io.BytesIO()
    torch.save(new, buf)
    data = buf.getvalue()
    back = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    assert list(back) == list(state)
    for k, v in state.items():
        if not k.startswith("att_head."):
            assert torch.equal(back[k], v) and back[k].dtype == v.dtype, k
    atomic_write_bytes(new_pt, data)
    return hashlib.sha256(data).hexdigest()


def save_npz(path: Path, **arrays) -> None:
    """np.savez, written atomically: main() reuses features.npz and val_variants.npz when they
    exist, so a run killed mid-write must not leave a torn one."""
    from ..core.atomic import atomic_writer
    with atomic_writer(path) as fh:
        np.savez(fh, **arrays)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# --livec-clean-weight W (default 0: off; with --livec-casts). Round 9 (docs/TRAINING.md, "A
# stronger validation colour check"): the --livec-casts refit made the colour row answer casts but
# dropped clean LIVE-C validation photos' colour to 0.69 on average: 400 clean frames against 2,400
# casts of the same photos, the row learnt "looks like LIVE-C" as "poor colour". With W > 0:
# (1) each LIVE-C training photo's clean frame weighs W times as much in the colour BCE (the clean
#     -> colour 1 calibration), (2) the LIVE-C validation casts the refit chooses on are directions
#     LIVEC_CHOICE_DIRS, apart from the suite's 0-2 (default_rng(0..2)) kept for a report, and
#     (3) the colour row is taken only if the LIVE-C validation photos' mean clean colour stays
#     >= the current row's minus CLEAN_MARGIN (clean_guard), besides the usual rise rule.
LIVEC_CHOICE_DIRS = (3, 3)      # first direction, count: default_rng(3), (4), (5)
CLEAN_MARGIN = 0.03


def clean_weighted(w: np.ndarray, families, first_row: int, weight: float) -> np.ndarray:
    """`w` with the colour weight of every clean row from first_row on (the appended LIVE-C cast
    evidence) multiplied by `weight`."""
    w = w.copy()
    k = D.ATTRIBUTES.index("color")
    rows = np.flatnonzero(np.asarray(families)[first_row:] == "clean") + first_row
    w[rows, k] *= weight
    return w


def clean_mean(colour: np.ndarray, meta) -> float:
    """Mean colour attribute of cast_features' clean rows (severity 0)."""
    return float(np.mean([colour[r] for r, (_, s, _) in enumerate(meta) if s == 0]))


def clean_guard(before: float, after: float, margin: float = CLEAN_MARGIN) -> bool:
    """May a colour row whose clean validation mean is `after` replace one at `before`?"""
    return bool(after >= before - margin - 1e-9)


def _livec_split_paths(root: str) -> dict[str, list[str]]:
    """LIVE-C split 0 (joint.split_names) as photo paths, in split_names' order per part."""
    from .datasets import read_livec
    from .joint import split_names
    lv = read_livec(root)
    by_name = {s.name: str(s.path) for s in lv}
    return {part: [by_name[k] for k in names]
            for part, names in split_names([s.name for s in lv], 0).items()}


def _colour(x: np.ndarray, head) -> np.ndarray:
    """The colour attribute of feature rows x under head (W, b)."""
    return sigmoid(x @ head[0].T + head[1])[:, D.ATTRIBUTES.index("color")]


def livec_choice_casts(net, root: str, out: Path) -> tuple[np.ndarray, list]:
    """Cast features (cast_features) of the 140 LIVE-C split-0 validation photos in the
    directions LIVEC_CHOICE_DIRS; cached in out/livec_val_choice.npz."""
    cache = out / "livec_val_choice.npz"
    first, dirs = LIVEC_CHOICE_DIRS
    if not cache.is_file():
        val = _livec_split_paths(root)["val"]
        t0 = time.time()
        xv, mv = cast_features(net, val, dirs=dirs, first_dir=first)
        log.info("LIVE-C validation casts, directions %d-%d: %d photos (%.0f s)", first,
                 first + dirs - 1, len(val), time.time() - t0)
        save_npz(cache, xv=xv, mv=np.array(mv), first=np.array(first))
    c = np.load(cache)
    assert int(c["first"]) == first
    return c["xv"], [tuple(r) for r in c["mv"]]


def _livec_cast_evidence(net, root: str, n: int, out: Path, xtr, ttr, fam_tr, grp_tr,
                         clean_weight: float = 0.0):
    """--livec-casts: the cast rows of the first n LIVE-C split-0 training photos (in a seeded
    order) appended to the refit's training rows (weights recomputed by `targets`' rule), and the
    cast features of the split-0 validation photos; cached in out/livec_casts.npz."""
    cache = out / "livec_casts.npz"
    if not cache.is_file():
        parts = _livec_split_paths(root)
        order = np.random.default_rng(0).permutation(len(parts["train"]))
        train = [parts["train"][i] for i in order[:n]]
        t0 = time.time()
        xc, mc = cast_features(net, train, dirs=2, seed=0)
        xv, mv = cast_features(net, parts["val"], dirs=3)
        log.info("LIVE-C casts: %d training photos, %d validation photos (%.0f s)", len(train),
                 len(parts["val"]), time.time() - t0)
        save_npz(cache, xc=xc, mc=np.array(mc), xv=xv, mv=np.array(mv), n=np.array(n))
    c = np.load(cache)
    assert int(c["n"]) == n, f"{cache} holds {int(c['n'])} photos' casts, not {n}"
    x, t, fam, grp = cast_training(c["xc"], [tuple(r) for r in c["mc"]],
                                   int(np.max(grp_tr)) + 1)
    tt = np.concatenate([ttr, t]).astype(np.float32)
    _, wt = targets_weights(tt)
    fam_all = np.concatenate([fam_tr, fam])
    val = (c["xv"], [tuple(r) for r in c["mv"]])
    if clean_weight > 0:
        wt = clean_weighted(wt, fam_all, len(xtr), clean_weight)
        val = livec_choice_casts(net, root, out)
    return (np.concatenate([xtr, x]), tt, wt, fam_all, np.concatenate([grp_tr, grp]), val)


def main(argv=None) -> int:
    from ..core.atomic import atomic_write_text
    from ..core.weights import load_model
    from .joint import bokeh_samples, native_samples, selfsup_samples, selfsup_validation
    from .selfsup import HELD_OUT, VALIDATION, list_photos
    p = argparse.ArgumentParser(prog="python -m aesview.training.attrefit")
    p.add_argument("--photos", required=True)
    p.add_argument("--cache", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--freeze", type=int, default=None,
                   help="the model's first trained stage (default: its card's "
                        f"training.hyperparameters.freeze, else {FREEZE}); --cache must hold "
                        "that prefix")
    p.add_argument("--out", required=True)
    p.add_argument("--write", default=None,
                   help="also write the model's weights with the chosen head to this .pt")
    p.add_argument("--livec", default=None,
                   help="LIVE-C root, for --livec-casts (split 0: its train part's photos are "
                        "training evidence, its val part's validation evidence)")
    p.add_argument("--livec-casts", type=int, default=0,
                   help="add colour-cast pairs of this many LIVE-C split-0 TRAINING photos to the "
                        "refit's colour evidence (3 severities x 2 directions each), and the "
                        "cast frames of the 140 split-0 VALIDATION photos (3 severities x the "
                        "test's 3 directions) to the colour row's validation figure "
                        "('livec_cast->color', beside the shoot photos'); default 0: off")
    p.add_argument("--livec-clean-weight", type=float, default=0.0,
                   help="with --livec-casts: the LIVE-C training photos' clean frames weigh this "
                        "many times as much in the colour BCE; the refit's LIVE-C validation "
                        f"casts become directions {LIVEC_CHOICE_DIRS[0]}-"
                        f"{sum(LIVEC_CHOICE_DIRS) - 1} (the suite's 0-2 left for a report), and "
                        "the colour row is taken only if the validation photos' mean clean "
                        f"colour stays within {CLEAN_MARGIN} of the current row's; default 0: off")
    args = p.parse_args(argv)
    if args.livec_casts and not args.livec:
        p.error("--livec-casts needs --livec")
    if args.livec_clean_weight and not args.livec_casts:
        p.error("--livec-clean-weight needs --livec-casts")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    lm = load_model(args.model, device="cpu")
    net = lm.net
    freeze = args.freeze or int((lm.card.training or {}).get("hyperparameters", {})
                                .get("freeze", FREEZE))
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
        xtr = pooled_features(net, tr, args.cache, freeze=freeze)
        xva = pooled_features(net, va, args.cache, freeze=freeze)
        ttr, wtr = targets(tr)
        save_npz(feats, xtr=xtr, xva=xva, ttr=ttr, wtr=wtr,
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
        save_npz(vv, x=xv, meta=np.array(mv, dtype=object))
    v = np.load(vv, allow_pickle=True)
    meta_val = [(str(a), str(b), int(c)) for a, b, c in v["meta"]]
    W0, b0 = (t.detach().numpy() for t in (net.att_head.weight, net.att_head.bias))
    before = variant_drops(sigmoid(v["x"] @ W0.T + b0), meta_val)
    t0 = time.time()
    xtr, ttr, wtr = f["xtr"], f["ttr"], f["wtr"]
    fam_tr, grp_tr = f["fam_tr"], f["grp_tr"]
    livec_val = None
    if args.livec_casts:
        xtr, ttr, wtr, fam_tr, grp_tr, livec_val = _livec_cast_evidence(
            net, args.livec, args.livec_casts, out, xtr, ttr, fam_tr, grp_tr,
            args.livec_clean_weight)
        before["livec_cast->color"] = cast_drops(_colour(livec_val[0], (W0, b0)), livec_val[1])
    pairs = within_photo_pairs(fam_tr, grp_tr)
    best, rows = choose(xtr, ttr, wtr, pairs, v["x"], meta_val)
    W, b = best["head"]
    if livec_val is not None:
        best["drops"] = dict(best["drops"], **{"livec_cast->color": cast_drops(
            _colour(livec_val[0], (W, b)), livec_val[1])})
    save_npz(out / "head.npz", W=W, b=b)
    report = {"rule": "max mean over the 12 families of the validation photos' attribute drops "
                      "(evaluate_photos variants, seed 1234); ties: stronger l2, fewer epochs",
              "validation_before": before,
              "chosen": {k: best[k] for k in ("pair_weight", "l2", "epochs", "mean", "drops")},
              "grid": [{k: r[k] for k in ("pair_weight", "l2", "epochs", "mean", "drops")}
                       for r in rows],
              "fit_time_s": round(time.time() - t0, 1),
              "samples": int(len(xtr)), "pairs": int(len(pairs)),
              "livec_casts": int(args.livec_casts)}
    # Round 4: the same fit with the specificity pairs added; its setting chosen on the mean
    # of validation clean-beats and specificity; then each attribute's row taken from the
    # shipped head, round 3's or round 4's by pick_rows.
    sev = severities(fam_tr, ttr)
    both = np.concatenate([pairs, specificity_pairs(fam_tr, grp_tr, sev)])
    r4 = []
    for l2 in (1e-3, 1e-2):
        fits = fit_head(xtr, ttr, wtr, l2, 3000, pairs=both, pair_weight=1.0,
                        checkpoints=(1000, 3000))
        for ep, (W4, b4) in fits.items():
            sc = np.mean(list(combined(sigmoid(v["x"] @ W4.T + b4), meta_val).values()))
            r4.append((float(sc), l2, -ep, ep, W4, b4))
            log.info("round 4 l2=%g epochs=%d: validation %.4f", l2, ep, sc)
    best4 = max(r4, key=lambda r: (round(r[0], 6), r[1], r[2]))
    head4, rows_from = pick_rows([(W0, b0), (W, b), (best4[4], best4[5])], v["x"], meta_val)
    save_npz(out / "head_round4.npz", W=head4[0], b=head4[1])
    # The shipped head: round 3's rows where they raise the attribute's validation clean-beats,
    # the shipped rows elsewhere (per_attribute). Round 4's head raised the validation
    # specificity (0.43 -> 0.61) but lost 1-4 of 24 held-out clean-beats pairs on sharpness,
    # noise, compression and framing, so it failed the ship gate (no attribute worse); see
    # docs/TRAINING.md.
    take = per_attribute(before, best["drops"])
    if args.livec_clean_weight and livec_val is not None:
        cm = {name: clean_mean(_colour(livec_val[0], h), livec_val[1])
              for name, h in (("before", (W0, b0)), ("refit", (W, b)))}
        guard = clean_guard(cm["before"], cm["refit"])
        report["livec_clean_colour"] = dict(cm, margin=CLEAN_MARGIN, guard=guard)
        report["livec_clean_weight"] = args.livec_clean_weight
        report["livec_choice_dirs"] = list(range(LIVEC_CHOICE_DIRS[0], sum(LIVEC_CHOICE_DIRS)))
        take["color"] = take["color"] and guard
    head = merged_head((W0, b0), (W, b), take)
    save_npz(out / "head_merged.npz", W=head[0], b=head[1])
    report["refit_rows"] = take
    report["round4"] = {
        "l2": best4[1], "epochs": best4[3], "validation_combined": best4[0],
        "specificity_pairs": int(len(both) - len(pairs)),
        "rows_from": {a: ("shipped", "round 3", "round 4")[c] for a, c in rows_from.items()},
        "validation_specificity": variant_specificity(
            sigmoid(v["x"] @ head4[0].T + head4[1]), meta_val)}
    att_v = sigmoid(v["x"] @ head[0].T + head[1])
    report["validation_after"] = variant_drops(att_v, meta_val)
    report["validation_specificity_before"] = variant_specificity(
        sigmoid(v["x"] @ W0.T + b0), meta_val)
    report["validation_specificity_after"] = variant_specificity(att_v, meta_val)
    if livec_val is not None:
        report["livec_cast_color"] = {
            name: cast_drops(_colour(livec_val[0], h), livec_val[1])
            for name, h in (("before", (W0, b0)), ("refit", (W, b)), ("chosen", head))}
    atomic_write_text(out / "choice.json", json.dumps(report, indent=1))
    log.info("chosen: pair=%g l2=%g epochs=%d validation mean %.4f (before %.4f)",
             best["pair_weight"], best["l2"], best["epochs"], best["mean"],
             float(np.mean(list(before.values()))))
    if args.write:
        assert lm.path is not None
        log.info("wrote %s, sha256 %s", args.write, write_weights(lm.path, head, Path(args.write)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
