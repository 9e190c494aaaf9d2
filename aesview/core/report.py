"""A shareable HTML report of a scored shoot: per photo the photo, its maps, the attribute chart,
plain words, rank and percentile; a summary first (score histogram, best and worst, attribute
distributions).

One self-contained file (images embedded as data URIs) or a folder (index.html + images/).
It works offline: no scripts, fonts or styles are fetched from anywhere. Each photo's JPEG is
embedded once and reused by every panel through a CSS custom property; the maps are small
transparent PNGs that the browser scales smoothly over it, so 100 photos stay a few tens of MB.

Written atomically: cancelled (the `cancel` event, Ctrl-C) or failed, it leaves no file behind,
and an existing report at the same path stays as it was.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import io
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import map_views as V
from .atomic import atomic_writer
from .explain import display_size, explain_photo, value_percentile
from .imaging import ImageLoadError, load_image
from .records import ScoreRecord, rank

TEMPLATE = "report.html.j2"


class ReportCancelled(Exception):
    """The caller's cancel event was set; nothing was written."""


@dataclass(frozen=True)
class ReportOptions:
    title: str = "aesview report"
    photo_side: int = 1024        # long side of each embedded photo
    quality: int = 80             # its JPEG quality
    overlay_side: int = 160       # long side of a map overlay (the browser smooths it up)
    tile_side: int = 96           # long side of an attribute map in the small multiples
    thumb_side: int = 240         # best / worst thumbnails in the summary
    extremes: int = 5             # how many best and worst photos the summary shows
    workers: int = 2              # decode/encode threads (PIL releases the GIL)


@dataclass
class Asset:
    """One image of the report: embedded as a data URI or written beside the HTML."""
    name: str
    mime: str
    data: bytes
    width: int = 0
    height: int = 0
    url: str = ""


@dataclass
class _Prepared:
    rec: ScoreRecord
    photo: Asset | None = None
    overlays: dict[str, Asset] = field(default_factory=dict)
    tiles: list[Asset] = field(default_factory=list)
    error: str | None = None


def _png(rgba: np.ndarray, colours: int = 128) -> bytes:
    """A map overlay as a palette PNG: a smooth RGBA ramp barely compresses (≈20 kB at 160 px),
    its palette version is ≈5 kB, and the browser's smoothing as it scales the overlay up hides
    the steps between palette entries."""
    buf = io.BytesIO()
    Image.fromarray(rgba).quantize(colours, method=Image.Quantize.FASTOCTREE).save(
        buf, "PNG", compress_level=9)
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    w, h = size
    s = min(1.0, side / max(w, h))
    return max(1, round(w * s)), max(1, round(h * s))


class _Renderer:
    """Turns records into report assets; thread-safe (no shared mutable state)."""

    def __init__(self, names: Sequence[str], opts: ReportOptions, att_limit: float | None):
        self.names = list(names)
        self.opts = opts
        self.att_limit = att_limit

    def thumbnail(self, index: int, rec: ScoreRecord) -> Asset | None:
        try:
            img = load_image(rec.path, max_side=self.opts.thumb_side).image
        except (ImageLoadError, OSError):
            return None
        img = img.resize(_fit(img.size, self.opts.thumb_side), Image.Resampling.LANCZOS)
        return Asset(f"p{index:04d}-thumb.jpg", "image/jpeg", _jpeg(img, 78), *img.size)

    def prepare(self, index: int, rec: ScoreRecord) -> _Prepared:
        out = _Prepared(rec)
        stem = f"p{index:04d}"
        try:
            photo = load_image(rec.path, max_side=self.opts.photo_side)
        except ImageLoadError as exc:
            out.error = exc.reason
            return out
        except OSError as exc:
            out.error = f"cannot read the file ({exc.strerror or exc})"
            return out
        img = photo.image
        if max(img.size) > self.opts.photo_side:
            img = img.resize(_fit(img.size, self.opts.photo_side), Image.Resampling.LANCZOS,
                             reducing_gap=2.0)
        out.photo = Asset(f"{stem}-photo.jpg", "image/jpeg", _jpeg(img, self.opts.quality), *img.size)
        size = display_size(img.size, self.opts.overlay_side)
        assert rec.aesam is not None
        views = {"absolute": V.view(rec.aesam, V.ABSOLUTE),
                 "relative": V.view(rec.aesam, V.RELATIVE)}
        if rec.highmap is not None:
            views["high"] = V.view(rec.highmap, V.NORMALISED, "high-class evidence")
        for key, v in views.items():
            rgba = V.render(v, size)
            out.overlays[key] = Asset(f"{stem}-{key}.png", "image/png", _png(rgba), size[1], size[0])
        if rec.attam is not None:
            tsize = display_size(img.size, self.opts.tile_side)
            for name, m in zip(self.names, rec.attam):
                v = V.view(m, V.ABSOLUTE, name, self.att_limit)
                out.tiles.append(Asset(f"{stem}-att-{name}.png", "image/png",
                                       _png(V.render(v, tsize)), tsize[1], tsize[0]))
        return out


