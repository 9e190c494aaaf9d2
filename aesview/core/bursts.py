"""Bursts and near-duplicates: which photos belong together, and which frame of each is best.

Grouping uses two things, either of which may be missing:
- the camera's clock (core.capture: DateTimeOriginal + SubSecTimeOriginal): photos taken less
  than `max_gap` seconds after the previous one are a burst, unless they show something else
  (the photographer turned round: similarity below `burst_similarity`);
- what the photos show: the score record's `embedding`, made in the scoring pass from the
  network's mid-depth features (ImageNet-trained stages, so a frame one stop darker or a little
  blurred still looks like its neighbours) and a chromaticity histogram of the same pixels.
  Photos at least `duplicate_similarity` alike are near-duplicates, with or without EXIF.
Groups are the connected parts of those links (union-find); a group has two or more photos.

Near-duplicate links are only looked for between photos at most `duplicate_neighbours` apart in
shoot order (capture time, else file name), and two groups join only while their mean contents
stay `duplicate_similarity` alike. Without both, single linkage chains: a shoot of one scene in
one light (a studio session, 2,000 look-alike frames) became one "burst" of 1,996 photos, through
links each of which was fine on its own.

The best frame of a group is chosen from the model's score, the sharpness where the subject is
(the high-class map's peak), exposure (clipping and distance in stops from the group's middle
exposure) and whether the subject touches the frame's edge (a cut subject). Sharpness and
exposure need pixels: `frame_quality` decodes the photo (call it off the GUI thread).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .records import ScoreRecord

CHROMA_BINS = 12


@dataclass(frozen=True)
class GroupingParams:
    max_gap: float = 1.0              # seconds between frames of one burst
    burst_similarity: float = 0.55    # frames in one burst still look at least this alike
    duplicate_similarity: float = 0.84
    duplicate_window: float = 120.0   # near-duplicates with both times known: at most this apart
    duplicate_neighbours: int = 12    # ... and at most this many photos apart in shoot order


@dataclass(frozen=True)
class Frame:
    path: str
    captured: float | None = None        # core.capture.exif_capture_time
    embedding: np.ndarray | None = None  # ScoreRecord.embedding


def chroma_signature(rgb: np.ndarray, bins: int = CHROMA_BINS) -> np.ndarray:
    """Square-rooted histogram of (r, g) chromaticity: unchanged by brightness, blur and small
    changes of framing, so one stop under still matches."""
    a = rgb.reshape(-1, 3).astype(np.float32) + 1.0
    s = a.sum(axis=1)
    h, _, _ = np.histogram2d(a[:, 0] / s, a[:, 1] / s, bins=bins, range=[[0, 1], [0, 1]])
    out: np.ndarray = np.sqrt(h.ravel() / max(1.0, h.sum())).astype(np.float32)
    return out


def make_embedding(content: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """One float16 vector whose dot product with another is the mean of two cosines: the
    network's content features and the chromaticity histograms."""
    c = content.astype(np.float32).ravel()
    c = c / max(float(np.linalg.norm(c)), 1e-9)
    h = chroma_signature(rgb)
    h = h / max(float(np.linalg.norm(h)), 1e-9)
    out: np.ndarray = (np.concatenate([c, h]) / np.sqrt(2.0)).astype(np.float16)
    return out


