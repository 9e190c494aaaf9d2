"""Thread CPU time of the score pass, part by part, for 12-MP JPEGs (a benchmark, not a test).

    .venv/bin/python tools/score_cpu.py [--model NAME-or-FILE ...] [--compare-rev REV]
                                        [--files 3] [--repeat 7] [--rounds 3] [--batch 1]
                                        [--json OUT]

Each model (a name from weights/ or a .pt file with its card beside it; default: the shipped
one) is scored by the real `Scorer` (`_prepare` = the decode, `_infer` = everything after it),
one photo at a time (`--batch 8`: eight to a call, as the app and the CLI run; figures per
photo), on `--files` of tools/benchmark.py's 4000 x 3000 JPEGs (made in /tmp/aesview-bench if
missing). The parts are timed by wrapping what the pass calls, so the
same script times old and new code alike:

* decode: `Scorer._prepare` (one decode serves the global and the detail view);
* global stages: the aesthetic backbone's stages (`net.backbone` in the old code, the fused
  copies in the new);
* ImageNet tail: `ImageNetTail.cams` (the classifier's stages after the shared ones + its CAM);
* detail patches: `Scorer._details` (tile choice, prefix, head, result);
* subject map, embedding: the numpy work after the network (`subject_map`, `make_embedding`);
* rest: the remainder of `_infer` (normalisation, heads, AesAM/AttAM einsums, records).

The total is the decode plus `_infer`, measured as one; every figure is the minimum over
`--repeat` passes of the photo, averaged over the files.

Load-proofing, for gates that compare two figures: (1) thread CPU time (`time.thread_time`)
with torch at one intra-op thread, so nothing counts the time this thread waits for a core,
and no other thread's work is counted or lost; (2) the minimum of 7 passes, so a pass that
lost its caches to another process is dropped; (3) every configuration runs in its own fresh
process, and `--rounds` interleaves them (old, new, old, new, ...), keeping each part's
minimum over rounds, so a burst of load hits all of them alike; (4) the load average before
and after is printed: thread CPU time still rises a little on a busy machine (shared caches
and memory bandwidth), so compare figures of one run, never of two runs, and prefer a run
at load below 2.

`--compare-rev REV` also runs every model on the code of git revision REV (e.g. 872e1b5, the
round-4 gate's reference), exported with `git archive` to /tmp/aesview-score-cpu-SHA (the
shared working tree and its worktree list are not touched) and imported from there. The
round-4 speed gate (docs/TRAINING.md, "Round 4"):

    .venv/bin/python tools/score_cpu.py --compare-rev 872e1b5 \\
        --model aesview-livec-lite0 --model /work/runs/v3/ship_detail/aesview-livec-lite0-f12.pt

and read the candidate's total on this code against the shipped model's total on 872e1b5
(the "ratio" column is each total over the first row's).

`--wall ROUNDS` (with or without `--compare-rev`) times instead what tools/benchmark.py times —
a plain decode of its 100 files and `aesview score` of them, start-up included — with each
code in turn, interleaved, in wall seconds (the default model; `OMP_NUM_THREADS=1` before the
command gives the one-thread figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path("/tmp/aesview-bench")
PARTS = ("decode", "global stages", "ImageNet tail", "detail patches", "subject map",
         "embedding", "rest")


# ------------------------------------------------------------------------------ one process

class _Clock:
    """Thread CPU time of the outermost wrapped call: a part called inside another part (the
    detail prefix sharing the global stages' module, say) counts for the outer one."""

    def __init__(self) -> None:
        self.active = False
        self.spent: dict[str, float] = {}

    def wrap(self, part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                return fn(*args, **kwargs)
            self.active = True
            t = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] = self.spent.get(part, 0.0) + time.thread_time() - t
                self.active = False
        return timed


def _instrument(scorer: Any, clock: _Clock) -> None:
    from aesview.core import scoring, subject_cue
    fused = getattr(scorer, "_segments", None)   # the new code's fused global stages
    if fused is not None:
        for seg in fused:
            seg.forward = clock.wrap("global stages", seg.forward)
    else:
        bb = scorer.model.net.backbone
        bb.forward = clock.wrap("global stages", bb.forward)
    cams = subject_cue.ImageNetTail.cams
    subject_cue.ImageNetTail.cams = clock.wrap("ImageNet tail", cams)  # type: ignore[method-assign]
    scorer._details = clock.wrap("detail patches", scorer._details)
    for name, part in (("subject_map", "subject map"), ("make_embedding", "embedding")):
        setattr(scoring, name, clock.wrap(part, getattr(scoring, name)))


def measure(model_name: str | None, files: list[Path], repeat: int, batch: int = 1) -> dict[str, Any]:
    import torch
    torch.set_num_threads(1)
    import aesview
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    model = load_model(model_name, device="cpu")
    scorer = Scorer(model, workers=0)
    for f in files:                       # warm: lazy parts (ImageNet tail, fused copies) built
        scorer._infer([scorer._prepare(str(f))])
    clock = _Clock()
    _instrument(scorer, clock)
    per_file = []
    groups = [files[i:i + batch] for i in range(0, len(files) - batch + 1, batch)]
    for group in groups:
        best: dict[str, float] = {}
        for _ in range(repeat):
            clock.spent = {}
            t0 = time.thread_time()
            preps = [scorer._prepare(str(f)) for f in group]
            t1 = time.thread_time()
            scorer._infer(preps)
            t2 = time.thread_time()
            got = dict(clock.spent)
            got["decode"] = t1 - t0
            got["rest"] = (t2 - t1) - sum(v for k, v in got.items() if k != "decode")
            got["total"] = t2 - t0
            for k, v in got.items():
                best[k] = min(best.get(k, 1e9), v / len(group))
        per_file.append(best)
    keys = sorted({k for b in per_file for k in b})
    ms = {k: 1000 * sum(b.get(k, 0.0) for b in per_file) / len(per_file) for k in keys}
    tail = scorer._tail if "_tail" in scorer.__dict__ else None
    # 872e1b5 ran no tail when it would start before the embedding stage (a freeze-9 model)
    ran = tail is not None and tail.available and ms.get("ImageNet tail", 0.0) > 0
    return {"ms": ms, "model": model.model_id, "aesview": aesview.__file__,
            "tail_from": getattr(tail, "shared", None) if ran else None,
            "threads": torch.get_num_threads(), "files": [f.name for f in files]}


# ------------------------------------------------------------------------------- the driver

def _code_at(rev: str) -> Path:
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         check=True, capture_output=True, text=True).stdout.strip()
    dest = Path(tempfile.gettempdir()) / f"aesview-score-cpu-{sha[:12]}"
    if not (dest / "aesview" / "core" / "scoring.py").is_file():
        tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "aesview", "weights"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        try:
            os.replace(tmp, dest)
        except OSError:            # another run exported it meanwhile
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return dest


