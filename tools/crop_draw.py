"""Draw the next fresh LIVE-C test part for the crop's marked set, the way test4 and test5 were.

    .venv/bin/python tools/crop_draw.py --seed 20261207 [--n 60]

The pool is labels.csv's study images (the 7 rater-training images left out) in sorted order,
less every photo in any split of tests/data/crop_subjects.json and every photo named as skipped in
its notes (test2, validation_added, test3, validation_added2, test4, test5, test6, test7, test8,
test9, test10, test11, test12, test13, ...). The draw is `random.Random(seed).sample(pool, n)`; its first k
photos are the same for any n >= k while `random.sample` takes the same branch (for a pool of 717, 633, 561,
476, 391 or 306: n <= 85; from n = 86 it draws differently), so more can be viewed later in the same order —
check the prefix before extending a draw. Prints the photos in draw order, one a line. Marking is done by eye, in
that order, before any crop method runs on them (docs/CROP.md, "The marked set").
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aesview.core.crop_eval import MARKED_SET  # noqa: E402
from aesview.training.datasets import is_rater_training  # noqa: E402

LIVEC = ROOT.parent / "shared" / "datasets" / "livec"
# the notes of the marked set that name skipped photos, in the order the parts were drawn
SKIP_NOTES = ("test2", "validation_added", "test3", "validation_added2", "test4", "test5", "test6",
              "test7", "test8", "test9", "test10", "test11", "test12", "test13")
_NAME = re.compile(r"\b\d+\.(?:webp|JPG)\b")


def study_images(livec: Path = LIVEC) -> list[str]:
    """labels.csv's study images (file names), sorted as the draws sorted their paths."""
    with open(livec / "labels.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if not is_rater_training(r["official_name"])]
    return [Path(p).name for p in sorted(r["file"] for r in rows)]


def used(doc: dict, keep: tuple[str, ...] = ()) -> tuple[set[str], set[str]]:
    """(LIVE-C photos marked in any split, photos named as skipped in SKIP_NOTES), leaving out
    the parts named in `keep` (a split and its note of the same name)."""
    marked = {Path(p["path"]).name for p in doc["photos"]
              if "livec" in p["path"] and p["split"] not in keep}
    skipped: set[str] = set()
    for key in SKIP_NOTES:
        if key not in keep:
            skipped |= set(_NAME.findall(doc.get(key, "")))
    return marked, skipped


def pool(doc: dict, keep: tuple[str, ...] = (), livec: Path = LIVEC) -> list[str]:
    """The study images in sorted order less every marked or skipped photo: the pool the next
    part is drawn from, or with `keep` the pool as it stood before those parts were drawn (the
    parts named, and any drawn after them, must all be in `keep`)."""
    marked, skipped = used(doc, keep)
    return [n for n in study_images(livec) if n not in marked | skipped]


def draw(candidates: list[str], seed: int, n: int) -> list[str]:
    return random.Random(seed).sample(candidates, n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, default=60)
    args = ap.parse_args()
    doc = json.loads(MARKED_SET.read_text(encoding="utf-8"))
    candidates = pool(doc)
    print(f"# pool: {len(candidates)} photos; random.Random({args.seed}).sample(pool, {args.n})",
          file=sys.stderr)
    print("\n".join(draw(candidates, args.seed, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
