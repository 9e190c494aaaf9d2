#!/usr/bin/env python
"""Compare heldout8.py's metrics with a card's stored metrics, leaf by leaf.
    compare8.py OUT_JSON [CARD_JSON]   (default card: the repository's weights/aesview-livec-lite0.json)"""
import json
import sys
from pathlib import Path

SKIP = ("livec_protocol", "attributes_refit", "previous_model")


def leaves(d, path=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from leaves(v, path + (str(k),))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield from leaves(v, path + (str(i),))
    else:
        yield path, d


def get(d, path):
    for k in path:
        if isinstance(d, list):
            k = int(k)
            if k >= len(d):
                return KeyError
        elif not isinstance(d, dict) or k not in d:
            return KeyError
        d = d[k]
    return d


def main():
    out = json.load(open(sys.argv[1]))["metrics"]
    card = json.load(open(sys.argv[2] if len(sys.argv) > 2 else
                          Path(__file__).resolve().parents[2] / "weights" / "aesview-livec-lite0.json"))["metrics"]
    n_eq = n_close = n_diff = n_missing = 0
    rows = []
    for path, v in leaves(card):
        if path[0] in SKIP:
            continue
        mine = get(out, path)
        p = ".".join(path)
        if mine is KeyError:
            n_missing += 1
            rows.append(f"MISSING {p}: card {v}")
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(mine, (int, float)):
            d = abs(mine - v)
            if d == 0:
                n_eq += 1
            elif d <= 1e-6 * max(1, abs(v)):
                n_close += 1
            else:
                n_diff += 1
                rows.append(f"DIFF {p}: card {v:.6g} mine {mine:.6g} (d {mine - v:+.3g})")
        elif v == mine:
            n_eq += 1
        else:
            n_diff += 1
            rows.append(f"DIFF {p}: card {v!r} mine {mine!r}")
    extra = [".".join(p) for p, _ in leaves(out) if get(card, p) is KeyError]
    print("\n".join(rows))
    print(f"equal {n_eq}, within 1e-6 {n_close}, different {n_diff}, missing {n_missing}; "
          f"leaves only in mine: {len(extra)}")
    tops = sorted({e.split('.')[0] + ('.' + e.split('.')[1] if e.startswith('detail') else '')
                   for e in extra})
    print("  (sections only in mine: " + ", ".join(tops) + ")")


if __name__ == "__main__":
    main()