def _bench_photos(n: int) -> list[Path]:
    """The first n of tools/benchmark.py's photos (made once, kept in BENCH)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from benchmark import make_photos
    return list(make_photos(BENCH, n))


def _photos(n: int) -> list[Path]:
    """n of the benchmark's photos, all of the first one's shape (a batch is of one shape)."""
    from PIL import Image
    made = _bench_photos(max(2 * n, 8))
    shape = Image.open(made[0]).size
    same = [f for f in made if Image.open(f).size == shape][:n]
    if len(same) < n:
        raise SystemExit(f"fewer than {n} photos of one shape in {BENCH}")
    return same


def _run_worker(code: Path, model: str | None, files: list[Path], repeat: int,
                batch: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(code),
           "--repeat", str(repeat), "--batch", str(batch), *(["--model", model] if model else []),
           *["--file=" + str(f) for f in files]]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if not Path(res["aesview"]).resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"the worker imported {res['aesview']}, not the code in {code}")
    return res


DECODE = "import sys\nfrom PIL import Image\nfor f in sys.argv[1:]:\n    Image.open(f).convert('RGB')\n"


def wall(codes: list[tuple[str, Path]], rounds: int) -> None:
    """tools/benchmark.py's two commands (a plain full-resolution decode of its 100 files, and
    `aesview score DIR --no-cache --json`), with `aesview` from each code in turn, interleaved."""
    files = [str(f) for f in _bench_photos(100)]
    for r in range(rounds):
        row = []
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", DECODE, *files], check=True)
        base = time.perf_counter() - t
        for label, code in codes:
            t = time.perf_counter()
            # cwd: `-m aesview` imports from the working directory first
            subprocess.run([sys.executable, "-m", "aesview", "score", str(BENCH), "--no-cache", "--json",
                            "--quiet", "--device", "cpu"], cwd=code, check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, PYTHONPATH=str(code)))
            took = time.perf_counter() - t
            row.append(f"{label} {took:5.1f} s (ratio {took / base:.2f})")
        print(f"round {r + 1}: decode {base:5.1f} s, " + ", ".join(row)
              + f"; load average {os.getloadavg()[0]:.2f}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help="a model name or .pt file (repeatable)")
    ap.add_argument("--compare-rev", help="also run on the code of this git revision")
    ap.add_argument("--files", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1,
                    help="photos per _infer call (the app and the CLI run 8); figures stay per photo")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--wall", type=int, metavar="ROUNDS",
                    help="instead: wall time of tools/benchmark.py's commands, each code in turn")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", action="append", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:                       # one configuration, in a fresh process
        sys.path.insert(0, args.worker)
        model = args.model[0] if args.model else None
        res = measure(model, [Path(f) for f in args.file], args.repeat, args.batch)
        print(json.dumps(res))
        return 0
    models: list[str | None] = [
        str(Path(m).resolve()) if Path(m).suffix in (".pt", ".json") else m
        for m in (args.model or [])] or [None]
    files = _photos(max(args.files, args.batch))
    codes = []
    if args.compare_rev:
        codes.append((args.compare_rev, _code_at(args.compare_rev)))
    codes.append(("this tree", ROOT))
    if args.wall:
        wall(codes, args.wall)
        return 0
    configs = [(label, code, m) for label, code in codes for m in models]
    load0 = os.getloadavg()
    best: dict[int, dict[str, Any]] = {}
    for r in range(args.rounds):
        for i, (label, code, m) in enumerate(configs):
            res = _run_worker(code, m, files, args.repeat, args.batch)
            if i not in best:
                best[i] = res
            else:
                best[i]["ms"] = {k: min(v, best[i]["ms"].get(k, v)) for k, v in res["ms"].items()}
            print(f"round {r + 1}: {label:12s} {res['model']:45s} total {res['ms']['total']:6.1f} ms",
                  file=sys.stderr)
    load1 = os.getloadavg()
    first = best[0]["ms"]["total"]
    head = f"{'code':12s} {'model':44s} " + " ".join(f"{p[:10]:>10s}" for p in PARTS)
    print(f"thread CPU ms per 12-MP photo (torch threads 1, batches of {args.batch}, min of "
          f"{args.repeat} x {args.rounds} rounds, mean of {len(files)} files); "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print(head + f" {'total':>8s} {'ratio':>6s}")
    rows = []
    for i, (label, _, _) in enumerate(configs):
        ms = best[i]["ms"]
        print(f"{label:12s} {best[i]['model'][:44]:44s} "
              + " ".join(f"{ms.get(p, 0.0):10.1f}" for p in PARTS)
              + f" {ms['total']:8.1f} {ms['total'] / first:6.3f}"
              + (f"  (tail from stage {best[i]['tail_from']})" if best[i]["tail_from"] else ""))
        rows.append({"code": label, **best[i], "ratio": ms["total"] / first})
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [load0, load1], "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
