"""`aesview report` (a shareable HTML report of a shoot) and `aesview whatif` (one change to a
photo, rescored). Registered by aesview/cli.py; they share its model flags and path handling."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import cli
from .cli import EXIT_OK, EXIT_SOME_FAILED, UsageError, _add_model_args, _check_ranges, expand_paths

# cli._load is looked up when called (not imported by name), so the model loader stays the one
# cli holds, e.g. when a test replaces it.


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rp = sub.add_parser("report", help="score photos and write a shareable HTML report")
    rp.add_argument("paths", nargs="+", metavar="PATH")
    rp.add_argument("-o", "--output", metavar="OUT", required=True,
                    help="the report: one self-contained .html file (replaced if it exists), or "
                         "with --folder a new folder holding index.html and images/")
    rp.add_argument("--folder", action="store_true",
                    help="write a folder (index.html + images/) instead of one file")
    rp.add_argument("--title", default=None, help="the report's title (default: the folder's name)")
    rp.add_argument("--photo-size", type=int, default=1024, metavar="PX",
                    help="long side of each photo in the report (default 1024)")
    rp.add_argument("--quality", type=int, default=80, help="JPEG quality of the photos (default 80)")
    rp.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    rp.add_argument("--batch-size", type=int, default=8)
    rp.add_argument("--quiet", "-q", action="store_true", help="no progress bars on stderr")
    _add_model_args(rp)
    rp.set_defaults(func=cmd_report)

    from .core.whatif import CROP, FAMILIES
    wi = sub.add_parser("whatif", help="apply one change to a photo in memory and score it again")
    wi.add_argument("image", metavar="IMAGE")
    wi.add_argument("--change", default="all", choices=[*FAMILIES, CROP, "all"],
                    help="the defect family to apply, 'crop' for the suggested crop, or 'all' "
                         "(default) for every family")
    wi.add_argument("--strength", type=float, default=2.0,
                    help="on the trainer's severity scale: 1, 2, 3 (fractions interpolate; "
                         "negative for darker exposure or a clockwise tilt); default 2")
    wi.add_argument("--aspect", default="original", help="aspect of the suggested crop (W:H)")
    wi.add_argument("--map", default="absolute", choices=("absolute", "relative", "normalised"),
                    help="how -o draws the maps (default absolute)")
    wi.add_argument("-o", "--output", metavar="OUT",
                    help="write a before | after picture with the maps (PNG/JPEG; never overwrites)")
    wi.add_argument("--json", action="store_true")
    _add_model_args(wi)
    wi.set_defaults(func=cmd_whatif)


def _output_target(args: argparse.Namespace) -> Path:
    """Refuse an unusable -o before any photo is scored."""
    out = Path(args.output)
    if args.folder:
        if out.exists():
            raise UsageError(f"-o {out}: exists; --folder writes a new folder")
    elif out.is_dir() or args.output.endswith(("/", os.sep)):
        raise UsageError(f"-o {out}: is a folder; name a file (e.g. report.html) or add --folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"-o {out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"-o {out}: cannot write in {parent}")
    if not 256 <= args.photo_size <= 4096:
        raise UsageError(f"--photo-size {args.photo_size}: choose 256 to 4096")
    if not 1 <= args.quality <= 100:
        raise UsageError(f"--quality {args.quality}: choose 1 to 100")
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .core.report import ReportOptions, build_report
    _check_ranges(args)
    out = _output_target(args)
    try:
        paths = expand_paths(args.paths, args.recursive)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    if not paths:
        raise UsageError("no photos found in " + ", ".join(args.paths)
                         + ("" if args.recursive else " (add --recursive for sub-folders)"))
    model, scorer = cli._load(args)
    records = []
    try:
        with tqdm(total=len(paths), unit="photo", file=sys.stderr, desc="scoring",
                  disable=args.quiet) as bar:
            records = list(scorer.score_paths(paths, progress=bar.update))
        card = model.card
        title = args.title or f"aesview report: {Path(os.path.abspath(args.paths[0])).name}"
        opts = ReportOptions(title=title, photo_side=args.photo_size, quality=args.quality)
        n_ok = sum(r.ok for r in records)
        with tqdm(total=n_ok, unit="photo", file=sys.stderr, desc="report", disable=args.quiet) as bar:
            written = build_report(records, model.attributes,
                                   {"name": card.name, "architecture": card.architecture,
                                    "data": card.data_short},
                                   out, folder=args.folder, options=opts, progress=bar.update)
    except KeyboardInterrupt:
        print("aesview: cancelled; no report written", file=sys.stderr)
        return 130
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        print(f"aesview: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    failed = [r for r in records if not r.ok]
    for r in failed:
        print(f"aesview: {r.path}: {r.error}", file=sys.stderr)
    size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()) if args.folder \
        else Path(written).stat().st_size
    print(f"{written}  ({n_ok} photos, {size / 1e6:.1f} MB)")
    return EXIT_SOME_FAILED if failed else EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    from .core.atomic import atomic_write_bytes
    from .core.imaging import ImageLoadError
    from .core.whatif import CROP, FAMILIES, WhatIf, comparison_image, parameter
    _check_ranges(args)
    if not os.path.isfile(args.image):
        raise UsageError(f"{args.image}: no such file")
    names = list(FAMILIES) if args.change == "all" else [args.change]
    # With "all", a negative strength turns the signed families (exposure, tilt) the other way
    # and leaves the rest at its size; one unsigned family refuses it.
    for n in names:
        if n != CROP:
            try:
                parameter(n, args.strength if FAMILIES[n].signed or len(names) == 1
                          else abs(args.strength))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    if args.output and args.change == "all":
        raise UsageError("-o draws one change; pick it with --change")
    if args.output and os.path.exists(args.output):
        print(f"aesview: {args.output} exists; not overwriting it", file=sys.stderr)
        return EXIT_SOME_FAILED
    _, scorer = cli._load(args)
    try:
        exp = WhatIf.open(scorer, args.image)
    except ImageLoadError as exc:
        print(f"aesview: {args.image}: {exc.reason}", file=sys.stderr)
        return EXIT_SOME_FAILED
    results = []
    for n in names:
        if n == CROP:
            try:
                results.append(exp.suggested_crop(args.aspect))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        else:
            s = args.strength if FAMILIES[n].signed else abs(args.strength)
            results.append(exp.run(n, s))
    if args.output:
        from PIL import Image
        img = Image.fromarray(comparison_image(results[0], args.map))
        import io
        buf = io.BytesIO()
        fmt = "JPEG" if args.output.lower().endswith((".jpg", ".jpeg")) else "PNG"
        img.save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        try:
            atomic_write_bytes(args.output, buf.getvalue(), overwrite=False)
        except FileExistsError:
            print(f"aesview: {args.output} exists; not overwriting it", file=sys.stderr)
            return EXIT_SOME_FAILED
        except OSError as exc:
            print(f"aesview: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
    if args.json:
        json.dump({"path": exp.path, "score": exp.before.score, "output": args.output,
                   "changes": [{"change": r.what, "strength": r.strength, "setting": r.setting,
                                "score": r.after.score, "delta": r.change,
                                "box": list(r.box) if r.box else None} for r in results]},
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"{exp.path}: score {exp.before.score:.3f}")
        for r in results:
            print(f"  {r.what:<12} {r.setting:<58} {r.after.score:.3f}  ({r.change:+.3f})")
    return EXIT_OK
