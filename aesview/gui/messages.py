"""What workers hand back to the GUI thread: one frozen dataclass per kind of result, each
carried by one signal of `WorkerSignals` (as napari's _qt/qthreading workers do), so a handler
reads named fields instead of five positional arguments explained by a comment.

Every message that belongs to a folder load carries its generation (`gen`); the session drops
messages of a folder the user has left. Workers put only plain data in them: QImages, numpy
arrays, records, never widgets or pixmaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ..core.culling import Decision
from ..core.records import ScoreRecord


@dataclass(frozen=True)
class ThumbnailReady:
    gen: int
    path: str
    image: QImage | None        # None when the photo can't be read
    size: int                   # the long side it was decoded at
    error: str | None = None


@dataclass(frozen=True)
class MetadataRead:
    """Capture time and the sidecar's decision, read after the thumbnail."""
    gen: int
    path: str
    captured: float | None
    decision: Decision | None   # None when the sidecar can't be read (error says why)
    error: str | None = None


@dataclass(frozen=True)
class SidecarsRead:
    """Decisions read on demand, before a key press is applied to photos whose sidecars the
    thumbnail loader had not reached yet."""
    gen: int
    ticket: int
    decisions: dict[str, Decision]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SidecarWritten:
    gen: int
    path: str
    decision: Decision | None   # what the sidecar holds now; None when the write failed
    error: str | None = None


@dataclass(frozen=True)
class PhotoLoaded:
    token: int                  # the session's photo request number; older ones are stale
    path: str
    preview: QImage | None      # screen-sized, for zoomed-out views
    full: QImage | None         # every pixel, for 100 %
    size: tuple[int, int] | None
    error: str | None = None


@dataclass(frozen=True)
class ScoreStarted:
    gen: int
    total: int
    description: str            # "model on device"
    meaning: str = ""           # the model card's sentence on what its score means


@dataclass(frozen=True)
class RecordScored:
    gen: int
    record: ScoreRecord


@dataclass(frozen=True)
class ScoreProgress:
    gen: int
    done: int
    total: int


@dataclass(frozen=True)
class ScoreFinished:
    gen: int
    cancelled: bool


@dataclass(frozen=True)
class WhatIfDone:
    """A what-if experiment scored on the inference worker (core.whatif.Result), with its
    before | after picture already rendered there."""
    token: int
    path: str
    result: object = None        # core.whatif.Result, None on error
    image: QImage | None = None
    error: str | None = None


@dataclass(frozen=True)
class CropMapsReady:
    """The finer maps a crop is planned from (core.subject.CropMaps, numpy only), computed for
    one photo on the inference worker."""
    token: int
    path: str
    maps: object = None          # core.subject.CropMaps, None on error
    error: str | None = None


@dataclass(frozen=True)
class OperationProgress:
    op_id: int
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class OperationDone:
    op_id: int
    result: object = None
    error: str | None = None    # set when the operation raised


@dataclass(frozen=True)
class Reached:
    """A marker task reached the head of a queue (the sidecar writer's: writes before it landed)."""
    ticket: int


@dataclass(frozen=True)
class WorkerError:
    message: str
    level: str = "error"


class WorkerSignals(QObject):
    """Lives in the GUI thread; pool threads emit on it, so handlers run queued in the GUI
    thread. Each signal carries the one message type named beside it."""
    thumbnail = Signal(object)       # ThumbnailReady
    metadata = Signal(object)        # MetadataRead
    sidecars_read = Signal(object)   # SidecarsRead
    sidecar_written = Signal(object)  # SidecarWritten
    photo = Signal(object)           # PhotoLoaded
    op_progress = Signal(object)     # OperationProgress
    op_done = Signal(object)         # OperationDone
    reached = Signal(object)         # Reached
    error = Signal(object)           # WorkerError
