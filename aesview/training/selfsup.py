"""The self-supervised set: good photos, their near-lossless variants (high class) and graded
defects of them (low class), each with a pseudo vote histogram from its severity, so the
paper's sample weighting applies unchanged. The attribute targets say which photographic
property a defect spoils; local defects carry the mask of where they lie."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..core.imaging import load_image
from ..core.preprocess import target_size, to_array
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

# Carved from the training photos for model selection (early stopping), so the held-out photos
# above stay untouched until the final evaluation. Chosen to include smooth areas (a bird on
# bokeh, water, sand, sky) that an over-fitted net mistakes for blur.
VALIDATION = (
    "Kleiber_by_Lukas_Baubkus.jpg",
    "mate_Aqua.jpg",
    "mate_Dune.jpg",
    "aitzgorri_by_Aitzol_Berasategi.jpg",
    "skimage_rocket.jpg",
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


def load_large(path, long_side: int) -> Image.Image:
    """The photo (EXIF orientation applied) with its long side at least `long_side` where the
    file is that large: crops taken from it are then downscaled, never upscaled."""
    img = load_image(path, max_side=long_side).image
    if max(img.size) > long_side:
        f = long_side / max(img.size)
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))),
                         Image.Resampling.LANCZOS)
    return img


def scene_variant(big: Image.Image, rng, long_side=320, multiple=32,
                  zoom=(0.5, 0.9), max_angle=1.0) -> np.ndarray:
    """A new clean "scene" from a good photo: a random window of 0.5-0.9 of the frame (never
    smaller than the working size allows without upscaling), mirrored half the time, rotated by
    at most 1 degree, with +-3 % exposure and +-1.5 % per-channel gain. A photographer would
    call it a good photo too, and its smooth parts are not defects: the net must learn that
    blur is *added* loss of detail, not a property of a scene."""
    W, H = big.size
    angle = float(rng.uniform(-max_angle, max_angle))
    img = big.rotate(angle, resample=Image.Resampling.BICUBIC) if angle else big
    # Rotation about the centre leaves empty corners at most this far in from each side.
    margin = 0.5 * np.sin(np.radians(abs(angle))) * (W + H) / max(W, H) + 0.005
    f_min = min(zoom[1], max(zoom[0], long_side / max(W, H)))
    f = rng.uniform(f_min, zoom[1])
    a = np.sqrt(rng.uniform(0.85, 1.18))
    fw = min(1 - 2 * margin, f * a)
    fh = min(1 - 2 * margin, f / a)
    left = margin + rng.random() * max(0.0, 1 - 2 * margin - fw)
    top = margin + rng.random() * max(0.0, 1 - 2 * margin - fh)
    crop = img.crop((round(left * W), round(top * H),
                     round((left + fw) * W), round((top + fh) * H)))
    if rng.random() < 0.5:
        crop = ImageOps.mirror(crop)
    out = to_array(crop, target_size(crop.width, crop.height, long_side, multiple))
    gain = rng.uniform(0.97, 1.03) * rng.uniform(0.985, 1.015, size=3)
    return np.clip(out.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def build(photos, long_side=320, near_lossless=7, copies=2, seed=0,
          families=tuple(D.DEFECTS), log=None, mirror_sources=False,
          scene_crops=0) -> list[Sample]:
    """Every photo: itself, `near_lossless` variants, and `copies` random draws of every defect
    family at every severity. `mirror_sources` also uses each photo's mirror image as a second
    source photo (a mirror is as good a photo; this doubles the scenes the net sees).
    `scene_crops` adds that many `scene_variant`s of each photo as further source photos, each
    with its own near-lossless variants and graded defects."""
    samples = []
    sources = []
    for path in photos:
        try:
            img = load_rgb(path, long_side)
            big = load_large(path, 2 * long_side) if scene_crops else None
        except Exception as exc:  # one unreadable photo must not stop the set
            if log:
                log.warning("%s: skipped (%s)", path, exc)
            continue
        name = Path(path).name
        sources.append((name, img))
        if mirror_sources:
            sources.append((name + "#mirror", np.ascontiguousarray(img[:, ::-1])))
        rng = np.random.default_rng(seed_for(seed, name, "scenes"))
        if big is not None:             # loaded whenever scene_crops asks for variants
            for k in range(scene_crops):
                sources.append((f"{name}#scene{k}", scene_variant(big, rng, long_side)))
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
