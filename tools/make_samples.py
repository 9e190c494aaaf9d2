"""Build the sample shoot in resources/samples/ from the freely licensed photos.

    python tools/make_samples.py [--src /work/shared/photos] [--dst resources/samples]

Reproducible: the same sources give the same files (fixed seeds, fixed parameters). Every photo
is downscaled to at most 1600 px on the long side and saved as JPEG quality 88 with EXIF Artist,
Copyright (author and licence) and ImageDescription (what was changed). Five frames carry a
realistic flaw made from one of the good ones, so the shoot has something to cull:
out of focus, underexposed, tilted horizon, high-ISO noise, awkward framing. One frame stores
its pixels turned on their side with EXIF Orientation 6, as a camera held upright writes them.
ATTRIBUTION.md is written from the source folder's LICENSES.md, copied as it stands there.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

LONG_SIDE = 1600
QUALITY = 88
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from aesview.core.atomic import atomic_write_bytes, atomic_write_text  # noqa: E402

# (source, sample name, subject)
GOOD = [
    ("Kleiber_by_Lukas_Baubkus.jpg", "nuthatch.jpg", "a nuthatch on a tree trunk"),
    ("Picture_0B_by_freespace.jpg", "fig.jpg", "a fig on a red plate"),
    ("Wine_by_Jakkub_Mede.jpg", "wine-and-drum.jpg", "a wine bottle and a drum"),
    ("aitzgorri_by_Aitzol_Berasategi.jpg", "aitzgorri-meadow.jpg", "a meadow below Aitzgorri"),
    ("friends_by_Aitzol_Berasategi.jpg", "dogs-at-window.jpg", "two dogs at a window"),
    ("life_by_Aitzol_Berasategi.jpg", "forest-stream.jpg", "a forest stream"),
    ("mate_Dune.jpg", "dune-grass.jpg", "dune grass by the sea"),
    ("mate_LadyBird.jpg", "ladybird.jpg", "a ladybird on a stem"),
    ("mate_Storm.jpg", "storm-road.jpg", "a storm over a road"),
    ("picosdeeuropa_by_Aitzol_Berasategi.jpg", "picos-de-europa.jpg",
     "a path in the Picos de Europa"),
    ("seeding_by_Clements_Engelhardt.jpg", "dandelion-seeds.jpg", "dandelion seed heads"),
    ("skimage_coffee.jpg", "coffee.jpg", "a cup of coffee"),
    ("sklearn_china.jpg", "pagoda.jpg", "a pagoda above a lake"),
    ("sunset_by_Aitzol_Berasategi.jpg", "sunset-hills.jpg", "sunset over hills"),
]
ROTATED = "wine-and-drum.jpg"   # stored on its side, EXIF Orientation 6

# (good sample it is made from, flawed sample name, flaw function name, description)
FLAWED = [
    ("dogs-at-window.jpg", "dogs-at-window-out-of-focus.jpg", "defocus",
     "out of focus (Gaussian blur, radius 0.5 % of the long side)"),
    ("picos-de-europa.jpg", "picos-de-europa-underexposed.jpg", "underexpose",
     "underexposed by 3 stops (in linear light)"),
    ("aitzgorri-meadow.jpg", "aitzgorri-meadow-tilted.jpg", "tilt",
     "horizon tilted by 5 degrees (rotated, cropped to the inner rectangle, resized back)"),
    ("pagoda.jpg", "pagoda-high-iso-noise.jpg", "noise",
     "high-ISO look: one stop pushed, luminance and chroma noise (seed 7)"),
    ("nuthatch.jpg", "nuthatch-awkward-crop.jpg", "awkward_crop",
     "awkwardly framed: cropped to the lower right, cutting the bird at the frame's edge"),
]


# ------------------------------------------------------------------------------------ flaws

def _to_linear(a: np.ndarray) -> np.ndarray:
    a = a / 255.0
    return np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)


def _to_srgb8(lin: np.ndarray) -> Image.Image:
    lin = np.clip(lin, 0.0, 1.0)
    a = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return Image.fromarray((a * 255 + 0.5).astype(np.uint8))


def defocus(im: Image.Image) -> Image.Image:
    return im.filter(ImageFilter.GaussianBlur(radius=0.005 * max(im.size)))


def underexpose(im: Image.Image) -> Image.Image:
    return _to_srgb8(_to_linear(np.asarray(im, np.float64)) * 2 ** -3.0)


def tilt(im: Image.Image, degrees: float = 5.0) -> Image.Image:
    w, h = im.size
    t = math.radians(degrees)
    # Largest rectangle of the frame's aspect inside the rotated frame, scaled back up.
    s = min(w / (w * math.cos(t) + h * math.sin(t)), h / (w * math.sin(t) + h * math.cos(t)))
    rot = im.rotate(degrees, resample=Image.Resampling.BICUBIC)
    cw, ch = w * s, h * s
    box = (round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2))
    return rot.crop(box).resize((w, h), Image.Resampling.LANCZOS)


def noise(im: Image.Image) -> Image.Image:
    rng = np.random.default_rng(7)
    lin = _to_linear(np.asarray(im, np.float64)) * 0.5           # shot a stop under ...
    out = np.asarray(_to_srgb8(lin * 2.0), np.float64)            # ... and pushed back
    h, w = out.shape[:2]
    lum = rng.normal(0.0, 9.0, (h, w, 1))
    chroma = np.asarray(Image.fromarray(
        np.clip(rng.normal(128.0, 14.0, (h, w, 3)), 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.5)), np.float64) - 128.0
    return Image.fromarray(np.clip(out + lum + chroma, 0, 255).round().astype(np.uint8))


def awkward_crop(im: Image.Image) -> Image.Image:
    w, h = im.size
    return im.crop((round(0.45 * w), round(0.45 * h), w, h))


# ------------------------------------------------------------------------------ attribution

def read_licenses(src: Path) -> dict[str, dict[str, str]]:
    """file name -> {author, licence, source} from the LICENSES.md table."""
    rows = {}
    for line in (src / "LICENSES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("file", "---") or set(cells[0]) <= {"-", " "}:
            continue
        for name in re.split(r"\s*,\s*", cells[0]):
            rows[name] = {"author": cells[1], "licence": cells[2], "source": cells[3]}
    return rows


# -------------------------------------------------------------------------------------- main

def downscale(im: Image.Image) -> Image.Image:
    im = im.convert("RGB")
    if max(im.size) <= LONG_SIDE:
        return im
    s = LONG_SIDE / max(im.size)
    return im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)


def save(im: Image.Image, path: Path, lic: dict, description: str, orientation: int = 1) -> None:
    exif = Image.Exif()
    exif[0x013B] = lic["author"]                                          # Artist
    exif[0x8298] = f"{lic['author']}. Licence: {lic['licence']}"            # Copyright
    exif[0x010E] = description                                            # ImageDescription
    exif[0x0131] = "aesview tools/make_samples.py"                        # Software
    if orientation != 1:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=QUALITY, optimize=True, exif=exif.tobytes())
    atomic_write_bytes(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path("/work/shared/photos"))
    ap.add_argument("--dst", type=Path, default=ROOT / "resources" / "samples")
    args = ap.parse_args(argv)
    licences = read_licenses(args.src)
    args.dst.mkdir(parents=True, exist_ok=True)
    for old in args.dst.glob("*.jpg"):
        old.unlink()

    made: dict[str, tuple[Image.Image, str]] = {}
    table = []
    for source, name, subject in GOOD:
        lic = licences[source]
        im = downscale(Image.open(args.src / source))
        made[name] = (im, source)
        change = f"downscaled to {im.width}x{im.height}"
        if name == ROTATED:
            # Stored turned 90 degrees anticlockwise; Orientation 6 turns it back for display.
            save(im.transpose(Image.Transpose.ROTATE_90), args.dst / name, lic,
                 f"{subject}; {change}", orientation=6)
            change += "; pixels stored on their side with EXIF Orientation 6 (displays upright)"
        else:
            save(im, args.dst / name, lic, f"{subject}; {change}")
        table.append((name, source, lic, change))
    for base, name, flaw, description in FLAWED:
        im, source = made[base]
        bad = globals()[flaw](im)
        lic = licences[source]
        change = f"downscaled; {description}; {bad.width}x{bad.height}"
        save(bad, args.dst / name, lic, f"{dict((g[1], g[2]) for g in GOOD)[base]}; {change}")
        table.append((name, source, lic, change))

    lines = [
        "# Sample shoot: attribution", "",
        "Made by `tools/make_samples.py` from the photos in the project's shared photo folder "
        "(their LICENSES.md is the source of the author, licence and origin columns, copied as "
        "they stand there). Each file's EXIF also names its author and licence. The licences "
        "are those of the original photographs and apply to these derived files too; the "
        "CC-BY-SA and GPL-2+ ones must be shared under the same licence.", "",
        "| file | made from | author | licence | came from | what was changed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, source, lic, change in sorted(table):
        lines.append(f"| {name} | {source} | {lic['author']} | {lic['licence']} | "
                     f"{lic['source']} | {change} |")
    lines += ["", "Licence texts: CC-BY-2.0 <https://creativecommons.org/licenses/by/2.0/>, "
              "CC-BY-4.0 <https://creativecommons.org/licenses/by/4.0/>, CC-BY-SA-3.0 "
              "<https://creativecommons.org/licenses/by-sa/3.0/>, CC-BY-SA-4.0 "
              "<https://creativecommons.org/licenses/by-sa/4.0/>, CC0-1.0 "
              "<https://creativecommons.org/publicdomain/zero/1.0/>, GPL-2+ "
              "<https://www.gnu.org/licenses/old-licenses/gpl-2.0.html> (version 2 or later).", ""]
    atomic_write_text(args.dst / "ATTRIBUTION.md", "\n".join(lines))
    total = sum(p.stat().st_size for p in args.dst.glob("*.jpg"))
    print(f"{len(table)} photos, {total / 1e6:.2f} MB in {args.dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
