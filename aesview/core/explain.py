"""Plain words for a score: which parts of the frame raise or lower it, which attributes stand out.

The AesAM is split into a 3x3 grid; each cell's share of the map's mean is its contribution to
logit(high) - logit(low) (the map's mean is that difference, minus the bias), so the words name
the cells that move the decision most.
"""

from __future__ import annotations

import numpy as np

from .detail import DetailResult
from .detail_view import moved, seen_at_100
from .maps import colorize, symmetric_limit, upsample

REGIONS = (("upper left", "top", "upper right"),
           ("left", "centre", "right"),
           ("lower left", "bottom", "lower right"))


def region_contributions(aesam: np.ndarray) -> np.ndarray:
    """(3, 3) array: each third-by-third cell's contribution to the map's mean (they sum to it)."""
    m = np.asarray(aesam, dtype=np.float64)
    if m.shape[0] % 3 or m.shape[1] % 3:
        # Bilinear resize to a multiple of 3 keeps small grids (e.g. 7x10) splittable evenly.
        m = upsample(m.astype(np.float32), (m.shape[0] * 3, m.shape[1] * 3)).astype(np.float64)
    h, w = m.shape
    cells: np.ndarray = m.reshape(3, h // 3, 3, w // 3).sum(axis=(1, 3))
    return cells / m.size


def strongest_regions(aesam: np.ndarray, n: int = 2) -> list[tuple[str, float]]:
    """Up to n (region, contribution) pairs by absolute contribution, strongest first."""
    c = region_contributions(aesam)
    order = np.argsort(-np.abs(c), axis=None)[:n]
    out = []
    for flat in order:
        r, col = divmod(int(flat), 3)
        if abs(c[r, col]) > 1e-9:
            out.append((REGIONS[r][col], float(c[r, col])))
    return out


def region_sentences(aesam: np.ndarray) -> list[str]:
    """E.g. ["The centre raises the score most.", "The upper left lowers it most."]"""
    c = region_contributions(aesam)
    out = []
    r, col = np.unravel_index(int(np.argmax(c)), c.shape)
    if c[r, col] > 0:
        out.append(f"The {REGIONS[r][col]} raises the score most.")
    r, col = np.unravel_index(int(np.argmin(c)), c.shape)
    if c[r, col] < 0:
        out.append(f"The {REGIONS[r][col]} lowers it most.")
    if not out:
        out.append("No part of the frame moves the score much.")
    return out


def attribute_sentence(attributes: dict[str, float], n: int = 2) -> str:
    if not attributes:
        return ""
    items = sorted(attributes.items(), key=lambda kv: -kv[1])
    high = ", ".join(f"{k.replace('_', ' ')} ({v:.2f})" for k, v in items[:n])
    low = ", ".join(f"{k.replace('_', ' ')} ({v:.2f})" for k, v in items[::-1][:1])
    return f"Strongest attributes: {high}; weakest: {low}."


def describe(score: float | None, percentile: float | None, aesam: np.ndarray | None,
             attributes: dict[str, float] | None = None) -> str:
    parts = []
    if score is not None:
        s = f"Score {score:.2f}"
        # percentile is the share of the *other* photos scoring lower (records.rank).
        if percentile is not None and percentile >= 100:
            s += ", the best of this shoot"
        elif percentile is not None and percentile <= 0:
            s += ", the lowest of this shoot"
        elif percentile is not None:
            s += f", better than {percentile:.0f} % of the other photos in this shoot"
        parts.append(s + ".")
    if aesam is not None and aesam.size:
        parts.extend(region_sentences(aesam))
    if attributes:
        parts.append(attribute_sentence(attributes))
    return " ".join(parts)


def overlay_rgba(m: np.ndarray, size: tuple[int, int], cmap: str = "RdBu_r",
                 limit: float | None = None, fade_neutral: bool = True) -> np.ndarray:
    """A grid map rendered for display over the photo: bilinear upsampling to size=(height,
    width), a diverging colour map centred on zero, and (fade_neutral) alpha growing with the
    map's magnitude so neutral regions leave the photo visible. RGBA uint8."""

    big = upsample(np.asarray(m, dtype=np.float32), size)
    lim = limit or symmetric_limit(big)
    rgba = colorize(big, cmap=cmap, limit=lim, signed=True)
    if fade_neutral:
        # Zero evidence is the colour map's white; drawn opaque it would veil the photo and
        # ring every region with a pale halo, so alpha rises from 0 with the magnitude.
        strength = np.clip(np.abs(big) / lim, 0.0, 1.0) ** 0.7
        rgba[..., 3] = (235 * strength).astype(np.uint8)
    return rgba


def colorbar_rgba(cmap: str = "RdBu_r", width: int = 256, height: int = 12) -> np.ndarray:
    """The legend's colour bar: low (lowers the score) on the left, high on the right."""

    ramp = np.tile(np.linspace(-1.0, 1.0, width, dtype=np.float32), (height, 1))
    return colorize(ramp, cmap=cmap, limit=1.0, signed=True)


def display_size(image_size: tuple[int, int], long_side: int = 512) -> tuple[int, int]:
    """(height, width) with the photo's aspect and the given long side, for overlays."""
    w, h = image_size
    s = long_side / max(w, h)
    return max(1, round(h * s)), max(1, round(w * s))


# --- Plain words grounded in the map, the attributes and the rest of the shoot ------------------

ROW_THIRDS = ("upper third", "middle third", "lower third")
COLUMN_THIRDS = ("left third", "centre third", "right third")
EVEN_SHARE = 100.0 / 3.0


def _thirds_grid(m: np.ndarray) -> np.ndarray:
    """The map resampled (if needed) so its sides split into thirds evenly; float64."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape[0] % 3 or m.shape[1] % 3:
        m = upsample(m.astype(np.float32), (m.shape[0] * 3, m.shape[1] * 3)).astype(np.float64)
    return m


def evidence_shares(aesam: np.ndarray) -> dict[str, np.ndarray | float]:
    """Where the evidence for (positive part) and against (negative part) the high class lies:
    percentages per row third ("for_rows", "against_rows"), column third and 3x3 cell, and the
    share of all evidence that speaks against ("against_fraction", 0..1)."""
    m = _thirds_grid(aesam)
    h, w = m.shape
    out: dict[str, np.ndarray | float] = {}
    for name, part in (("for", np.maximum(m, 0.0)), ("against", np.maximum(-m, 0.0))):
        cells = part.reshape(3, h // 3, 3, w // 3).sum(axis=(1, 3))
        total = float(cells.sum())
        pct = 100.0 * cells / total if total > 0 else np.zeros((3, 3))
        out[f"{name}_cells"] = pct
        out[f"{name}_rows"] = pct.sum(axis=1)
        out[f"{name}_columns"] = pct.sum(axis=0)
        out[f"{name}_total"] = total
    both = float(out["for_total"]) + float(out["against_total"])
    out["against_fraction"] = float(out["against_total"]) / both if both > 0 else 0.0
    return out


def _strength(share: float) -> str:
    """How concentrated a third's share is, against the 33 % an even spread gives."""
    if share >= 60:
        return "most of"
    if share >= 45:
        return "much of"
    return "a little more than its share of"


def _relative_sentence(aesam: np.ndarray) -> list[str]:
    """Against the photo's own average (the relative map): the ninths above and below it most."""
    m = _thirds_grid(aesam)
    h, w = m.shape
    cells = m.reshape(3, h // 3, 3, w // 3).mean(axis=(1, 3)) - m.mean()
    hi = tuple(int(i) for i in np.unravel_index(int(np.argmax(cells)), cells.shape))
    lo = tuple(int(i) for i in np.unravel_index(int(np.argmin(cells)), cells.shape))
    spread = float(cells[hi] - cells[lo])
    if spread < 0.1 * max(abs(float(m.mean())), 1e-6):
        return []
    return [f"Against its own average ({m.mean():+.2f}), it is strongest in the "
            f"{REGIONS[hi[0]][hi[1]]} ({cells[hi]:+.2f}) and weakest in the "
            f"{REGIONS[lo[0]][lo[1]]} ({cells[lo]:+.2f})."]


def where_sentences(aesam: np.ndarray) -> list[str]:
    """Which third of the frame holds the evidence that raises the score, and where the evidence
    against it sits, with the shares that say how strongly. Works on the signed map, so it
    answers "where" even when the whole map is positive (a photo the network likes)."""
    s = evidence_shares(aesam)
    rows, cols = np.asarray(s["for_rows"]), np.asarray(s["for_columns"])
    out = []
    if float(s["for_total"]) <= 0:
        out.append("Nothing in the frame raises the score.")
    else:
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        if rows[r] < EVEN_SHARE + 5 and cols[c] < EVEN_SHARE + 5:
            out.append("The evidence that raises the score is spread evenly over the frame "
                       f"(no third holds more than {max(rows[r], cols[c]):.0f} % of it).")
            out.extend(_relative_sentence(aesam))
        elif rows[r] - EVEN_SHARE >= cols[c] - EVEN_SHARE:
            out.append(f"The {ROW_THIRDS[r]} holds {_strength(rows[r])} the evidence that raises "
                       f"the score ({rows[r]:.0f} %; an even spread would give 33 %), most of it in "
                       f"the {REGIONS[r][int(np.argmax(np.asarray(s['for_cells'])[r]))]}.")
        else:
            out.append(f"The {COLUMN_THIRDS[c]} holds {_strength(cols[c])} the evidence that "
                       f"raises the score ({cols[c]:.0f} %; an even spread would give 33 %), most of it "
                       f"in the {REGIONS[int(np.argmax(np.asarray(s['for_cells'])[:, c]))][c]}.")
    against = float(s["against_fraction"])
    if against < 0.05:
        out.append("Almost nothing in the frame lowers it.")
    else:
        cells = np.asarray(s["against_cells"])
        r, c = (int(i) for i in np.unravel_index(int(np.argmax(cells)), cells.shape))
        weight = ("outweighs the evidence that raises it" if against > 0.5 else
                  "is a sizeable part of all the evidence" if against > 0.2 else
                  "is a small part of all the evidence")
        out.append(f"The evidence that lowers it lies mostly in the {REGIONS[r][c]} "
                   f"({cells[r, c]:.0f} % of it); in all it {weight} ({against:.0%}).")
    return out


def value_percentile(value: float, others: list[float]) -> float | None:
    """Share (0..100) of the other photos with a lower value; None without others."""
    if not others:
        return None
    below = sum(1 for v in others if v < value)
    return 100.0 * below / len(others)


def attribute_words(attributes: dict[str, float], others: list[dict[str, float]] | None = None,
                    attam: np.ndarray | None = None, names: list[str] | None = None,
                    seen: dict[str, str] | None = None) -> list[str]:
    """The weakest and strongest attribute, compared with the rest of the shoot (percentiles
    among the other photos) when there is one, and where the weakest one's map is lowest.
    `seen`: attributes the detail view found wanting at 100 % (core.detail_view.seen_at_100);
    none of them is called the strongest, and the words say why its bar may read high."""
    if not attributes:
        return []
    others = [o for o in (others or []) if o]
    seen = {k: v for k, v in (seen or {}).items() if k in attributes}
    label = {k: k.replace("_", " ") for k in attributes}
    # the strongest is chosen among the attributes the detail view did not contradict
    strong_of = [k for k in attributes if k not in seen] or list(attributes)
    out = []
    if others:
        pct = {k: value_percentile(v, [o[k] for o in others if k in o]) for k, v in attributes.items()}
        known = {k: p for k, p in pct.items() if p is not None}
        weak = min(known, key=lambda k: (known[k], attributes[k]))
        strong = max([k for k in known if k in strong_of] or known,
                     key=lambda k: (known[k], attributes[k]))
        pw, ps = known[weak], known[strong]
        # "higher than only 0 %" is what a student would have to decode: say lowest / highest
        weak_words = ("the lowest in this shoot" if pw == 0 else "the highest in this shoot"
                      if pw == 100 else
                      f"higher than {'only ' if pw < 50 else ''}{pw:.0f} % of the other photos")
        strong_words = ("the highest in this shoot" if ps == 100 else
                        f"higher than {ps:.0f} % of " + ("them" if pw else "the other photos"))
        if pw >= 50 and strong != weak:
            # every attribute at or above the shoot's middle: "its weakest point is contrast
            # (1.00, higher than 89 % ...)" would contradict itself
            out.append(f"Compared with the rest of the shoot, no attribute is weak: even its "
                       f"lowest-placed, {label[weak]} ({attributes[weak]:.2f}), is {weak_words}; "
                       f"its strongest is {label[strong]} ({attributes[strong]:.2f}, "
                       f"{strong_words.replace('of them', 'of the other photos')}).")
        else:
            out.append(f"Compared with the rest of the shoot, its weakest point is {label[weak]} "
                       f"({attributes[weak]:.2f}, {weak_words}) and its strongest {label[strong]} "
                       f"({attributes[strong]:.2f}, {strong_words}).")
    else:
        weak = min(attributes, key=lambda k: attributes[k])
        strong = max(strong_of, key=lambda k: attributes[k])
        out.append(f"Its weakest attribute is {label[weak]} ({attributes[weak]:.2f}), its "
                   f"strongest {label[strong]} ({attributes[strong]:.2f}).")
    if attam is not None and names and weak in names:
        c = region_contributions(attam[names.index(weak)])
        r, col = np.unravel_index(int(np.argmin(c)), c.shape)
        out.append(f"The {label[weak]} map is lowest in the {REGIONS[r][col]}.")
    if seen:
        # the bars are the whole frame's (320 px), where a camera frame's grain or slight softness
        # hardly shows: say so before the detail view's sentence, which follows with its numbers
        bars = " and ".join(label[k] for k in seen)
        what = " and ".join(seen.values())
        one = len(seen) == 1 and not what.endswith("artefacts")
        out.append(f"The {bars} bar{'' if len(seen) == 1 else 's'} read{'s' if len(seen) == 1 else ''}"
                   f" the whole frame, where {what} hardly show{'s' if one else ''}; the detail "
                   f"view finds {'it' if one else 'them'} at 100 %.")
    return out


def explain_photo(score: float | None, rank: int | None, n_scored: int, percentile: float | None,
                  aesam: np.ndarray | None, attributes: dict[str, float] | None = None,
                  others: list[dict[str, float]] | None = None, attam: np.ndarray | None = None,
                  names: list[str] | None = None, detail: DetailResult | None = None) -> list[str]:
    """Sentences for a student: the score and its place in the shoot, where in the frame the
    evidence lies (thirds, with shares), which attribute is weakest against the shoot, and what
    the detail view saw at 100 % (its sentence, and the bars it contradicts: attribute_words)."""
    out = []
    if score is not None:
        s = f"Score {score:.2f}"
        if rank is not None and n_scored > 1:
            s += f", rank {rank} of {n_scored}"
        if percentile is not None and n_scored > 1:
            if percentile >= 100:
                s += ": the best of this shoot"
            elif percentile <= 0:
                s += ": the lowest of this shoot"
            else:
                s += f": better than {percentile:.0f} % of the other photos in this shoot"
        out.append(s + ".")
    if aesam is not None and aesam.size:
        out.extend(where_sentences(aesam))
    if attributes:
        out.extend(attribute_words(attributes, others, attam, names, seen_at_100(detail)))
    if detail is not None and moved(detail):
        # what was seen at 100 % (grain, softness) and what it cost: the global view can't see it
        out.append(detail.sentence())
    return out