class _Charts:
    """matplotlib figures, drawn on one thread with the Agg canvas (no pyplot state).

    The attribute chart's axes, labels and the shoot's distribution are the same for every photo:
    they are drawn once, and each photo only blits its own bars and values over that background
    (a full redraw per photo would cost more than everything else in the report together)."""

    def __init__(self, names: Sequence[str], shoot: dict[str, np.ndarray]):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        self.names = list(names)
        self.shoot = shoot
        fig = Figure(figsize=(4.6, 0.34 * max(1, len(self.names)) + 0.75), dpi=100)
        self.canvas = FigureCanvasAgg(fig)
        ax = self.ax = fig.add_axes((0.26, 0.17, 0.63, 0.79))
        ys = np.arange(len(self.names))[::-1]
        for y, n in zip(ys, self.names):
            col = self.shoot.get(n)
            if col is not None and col.size > 1:
                q1, med, q3 = np.percentile(col, [25, 50, 75])
                ax.barh(y, q3 - q1, left=q1, height=0.8, color="#d9d9d9", zorder=1)
                ax.plot([med, med], [y - 0.4, y + 0.4], color="#7a7a7a", lw=1.3, zorder=2)
        ax.set_yticks(ys, [n.replace("_", " ") for n in self.names], fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, len(self.names) - 0.4)
        ax.set_xlabel("P(good in this respect); grey: the shoot's middle half, median", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        self.bars = ax.barh(ys, np.zeros(len(ys)), height=0.44, color="#2f6fb5", zorder=3,
                            animated=True)
        self.values = [ax.text(1.02, y, "", va="center", fontsize=8, animated=True, clip_on=False,
                               transform=ax.get_yaxis_transform()) for y in ys]
        self.canvas.draw()  # type: ignore[no-untyped-call]
        self.background = self.canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]

    @staticmethod
    def _png(fig: Any) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=fig.dpi)
        return buf.getvalue()

    def attributes(self, values: dict[str, float]) -> bytes:
        """Bars of P(good) per attribute over the shoot's middle half (grey) and median (tick)."""
        self.canvas.restore_region(self.background)  # type: ignore[no-untyped-call]
        for bar, label, n in zip(self.bars, self.values, self.names):
            v = float(values.get(n, 0.0))
            bar.set_width(v)
            label.set_text(f"{v:.2f}")
            self.ax.draw_artist(bar)
            self.ax.draw_artist(label)
        rgba = np.asarray(self.canvas.buffer_rgba())  # type: ignore[no-untyped-call]
        img = Image.fromarray(rgba[..., :3].copy()).quantize(64, method=Image.Quantize.MEDIANCUT)
        buf = io.BytesIO()
        img.save(buf, "PNG", compress_level=6)
        return buf.getvalue()

    def histogram(self, scores: np.ndarray) -> bytes:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(6.4, 2.6), dpi=100)
        ax = fig.add_axes((0.09, 0.2, 0.88, 0.72))
        ax.hist(scores, bins=[i / 20 for i in range(21)], color="#3a78c2", edgecolor="white")
        ax.set_xlim(0, 1)
        ax.set_xlabel("score: P(high aesthetic class)", fontsize=9)
        ax.set_ylabel("photos", fontsize=9)
        from matplotlib.ticker import MaxNLocator
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return self._png(fig)

    def distributions(self) -> bytes:
        """One small histogram per attribute, same axes: where the shoot is strong and weak."""
        from matplotlib.figure import Figure
        cols = 4
        rows = max(1, -(-len(self.names) // cols))
        fig = Figure(figsize=(7.2, 1.55 * rows + 0.2), dpi=100)
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
        for ax in axes.flat[len(self.names):]:
            ax.set_visible(False)
        for ax, n in zip(axes.flat, self.names):
            ax.hist(self.shoot.get(n, np.zeros(0)), bins=[i / 10 for i in range(11)], color="#6a9fd8",
                    edgecolor="white")
            ax.set_title(n.replace("_", " "), fontsize=9)
            ax.set_xlim(0, 1)
            ax.tick_params(labelsize=7)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.subplots_adjust(left=0.06, right=0.98, top=0.88, bottom=0.12, hspace=0.7, wspace=0.3)
        return self._png(fig)


def _template() -> Any:
    import jinja2

    from ..paths import resources_dir
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resources_dir() / "report")),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).module


