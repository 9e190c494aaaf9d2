"""Dataset readers. Each returns a list of `Sample`s: a vote histogram over 1..10 (real or
pseudo), optional attribute targets in [0, 1] (NaN = unknown) and where the pixels come from.

Accepted layouts (see docs/TRAINING.md):

* **AVA** (`read_ava`): ``ROOT/AVA.txt`` (or ``ROOT/AVA_dataset/AVA.txt``), one image a line:
  ``index image_id v1 .. v10 tag1 tag2 challenge`` (v_i = votes for score i); images at
  ``ROOT/images/<id>.jpg``; split lists ``ROOT/aesthetics_image_lists/generic_ls_train.jpgl`` and
  ``generic_test.jpgl`` (one image id a line); ``tags.txt`` (``id name``) names the semantic tags.
* **AADB** (`read_aadb`): either the official ``imgListFiles_label/imgList{Train,Validation,Test}
  Regression_{score,<attribute>}.txt`` files (``file value`` a line; score in [0, 1], attributes
  in [-1, 1]) or one CSV with an ``ImageFile`` column, ``score`` and the 11 attribute columns;
  images in ``datasetImages_originalSize/``, ``datasetImages_warp256/`` or ``images/``.
* **CSV** (`read_csv`): a ``path`` column (relative to the CSV's folder) and either
  ``votes_1 .. votes_10`` or ``mean`` (on the scale ``lo:hi``, default 1:10) with an optional
  ``std`` column (the raters' spread, on the same scale), optional attribute columns with values
  in [0, 1] (1 = good in that respect).
* **LIVE-C** (`read_livec`): the LIVE In the Wild Challenge Database, either the official release
  (``ChallengeDB_release/Images/``, ``Data/AllImages_release.mat``, ``AllMOS_release.mat``,
  ``AllStdDev_release.mat``, read with scipy) or a ``labels.csv`` with ``file, mos, mos_std``
  (and optionally ``official_name``). MOS and spread are on 0..100; the seven rater-training
  photos (``t*.bmp``) are left out.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..core.imaging import ORIENTATION_TAG, load_image, oriented_size
from ..core.preprocess import target_size, to_array
from .weighting import pseudo_votes

log = logging.getLogger("aesview.training")

AADB_ATTRIBUTES = ["BalacingElements", "ColorHarmony", "Content", "DoF", "Light", "MotionBlur",
                   "Object", "Repetition", "RuleOfThirds", "Symmetry", "VividColor"]


class DatasetError(RuntimeError):
    pass


@dataclass
class Sample:
    votes: np.ndarray                    # (10,) vote counts for scores 1..10
    attributes: np.ndarray               # (K,) targets in [0, 1], NaN where unknown
    path: str | None = None              # image file (file datasets)
    image: np.ndarray | None = None      # uint8 (H, W, 3) at working size (generated sets)
    mask: np.ndarray | None = None       # float32 (H, W): where a local defect lies
    group: int = -1                      # samples of one source photo share a group
    family: str = "clean"
    severity: int = 0
    tags: tuple = field(default_factory=tuple)
    mean: float | None = None            # human mean opinion on 1..10 (datasets with a spread)
    std: float | None = None             # spread of the ratings on the same 1..10 scale
    mirror: bool = False                 # file samples: use the photo's mirror image
    name: str = ""                       # the photo's name in its dataset (for cards and splits)


def load_rgb(path: str | Path, long_side: int, multiple: int = 32) -> np.ndarray:
    """Decode a photo (EXIF orientation applied) to uint8 at the network's working size."""
    img = load_image(path, max_side=long_side).image
    return to_array(img, target_size(img.width, img.height, long_side, multiple))


def sample_pixels(sample: Sample, long_side: int, multiple: int = 32) -> np.ndarray:
    """A sample's pixels at the working size (decoded from its file when it has no array)."""
    if sample.image is not None:
        return sample.image
    img = load_rgb(str(sample.path), long_side, multiple)
    return np.ascontiguousarray(img[:, ::-1]) if sample.mirror else img


