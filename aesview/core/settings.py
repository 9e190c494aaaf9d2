"""The app's settings, typed in one place and saved as JSON in the platformdirs config folder.

`AESVIEW_CONFIG_DIR` moves that folder (tests point it at a temp dir). A settings file that
can't be read, or a value of the wrong type, falls back to the default for that value: a broken
settings file costs a preference, never a start-up.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from . import choices
from .atomic import atomic_write_text
from .crop import is_aspect_key
from .imaging import BUDGET_ENV, DEFAULT_BUDGET_MP, set_pixel_budget
from .map_views import MODES as MAP_SCALES

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
MAX_RECENT = 10

# What the GUI may spend on photos' pixels (issue 13: the whole app under 1.5 GB, whatever the
# folder holds). Declared once here; the GUI reads them, nothing else defines its own.
# The viewer decodes at most this many megapixels: a 45 MP camera's frame is shown pixel for
# pixel at 100 %, a larger file is shown reduced by an integer factor, and the viewer says so.
VIEW_MAX_MEGAPIXELS = 48.0
# Compare, survey and loupe panes each hold their own frame (outside the cache's byte budget), so
# their decodes share one pixel budget: each pane gets this divided by the number of panes, at
# most VIEW_MAX_MEGAPIXELS. Compare (2 panes) keeps 48 MP each; a survey of 8 gets 12 MP each,
# so a 45 MP photo is shown at 1/2 there, and the pane says so.
PANES_MAX_MEGAPIXELS = 2 * VIEW_MAX_MEGAPIXELS
# The compare / survey / loupe cache of full-resolution images is bounded by bytes, not by a
# count of photos (8 full 100 MP frames would be 3.2 GB). 192 MB is two 24 MP photos as RGB32
# (a compare's pair); the newest is kept even alone over it. The main viewer's photo goes in the
# same cache, so the loupe on it shares its frame.
FULL_IMAGE_CACHE_BYTES = 192 * 2**20
# Thumbnail decoding threads, whatever the core count: each may hold a decode of its own (big
# ones take turns in core.imaging), and more threads mostly add glibc arenas that keep memory.
THUMBNAIL_THREADS = 4


@dataclass(frozen=True)
class NumberPreference:
    """A number the Preferences dialog edits: the dialog builds one row from each of
    PREFERENCES, and `Settings.validated` keeps the value within its range."""
    name: str                 # the Settings field
    label: str
    minimum: float
    maximum: float
    step: float
    suffix: str
    help: str


PREFERENCES = (
    NumberPreference(
        "max_megapixels", "Largest photo to open", 10, 1000, 10, " MP",
        "Photos over this many megapixels are refused instead of decoded: a file that claims "
        "more is usually damaged or a decompression bomb. Raise it for genuine panoramas or "
        "scans; each 100 MP may take 400 MB while it is decoded. "
        f"{BUDGET_ENV}, when set, wins over this."),
)


def config_dir() -> Path:
    return Path(os.environ.get("AESVIEW_CONFIG_DIR") or platformdirs.user_config_dir("aesview"))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass
class Settings:
    device: str = "auto"                 # auto = CUDA when torch sees one, else CPU
    model: str = ""                      # "" = the shipped default (weights/DEFAULT)
    thumbnail_size: int = 160
    overlay: str = "none"                # off while culling: colour must be judged untinted
    overlay_cmap: str = "RdBu_r"
    overlay_opacity: float = 0.5
    attribute: str = ""                  # which AttAM to show; "" = the first
    map_scale: str = "absolute"          # how map values become colours (core.map_views)
    crop_aspect: str = "original"
    crop_tightness: float = 0.0          # 0 = as large as the aspect allows (core.crop.plan_crop)
    crop_keep_heads: bool = False        # core.crop.CropSettings.heads_whole: never cut a head a
                                         # window of the crop's size could hold whole
    sort_key: str = "score"
    auto_advance: bool = True            # P/X/U move on to the next photo
    advance_after_stars: bool = False    # 0-5 move on too (off: stars are often set in passing)
    keep_zoom: bool = False              # the next photo opens at the zoom and place of this one
    sidecar_style: str = "darktable"     # IMG_1.jpg.xmp; "basename" = IMG_1.xmp; "both"
    embed_xmp: bool = False              # also into JPEG/TIFF/DNG (Lightroom): changes the files
    export_dir: str = ""                 # "" = <shoot>/aesview-export
    export_quality: int = 92
    max_megapixels: float = DEFAULT_BUDGET_MP   # the decode budget (core.imaging.pixel_budget)
    recent_folders: list[str] = field(default_factory=list)
    window_geometry: str = ""            # base64 of QWidget.saveGeometry()
    window_state: str = ""               # base64 of QMainWindow.saveState()
    splitter_state: str = ""             # grid | photo split

    def add_recent(self, folder: str | os.PathLike[str]) -> None:
        folder = os.path.abspath(os.fspath(folder))
        self.recent_folders = [folder] + [f for f in self.recent_folders if f != folder]
        del self.recent_folders[MAX_RECENT:]

    def validated(self) -> Settings:
        """A copy with out-of-range values replaced by their defaults."""
        good = Settings()
        out = Settings(**asdict(self))
        allowed = {"device": choices.DEVICES, "sidecar_style": choices.SIDECAR_STYLES,
                   "sort_key": choices.SORTS, "overlay": choices.OVERLAYS}
        for name, options in allowed.items():
            if getattr(out, name) not in choices.keys(options):
                setattr(out, name, getattr(good, name))
        if out.map_scale not in MAP_SCALES:
            out.map_scale = good.map_scale
        if not is_aspect_key(out.crop_aspect):      # a preset, or a custom W:H the user typed
            out.crop_aspect = good.crop_aspect
        out.thumbnail_size = min(max(int(out.thumbnail_size), 64), 512)
        out.overlay_opacity = min(max(float(out.overlay_opacity), 0.0), 1.0)
        out.crop_tightness = min(max(float(out.crop_tightness), 0.0), 1.0)
        out.export_quality = min(max(int(out.export_quality), 1), 100)
        for pref in PREFERENCES:
            value = float(getattr(out, pref.name))
            setattr(out, pref.name, min(max(value, pref.minimum), pref.maximum))
        return out


def apply_to_process(settings: Settings) -> None:
    """Put the settings that live in the core's process-wide state into effect (at start and
    after each change): the decode budget, unless AESVIEW_MAX_MEGAPIXELS sets it (the default
    value leaves the core's own default in place)."""
    mp = settings.max_megapixels
    set_pixel_budget(None if os.environ.get(BUDGET_ENV) or mp == DEFAULT_BUDGET_MP else mp)


def _coerce(name: str, value: object, default: object) -> object:
    """The stored value if it has the default's type (ints pass as floats), else None."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, float):
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    if isinstance(default, list):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        return None
    return None


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    path = Path(path) if path else settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable settings, using defaults (%s)", path, exc)
        return Settings()
    if not isinstance(data, dict):
        log.warning("%s: settings are not a JSON object, using defaults", path)
        return Settings()
    defaults = Settings()
    values: dict[str, Any] = {}       # each checked against its field's type by _coerce
    for f in fields(Settings):
        if f.name not in data:
            continue
        value = _coerce(f.name, data[f.name], getattr(defaults, f.name))
        if value is None:
            log.warning("%s: ignoring %s=%r (wrong type)", path, f.name, data[f.name])
        else:
            values[f.name] = value
    return Settings(**values).validated()


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    path = Path(path) if path else settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(asdict(settings), indent=2) + "\n")
