"""The LIVE-C protocol run: five seeded 80/20 splits with fixed settings, each trained with the
paper's sample weighting (gamma = 1) and without it (gamma = 0), beside the baselines of the same
splits. Resumable: every finished (split, gamma) writes its JSON, every epoch a checkpoint."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_write_text
from . import degradations as D
from .datasets import read_livec
from .joint import (
    bokeh_samples,
    frozen_ridge_scores,
    mirrored,
    native_samples,
    pixel_baselines,
    run_split,
    selfsup_samples,
    selfsup_validation,
)
from .loop import Inputs, TrainConfig, atomic_torch_save
from .selfsup import HELD_OUT, VALIDATION, list_photos

log = logging.getLogger("aesview.training")

# The settings every split is trained with (chosen before any test part was looked at; the
# epoch is picked per split on its validation photos).
DEFAULTS = dict(architecture="efficientnet_lite0", long_side=320, multiple=32, freeze=16,
                cache_prefix=True, epochs=10, batch_size=32, lr=1e-3, weight_decay=0.05,
                measure="vote", gamma=1.0, delta=0.0, threshold=5.5, balance="weights",
                att_weight=0.5, rank_weight=1.0, rank_margin=1.0, cross_rank_weight=1.0,
                human_rank_weight=1.0, map_weight=1.0, seed=0, device="cpu")


def config(cache_file: str | None, **over) -> TrainConfig:
    kw = dict(DEFAULTS, **over)
    return TrainConfig(cache_file=cache_file, attributes=list(D.ATTRIBUTES), **kw)


class Data:
    """Everything a split trains on besides its LIVE-C part (same for every split)."""

    def __init__(self, livec_root, photos_dir, long_side=320, seed=0):
        self.livec = read_livec(livec_root)
        k = len(D.ATTRIBUTES)
        for s in self.livec:
            s.attributes = np.full(k, np.nan, np.float32)   # people rated quality, not attributes
        photos = list_photos(photos_dir)
        held, val = set(HELD_OUT), set(VALIDATION)
        self.held_out = [p for p in photos if p.name in held]
        self.val_photos = [p for p in photos if p.name in val]
        self.train_photos = [p for p in photos if p.name not in held | val]
        t0 = time.time()
        self.selfsup = selfsup_samples(self.train_photos, long_side, seed)
        self.bokeh = bokeh_samples(self.train_photos, long_side, seed)
        self.native = native_samples(self.train_photos, long_side, seed)
        log.info("LIVE-C %d photos; shoot photos %d train / %d validation / %d held out; %d "
                 "defect, %d bokeh and %d full-resolution defect samples (%.0f s)",
                 len(self.livec), len(self.train_photos), len(self.val_photos),
                 len(self.held_out), len(self.selfsup), len(self.bokeh), len(self.native),
                 time.time() - t0)

    @property
    def extra(self) -> list:
        """Everything but LIVE-C that every split trains on."""
        return self.selfsup + self.bokeh + self.native

    def everything(self, long_side):
        return (self.livec + [mirrored(s) for s in self.livec] + self.extra
                + selfsup_validation(self.val_photos, long_side))


def fill_cache(data: Data, cfg: TrainConfig, device="cpu") -> None:
    from .loop import model_for
    net = model_for(cfg, len(cfg.attributes), imagenet=True).to(device)
    Inputs(data.everything(cfg.long_side), net, cfg, device)


def run(livec_root, photos_dir, out: Path, splits=(0, 1, 2, 3, 4), gammas=(1.0, 0.0),
        cache_file: str | None = None, **over) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg0 = config(cache_file or str(out / "prefix_cache.pt"), **over)
    data = Data(livec_root, photos_dir, cfg0.long_side, cfg0.seed)
    fill_cache(data, cfg0)
    results: dict = {"settings": {k: v for k, v in vars(cfg0).items() if k != "attributes"},
                     "splits": {}}
    pix_cache: dict = {}
    for split in splits:
        entry: dict = {}
        for gamma in gammas:
            tag = f"split{split}_gamma{gamma:g}"
            res_file = out / f"{tag}.json"
            if res_file.is_file():
                entry[f"gamma={gamma:g}"] = json.loads(res_file.read_text())
                continue
            cfg = config(cfg0.cache_file, gamma=gamma, **over)
            net, summary = run_split(data.livec, data.train_photos, data.val_photos, cfg, split,
                                     out / tag, resume=True, extra_train=data.extra)
            atomic_torch_save({k: v.cpu() for k, v in net.state_dict().items()},
                              out / f"{tag}.state.pt")
            atomic_write_text(res_file, json.dumps(summary, indent=1) + "\n")
            entry[f"gamma={gamma:g}"] = summary
        entry["frozen_ridge"] = frozen_ridge_scores(data.livec, cfg0, split)
        entry.update(pixel_baselines(data.livec, split, cfg0.long_side, cache=pix_cache))
        results["splits"][str(split)] = entry
        atomic_write_text(out / "protocol.json", json.dumps(results, indent=1) + "\n")
        log.info("split %d: %s", split, format_split(entry))
    results["median"] = medians(results)
    atomic_write_text(out / "protocol.json", json.dumps(results, indent=1) + "\n")
    return results


def _fig(entry, method):
    e = entry[method]
    return e["test"] if "test" in e else e


def format_split(entry: dict) -> str:
    return ", ".join(f"{m} SRCC {_fig(entry, m)['srcc']:.3f} PLCC {_fig(entry, m)['plcc']:.3f}"
                     for m in entry)


def medians(results: dict) -> dict:
    methods = sorted({m for e in results["splits"].values() for m in e})
    out = {}
    for m in methods:
        rows = [_fig(e, m) for e in results["splits"].values() if m in e]
        out[m] = {"srcc": float(np.median([r["srcc"] for r in rows])),
                  "plcc": float(np.median([r["plcc"] for r in rows])), "splits": len(rows)}
    return out


def format_table(results: dict) -> str:
    med = results.get("median") or medians(results)
    lines = [f"LIVE-C test parts, {next(iter(med.values()))['splits']} seeded 80/20 split(s): "
             "median SRCC / PLCC",
             f"{'method':22s}{'SRCC':>8s}{'PLCC':>8s}"]
    for m, v in med.items():
        lines.append(f"{m:22s}{v['srcc']:8.3f}{v['plcc']:8.3f}")
    return "\n".join(lines)