def image_shape(sample: Sample, long_side: int, multiple: int = 32) -> tuple[int, int]:
    """(height, width) the sample will have at the working size, read from the header only."""
    if sample.image is not None:
        h, w = sample.image.shape[:2]
        return h, w
    if sample.path is None:
        raise DatasetError("a sample with neither an image nor a file")
    with Image.open(sample.path) as im:
        w, h = oriented_size(im.size, im.getexif().get(ORIENTATION_TAG, 1))
    tw, th = target_size(w, h, long_side, multiple)
    return th, tw


def _find(root: Path, *names: str) -> Path | None:
    for n in names:
        for base in (root, root / "AVA_dataset"):
            if (base / n).exists():
                return base / n
    return None


def read_ava(root: str | Path, split: str = "train", split_list: str | Path | None = None,
             check_images: bool = True) -> list[Sample]:
    root = Path(root)
    ava_txt = _find(root, "AVA.txt")
    if ava_txt is None:
        raise DatasetError(f"{root}: no AVA.txt (looked in {root} and {root / 'AVA_dataset'})")
    images = _find(root, "images")
    if images is None:
        raise DatasetError(f"{root}: no images/ folder beside AVA.txt")
    tags = {}
    tags_txt = _find(root, "tags.txt")
    if tags_txt is not None:
        for line in tags_txt.read_text(errors="replace").splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].isdigit():
                tags[int(parts[0])] = parts[1].strip()
    if split_list is None:
        name = {"train": "generic_ls_train.jpgl", "test": "generic_test.jpgl"}.get(split)
        if name is None:
            raise DatasetError(f"unknown AVA split {split!r} (train or test, or give a list)")
        split_list = _find(root, f"aesthetics_image_lists/{name}")
    wanted = None
    if split_list is not None:
        wanted = {int(t) for t in Path(split_list).read_text().split() if t.strip().isdigit()}
    elif split != "train":
        raise DatasetError(f"{root}: no split list for {split!r}")
    out, missing = [], 0
    for n, line in enumerate(ava_txt.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 15:
            raise DatasetError(f"{ava_txt}:{n}: expected 15 columns, got {len(parts)}")
        image_id = int(parts[1])
        if wanted is not None and image_id not in wanted:
            continue
        votes = np.array([float(v) for v in parts[2:12]])
        if votes.sum() <= 0:
            log.warning("%s:%d: image %d has no votes; skipped", ava_txt, n, image_id)
            continue
        path = images / f"{image_id}.jpg"
        if check_images and not path.is_file():
            missing += 1
            continue
        sem = tuple(tags.get(int(t), str(t)) for t in parts[12:14] if int(t) != 0)
        out.append(Sample(votes, np.zeros(0, np.float32), path=str(path), tags=sem))
    if missing:
        log.warning("AVA: %d listed images are missing under %s; skipped", missing, images)
    if not out:
        raise DatasetError(f"{root}: no usable AVA images for split {split!r}")
    return out


def _score_votes(mean_1_10: float) -> np.ndarray:
    return pseudo_votes(float(np.clip(mean_1_10, 1.0, 10.0)))


def _aadb_images(root: Path) -> Path:
    for n in ("datasetImages_originalSize", "datasetImages_warp256", "images"):
        if (root / n).is_dir():
            return root / n
    return root


def read_aadb(root: str | Path, split: str = "train") -> list[Sample]:
    """Score s in [0, 1] becomes a pseudo histogram with mean 1 + 9 s; attributes a in [-1, 1]
    become targets (a + 1) / 2."""
    root = Path(root)
    images = _aadb_images(root)
    csvs = sorted(root.glob("*.csv"))
    rows: dict[str, dict] = {}
    labels_dir = root / "imgListFiles_label"
    part = {"train": "Train", "val": "Validation", "validation": "Validation", "test": "Test"}.get(split)
    if labels_dir.is_dir():
        if part is None:
            raise DatasetError(f"unknown AADB split {split!r} (train, val or test)")
        for key in ["score"] + AADB_ATTRIBUTES:
            f = labels_dir / f"imgList{part}Regression_{key}.txt"
            if not f.is_file():
                if key == "score":
                    raise DatasetError(f"{f} is missing")
                continue
            for line in f.read_text().splitlines():
                bits = line.split()
                if len(bits) >= 2:
                    rows.setdefault(bits[0], {})[key] = float(bits[1])
    elif csvs:
        with open(csvs[0], newline="") as fh:
            for r in csv.DictReader(fh):
                name = r.get("ImageFile") or r.get("image") or r.get("path")
                if not name:
                    raise DatasetError(f"{csvs[0]}: needs an ImageFile column")
                # (this compared against a tuple's .lower(): any CSV with a split column crashed)
                if "split" in r and r["split"] and r["split"].lower() not in (split.lower(), (part or "").lower()):
                    continue
                rows[name] = {k: float(r[k]) for k in ["score"] + AADB_ATTRIBUTES
                              if r.get(k) not in (None, "")}
    else:
        raise DatasetError(f"{root}: neither imgListFiles_label/ nor a label CSV found")
    out = []
    for name, vals in sorted(rows.items()):
        if "score" not in vals:
            continue
        path = images / name
        if not path.is_file():
            log.warning("AADB: %s is missing; skipped", path)
            continue
        att = np.array([(vals[a] + 1) / 2 if a in vals else np.nan for a in AADB_ATTRIBUTES],
                       np.float32)
        out.append(Sample(_score_votes(1 + 9 * vals["score"]), att, path=str(path)))
    if not out:
        raise DatasetError(f"{root}: no usable AADB images for split {split!r}")
    return out


def to_ten(value: float, lo: float, hi: float) -> float:
    """A score on lo..hi mapped linearly onto the 1..10 scale the weighting works on."""
    return 1.0 + 9.0 * (value - lo) / (hi - lo)


def rated_sample(path: str, mean: float, std: float, lo: float, hi: float, name: str = "",
                 attributes: np.ndarray | None = None) -> Sample:
    """A photo with a human mean opinion and the spread of its ratings (both on lo..hi)."""
    if not lo <= mean <= hi:
        raise ValueError(f"mean {mean} outside {lo}:{hi}")
    if not std > 0:
        raise ValueError(f"spread {std} is not positive")
    m10, s10 = to_ten(mean, lo, hi), 9.0 * std / (hi - lo)
    att = np.zeros(0, np.float32) if attributes is None else attributes
    return Sample(pseudo_votes(float(np.clip(m10, 1.0, 10.0)), sigma=max(s10, 0.3)), att,
                  path=path, mean=m10, std=s10, name=name or Path(path).name)


LIVEC_SCALE = (0.0, 100.0)


def _livec_release(root: Path) -> list[tuple[str, float, float, str]]:
    try:
        from scipy.io import loadmat
    except ImportError as exc:
        raise DatasetError("the official LIVE-C release keeps its scores in .mat files: "
                           "pip install scipy to read them") from exc
    data = root / "Data"
    try:
        names = loadmat(str(data / "AllImages_release.mat"))["AllImages_release"]
        mos = loadmat(str(data / "AllMOS_release.mat"))["AllMOS_release"]
        std = loadmat(str(data / "AllStdDev_release.mat"))["AllStdDev_release"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"{data}: cannot read the LIVE-C .mat files ({exc})") from exc
    names = [str(np.asarray(n).ravel()[0]) for n in np.asarray(names).ravel()]
    mos, std = np.asarray(mos, float).ravel(), np.asarray(std, float).ravel()
    if not len(names) == len(mos) == len(std):
        raise DatasetError(f"{data}: {len(names)} names but {len(mos)} scores and {len(std)} "
                           "spreads")
    # The release lists the 7 rater-training photos first, stored under Images/trainingImages/.
    out = []
    for n, m, s in zip(names, mos, std):
        sub = "trainingImages/" if (root / "Images" / "trainingImages" / n).is_file() else ""
        out.append((str(root / "Images" / (sub + n)), float(m), float(s), sub + n))
    return out


def _livec_csv(csv_path: Path) -> list[tuple[str, float, float, str]]:
    out = []
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"file", "mos", "mos_std"} - set(reader.fieldnames or [])
        if need:
            raise DatasetError(f"{csv_path}: columns missing: {', '.join(sorted(need))}")
        for n, r in enumerate(reader, 2):
            try:
                m, s = float(r["mos"]), float(r["mos_std"])
            except ValueError as exc:
                log.warning("%s:%d: %s; row skipped", csv_path, n, exc)
                continue
            official = r.get("official_name") or r["file"]
            out.append((str(csv_path.parent / r["file"]), m, s, official))
    return out