def _unit_rows(vectors: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) unit rows (zeros where missing or of another length) and which rows exist."""
    dims = [v.shape[0] for v in vectors if v is not None]
    if not dims:
        return np.zeros((len(vectors), 1), np.float32), np.zeros(len(vectors), bool)
    d = max(set(dims), key=dims.count)
    out = np.zeros((len(vectors), d), np.float32)
    have = np.zeros(len(vectors), bool)
    for i, v in enumerate(vectors):
        if v is not None and v.shape[0] == d:
            n = float(np.linalg.norm(v.astype(np.float32)))
            if n > 0:
                out[i] = v.astype(np.float32) / n
                have[i] = True
    return out, have


def _natural_key(path: str) -> list[tuple[int, int | str]]:
    """IMG_9.jpg before IMG_10.jpg: file names count up in the order a camera took them."""
    return [(0, int(t)) if t.isdigit() else (1, t.lower()) for t in re.split(r"(\d+)", path)]


def _shoot_order(frames: Sequence[Frame], times: np.ndarray) -> list[int]:
    """Indices in capture order where the time is known, the rest by file name after them."""
    return sorted(range(len(frames)), key=lambda i: (
        (0, float(times[i]), _natural_key(frames[i].path)) if not np.isnan(times[i])
        else (1, 0.0, _natural_key(frames[i].path))))


class _Union:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        p = self.parent
        while p[a] != a:
            p[a] = p[p[a]]
            a = p[a]
        return a

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_frames(frames: Sequence[Frame], params: GroupingParams = GroupingParams()
                 ) -> list[list[str]]:
    """Groups of two or more paths, each in capture order (else input order), the groups in the
    order of their first photo."""
    n = len(frames)
    if n < 2:
        return []
    emb, have = _unit_rows([f.embedding for f in frames])
    times = np.array([np.nan if f.captured is None else f.captured for f in frames], np.float64)
    union = _Union(n)

    # Bursts: consecutive in capture time, close enough, and not something else entirely.
    timed = np.flatnonzero(~np.isnan(times))
    order = timed[np.argsort(times[timed], kind="stable")]
    for a, b in zip(order[:-1], order[1:]):
        if times[b] - times[a] <= params.max_gap:
            if not (have[a] and have[b]) or float(emb[a] @ emb[b]) >= params.burst_similarity:
                union.join(int(a), int(b))

    # Near-duplicates: neighbours in shoot order only, and never two groups whose mean contents
    # differ (centroid linkage), so a long run of look-alike frames does not chain into one.
    sums: dict[int, np.ndarray] = {}
    for i in range(n):    # the groups the clock already made start with all their frames
        r = union.find(i)
        sums[r] = sums[r] + emb[i] if r in sums else emb[i].copy()

    def alike_groups(a: int, b: int) -> bool:
        ra, rb = union.find(a), union.find(b)
        if ra == rb:
            return True
        ca, cb = sums[ra], sums[rb]
        den = float(np.linalg.norm(ca)) * float(np.linalg.norm(cb))
        return den > 0 and float(ca @ cb) / den >= params.duplicate_similarity

    def join(a: int, b: int) -> None:
        ra, rb = union.find(a), union.find(b)
        if ra != rb:
            union.join(ra, rb)
            sums[union.find(ra)] = sums[ra] + sums[rb]

    shoot = [i for i in _shoot_order(frames, times) if have[i]]
    k = max(1, params.duplicate_neighbours)
    for pos, a in enumerate(shoot):
        cand = np.array(shoot[pos + 1:pos + 1 + k], dtype=np.int64)
        if cand.size == 0:
            continue
        sims = emb[cand] @ emb[a]
        for b, sim in zip(cand.tolist(), sims.tolist()):
            if sim < params.duplicate_similarity:
                continue
            ta, tb = times[a], times[b]
            if (np.isnan(ta) or np.isnan(tb) or abs(ta - tb) <= params.duplicate_window) \
                    and alike_groups(a, b):
                join(a, b)

    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(union.find(i), []).append(i)
    groups = []
    for rows in members.values():
        if len(rows) < 2:
            continue
        rows.sort(key=lambda r: (np.isnan(times[r]), 0 if np.isnan(times[r]) else times[r], r))
        groups.append(rows)
    groups.sort(key=lambda rows: min(rows))
    return [[frames[r].path for r in rows] for rows in groups]


# ---------------------------------------------------------------------------- the best frame
@dataclass(frozen=True)
class FrameQuality:
    sharpness: float       # fine detail / coarser detail where the subject is (brightness-free)
    exposure_ev: float     # mean brightness in stops (log2 of linear mean)
    clipped: float         # share of pixels blown (any channel >= 250) or blocked (all <= 4)
    edge_subject: float    # share of the subject map's positive mass on the frame's outer cells


@dataclass(frozen=True)
class BestParams:
    """Chosen on the tune half of the burst set (tools/burst_benchmark.py --tune)."""
    w_score: float = 1.0
    w_sharp: float = 1.0       # per unit of log(sharpness / the group's sharpest)
    w_exposure: float = 1.0    # per stop away from the group's middle exposure
    w_clipped: float = 1.0     # per share of clipped pixels beyond the group's least
    w_edge: float = 1.0        # per share of subject mass on the edge beyond the group's least
    # per unit of logit the detail view's noise channel (core/detail.py) took beyond the group's
    # least grainy frame: grain raises the fine-band "sharpness" above, and only the look at
    # 100 % tells it apart.
    w_grain: float = 1.0


QUALITY_SIDE = 2048


def subject_peak(record: ScoreRecord) -> tuple[float, float] | None:
    """The subject's place as fractions (x, y) of the photo: the high-class map's peak after a
    3 x 3 smoothing (one hot cell is not a subject); None without a map."""
    m = record.highmap if record.highmap is not None else record.aesam
    if m is None or m.size == 0:
        return None
    return map_peak(m)


def zoom_point(record: ScoreRecord) -> tuple[float, float] | None:
    """Where Z (100 %) and compare zoom to, as fractions (x, y): the peak of the record's subject
    map (the ImageNet classifier's CAM and the in-focus detail, core.subject_cue); without one
    (an older record, another backbone) the high-class map's peak. Bursts keep subject_peak: on
    their benchmark it was not measured against this one."""
    if record.subject is not None and record.subject.size:
        return map_peak(record.subject)
    return subject_peak(record)


def map_peak(m: np.ndarray) -> tuple[float, float]:
    """The peak of a grid map as fractions (x, y) of the photo, after a 3 x 3 smoothing."""
    a = np.asarray(m, np.float32)
    p = np.pad(a, 1, mode="edge")
    s = np.zeros_like(a)
    weights = (1.0, 2.0, 1.0)     # the centre counts most: one hot cell peaks where it is
    for dy in range(3):
        for dx in range(3):
            s += weights[dy] * weights[dx] * p[dy:dy + a.shape[0], dx:dx + a.shape[1]]
    y, x = np.unravel_index(int(np.argmax(s)), s.shape)
    return ((x + 0.5) / a.shape[1], (y + 0.5) / a.shape[0])


def group_peak(records: Sequence[ScoreRecord]) -> tuple[float, float] | None:
    """Where a burst's subject is: the median of its frames' peaks. Each frame is measured at
    this one place, so a frame is not called sharp because its map pointed somewhere else."""
    peaks = [p for p in (subject_peak(r) for r in records) if p is not None]
    if not peaks:
        return None
    return (float(np.median([p[0] for p in peaks])), float(np.median([p[1] for p in peaks])))


def _edge_share(record: ScoreRecord) -> float:
    m = record.highmap if record.highmap is not None else record.aesam
    if m is None or min(m.shape) < 3:
        return 0.0
    a = np.maximum(np.asarray(m, np.float32), 0)
    total = float(a.sum())
    if total <= 0:
        return 0.0
    inner = float(a[1:-1, 1:-1].sum())
    return (total - inner) / total


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a 2-D float array (edges repeated)."""
    import torch
    import torch.nn.functional as F
    r = max(1, int(3 * sigma + 0.5))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=torch.float32) ** 2) / (2 * sigma * sigma))
    k = k / k.sum()
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None, None]
    t = F.conv2d(F.pad(t, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    t = F.conv2d(F.pad(t, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return t[0, 0].numpy()


def sharpness_of(grey: np.ndarray) -> float:
    """Energy of the finest band over the next one: a slight blur lowers it, and it does not
    move with brightness (both bands scale alike)."""
    b1 = _blur(grey, 1.0)
    b2 = _blur(b1, 2.0)
    fine = float(np.mean(np.abs(grey - b1)))
    mid = float(np.mean(np.abs(b1 - b2)))
    return fine / max(mid, 1e-6)


def frame_quality(path: str | os.PathLike[str], record: ScoreRecord,
                  side: int = QUALITY_SIDE, peak: tuple[float, float] | None = None
                  ) -> FrameQuality:
    """Decode the photo (at most `side` px long) and measure it, sharpness around `peak` (the
    burst's group_peak; the frame's own map peak without it); raises ImageLoadError."""
    from .imaging import load_image
    photo = load_image(path, max_side=side)
    im = photo.image.convert("RGB")
    w, h = im.size
    peak = peak or subject_peak(record) or (0.5, 0.5)
    ww, wh = max(32, int(w * 0.4)), max(32, int(h * 0.4))
    x0 = int(np.clip(peak[0] * w - ww / 2, 0, max(0, w - ww)))
    y0 = int(np.clip(peak[1] * h - wh / 2, 0, max(0, h - wh)))
    # Only the subject's window at full size; exposure is judged on a copy 1/4 the size.
    window = np.asarray(im.crop((x0, y0, x0 + ww, y0 + wh)).convert("L"), np.float32)
    sharp = sharpness_of(window)
    small = np.asarray(im.reduce(4) if min(w, h) >= 256 else im, np.float32)
    grey = small @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    lin = np.clip(grey / 255.0, 0, 1) ** 2.2
    ev = float(np.log2(max(float(lin.mean()), 1e-6)))
    top = small.max(axis=2)
    clipped = float(np.mean((top >= 250) | (top <= 4)))
    return FrameQuality(sharp, ev, clipped, _edge_share(record))


def _grain_cost(record: ScoreRecord) -> float | None:
    """The logit the detail view's noise channel took from this frame (>= 0), if it has one."""
    if record.detail is None:
        return None
    return -record.detail.per_channel_shift().get("noise", 0.0)


def frame_merits(records: Sequence[ScoreRecord], qualities: Sequence[FrameQuality | None],
                 params: BestParams = BestParams()) -> list[float]:
    """One number per frame of a group, higher is better; the parts are relative to the
    group (a burst is judged against itself, not against other shoots)."""
    have = [q for q in qualities if q is not None]
    max_sharp = max((q.sharpness for q in have), default=1.0)
    mid_ev = float(np.median([q.exposure_ev for q in have])) if have else 0.0
    min_clip = min((q.clipped for q in have), default=0.0)
    min_edge = min((q.edge_subject for q in have), default=0.0)
    grain = [_grain_cost(r) for r in records]
    least_grain = min((g for g in grain if g is not None), default=0.0)
    out = []
    for rec, q, g in zip(records, qualities, grain):
        merit = params.w_score * (rec.score if rec.score is not None else 0.0)
        if g is not None:
            merit -= params.w_grain * (g - least_grain)
        if q is not None:
            merit += params.w_sharp * float(np.log(max(q.sharpness, 1e-6) / max(max_sharp, 1e-6)))
            merit -= params.w_exposure * abs(q.exposure_ev - mid_ev)
            merit -= params.w_clipped * (q.clipped - min_clip)
            merit -= params.w_edge * (q.edge_subject - min_edge)
        out.append(merit)
    return out


def best_frame(paths: Sequence[str], records: Sequence[ScoreRecord],
               qualities: Sequence[FrameQuality | None],
               params: BestParams = BestParams()) -> str:
    merits = frame_merits(records, qualities, params)
    return paths[int(np.argmax(merits))]
