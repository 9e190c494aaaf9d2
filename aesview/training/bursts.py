"""The burst check: does the clean take of a 5-frame burst score highest when every take is made
at the photo's full resolution and then goes through exactly the app's decode-and-shrink path?

Each burst of a held-out photo: hand-held framing jitter on every take (a window of 96-99 % of
the frame shifted at random), then one defect per take at full resolution — camera shake
(motion blur of 0.5 % of the long side), missed focus (lens blur of radius 0.3 % of the long
side), one stop under, high-ISO noise (sigma 0.05 in the shadows, 0.03 in highlights) — and
one clean take. Every take is saved as a JPEG (quality 92) and read back with the scorer's own
reduced decode. Sizes scale with the long side, so a 2048 px photo gets shake of 10 px, focus
blur of radius 6 px.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..core import defects as K
from ..core.imaging import load_image
from ..core.preprocess import target_size, to_array

TAKES = ("clean", "shake", "missed_focus", "under_1ev", "iso_noise")

# Full-resolution defects for training, by severity 1..3 (fractions of the long side; noise
# sigma on the 0..1 scale): what a camera file has before the app shrinks it.
NATIVE = {
    "native_noise": (0.02, 0.04, 0.07),
    "native_shake": (0.003, 0.005, 0.008),
    "native_focus": (0.002, 0.003, 0.005),
}
NATIVE_ATTRIBUTE = {"native_noise": "noise", "native_shake": "sharpness",
                    "native_focus": "sharpness"}


def _jitter(img: np.ndarray, rng) -> np.ndarray:
    h, w = img.shape[:2]
    f = rng.uniform(0.96, 0.99)
    ch, cw = int(h * f), int(w * f)
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def take(img: np.ndarray, kind: str, rng) -> np.ndarray:
    long_side = max(img.shape[:2])
    img = _jitter(img, rng)
    if kind == "shake":
        return K.convolve(img, K.line_kernel(0.005 * long_side, float(rng.uniform(0, 180))))
    if kind == "missed_focus":
        return K.convolve(img, K.disk_kernel(0.003 * long_side))
    if kind == "under_1ev":
        return K.exposure(img, -1.0)
    if kind == "iso_noise":
        return K.add_noise(img, 0.04, rng)
    return img


def native_defect(img: np.ndarray, family: str, severity: int, rng) -> np.ndarray:
    v = NATIVE[family][severity - 1]
    long_side = max(img.shape[:2])
    if family == "native_noise":
        return K.add_noise(img, v, rng)
    if family == "native_shake":
        return K.convolve(img, K.line_kernel(max(2.0, v * long_side), float(rng.uniform(0, 180))))
    return K.convolve(img, K.disk_kernel(max(1.0, v * long_side)))


def through_app(img: np.ndarray, long_side: int, tmp: Path, quality: int = 92) -> np.ndarray:
    """A full-resolution array saved as a camera would (JPEG) and read back as the app does."""
    f = tmp / "take.jpg"
    Image.fromarray(img).save(f, quality=quality)
    return app_view(f, long_side)


def app_view(path: Path, long_side: int, multiple: int = 32) -> np.ndarray:
    """What the scorer feeds the network: reduced decode, then the working size."""
    photo = load_image(path, max_side=long_side)
    return to_array(photo.image, target_size(*photo.image.size, long_side, multiple))


def burst_files(photos, bursts_per_photo: int, seed: int, tmp: Path):
    """The bursts `burst_check` scores: (photo, burst index, one JPEG per take of TAKES, saved
    in `tmp` as a camera would), each burst's takes drawn from its own seeded generator."""
    n = 0
    for p in photos:
        full = np.asarray(load_image(p).image.convert("RGB"))
        for b in range(bursts_per_photo):
            rng = np.random.default_rng([seed, b, n])
            files = []
            for kind in TAKES:
                f = tmp / f"{n}_{kind}.jpg"
                Image.fromarray(take(full, kind, rng)).save(f, quality=92)
                files.append(f)
            yield p, b, files
            n += 1


def burst_check(net, photos, normalization, long_side: int = 320, bursts_per_photo: int = 2,
                seed: int = 99) -> dict:
    from .evaluate import predict
    wins: list[bool] = []
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="aesview-bursts-") as tmp:
        for p, b, files in burst_files(photos, bursts_per_photo, seed, Path(tmp)):
            z, _, _ = predict(net, [app_view(f, long_side) for f in files], normalization)
            winner = TAKES[int(np.argmax(z))]
            wins.append(winner == "clean")
            rows.append({"photo": Path(p).name, "burst": b, "winner": winner,
                         "z": {k: float(v) for k, v in zip(TAKES, z)}})
    losers: dict[str, int] = {}
    for r in rows:
        if r["winner"] != "clean":
            w = str(r["winner"])
            losers[w] = losers.get(w, 0) + 1
    return {"clean_wins": float(np.mean(wins)), "bursts": len(rows), "beaten_by": losers,
            "rows": rows}
