#!/usr/bin/env python
"""Round 8's ship step (docs/TRAINING.md, round 4: "it ships, with every held-out figure in its
card beside the shipped model's"), rebuilt after the restart took runs/v4/ship.py.

    ship8.py CANDIDATE_FINAL_DIR HELDOUT_JSON SPEED_JSON --repo REPO [--dry-run]

* CANDIDATE_FINAL_DIR holds the candidate's final file and card (aesview-livec-lite0.pt/.json,
  or the one .pt there with its card); it is loaded with load_model (sha256 checked).
* HELDOUT_JSON is heldout8.py's output for exactly that file (its sha256 must match), with all
  parts in; a vetoed candidate is refused.
* SPEED_JSON (the gates measured before the look) is stored as is in `training.speed_round8`, or
  under `training.<--gates-key>`; `--round-note FILE` (a JSON object: which round, what it
  discloses) is stored as `training.round_note`.
* REPO/weights/aesview-livec-lite0.{pt,json} are replaced, each atomically (core/atomic.py):
  the card's `metrics` are the candidate's held-out figures in the layout of the shipped card's
  `metrics`; the shipped card's metrics move to `metrics.previous_model` (with its sha256);
  `training.previous_release` names the shipped file; name, file and sha256 are set; the
  training fields tests/test_training_shipped.py reads are checked (and, where the candidate's
  card lacks them, filled: split lists from joint.split_names, shoot photo lists from
  selfsup, the data sentences from the shipped card, which describe the same data).
  The new pair is then loaded back with load_model and compared.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]   # the repository
sys.path.insert(0, str(ROOT))

NAME = "aesview-livec-lite0"
LIVEC = ROOT.parent / "shared" / "datasets" / "livec"
PHOTOS = ROOT.parent / "shared" / "photos"
# Keys heldout8.py writes into `metrics` (the shipped card's layout).
HELDOUT_KEYS = ("photos", "families", "model", "laplacian_var", "exposure_contrast",
                "attributes_clean_beats", "bokeh", "bursts", "livec_test", "detail",
                "attributes_specificity")
# Figures of the shipped model only (they move with it to previous_model).
SHIPPED_ONLY_KEYS = ("livec_protocol", "attributes_refit")


def die(msg: str, code: int = 2):
    print(f"ship8: {msg}", file=sys.stderr)
    raise SystemExit(code)


def find_candidate(d: Path) -> Path:
    pt = d / f"{NAME}.pt"
    if pt.is_file():
        return pt
    pts = [p for p in sorted(d.glob("*.pt")) if p.with_suffix(".json").is_file()]
    if len(pts) != 1:
        die(f"{d}: expected {NAME}.pt or exactly one .pt with its card, found {[p.name for p in pts]}")
    return pts[0]


def fill_training(tr: dict, prev_tr: dict) -> list[str]:
    """The fields tests/test_training_shipped.py reads, computed (split, photo lists) or taken
    from the shipped card (the data sentences: same LIVE-C split and shoot samples)."""
    from aesview.training.datasets import read_livec
    from aesview.training.joint import SPLIT_SEED, split_names
    from aesview.training.selfsup import HELD_OUT, VALIDATION, list_photos
    filled = []
    parts = split_names([s.name for s in read_livec(LIVEC)], 0, SPLIT_SEED)
    split = {"seed": SPLIT_SEED, "index": 0, "rule": "aesview.training.joint.split_names",
             "train": parts["train"], "validation": parts["val"], "test": parts["test"]}
    if "split" not in tr:
        tr["split"] = split
        filled.append("split")
    elif tr["split"] != split:
        die("the candidate card's training.split is not split 0 of joint.split_names")
    names = [p.name for p in list_photos(PHOTOS)]
    held, val = set(HELD_OUT), set(VALIDATION)
    lists = {"held_out_photos": sorted(n for n in names if n in held),
             "validation_photos": sorted(n for n in names if n in val),
             "train_photos": sorted(n for n in names if n not in held | val)}
    for k, v in lists.items():
        if k not in tr:
            tr[k] = v
            filled.append(k)
        elif sorted(tr[k]) != v:
            die(f"the candidate card's training.{k} differs from selfsup's lists")
    for k in ("data", "score_meaning", "data_short"):
        if k not in tr:
            if k not in prev_tr:
                die(f"neither card has training.{k}")
            tr[k] = prev_tr[k]
            filled.append(k)
    return filled


def check_card(card: dict) -> None:
    """tests/test_training_shipped.py's card assertions, before anything is written."""
    from aesview.training import degradations as D
    tr = card["training"]
    problems = []
    if card.get("trained") is not True:
        problems.append("trained is not true")
    if "LIVE In the Wild" not in tr.get("data", "") or "never shown AVA" not in tr.get("data", ""):
        problems.append("training.data")
    if "not AVA" not in tr.get("score_meaning", ""):
        problems.append("training.score_meaning")
    sp = tr["split"]
    a, b, c = set(sp["train"]), set(sp["validation"]), set(sp["test"])
    if (len(a), len(b), len(c)) != (790, 140, 232) or a & b or a & c or b & c:
        problems.append("training.split")
    held, seen, sv = (set(tr[k]) for k in ("held_out_photos", "train_photos", "validation_photos"))
    if not {"skimage_chelsea.jpg", "mate_LadyBird.jpg", "Bridge_by_Sander_Klootwijk.jpg"} <= held \
            or held & seen or sv & held or sv & seen:
        problems.append("shoot photo lists")
    if list(card["attributes"]) != list(D.ATTRIBUTES):
        problems.append("attributes")
    if card["metrics"].get("livec_test", {}).get("n") != 232:
        problems.append("metrics.livec_test.n")
    if problems:
        die("the new card would fail tests/test_training_shipped.py: " + ", ".join(problems))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidate_dir")
    ap.add_argument("heldout_json")
    ap.add_argument("speed_json")
    ap.add_argument("--repo", required=True, help="the checkout whose weights/ gets the model")
    ap.add_argument("--dry-run", action="store_true", help="build and check, write nothing")
    ap.add_argument("--gates-key", default="speed_round8",
                    help="the training field that holds SPEED_JSON (default speed_round8)")
    ap.add_argument("--round-note", help="a JSON object stored as training.round_note")
    args = ap.parse_args(argv)
    from aesview.core.atomic import atomic_write_bytes, atomic_write_text
    from aesview.core.weights import ModelCard, load_model

    cand_pt = find_candidate(Path(args.candidate_dir))
    cand = load_model(str(cand_pt), device="cpu")           # sha256 vs its card checked here
    data = cand_pt.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    held = json.loads(Path(args.heldout_json).read_text())
    speed = json.loads(Path(args.speed_json).read_text())
    if held.get("sha256") != digest:
        die(f"{args.heldout_json} is of {str(held.get('sha256'))[:16]}…, the candidate is {digest[:16]}…")
    missing = [k for k in HELDOUT_KEYS if k not in held.get("metrics", {})]
    if missing or "vetoes" not in held:
        die(f"{args.heldout_json} is incomplete (missing {missing or 'vetoes'}): merge every part")
    if held.get("vetoed"):
        die("the candidate is vetoed: " + ", ".join(k for k, v in held["vetoes"].items()
                                                    if v["vetoed"]), 3)

    weights = Path(args.repo).resolve() / "weights"
    prev_json = weights / f"{NAME}.json"
    prev = json.loads(prev_json.read_text())
    prev_sha = hashlib.sha256((weights / prev["file"]).read_bytes()).hexdigest()
    if prev_sha != prev["sha256"]:
        die(f"{weights / prev['file']} does not match its card")
    if prev_sha == digest:
        print("ship8: note: the candidate is the shipped file itself (a dry run's stand-in)")
    if (weights / "DEFAULT").read_text().strip() != NAME:
        die(f"{weights / 'DEFAULT'} does not name {NAME}")

    card = copy.deepcopy(cand.card.raw)
    old_metrics = card.get("metrics") or {}
    metrics = {k: held["metrics"][k] for k in HELDOUT_KEYS}
    kept, dropped = [], []
    for k, v in old_metrics.items():       # the candidate card's own (validation) sections
        if k in HELDOUT_KEYS or k in SHIPPED_ONLY_KEYS or k == "previous_model":
            dropped.append(k)
        elif k in prev["metrics"] and prev["metrics"][k] == v:
            dropped.append(k)                # a stale copy of the shipped card's figures
        else:
            metrics[k] = v
            kept.append(k)
    metrics["heldout_look"] = {
        "what": "round 8's held-out look (tools/rounds/heldout8.py): looked at once, after the "
                "choice and every gate; chose nothing",
        **{k: held.get(k) for k in ("command", "started_utc", "finished_utc", "time_s",
                                    "livec_test_cache", "tile_seed", "vetoes", "vetoed")}}
    prev_metrics = {k: v for k, v in prev["metrics"].items() if k != "previous_model"}
    metrics["previous_model"] = {
        "name": prev["name"], "sha256": prev_sha,
        "note": "the held-out figures of the model shipped before this one (its card's metrics "
                "as they were), same photos and functions",
        **prev_metrics}
    card["metrics"] = metrics
    tr = card.setdefault("training", {})
    filled = fill_training(tr, prev.get("training", {}))
    if filled:
        tr["filled_at_ship"] = {"fields": filled, "note": "the candidate's card lacked them: "
                                "split and photo lists recomputed, data sentences from the "
                                "previous card (same data)"}
    tr["previous_release"] = {"sha256": prev_sha,
                              "note": "the model shipped before this one; its held-out figures "
                                      "are metrics.previous_model",
                              "its_previous_release": prev.get("training", {}).get("previous_release")}
    tr[args.gates_key] = speed
    if args.round_note:
        note = json.loads(Path(args.round_note).read_text())
        if not isinstance(note, dict):
            die(f"{args.round_note}: expected a JSON object")
        tr["round_note"] = note
    card.update(name=NAME, file=f"{NAME}.pt", sha256=digest)
    ModelCard.from_dict(card, "new card")   # the loader's own checks
    check_card(card)
    text = json.dumps(card, indent=2) + "\n"
    print(f"ship8: candidate {cand_pt} sha256 {digest}")
    print(f"ship8: previous {prev_sha} -> metrics.previous_model; candidate metrics kept {kept}, "
          f"dropped {dropped}; training filled {filled}; card {len(text)} bytes")
    if args.dry_run:
        print("ship8: dry run, nothing written")
        return 0
    t0 = time.time()
    atomic_write_bytes(weights / f"{NAME}.pt", data)
    atomic_write_text(weights / f"{NAME}.json", text)
    lm = load_model(str(weights / f"{NAME}.pt"), device="cpu")
    if lm.card.sha256 != digest or lm.card.raw != json.loads(text):
        die("read back differs from what was written", 4)
    sd_new, sd_cand = lm.net.state_dict(), cand.net.state_dict()
    if sd_new.keys() != sd_cand.keys() or not all(sd_new[k].equal(sd_cand[k]) for k in sd_new):
        die("the shipped weights differ from the candidate's", 4)
    print(f"ship8: wrote {weights}/{NAME}.pt and .json ({time.time() - t0:.1f} s), reloaded: "
          f"sha256 {digest[:16]}…, every tensor equal to the candidate's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
