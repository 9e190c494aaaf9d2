""""Why this score" for the current photo, and the heat map drawn over it.

The controller turns the session's current record into plain values — an `Explanation` (title,
words, attribute values) and an `OverlayView` (the rendered map, its opacity) — and emits them;
the panel and the viewer only display what they get.

Extending it (new map display modes, a "what if" view): add a `Choice` to
`core.choices.OVERLAYS` (its key, label, shortcut and tip: the panel's buttons, the View menu
and its shortcut come from there), then register how that mode draws with `register_overlay`
— a function (record, attribute name) -> the 2-D signed map to draw, or None when this record
can't show it — and, if its colours mean something else, a legend (attribute name) ->
(low text, high text). Whatever produces a different explanation (a what-if record with a defect
applied) can call `show_record(record)` to explain that record instead of the current photo's
until `show_record(None)`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from ...core import choices, detail_view, map_views
from ...core.explain import display_size, explain_photo, overlay_rgba
from ...core.records import ScoreRecord
from ..qtimage import rgb_to_qimage
from ..session import Session

MapOf = Callable[[ScoreRecord, str], "np.ndarray | None"]
LegendOf = Callable[[str], "tuple[str, str]"]


def _aesam(rec: ScoreRecord, _attribute: str) -> np.ndarray | None:
    return rec.aesam


def _attam(rec: ScoreRecord, attribute: str) -> np.ndarray | None:
    names = list(rec.attributes)
    if rec.attam is None or attribute not in names:
        return None
    return rec.attam[names.index(attribute)]


def _attam_legend(attribute: str) -> tuple[str, str]:
    a = attribute.replace("_", " ") or "attribute"
    return f"against {a}", f"for {a}"


def _detail(rec: ScoreRecord, _attribute: str) -> np.ndarray | None:
    return detail_view.signed_frame_map(rec.detail)


def _detail_boxes(rec: ScoreRecord) -> np.ndarray | None:
    return rec.detail.boxes if rec.detail is not None and len(rec.detail.boxes) else None


_MAPS: dict[str, MapOf] = {"aesam": _aesam, "attam": _attam, "detail": _detail}
_LEGENDS: dict[str, LegendOf] = {"attam": _attam_legend,
                                 "detail": lambda _a: ("lowers score at 100 %", "(never raises it)")}
# Modes that also outline regions (full-resolution boxes) over their map: the detail view's
# patches, so the user sees where it looked.
_OUTLINES: dict[str, Callable[[ScoreRecord], np.ndarray | None]] = {"detail": _detail_boxes}
DEFAULT_LEGEND = ("lowers score", "raises score")
# How the map's values become colours (core.map_views): absolute keeps 0 neutral; relative and
# normalised show where the evidence concentrates within the photo. Legends: low, high, centre.
SCALES = map_views.MODES
_SCALE_LEGENDS = {map_views.RELATIVE: ("below its average", "above its average", ""),
                  map_views.NORMALISED: ("its weakest", "its strongest", "")}


def register_overlay(key: str, map_of: MapOf, legend: LegendOf | None = None) -> None:
    """How overlay mode `key` (declared in core.choices.OVERLAYS) draws."""
    if key not in choices.keys(choices.OVERLAYS):
        raise KeyError(f"declare {key!r} in core.choices.OVERLAYS first")
    _MAPS[key] = map_of
    if legend is not None:
        _LEGENDS[key] = legend


@dataclass(frozen=True)
class Explanation:
    title: str
    words_html: str
    attributes: dict[str, float] = field(default_factory=dict)
    attribute_names: tuple[str, ...] = ()
    # attribute -> what the detail view found of it at 100 % (core.detail_view.seen_at_100)
    seen_at_100: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OverlayView:
    mode: str
    image: QImage | None          # None: nothing to draw (mode off, no map yet)
    opacity: float
    legend: tuple[str, str] = DEFAULT_LEGEND
    centre: str = "0"            # what the middle of the colour bar means
    legend_cmap: str = ""        # the colour bar's map when it is not the chosen one


class ExplanationController(QObject):
    explanationChanged = Signal(object)  # Explanation
    overlayChanged = Signal(object)      # OverlayView
    optionsChanged = Signal()            # mode, attribute, colour map, opacity or scale changed

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent or session)
        self.session = session
        st = session.settings
        # any declared mode: one drawn by another controller ("crop") registers in extra_maps later
        self.mode = st.overlay if st.overlay in choices.keys(choices.OVERLAYS) else "none"
        self.attribute = st.attribute
        self.cmap = st.overlay_cmap
        self.opacity = st.overlay_opacity
        self.scale = st.map_scale if st.map_scale in SCALES else map_views.ABSOLUTE
        self._record_override: ScoreRecord | None = None
        # Maps another controller of this window draws (the crop's evidence): mode -> map_of,
        # mode -> legend; declared in core.choices.OVERLAYS like the others.
        self.extra_maps: dict[str, MapOf] = {}
        self.extra_legends: dict[str, LegendOf] = {}
        self._cache_key: tuple[object, ...] | None = None
        self._cache_image: QImage | None = None
        self._persist_timer = QTimer(self, singleShot=True, interval=400)
        self._persist_timer.timeout.connect(session.persist)
        session.currentChanged.connect(self.refresh)
        session.recordArrived.connect(self._record_arrived)
        session.model.ranksChanged.connect(self._emit_explanation)

    # ------------------------------------------------------------------ options
    def set_mode(self, mode: str) -> None:
        if mode != "none" and mode not in _MAPS and mode not in self.extra_maps:
            return
        self.mode = mode
        self._remember()
        self._emit_overlay()

    def set_attribute(self, name: str) -> None:
        self.attribute = name
        self._remember()
        self._emit_explanation()
        self._emit_overlay()

    def show_attribute(self, name: str) -> None:
        """A click on an attribute's bar: show that attribute's map."""
        self.attribute = name
        self.set_mode("attam")
        self._emit_explanation()

    def set_scale(self, scale: str) -> None:
        """absolute (signed, 0 neutral), relative (to the photo's mean) or normalised."""
        if scale in SCALES:
            self.scale = scale
            self._remember()
            self._emit_overlay()

    def set_cmap(self, cmap: str) -> None:
        self.cmap = cmap
        self._remember()
        self._emit_overlay()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(max(float(opacity), 0.0), 1.0)
        self._remember()
        self._emit_overlay()

    def _remember(self) -> None:
        """Per user: the settings file, written a moment after the last change."""
        st = self.session.settings
        st.overlay, st.attribute, st.overlay_cmap, st.overlay_opacity, st.map_scale = \
            self.mode, self.attribute, self.cmap, self.opacity, self.scale
        self.optionsChanged.emit()
        self._persist_timer.start()

    # ------------------------------------------------------------------ what is shown
    def show_record(self, record: ScoreRecord | None) -> None:
        """Explain `record` instead of the current photo's (a what-if); None goes back."""
        self._record_override = record
        self.refresh()

    def record(self) -> ScoreRecord | None:
        if self._record_override is not None:
            return self._record_override
        it = self.session.current_item()
        return it.record if it is not None else None

    def refresh(self, *_: object) -> None:
        self._emit_explanation()
        self._emit_overlay()

    def maps_changed(self, path: str) -> None:
        """An extra map of `path` changed (the crop's evidence arrived): draw it again."""
        self._cache_key = None
        if path == self.session.current_path():
            self._emit_overlay()

    def _record_arrived(self, path: str) -> None:
        if path == self.session.current_path():
            self.refresh()

    def explanation(self) -> Explanation:
        s = self.session
        it = s.current_item()
        if it is None:
            return Explanation("No photo selected", "")
        rec = self.record()
        names = tuple(rec.attributes) if rec is not None and rec.attributes else ()
        if names and self.attribute not in names:
            self.attribute = names[0]
        if it.error and self._record_override is None:
            return Explanation(it.name, f"<span style='color:#cf222e'>{html.escape(it.error)}</span>",
                               {}, names)
        if rec is None or rec.score is None:
            return Explanation(it.name, "Scoring…", {}, names)
        n = s.model.ranked()
        percentile = it.percentile if self._record_override is None else rec.percentile
        title = f"{it.name}\n{rec.score:.2f}" + (f" — #{it.rank} of {n}"
                                                if it.rank and self._record_override is None else "")
        # Grounded in the map (thirds, shares) and in the rest of the shoot (percentiles).
        others = [o.record.attributes for o in s.model.items()
                  if o is not it and o.record is not None and o.record.ok]
        words = explain_photo(rec.score, it.rank if self._record_override is None else None, n,
                              percentile, rec.aesam, rec.attributes, others, rec.attam, list(names),
                              rec.detail)
        text = " ".join(html.escape(w) for w in words)
        return Explanation(title, text, dict(rec.attributes), names,
                           detail_view.seen_at_100(rec.detail))

    def legend(self) -> tuple[str, str]:
        if self.scale in _SCALE_LEGENDS:
            return _SCALE_LEGENDS[self.scale][:2]
        legend_of = self.extra_legends.get(self.mode) or _LEGENDS.get(self.mode)
        return legend_of(self.attribute) if legend_of else DEFAULT_LEGEND

    def scale_cmap(self) -> str:
        """The colour map the scale imposes ("" = the chosen one): normalised maps are drawn as
        the paper's figures draw them."""
        return map_views.SEQUENTIAL if self.scale == map_views.NORMALISED else ""

    def _view(self, legend: tuple[str, str], image: QImage | None) -> OverlayView:
        centre = _SCALE_LEGENDS[self.scale][2] if self.scale in _SCALE_LEGENDS else "0"
        return OverlayView(self.mode, image, self.opacity, legend, centre, self.scale_cmap())

    def overlay(self) -> OverlayView:
        rec = self.record()
        map_of = self.extra_maps.get(self.mode) or _MAPS.get(self.mode)
        if map_of is None or rec is None or rec.image_size is None:
            return self._view(self.legend(), None)
        key = (id(rec), rec.path, self.mode, self.attribute, self.cmap, rec.image_size, self.scale)
        if key != self._cache_key:
            m = map_of(rec, self.attribute)
            size = display_size(rec.image_size)
            if m is None:
                self._cache_image = None
            else:
                if self.scale == map_views.ABSOLUTE:
                    rgba = overlay_rgba(m, size, self.cmap)
                else:
                    v = map_views.view(m, self.scale)
                    rgba = map_views.render(v, size, self.cmap if v.signed else None)
                outline = _OUTLINES.get(self.mode)
                boxes = outline(rec) if outline is not None else None
                if boxes is not None:
                    detail_view.outline_boxes(rgba, boxes, rec.image_size)
                self._cache_image = rgb_to_qimage(rgba)
            self._cache_key = key
        return self._view(self.legend(), self._cache_image)

    def _emit_explanation(self, *_: object) -> None:
        self.explanationChanged.emit(self.explanation())

    def _emit_overlay(self) -> None:
        self.overlayChanged.emit(self.overlay())
