"""Train one variant of the LIVE-C recipe on one split and choose its epoch on the split's
validation photos, without scoring its test part: for comparing variants under a rule fixed
beforehand (docs/TRAINING.md, round 3). The winner is then packaged with
`aesview train --dataset livec ... --resume` (same --out, --cache and --freeze), which scores
the test part and the held-out photos once.

    python -m aesview.training.variant --data ../shared/datasets/livec --photos ../shared/photos \\
        --out runs/v3/A_f12 --freeze 12 [--backbone-lr-scale 0.1] [--split 0] [--cache FILE] \\
        [--levels all | --levels 1,3,5,8,11,15,16]

`--levels` gives the GAP heads the outputs of those backbone stages too, each pooled to the
last map's grid (core/model.py; "all": the end of every channel group, `backbones.group_ends`).
Levels below `--freeze` are read from the prefix cache, which gains an entry per sample for them
beside the stage output it already holds (an older cache is completed, not rebuilt).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.atomic import atomic_write_text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="LIVE-C root")
    ap.add_argument("--photos", required=True, help="the shoot photos (shared/photos)")
    ap.add_argument("--out", required=True, help="checkpoints, train.log, summary.json")
    ap.add_argument("--split", type=int, default=0)
    ap.add_argument("--freeze", type=int, default=None, help="default: the recipe's")
    ap.add_argument("--backbone-lr-scale", type=float, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--gamma", type=float, default=None)
    ap.add_argument("--cache", default=None, help="frozen-prefix cache file (default OUT/..)")
    ap.add_argument("--levels", default=None,
                    help="multi-level head: 'all' or comma-separated backbone stage indices")
    args = ap.parse_args(argv)

    from .joint import train_split
    from .loop import atomic_torch_save, setup_logging
    from .protocol import Data, config, fill_cache
    out = Path(args.out)
    setup_logging(out)
    over = {k: v for k, v in (("freeze", args.freeze), ("epochs", args.epochs),
                              ("backbone_lr_scale", args.backbone_lr_scale),
                              ("gamma", args.gamma)) if v is not None}
    if args.levels:
        over["levels"] = parse_levels(args.levels, config(None).architecture)
    cfg = config(args.cache or str(out / "prefix_cache.pt"), **over)
    data = Data(args.data, args.photos, cfg.long_side, cfg.seed)
    fill_cache(data, cfg)
    net, summary, parts = train_split(data.livec, data.train_photos, data.val_photos, cfg,
                                      args.split, out, resume=True, extra_train=data.extra)
    best = summary["history"][summary["selected_epoch"] - 1]
    summary.update({"split": args.split, "variant": over, "select": best["select"],
                    "parts": {k: len(v) for k, v in parts.items()}})
    if net.head_spec is not None:
        summary["head"] = net.head_spec.to_dict()     # the card's `head` section
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_torch_save({k: v.cpu() for k, v in net.state_dict().items()},
                      out / "selected.state.pt")
    print(f"selected epoch {summary['selected_epoch']}: validation score {best['select']:.4f} "
          f"(SRCC {best.get('val_srcc', float('nan')):.4f})")
    return 0


def parse_levels(text: str, architecture: str) -> list[int]:
    from ..core.backbones import build_backbone, group_ends
    backbone = build_backbone(architecture)
    if text.strip() == "all":
        return group_ends(backbone)
    try:
        levels = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise SystemExit(f"--levels: 'all' or stage indices like 1,3,5, not {text!r}") from None
    n = len(backbone.stages)
    if not levels or levels[0] < 0 or levels[-1] >= n - 1:
        raise SystemExit(f"--levels: stage indices 0..{n - 2} of {architecture} (the last stage, "
                         f"{n - 1}, is always read), not {text!r}")
    return levels


if __name__ == "__main__":
    sys.exit(main())
