"""The self-supervised set: good photos, their near-lossless variants (high class) and graded
defects of them (low class), each with a pseudo vote histogram from its severity, so the
paper's sample weighting applies unchanged. The attribute targets say which photographic
property a defect spoils; local defects carry the mask of where they lie."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from . import degradations as D
from .datasets import Sample, load_rgb
from .weighting import pseudo_votes

# Held out from every training run of the shipped model; evaluation uses only these.
HELD_OUT = (
    "skimage_chelsea.jpg",
    "skimage_coffee.jpg",
    "mate_LadyBird.jpg",
    "sunset_by_Aitzol_Berasategi.jpg",
    "Bridge_by_Sander_Klootwijk.jpg",
    "mate_Storm.jpg",
    "sklearn_china.jpg",
    "Dragonfly_by_Bolly.jpg",
)

CLEAN_MEAN = 7.5
NEAR_LOSSLESS_MEAN = 7.2
# Severity -> pseudo mean score: a mild defect sits nearer the threshold, so sample weighting
# trusts its label less.
DEFECT_MEAN = {1: 4.3, 2: 3.3, 3: 2.3}
# Severity -> target for the spoiled attribute's P(good).
ATTRIBUTE_TARGET = {1: 0.2, 2: 0.05, 3: 0.0}
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")


def list_photos(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder of photos")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_EXTENSIONS)


def split_photos(folder, held_out=HELD_OUT) -> tuple[list[Path], list[Path]]:
    photos = list_photos(folder)
    held = set(held_out)
    return [p for p in photos if p.name not in held], [p for p in photos if p.name in held]


def attribute_targets(family: str, severity: int) -> np.ndarray:
    t = np.ones(len(D.ATTRIBUTES), np.float32)
    if family in D.DEFECTS:
        t[D.ATTRIBUTES.index(D.DEFECTS[family][1])] = ATTRIBUTE_TARGET[severity]
    return t


def seed_for(*parts) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def defect_sample(img, family, severity, rng, group) -> Sample:
    out, mask = D.apply(family, img, severity, rng)
    return Sample(pseudo_votes(DEFECT_MEAN[severity]), attribute_targets(family, severity),
                  image=out, mask=mask, group=group, family=family, severity=severity)


def high_sample(img, group, family="clean") -> Sample:
    mean = CLEAN_MEAN if family == "clean" else NEAR_LOSSLESS_MEAN
    return Sample(pseudo_votes(mean), attribute_targets(family, 0), image=img, group=group,
                  family=family)


def build(photos, long_side=320, near_lossless=7, copies=2, seed=0,
          families=tuple(D.DEFECTS), log=None, mirror_sources=False) -> list[Sample]:
    """Every photo: itself, `near_lossless` variants, and `copies` random draws of every defect
    family at every severity. `mirror_sources` also uses each photo's mirror image as a second
    source photo (a mirror is as good a photo; this doubles the scenes the net sees)."""
    samples = []
    sources = []
    for path in photos:
        try:
            img = load_rgb(path, long_side)
        except Exception as exc:  # one unreadable photo must not stop the set
            if log:
                log.warning("%s: skipped (%s)", path, exc)
            continue
        sources.append((Path(path).name, img))
        if mirror_sources:
            sources.append((Path(path).name + "#mirror", np.ascontiguousarray(img[:, ::-1])))
    for g, (name, img) in enumerate(sources):
        rng = np.random.default_rng(seed_for(seed, name))
        samples.append(high_sample(img, g))
        for _ in range(near_lossless):
            samples.append(high_sample(D.near_lossless(img, rng), g, "near_lossless"))
        for fam in families:
            for sev in D.SEVERITIES:
                for _ in range(copies):
                    samples.append(defect_sample(img, fam, sev, rng, g))
    return samples