def is_rater_training(official_name: str) -> bool:
    """The 7 photos shown to LIVE-C's raters as examples (t1.bmp .. t7.bmp)."""
    base = Path(official_name).name.lower()
    return official_name.startswith("trainingImages/") or (
        base.startswith("t") and base[1:].split(".")[0].isdigit() and base.endswith(".bmp"))


def read_livec(root: str | Path) -> list[Sample]:
    """LIVE-C from its official release folder or from a folder (or file) with labels.csv."""
    root = Path(root)
    if root.is_file() and root.suffix.lower() == ".csv":
        rows = _livec_csv(root)
    elif (root / "labels.csv").is_file():
        rows = _livec_csv(root / "labels.csv")
    else:
        base = root / "ChallengeDB_release" if (root / "ChallengeDB_release").is_dir() else root
        if not (base / "Data" / "AllMOS_release.mat").is_file():
            raise DatasetError(f"{root}: neither labels.csv nor the official release "
                               "(ChallengeDB_release/Data/AllMOS_release.mat) found")
        rows = _livec_release(base)
    out, missing = [], 0
    lo, hi = LIVEC_SCALE
    for path, m, s, official in rows:
        if is_rater_training(official):
            continue
        if not Path(path).is_file():
            missing += 1
            continue
        try:
            out.append(rated_sample(path, m, s, lo, hi, name=official))
        except ValueError as exc:
            log.warning("LIVE-C %s: %s; skipped", official, exc)
    if missing:
        log.warning("LIVE-C: %d listed photos are missing under %s; skipped", missing, root)
    if not out:
        raise DatasetError(f"{root}: no usable LIVE-C photos")
    return out


