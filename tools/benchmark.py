"""Benchmark: scoring a folder of 12-MP JPEGs vs a plain full-resolution decode of the same files.

    .venv/bin/python tools/benchmark.py [--n 100] [--dir /tmp/aesview-bench] [--repeat 3] [--ablations 32]

Both sides run as fresh processes, so aesview's figure includes its start-up (Python, torch, the
model). The photos are the shared photos upscaled to 4000x3000 with fine grain added, so the files
weigh what camera JPEGs weigh (a smooth upscale would decode unrealistically fast).
Ablations run in one process on the first K files and show what each speed lever buys.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "photos"


def make_photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(SHARED.glob("*.jpg")) or sorted((ROOT / "resources" / "samples").glob("*.jpg"))
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        dst = folder / f"IMG_{i:04d}.jpg"
        out.append(dst)
        if dst.exists():
            continue
        im = Image.open(sources[i % len(sources)]).convert("RGB")
        size = (4000, 3000) if im.width >= im.height else (3000, 4000)
        arr = np.asarray(im.resize(size, Image.BICUBIC), dtype=np.int16)
        arr = arr + rng.normal(0, 3.0, arr.shape).astype(np.int16)
        tmp = dst.with_suffix(".part")
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(tmp, "JPEG", quality=92)
        os.replace(tmp, dst)
    return out


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one fresh process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{cmd[:4]} failed")
    return wall, usage.ru_maxrss / 1024, out


DECODE = ("import sys\nfrom PIL import Image\n"
          "for f in sys.argv[1:]:\n    Image.open(f).convert('RGB')\n")


def ablations(files: list[Path], rounds: int = 2) -> list[tuple[str, float]]:
    """Images/s of each variant, best of `rounds` interleaved runs (a shared machine is noisy)."""
    import torch

    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    model = load_model(device="cpu")

    def no_grad_scorer():
        scorer = Scorer(model)
        plain = Scorer._infer.__wrapped__  # the undecorated method
        scorer._infer = lambda batch: torch.no_grad()(plain)(scorer, batch)
        return scorer

    variants = [
        ("shipped settings (batch 8, reduced decode, 2 decode threads, inference_mode)",
         lambda: Scorer(model)),
        ("batch size 1", lambda: Scorer(model, batch_size=1)),
        ("global view only (no detail view: smaller JPEG draft, no patches)",
         lambda: Scorer(model, detail=False)),
        ("full-resolution decode", lambda: Scorer(model, reduced_decode=False)),
        ("no decode/inference overlap (decode inline)", lambda: Scorer(model, workers=0)),
        ("torch.no_grad instead of inference_mode", no_grad_scorer),
        ("working size 224 instead of 320 (not shipped: coarser maps)",
         lambda: Scorer(model, long_side=224)),
    ]
    Scorer(model).score_one(files[0])  # warm-up: first-call allocations are not a lever
    best = {label: 0.0 for label, _ in variants}
    for _ in range(rounds):
        for label, make in variants:
            scorer = make()
            t = time.perf_counter()
            list(scorer.score_paths(files))
            best[label] = max(best[label], len(files) / (time.perf_counter() - t))
    return list(best.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--dir", default="/tmp/aesview-bench")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each side")
    ap.add_argument("--ablations", type=int, default=32, metavar="K", help="0 to skip")
    args = ap.parse_args()
    files = make_photos(Path(args.dir), args.n)
    mb = sum(f.stat().st_size for f in files) / 2**20
    print(f"{len(files)} JPEGs of 12 MP, {mb:.0f} MiB in all, in {args.dir}", flush=True)

    base_cmd = [sys.executable, "-c", DECODE, *map(str, files)]
    ours_cmd = [sys.executable, "-m", "aesview", "score", args.dir, "--no-cache", "--json",
                "--quiet", "--device", "cpu"]
    runs = []
    for _ in range(args.repeat):  # interleaved, so a busy moment hits both sides alike
        runs.append((timed(base_cmd), timed(ours_cmd)))
    pick = sorted(runs, key=lambda r: r[1][0] / r[0][0])[len(runs) // 2]  # the median ratio
    (base_wall, base_rss, _), (ours_wall, ours_rss, out) = pick
    scored = sum(1 for i in json.loads(out)["images"] if i["score"] is not None)
    print(f"plain full-resolution decode (PIL, 1 process): {base_wall:6.1f} s  "
          f"({len(files) / base_wall:.2f} images/s, peak {base_rss:.0f} MiB)")
    print(f"aesview score, start-up included:               {ours_wall:6.1f} s  "
          f"({scored / ours_wall:.2f} images/s, peak {ours_rss:.0f} MiB)")
    ratios = ", ".join(f"{o[0] / b[0]:.2f}" for b, o in runs)
    print(f"ratio aesview / decode: {ours_wall / base_wall:.2f}  (goal <= 1.0; median of "
          f"{len(runs)} interleaved runs: {ratios})")
    if args.ablations:
        print(f"\nlevers, in one warm process on {min(args.ablations, len(files))} files "
              "(images/s, best of 2 interleaved runs):")
        for label, ips in ablations(files[: args.ablations]):
            print(f"  {ips:6.2f}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
