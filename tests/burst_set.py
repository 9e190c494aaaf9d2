"""A shoot of bursts made from the shared photos, for measuring burst grouping and the choice of
the best frame (tests/test_bursts.py and tools/burst_benchmark.py write it into a temp folder;
it is never committed).

Each burst is 5 or 6 frames of one photo, shot 0.2 s apart. Every frame is hand-held: a window
of 96.5-99 % of the photo at a random offset, so no two frames share a pixel grid. One frame,
at a random place in the burst, is the intended best; each other frame carries one flaw:
- `blur`: slight missed focus (a disk of radius 0.1 % of the long side, 2 px at 2048),
- `dark`: one stop under, `bright`: one stop over (in linear light, clipped as a camera would),
- `tight`: a tighter framing (82 % of the frame) with camera shake (a 0.15 % line),
- `cut`: the framing slid so that half the hand-marked subject is out of the frame (only photos
  with a marked subject in tests/data/crop_subjects.json).
Photos not used for bursts become single frames between bursts. Bursts are 8-40 s apart.
Files are named IMG_0001.jpg ... in capture order, JPEG quality 92, with DateTimeOriginal and
SubSecTimeOriginal, or with no EXIF at all (`exif=False`) to test grouping by content alone.

Photos are split into a "tune" and a "test" half by a hash of their name: thresholds and
weights are chosen on "tune", figures are reported on "test".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

from aesview.core import defects as K

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "photos"
SUBJECTS = ROOT / "tests" / "data" / "crop_subjects.json"
FLAWS = ("blur", "dark", "bright", "tight", "cut")
FRAME_GAP = 0.2
START = datetime(2026, 11, 28, 10, 0, 0)


@dataclass
class Burst:
    source: str
    split: str
    frames: list[str] = field(default_factory=list)   # file names, in capture order
    kinds: list[str] = field(default_factory=list)    # "best" or the flaw, per frame
    best: str = ""


@dataclass
class BurstSet:
    folder: str
    exif: bool
    bursts: list[Burst] = field(default_factory=list)
    singles: list[tuple[str, str]] = field(default_factory=list)   # (file, split)

    def groups(self, split: str | None = None) -> list[list[str]]:
        return [b.frames for b in self.bursts if split in (None, b.split)]

    def files(self, split: str | None = None) -> list[str]:
        out = [f for b in self.bursts if split in (None, b.split) for f in b.frames]
        return out + [f for f, s in self.singles if split in (None, s)]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> BurstSet:
        d = json.loads(path.read_text())
        return cls(d["folder"], d["exif"], [Burst(**b) for b in d["bursts"]],
                   [tuple(s) for s in d["singles"]])


def split_of(name: str) -> str:
    return "tune" if hashlib.sha256(name.encode()).digest()[0] % 2 == 0 else "test"


def _subjects() -> dict[str, list[float]]:
    data = json.loads(SUBJECTS.read_text())
    return {Path(p["path"]).name: p["subject"] for p in data["photos"] if "subject" in p}


def _window(img: np.ndarray, frac: float, rng: np.random.Generator,
            centre: tuple[float, float] | None = None) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = int(round(h * frac)), int(round(w * frac))
    if centre is None:
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    else:
        x = int(np.clip(centre[0] * w - cw / 2, 0, w - cw))
        y = int(np.clip(centre[1] * h - ch / 2, 0, h - ch))
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def _cut(img: np.ndarray, subject: list[float], rng: np.random.Generator) -> np.ndarray | None:
    """Slide a window of 75 % of the frame so that the subject box's middle lies on its edge
    (half the subject out); None when the subject is too big to be half cut that way."""
    h, w = img.shape[:2]
    left, top, right, bottom = subject
    frac = 0.75
    cw, ch = int(w * frac), int(h * frac)
    options = []
    mx, my = (left + right) / 2 * w, (top + bottom) / 2 * h
    if mx - cw >= 0:
        options.append((int(mx - cw), None))        # subject's right half out, past the right edge
    if mx + cw <= w:
        options.append((int(mx), None))             # left half out
    if my - ch >= 0:
        options.append((None, int(my - ch)))
    if my + ch <= h:
        options.append((None, int(my)))
    if not options:
        return None
    x, y = options[int(rng.integers(len(options)))]
    if x is None:
        x = int(np.clip(mx - cw / 2, 0, w - cw))
    if y is None:
        y = int(np.clip(my - ch / 2, 0, h - ch))
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def make_frame(img: np.ndarray, kind: str, rng: np.random.Generator,
               subject: list[float] | None) -> np.ndarray:
    long_side = max(img.shape[:2])
    if kind == "cut":
        assert subject is not None
        out = _cut(img, subject, rng)
        if out is not None:
            return out
        kind = "blur"
    if kind == "tight":
        centre = ((subject[0] + subject[2]) / 2, (subject[1] + subject[3]) / 2) if subject \
            else (0.5, 0.5)
        out = _window(img, 0.82, rng, centre)
        return K.convolve(out, K.line_kernel(0.0015 * long_side, float(rng.uniform(0, 180))))
    out = _window(img, float(rng.uniform(0.965, 0.99)), rng)
    if kind == "blur":
        return K.convolve(out, K.disk_kernel(0.001 * long_side))
    if kind == "dark":
        return K.exposure(out, -1.0)
    if kind == "bright":
        return K.exposure(out, 1.0)
    return out


def _save(arr: np.ndarray, path: Path, when: datetime | None) -> None:
    im = Image.fromarray(arr)
    exif = Image.Exif()
    if when is not None:
        ifd = exif.get_ifd(0x8769)
        ifd[36867] = when.strftime("%Y:%m:%d %H:%M:%S")
        ifd[37521] = f"{when.microsecond // 10000:02d}"
    im.save(path, "JPEG", quality=92, exif=exif.tobytes() if when is not None else b"")


def make_burst_set(folder: str | Path, exif: bool = True, seed: int = 0,
                   photos: list[str] | None = None, singles_every: int = 4,
                   max_side: int | None = None) -> BurstSet:
    """Write the shoot into `folder` and return what it holds. `photos` limits the sources
    (file names in the shared folder); every `singles_every`-th source is a single frame."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    subjects = _subjects()
    names = photos or sorted(p.name for p in SHARED.glob("*.jpg"))
    order = list(rng.permutation(len(names)))
    shoot = BurstSet(str(folder), exif)
    clock = START
    n = 0

    def next_name() -> str:
        nonlocal n
        n += 1
        return f"IMG_{n:04d}.jpg"

    for i, k in enumerate(order):
        name = names[k]
        with Image.open(SHARED / name) as im:
            im = im.convert("RGB")
            if max_side and max(im.size) > max_side:
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            img = np.asarray(im)
        clock += timedelta(seconds=float(rng.uniform(8, 40)))
        if singles_every and i % singles_every == singles_every - 1:
            f = next_name()
            _save(_window(img, float(rng.uniform(0.965, 0.99)), rng), folder / f,
                  clock if exif else None)
            shoot.singles.append((f, split_of(name)))
            continue
        subject = subjects.get(name)
        flaws = [f for f in FLAWS if f != "cut" or subject is not None]
        kinds = ["best", *flaws]
        rng.shuffle(kinds)
        burst = Burst(name, split_of(name))
        for j, kind in enumerate(kinds):
            f = next_name()
            when = clock + timedelta(seconds=FRAME_GAP * j)
            _save(make_frame(img, kind, rng, subject), folder / f, when if exif else None)
            burst.frames.append(f)
            burst.kinds.append(kind)
            if kind == "best":
                burst.best = f
        clock += timedelta(seconds=FRAME_GAP * len(kinds))
        shoot.bursts.append(burst)
    shoot.save(folder / "burst_set.json")
    return shoot


def open_burst_set(folder: str | Path, seed: int = 0) -> BurstSet:
    """The set written into `folder` before (its burst_set.json), else a new one made there."""
    manifest = Path(folder) / "burst_set.json"
    return BurstSet.load(manifest) if manifest.is_file() else make_burst_set(folder, seed=seed)


if __name__ == "__main__":
    import sys
    s = make_burst_set(sys.argv[1] if len(sys.argv) > 1 else "/tmp/burst_set")
    print(len(s.bursts), "bursts,", len(s.singles), "singles in", s.folder)
