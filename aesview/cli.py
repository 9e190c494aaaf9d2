"""The `aesview` command: score, crop, train, evaluate; with no subcommand (or a folder) the GUI.

The JSON of `score --json` and `crop --json` is a contract other tools depend on; see README.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.choices import DEVICES, keys

if TYPE_CHECKING:
    from .core.records import ScoreRecord

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
# The network's working size: below 64 px nothing is left to judge; above 1024 px a CPU needs
# minutes and gigabytes per photo (8000 px took 109 s and 10 GB) for no better ranking.
SIZE_RANGE = (64, 1024)
BATCH_RANGE = (1, 256)
SUBCOMMANDS = ("score", "crop", "report", "whatif", "train", "evaluate", "gui")


class UsageError(Exception):
    pass


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", metavar="NAME|FILE", default=None,
                   help="a shipped model name or a .pt file with its .json card (default: the shipped default)")
    p.add_argument("--device", choices=keys(DEVICES), default="auto")
    p.add_argument("--size", type=int, default=None, metavar="PX",
                   help=f"working size: the long side the network sees, {SIZE_RANGE[0]}-{SIZE_RANGE[1]} "
                        "(default: the model card's)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    p.add_argument("--no-detail", action="store_true",
                   help="score with the global view alone, without the look at 100 %% (faster; the "
                        "scores are those of the model without its detail view)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aesview", description="Rank photos by an aesthetic CNN and show why (AesAM/AttAM).",
        epilog="With no subcommand, or with a folder, aesview opens the desktop app.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"aesview {__version__}")
    parser.add_argument("--self-test", action="store_true",
                        help="headless check: load the model, score the bundled samples, write a crop")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sc = sub.add_parser("score", help="score photos and folders, best first")
    sc.add_argument("paths", nargs="+", metavar="PATH")
    sc.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sc.add_argument("--maps", metavar="DIR", help="write DIR/<file name>.npz with aesam, attam, attributes")
    sc.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    sc.add_argument("--batch-size", type=int, default=8, help=f"{BATCH_RANGE[0]}-{BATCH_RANGE[1]} (default 8)")
    sc.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    _add_model_args(sc)
    sc.set_defaults(func=cmd_score)

    cr = sub.add_parser("crop", help="the subject- and AesAM-guided crop of one photo")
    cr.add_argument("image", metavar="IMAGE")
    cr.add_argument("--aspect", default="original",
                    help="W:H (e.g. 1:1, 4:5, 5:4, 2:3, 3:2, 16:9, 9:16 or any custom W:H), "
                         "'original' or 'free' (default: original)")
    cr.add_argument("--tightness", type=float, default=0.0,
                    help="0 (default) = as large as the aspect allows; up to 1 = tighter around "
                         "the subject (down to a quarter of the side)")
    cr.add_argument("--keep-heads", action="store_true",
                    help="never cut a head (a face found, widened to the head) that a crop of this "
                         "size could hold whole")
    cr.add_argument("--xmp", action="store_true",
                    help="record the crop in the photo's IMG.xmp sidecar as Camera Raw crop "
                         "(Lightroom, darktable's Lightroom import); the photo is not touched")
    cr.add_argument("-o", "--output", metavar="OUT", help="write the cropped photo here (never overwrites)")
    cr.add_argument("--quality", type=int, default=92, help="JPEG quality of -o, 1-100 (default 92)")
    cr.add_argument("--json", action="store_true")
    _add_model_args(cr)
    cr.set_defaults(func=cmd_crop)

    from .cli_report import register as register_report
    register_report(sub)

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.add_argument("folder", nargs="?")
    gui.set_defaults(func=lambda a: _run_gui(a.folder))

    try:
        from .training.cli import register as register_training
    except ImportError:      # a build without the trainer
        pass
    else:
        register_training(sub)
    return parser


def _run_gui(folder: str | None) -> int:
    from .gui.app import run_gui
    return run_gui(folder)


def _load(args):
    from .core.cache import ScoreCache
    from .core.scoring import Scorer
    from .core.weights import ModelError, load_model
    try:
        model = load_model(args.model, device=args.device)
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    if not model.card.trained:
        print(f"aesview: warning: model {model.card.name} has an UNTRAINED head; its scores "
              "and maps mean nothing", file=sys.stderr)
    cache = None if args.no_cache else ScoreCache()
    return model, Scorer(model, long_side=args.size, batch_size=getattr(args, "batch_size", 8),
                         cache=cache, detail=not getattr(args, "no_detail", False))


def expand_paths(paths: list[str], recursive: bool) -> list[str]:
    """Folders become their photos; files are kept as given (a bad one fails on its own)."""
    from .core.imaging import list_images
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out += [str(x) for x in list_images(p, recursive=recursive)]
        else:
            out.append(p)
    # The same photo named twice (a file and its folder) is scored once, where it came first.
    first: dict[str, str] = {}
    for p in out:
        first.setdefault(os.path.abspath(p), p)
    return list(first.values())


def _write_maps(rec, names: list[str], out_dir: Path, used: set[str]) -> str:
    import io

    import numpy as np

    from .core.atomic import atomic_write_bytes
    base = Path(rec.path).name
    name, n = f"{base}.npz", 1
    while name in used:  # same file name from two folders (--recursive)
        n += 1
        name = f"{base}-{n}.npz"
    used.add(name)
    buf = io.BytesIO()
    extra = {}
    if rec.detail is not None:  # the detail view: per-patch maps, their boxes, the pasted map
        extra = {"detail_maps": rec.detail.maps, "detail_boxes": rec.detail.boxes,
                 "detail_map": rec.detail.frame_map()}
    np.savez_compressed(buf, aesam=rec.aesam.astype(np.float32), attam=rec.attam.astype(np.float32),
                        attributes=np.array(names), image_size=np.array(rec.image_size), **extra)
    target = out_dir / name
    atomic_write_bytes(target, buf.getvalue())
    return str(target)


def _check_ranges(args) -> None:
    """Flags that would only fail (or take hours) after the model is loaded: refused first."""
    if args.size is not None and not SIZE_RANGE[0] <= args.size <= SIZE_RANGE[1]:
        raise UsageError(f"--size {args.size}: the working size runs from {SIZE_RANGE[0]} to "
                         f"{SIZE_RANGE[1]} px")
    batch = getattr(args, "batch_size", None)
    if batch is not None and not BATCH_RANGE[0] <= batch <= BATCH_RANGE[1]:
        raise UsageError(f"--batch-size {batch}: choose {BATCH_RANGE[0]} to {BATCH_RANGE[1]}")


def _writable_folder(flag: str, folder: str) -> Path:
    """Create `folder` if needed and prove it takes files (os.access is wrong for root and
    read-only mounts): a temp file is made and removed."""
    import tempfile
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{flag} {folder}: is a file, not a folder") from None
    except OSError as exc:
        raise UsageError(f"{flag} {folder}: cannot create the folder ({exc.strerror or exc})") from None
    if not path.is_dir():
        raise UsageError(f"{flag} {folder}: not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".aesview-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{flag} {folder}: cannot write there ({exc.strerror or exc})") from None
    return path


def cmd_score(args) -> int:
    from tqdm import tqdm

    from .core.records import rank
    _check_ranges(args)
    maps_dir = _writable_folder("--maps", args.maps) if args.maps else None
    try:
        paths = expand_paths(args.paths, args.recursive)
    except OSError as exc:
        raise UsageError(str(exc)) from None
    if not paths:
        print("aesview: no photos found in " + ", ".join(args.paths)
              + ("" if args.recursive else " (add --recursive for sub-folders)"), file=sys.stderr)
    model, scorer = _load(args)
    records: list[ScoreRecord] = []
    used: set[str] = set()
    map_files: dict[str, str] = {}
    maps_failed = False
    with tqdm(total=len(paths), unit="photo", file=sys.stderr, desc="scoring",
              disable=args.quiet) as bar:
        for rec in scorer.score_paths(paths, progress=bar.update):
            if maps_dir and rec.ok:
                try:
                    map_files[rec.path] = _write_maps(rec, model.attributes, maps_dir, used)
                except OSError as exc:  # disk full, folder removed meanwhile
                    maps_failed = True
                    print(f"aesview: {rec.path}: maps not written ({exc.strerror or exc})",
                          file=sys.stderr)
            records.append(rec)
    ranked = rank(records)
    if args.json:
        images = []
        for r in ranked:
            entry: dict[str, Any] = {"path": r.path, "score": r.score, "rank": r.rank, "percentile": r.percentile,
                     "attributes": r.attributes, "error": r.error}
            if r.ok:
                entry["image_size"] = list(r.image_size or ())
                entry["cached"] = r.cached
                if r.detail is not None:
                    entry["detail"] = r.detail.explain()
            if r.path in map_files:
                entry["maps"] = map_files[r.path]
            images.append(entry)
        json.dump({"model": model.card.to_dict(), "images": images}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_table(ranked, model))
    return EXIT_SOME_FAILED if maps_failed or any(not r.ok for r in ranked) else EXIT_OK


def format_table(ranked, model) -> str:
    card = model.card
    lines = [f"model: {card.name} ({card.architecture}; trained on: {card.data_short})"]
    if not card.trained:
        lines.append("WARNING: untrained head, the scores below mean nothing")
    ok = [r for r in ranked if r.ok]
    if ok:
        lines.append(f"{'rank':>4}  {'score':>5}  {'pct':>4}  {'weakest attributes':<34}  path")
    for r in ok:
        weak = sorted(r.attributes.items(), key=lambda kv: kv[1])[:2]
        weak_s = ", ".join(f"{k} {v:.2f}" for k, v in weak)
        lines.append(f"{r.rank:>4}  {r.score:5.3f}  {r.percentile:4.0f}  {weak_s:<34}  {r.path}")
    failed = [r for r in ranked if not r.ok]
    if failed:
        lines.append(f"{len(failed)} file(s) could not be scored:")
        lines += [f"  {r.path}: {r.error}" for r in failed]
    return "\n".join(lines)


def cmd_crop(args) -> int:
    from .core.crop import crop_settings, parse_aspect, plan_crop
    from .core.export import EXPORT_FORMATS, export_crop
    from .core.subject import CropAnalyzer, crop_threads, torch_threads
    if not os.path.isfile(args.image):
        raise UsageError(f"{args.image}: no such file")
    if not 0 <= args.tightness <= 1:
        raise UsageError(f"--tightness {args.tightness}: use a value from 0 to 1")
    _check_ranges(args)
    if not 1 <= args.quality <= 100:
        raise UsageError(f"--quality {args.quality}: JPEG quality runs from 1 to 100")
    if args.output:
        out = Path(args.output)
        if out.suffix.lower() not in EXPORT_FORMATS:
            raise UsageError(f"-o {args.output}: use a .jpg, .png or .tif name")
        _writable_folder("-o", str(out.parent))
    model, scorer = _load(args)
    # The score (from the cache when there) stays its own 320-px pass: decoding once for both
    # would change it for some photos, and `crop --json` reports the same score as `score`.
    # One photo gains nothing from a second thread (core.subject.crop_threads).
    with torch_threads(crop_threads()):
        rec = scorer.score_one(args.image)
    if not rec.ok:
        print(f"aesview: {rec.path}: {rec.error}", file=sys.stderr)
        return EXIT_SOME_FAILED
    try:
        aspect = parse_aspect(args.aspect, rec.image_size)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        plan = plan_crop(CropAnalyzer(model).analyze(args.image), aspect, tightness=args.tightness,
                         settings=crop_settings(args.keep_heads))
    except Exception as exc:  # noqa: BLE001 - a photo that scored but can't be re-read
        print(f"aesview: {rec.path}: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    box = [int(v) for v in plan.box]
    written = None
    sidecar = None
    if args.xmp:
        from .core.crop_xmp import write_crop
        from .core.xmp import SidecarError
        try:
            sidecar = str(write_crop(args.image, plan.box))
        except (SidecarError, OSError, ValueError) as exc:
            print(f"aesview: cannot record the crop in the sidecar: {exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
    if args.output:
        try:
            written = str(export_crop(args.image, box, args.output, quality=args.quality))
        except FileExistsError:
            print(f"aesview: {args.output} exists; not overwriting it", file=sys.stderr)
            return EXIT_SOME_FAILED
        except (OSError, ValueError) as exc:
            print(f"aesview: cannot write {args.output}: {exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
    if args.json:
        json.dump({"box": box, "aspect": args.aspect, "image_size": list(rec.image_size),
                   "path": rec.path, "score": rec.score, "output": written, "xmp": sidecar,
                   "explain": plan.explain()}, sys.stdout)
        sys.stdout.write("\n")
    else:
        w, h = box[2] - box[0], box[3] - box[1]
        print(f"crop {box[0]} {box[1]} {box[2]} {box[3]}  ({w}x{h} of {rec.image_size[0]}x"
              f"{rec.image_size[1]}, aspect {args.aspect})" + (f" -> {written}" if written else "")
              + (f"; crop recorded in {sidecar}" if sidecar else ""))
    return EXIT_OK


def _warnings_to_stderr() -> logging.Handler:
    """The core's warnings (cache not usable, ...) as one `aesview: warning:` line each;
    returns the handler so main() can remove it again (main is also called in-process)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("aesview: warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger("aesview").addHandler(handler)
    return handler


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        if len(argv) > 1:
            print("aesview: give one folder to open, or a subcommand "
                  f"({', '.join(SUBCOMMANDS)})", file=sys.stderr)
            return EXIT_USAGE
        return _run_gui(argv[0] if argv else None)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from .selftest import run_self_test
        return run_self_test()
    if not args.command:
        return _run_gui(None)
    handler = _warnings_to_stderr()
    from .core.settings import apply_to_process, load_settings
    apply_to_process(load_settings())        # the decode budget chosen in Preferences
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"aesview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `aesview score ... | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    finally:
        logging.getLogger("aesview").removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
