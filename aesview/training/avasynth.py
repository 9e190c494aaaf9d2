"""A small dataset in AVA's exact file layout whose votes follow a property planted in the
images, so the AVA reader, the trainer and the maps can be proven without AVA itself.

Every image is a busy, sharp texture of coloured shapes. Low-rated images have one side (left
or right half, recorded in `planted.json`) blurred flat; high-rated ones stay sharp throughout.
Votes are drawn around a mean of about 6.6 (sharp) or 3.6 (half blurred), and a few images sit
near 5 with ambiguous votes, as in AVA.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .weighting import pseudo_votes

TAGS = {1: "Abstract", 15: "Nature", 19: "Texture"}


def _texture(rng, size):
    w, h = size
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(int(w * h / 60)):
        x, y = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(1, 5))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.rectangle([x, y, x + r, y + r], fill=colour)
        else:
            draw.line([x, y, x + rng.integers(-8, 8), y + rng.integers(-8, 8)], fill=colour)
    return img


def make_image(rng, size, blurred_side: str | None) -> Image.Image:
    img = _texture(rng, size)
    if blurred_side:
        w, h = size
        box = (0, 0, w // 2, h) if blurred_side == "left" else (w // 2, 0, w, h)
        img.paste(img.crop(box).filter(ImageFilter.GaussianBlur(6)), box[:2])
    return img


def _votes(rng, mean):
    v = pseudo_votes(float(np.clip(mean, 1.5, 9.5)), sigma=1.4, total=rng.integers(80, 200))
    return np.round(v).astype(int)


def write_ava(root: str | Path, n_train: int = 64, n_test: int = 32, size=(128, 96),
              seed: int = 0, n_ambiguous: int = 6) -> dict:
    """Write AVA.txt, tags.txt, images/<id>.jpg and the generic split lists under `root`.
    Returns {image_id: "left" | "right" | None} (the blurred side) and writes it to planted.json."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "aesthetics_image_lists").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    lines, planted, ids = [], {}, []
    total = n_train + n_test
    for k in range(total):
        image_id = 100000 + 7 * k
        low = k % 2 == 1
        side = str(rng.choice(["left", "right"])) if low else None
        mean = (3.6 if low else 6.6) + rng.normal(0, 0.3)
        if k < n_ambiguous:
            mean = 5.0 + rng.normal(0, 0.15)
        votes = _votes(rng, mean)
        tag1, tag2 = (19, 1) if k % 3 else (15, 0)
        lines.append(" ".join(map(str, [k + 1, image_id, *votes, tag1, tag2, 1000 + k % 5])))
        make_image(rng, size, side).save(root / "images" / f"{image_id}.jpg", quality=95)
        planted[image_id] = side
        ids.append(image_id)
    (root / "AVA.txt").write_text("\n".join(lines) + "\n")
    (root / "tags.txt").write_text("".join(f"{k} {v}\n" for k, v in TAGS.items()))
    lists = root / "aesthetics_image_lists"
    (lists / "generic_ls_train.jpgl").write_text("".join(f"{i}\n" for i in ids[:n_train]))
    (lists / "generic_test.jpgl").write_text("".join(f"{i}\n" for i in ids[n_train:]))
    (root / "planted.json").write_text(json.dumps({str(k): v for k, v in planted.items()}))
    return planted