def _legend(v: V.MapView) -> dict[str, str]:
    stops = ", ".join(V.colour_stops(v))
    return {"gradient": f"linear-gradient(to right, {stops})", "low": v.low_text,
            "centre": v.centre_text, "high": v.high_text, "title": v.title}


class _Sink:
    """Where assets go: data URIs inline, or files in the folder being built."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.bytes = 0

    def place(self, a: Asset | None) -> Asset | None:
        if a is None:
            return None
        self.bytes += len(a.data)
        if self.folder is None:
            a.url = f"data:{a.mime};base64," + base64.b64encode(a.data).decode("ascii")
        else:
            (self.folder / "images" / a.name).write_bytes(a.data)
            a.url = f"images/{a.name}"
        a.data = b""  # placed: the bytes live in the page or the file now
        return a


def _prepared_in_order(renderer: _Renderer, ok: list[ScoreRecord], workers: int,
                       cancel: threading.Event | None) -> Iterator[_Prepared]:
    """Photos prepared by a small pool, yielded in rank order with a bounded look-ahead."""
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="aesview-report")
    try:
        queue: deque[Future[_Prepared]] = deque()
        it = iter(enumerate(ok))
        ahead = max(2, workers * 2)

        def refill() -> None:
            while len(queue) < ahead:
                nxt = next(it, None)
                if nxt is None:
                    return
                i, rec = nxt
                queue.append(pool.submit(renderer.prepare, i + 1, rec))
        refill()
        while queue:
            if cancel is not None and cancel.is_set():
                raise ReportCancelled()
            prep = queue.popleft().result()
            refill()
            yield prep
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _atomic_folder(target: Path) -> Iterator[Path]:
    """Build a folder beside `target` and give it the target's name only when complete."""
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new folder for the report")
    target.parent.mkdir(parents=True, exist_ok=True)
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        (tmp / "images").mkdir()
        yield tmp
        os.rename(tmp, target)  # fails rather than merge if the target appeared meanwhile
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def build_report(records: Sequence[ScoreRecord], attribute_names: Sequence[str], model: dict[str, str],
                 output: str | os.PathLike[str], *, folder: bool = False,
                 options: ReportOptions | None = None,
                 progress: Callable[[int], None] | None = None,
                 cancel: threading.Event | None = None) -> Path:
    """Write the report for `records` (scored or failed; ranked here) to `output`: one HTML file,
    or with `folder` a new folder holding index.html and images/. `model` names the model in the
    header ("name", "architecture", "data"). `progress(n)` is told as n more photos are done.
    Returns the HTML file's path. Raises ReportCancelled (nothing written) when `cancel` is set,
    FileExistsError when a folder target exists."""
    opts = options or ReportOptions()
    names = list(attribute_names)
    ranked = rank(list(records))
    ok = [r for r in ranked if r.ok]
    failed = [r for r in ranked if not r.ok]
    n = len(ok)
    shoot = {k: np.array([r.attributes[k] for r in ok if k in r.attributes], dtype=np.float64)
             for k in names}
    att_stack = [r.attam for r in ok if r.attam is not None]
    # One colour scale for every attribute map of the shoot, so tiles compare across photos too.
    att_limit = V.shared_limit(np.concatenate([a.ravel() for a in att_stack])[None, None],
                               V.ABSOLUTE) if att_stack else None
    k = min(opts.extremes, n)
    best_idx = list(range(k))
    worst_idx = [i for i in range(max(k, n - k), n)][::-1]
    renderer = _Renderer(names, opts, att_limit)
    charts = _Charts(names, shoot)
    macros = _template()
    target = Path(output)

    def write(out: io.TextIOBase, sink: _Sink) -> None:
        legends = {
            "absolute": _legend(V.view(np.array([[-1.0, 1.0]]), V.ABSOLUTE)),
            "relative": _legend(V.view(np.array([[-1.0, 1.0]]), V.RELATIVE)),
            "high": _legend(V.view(np.array([[0.0, 1.0]]), V.NORMALISED, "high-class evidence")),
        }
        # The legend's texts are general; each photo's own mean/min/max goes in its caption.
        legends["relative"]["centre"] = "the photo's average"
        legends["high"]["low"], legends["high"]["high"] = "the photo's weakest", "its strongest"
        scores = np.array([r.score for r in ok], dtype=np.float64)
        summary = {
            "histogram": sink.place(Asset("summary-scores.png", "image/png",
                                          charts.histogram(scores))) if n else None,
            "distributions": sink.place(Asset("summary-attributes.png", "image/png",
                                              charts.distributions())) if n and names else None,
            "n": n, "failed": [{"path": r.path, "name": Path(r.path).name, "error": r.error}
                               for r in failed],
            "mean": float(scores.mean()) if n else None,
            "median": float(np.median(scores)) if n else None,
        }
        def thumb(i: int) -> dict[str, Any] | None:
            if cancel is not None and cancel.is_set():
                raise ReportCancelled()
            a = sink.place(renderer.thumbnail(i + 1, ok[i]))
            return None if a is None else {"img": a, "anchor": f"p{i + 1:04d}", "rank": ok[i].rank,
                                           "name": Path(ok[i].path).name, "score": ok[i].score}
        best = [t for t in map(thumb, best_idx) if t]
        worst = [t for t in map(thumb, worst_idx) if t]
        out.write(macros.page_start(
            title=opts.title, model=model, summary=summary, best=best, worst=worst,
            created=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            table=[{"rank": r.rank, "name": Path(r.path).name, "score": r.score,
                    "percentile": r.percentile, "anchor": f"p{i + 1:04d}"} for i, r in enumerate(ok)],
            legends=legends))
        for i, prep in enumerate(_prepared_in_order(renderer, ok, opts.workers, cancel)):
            rec = prep.rec
            others = [r.attributes for r in ok if r is not rec]
            words = explain_photo(rec.score, rec.rank, n, rec.percentile, rec.aesam, rec.attributes,
                                  others, rec.attam, names, rec.detail)
            photo = sink.place(prep.photo)
            overlays = {key: sink.place(a) for key, a in prep.overlays.items()}
            tiles = []
            for name, tile in zip(names, prep.tiles):
                val = rec.attributes.get(name)
                pct = value_percentile(val, [o[name] for o in others if name in o]) \
                    if val is not None else None
                tiles.append({"name": name.replace("_", " "), "value": val, "percentile": pct,
                              "img": sink.place(tile)})
            assert rec.aesam is not None
            high = rec.highmap
            out.write(macros.photo(
                anchor=f"p{i + 1:04d}", rec=rec, name=Path(rec.path).name, n=n, photo=photo,
                overlays=overlays, tiles=tiles, words=words, error=prep.error,
                chart=sink.place(Asset(f"p{i + 1:04d}-chart.png", "image/png",
                                       charts.attributes(rec.attributes))),
                aes_mean=float(rec.aesam.mean()), aes_min=float(rec.aesam.min()),
                aes_max=float(rec.aesam.max()),
                high_min=float(high.min()) if high is not None else None,
                high_max=float(high.max()) if high is not None else None,
                legends=legends))
            if progress:
                progress(1)
        out.write(macros.page_end())

    if folder:
        with _atomic_folder(target) as tmp:
            with atomic_writer(tmp / "index.html") as f:
                text = io.TextIOWrapper(f, encoding="utf-8", newline="\n", write_through=True)
                write(text, _Sink(tmp))
                text.flush()
                text.detach()
        return target / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(target) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="\n", write_through=True)
        write(text, _Sink(None))
        text.flush()
        text.detach()
    return target

