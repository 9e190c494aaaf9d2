"""A small scored shoot for the report tests: real photos, the real model, one broken file."""

from __future__ import annotations

import shutil
from pathlib import Path

from .photos import shared_photo

NAMES = ("skimage_coffee.jpg", "skimage_astronaut.jpg", "mate_Storm.jpg", "sklearn_flower.jpg",
         "Kleiber_by_Lukas_Baubkus.jpg")


def make_shoot(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in NAMES:
        p = folder / name
        shutil.copy(shared_photo(name), p)
        paths.append(p)
    odd = folder / "odd <b>&amp; name.jpg"          # markup in a file name must stay text
    shutil.copy(shared_photo("skimage_chelsea.jpg"), odd)
    paths.append(odd)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    paths.append(broken)
    return paths


def score(paths: list[Path]):
    from aesview.core.scoring import Scorer
    from aesview.core.weights import load_model
    model = load_model(device="cpu")
    records = list(Scorer(model, cache=None).score_paths(paths))
    card = model.card
    return model, records, {"name": card.name, "architecture": card.architecture,
                            "data": card.data_short}