def read_csv(csv_path: str | Path, attributes: list[str] | None = None,
             scale: tuple[float, float] = (1.0, 10.0)) -> list[Sample]:
    csv_path = Path(csv_path)
    lo, hi = scale
    if hi <= lo:
        raise DatasetError(f"bad score scale {lo}:{hi}")
    attributes = attributes or []
    out = []
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        if "path" not in cols:
            raise DatasetError(f"{csv_path}: needs a 'path' column")
        has_votes = all(f"votes_{i}" in cols for i in range(1, 11))
        if not has_votes and "mean" not in cols:
            raise DatasetError(f"{csv_path}: needs votes_1..votes_10 or a 'mean' column")
        missing = [a for a in attributes if a not in cols]
        if missing:
            raise DatasetError(f"{csv_path}: attribute columns missing: {', '.join(missing)}")
        for n, r in enumerate(reader, 2):
            path = Path(r["path"])
            if not path.is_absolute():
                path = csv_path.parent / path
            try:
                if has_votes:
                    votes = np.array([float(r[f"votes_{i}"]) for i in range(1, 11)])
                else:
                    m = float(r["mean"])
                    if not lo <= m <= hi:
                        raise ValueError(f"mean {m} outside {lo}:{hi}")
                    votes = _score_votes(1 + 9 * (m - lo) / (hi - lo))
                att = np.array([float(r[a]) if r[a] not in ("", None) else np.nan
                                for a in attributes], np.float32)
                rated = None
                if not has_votes and "std" in cols and r["std"] not in ("", None):
                    rated = rated_sample(str(path), m, float(r["std"]), lo, hi, attributes=att)
            except ValueError as exc:
                log.warning("%s:%d: %s; row skipped", csv_path, n, exc)
                continue
            if not path.is_file():
                log.warning("%s:%d: %s is missing; row skipped", csv_path, n, path)
                continue
            out.append(rated or Sample(votes, att, path=str(path)))
    if not out:
        raise DatasetError(f"{csv_path}: no usable rows")
    return out
