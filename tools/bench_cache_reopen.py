"""How long reopening a scored folder takes: every photo's cache lookup, content fingerprint
included (issue 13's target: 2,000 photos under 1 s).

    .venv/bin/python tools/bench_cache_reopen.py [--photos 2000] [--repeats 5]

The folder is N hard links to the shared photos (distinct paths, real JPEG bytes; the page cache
is warm, as it is when a folder is reopened in one session). The cache is filled by scoring the
unique photos with the shipped model once. Each repeat runs in a fresh interpreter: open the
cache, then look every photo up, then the same through Scorer.score_paths (model already loaded,
so only cache work is timed). Prints the median of each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"

CHILD = r"""
import json, sys, time
from pathlib import Path
from aesview.core.cache import ScoreCache
from aesview.core.scoring import Scorer
from aesview.core.weights import load_model
db, model_id, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
paths = sorted(str(p) for p in folder.iterdir())
model = load_model(device="cpu")
t0 = time.perf_counter()
cache = ScoreCache(db)
hits = sum(cache.get(p, model_id) is not None for p in paths)
t1 = time.perf_counter()
scorer = Scorer(model, cache=ScoreCache(db))
t2 = time.perf_counter()
recs = list(scorer.score_paths(paths))
t3 = time.perf_counter()
print(json.dumps({"lookup_s": t1 - t0, "hits": hits, "score_paths_s": t3 - t2,
                  "cached": sum(r.cached for r in recs), "n": len(paths)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from aesview.core.cache import ScoreCache, file_key
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model

    sources = sorted(PHOTOS.glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "shoot"
        folder.mkdir()
        for i in range(args.photos):
            src = sources[i % len(sources)]
            os.link(src, folder / f"IMG_{i:05d}{src.suffix}")
        db = Path(tmp) / "scores.sqlite"
        cache = ScoreCache(db)
        scorer = Scorer(load_model(device="cpu"), cache=cache)
        paths = sorted(map(str, folder.iterdir()))
        t0 = time.perf_counter()
        # Score each unique photo once; the other links get that photo's record under their
        # own path and key (what scoring them would store), which keeps the set-up short.
        recs = list(scorer.score_paths(paths[:len(sources)]))
        for i, path in enumerate(paths[len(sources):], len(sources)):
            rec = recs[i % len(sources)]
            cache.put(replace(rec, path=path), scorer.model_id, file_key(path))
        print(f"filled the cache for {len(paths)} photos in {time.perf_counter() - t0:.1f} s")
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", CHILD, str(db), scorer.model_id,
                                  str(folder)], capture_output=True, text=True, cwd=ROOT,
                                 check=True).stdout
            runs.append(json.loads(out))
        for r in runs:
            assert r["hits"] == r["n"] == r["cached"], r
        print(f"reopen {args.photos} photos, median of {args.repeats} fresh processes: "
              f"cache lookups {statistics.median(r['lookup_s'] for r in runs):.3f} s, "
              f"Scorer.score_paths (all hits) "
              f"{statistics.median(r['score_paths_s'] for r in runs):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
