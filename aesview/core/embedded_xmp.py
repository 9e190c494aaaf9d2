"""The culling decision written INTO a JPEG, TIFF or DNG, for Lightroom Classic, which reads XMP
inside those files and ignores their sidecars. Opt-in (settings.embed_xmp, off by default): it
changes the photo file itself, so it is done as carefully as we know how:

- exiftool (maintained for twenty years, the reference XMP writer) writes a temporary copy
  beside the photo; the original is not opened for writing;
- the copy's image data is compared with the original's before anything is replaced: for a
  JPEG every segment but the metadata ones (APPn, COM) byte for byte, entropy-coded data
  included; for a TIFF the decoded pixels; for a DNG the raw sensor values (rawpy). Any
  difference, or a format we can't check, leaves the original untouched and raises;
- the checked copy takes the photo's name with an atomic rename (old file or new, never half).

The fields are the sidecar's: xmp:Rating (-1 for a reject), aesview:RejectedRating (a rejected
photo's stars, which come back on unreject), xmp:Label, digiKam:PickLabel and digiKam:ColorLabel.
exiftool writes only namespaces it knows, so ours is declared in resources/exiftool/aesview.config.
The photo's modification time changes (Lightroom notices the new metadata by it), so the score
cache rescores it once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .atomic import _publish, temp_path
from .culling import Decision, Flag
from .xmp import COLOURS, DIGIKAM_PICK, PICK_COLOUR

EMBEDDABLE = {".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff", ".dng": "dng"}
WARNING = ("Writing into photos changes the photo files themselves (their metadata only; the "
           "image data is checked to be identical before the file is replaced). Lightroom "
           "Classic needs it for JPEG, TIFF and DNG; other tools read the sidecars.")


class EmbedError(RuntimeError):
    pass


def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is None:
        raise EmbedError("writing XMP into photos needs exiftool (Debian: libimage-exiftool-perl)")
    return path


def exiftool_config() -> Path:
    """The config that teaches exiftool the aesview namespace (it must be exiftool's first
    argument, after -config)."""
    from ..paths import resources_dir
    path = resources_dir() / "exiftool" / "aesview.config"
    if not path.is_file():
        raise EmbedError(f"{path} is missing: aesview is not installed completely")
    return path


def can_embed(photo: str | os.PathLike[str]) -> bool:
    return Path(photo).suffix.lower() in EMBEDDABLE


def jpeg_image_segments(data: bytes) -> bytes:
    """Every JPEG segment except APP0-APP15 and COM, with the scan data to the end: what the
    decoder reads. Raises EmbedError for a file that is not a JPEG."""
    if data[:2] != b"\xff\xd8":
        raise EmbedError("not a JPEG")
    out = [data[:2]]
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise EmbedError("damaged JPEG segment structure")
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:          # start of scan: the rest is image data (and EOI)
            out.append(data[i:])
            return b"".join(out)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            out.append(data[i:i + 2 + length])
        i += 2 + length
    raise EmbedError("JPEG without image data")


def _same_image(original: Path, copy: Path, kind: str) -> bool:
    if kind == "jpeg":
        return jpeg_image_segments(original.read_bytes()) == jpeg_image_segments(copy.read_bytes())
    if kind == "tiff":
        import numpy as np
        from PIL import Image
        with Image.open(original) as a, Image.open(copy) as b:
            return a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))
    if kind == "dng":
        import numpy as np
        import rawpy
        with rawpy.imread(str(original)) as a, rawpy.imread(str(copy)) as b:
            return bool(np.array_equal(a.raw_image_visible, b.raw_image_visible))
    return False


def _tag_args(decision: Decision, label: str | None) -> list[str]:
    rating = -1 if decision.rejected else decision.stars
    # as in the sidecar: a reject's stars wait beside Rating -1; otherwise no stale copy is left
    kept = decision.stars if decision.rejected and decision.stars else ""
    args = [f"-XMP-xmp:Rating={rating}", f"-XMP-aesview:RejectedRating={kept}",
            f"-XMP-digiKam:PickLabel={DIGIKAM_PICK[decision.flag]}"]
    colour = label if label in COLOURS else (PICK_COLOUR if decision.flag is Flag.PICK else None)
    args.append(f"-XMP-xmp:Label={colour or ''}")
    args.append(f"-XMP-digiKam:ColorLabel={COLOURS[colour][1] if colour else ''}")
    return args


def embed_decision(photo: str | os.PathLike[str], decision: Decision,
                   label: str | None = None, timeout: float = 60.0) -> Path:
    """Write `decision` (and the colour `label`, if any) into the photo's own XMP. Raises
    EmbedError, leaving the photo as it was, when the format can't be embedded into, exiftool
    fails or the image data would change."""
    return embed_tags(photo, _tag_args(decision, label), "XMP", timeout)


def check_embeddable(photo: Path) -> str:
    """The photo's kind ("jpeg", "tiff", "dng"); EmbedError for anything we won't write into."""
    kind = EMBEDDABLE.get(photo.suffix.lower())
    if kind is None:
        raise EmbedError(f"{photo.name}: XMP is written into JPEG, TIFF and DNG files only")
    if not photo.is_file() or photo.is_symlink():
        raise EmbedError(f"{photo}: not a regular file; left alone")
    return kind


def embed_tags(photo: str | os.PathLike[str], tag_args: list[str], what: str,
               timeout: float = 60.0) -> Path:
    """The one careful way anything is written into a photo: exiftool writes `tag_args` into a
    temporary copy, the copy replaces the photo (atomic rename) only if its image data is
    identical. Raises EmbedError naming `what` and leaving the photo as it was otherwise."""
    photo = Path(photo)
    kind = check_embeddable(photo)
    tmp = temp_path(photo)
    try:
        run = subprocess.run([exiftool(), "-config", str(exiftool_config()), "-q", "-q", "-m",
                              *tag_args, "-o", str(tmp), str(photo)],
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode != 0 or not tmp.is_file():
            raise EmbedError(f"{photo.name}: exiftool could not write the {what} "
                             f"({(run.stderr or run.stdout).strip().splitlines()[-1:] or 'no output'})")
        try:
            same = _same_image(photo, tmp, kind)
        except EmbedError:
            raise
        except Exception as exc:  # noqa: BLE001 - can't check it = don't replace it
            raise EmbedError(f"{photo.name}: image data could not be compared ({exc}); "
                             "left as it was") from exc
        if not same:
            raise EmbedError(f"{photo.name}: exiftool's copy has different image data; "
                             "left as it was")
        _publish(tmp, photo, overwrite=True)
        return photo
    except subprocess.TimeoutExpired as exc:
        raise EmbedError(f"{photo.name}: exiftool took more than {timeout:g} s") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def sidecar_label(photo: str | os.PathLike[str], style: str = "darktable") -> str | None:
    """The colour label the photo's sidecar holds (so an embed never drops the user's Red)."""
    from .xmp import LABEL, _get, _parse, find_sidecar
    path = find_sidecar(photo, style)
    if path is None:
        return None
    label = _get(_parse(path)[0], LABEL)
    return label.capitalize() if label else None


def read_embedded(photo: str | os.PathLike[str]) -> dict[str, object]:
    """Rating, RejectedRating, Label, PickLabel and ColorLabel as exiftool reads them from inside
    the file."""
    import json
    out = subprocess.run([exiftool(), "-j", "-XMP-xmp:Rating", "-XMP-aesview:RejectedRating",
                          "-XMP-xmp:Label", "-XMP-digiKam:PickLabel", "-XMP-digiKam:ColorLabel",
                          str(photo)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    data: dict[str, object] = json.loads(out)[0]
    data.pop("SourceFile", None)
    return data
