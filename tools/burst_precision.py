"""Near-duplicate grouping on photos that are NOT duplicates: how many false groups a folder of
unrelated photos gets, against how many true bursts are still found, per similarity threshold.

    nice -n 10 .venv/bin/python tools/burst_precision.py --livec ../shared/datasets/livec \
        --part train --bursts /tmp/aesview-bursts [--thresholds 0.84,0.86,...] [--json OUT]

* Unrelated photos: one part of LIVE-C's seeded split 0 (`joint.split_names`; `train` to choose,
  `val` to check), in file-name order as the app walks a folder without EXIF, content only. Every
  group found there is counted as false (LIVE-C holds 1,162 different phone photos; the groups are
  listed so that a true near-duplicate can be seen and said).
* True bursts: tools/burst_benchmark.py's burst set (tests/burst_set.py; made with `--seed` when
  the folder has none), grouped by content only (its EXIF ignored): pair precision and recall of
  each half ("tune" chooses, "test" checks).
The score records' embeddings come from the shipped model's scoring pass (what the app groups).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aesview.core.bursts import Frame, GroupingParams, group_frames  # noqa: E402
from aesview.core.cache import ScoreCache  # noqa: E402
from aesview.core.scoring import Scorer  # noqa: E402
from aesview.core.weights import load_model  # noqa: E402
from tests.burst_set import open_burst_set  # noqa: E402
from tools.burst_benchmark import pair_scores  # noqa: E402

THRESHOLDS = (0.84, 0.86, 0.88, 0.90, 0.92, 0.94)


def livec_paths(root: Path, part: str) -> list[str]:
    from aesview.core.bursts import _natural_key
    from aesview.training.datasets import read_livec
    from aesview.training.joint import split_names
    samples = read_livec(root)
    by_name = {Path(s.path).name: s.path for s in samples}
    names = split_names(list(by_name), 0)[part]
    return sorted((str(by_name[n]) for n in names), key=_natural_key)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--livec", default=str(ROOT.parent / "shared" / "datasets" / "livec"))
    ap.add_argument("--part", choices=("train", "val"), default="train")
    ap.add_argument("--bursts", default="/tmp/aesview-bursts")
    ap.add_argument("--seed", type=int, default=0, help="burst set seed, when it must be made")
    ap.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    ap.add_argument("--json")
    ap.add_argument("--cache", help="a score cache file (sqlite) that keeps the records between runs")
    args = ap.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    scorer = Scorer(load_model(device="cpu"), cache=ScoreCache(args.cache) if args.cache else None)
    t0 = time.perf_counter()
    unrelated = livec_paths(Path(args.livec), args.part)
    folder = Path(args.bursts)
    shoot = open_burst_set(folder, args.seed)
    files = [str(folder / f) for f in shoot.files()]
    emb = {r.path: r.embedding for r in scorer.score_paths(unrelated + files)}
    print(f"scored {len(unrelated)} LIVE-C {args.part} photos and {len(files)} burst-set files "
          f"in {time.perf_counter() - t0:.0f} s")
    rows = []
    for t in thresholds:
        params = replace(GroupingParams(), duplicate_similarity=t)
        found = group_frames([Frame(p, None, emb[p]) for p in unrelated], params)
        row = {"threshold": t, "livec_part": args.part, "livec_photos": len(unrelated),
               "false_groups": len(found), "photos_in_false_groups": sum(map(len, found)),
               "groups": [[Path(p).name for p in g] for g in found]}
        for split in ("tune", "test"):
            part_files = shoot.files(split)
            frames = [Frame(f, None, emb[str(folder / f)]) for f in part_files]
            p, r = pair_scores(group_frames(frames, params), shoot.groups(split), part_files)
            row[f"bursts_{split}"] = {"precision": p, "recall": r}
        rows.append(row)
        print(f"threshold {t:.2f}: LIVE-C {args.part} {row['false_groups']} false groups "
              f"({row['photos_in_false_groups']} of {len(unrelated)} photos); burst set content only "
              f"tune P/R {row['bursts_tune']['precision']:.3f}/{row['bursts_tune']['recall']:.3f}, "
              f"test {row['bursts_test']['precision']:.3f}/{row['bursts_test']['recall']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"burst_set": str(folder), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
