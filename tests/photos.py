"""Where the test photos live: the team's shared folder, else the bundled samples."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "photos"


def shared_photo(name: str) -> Path:
    p = SHARED / name
    if not p.is_file():
        import pytest
        pytest.skip(f"{p} not available")
    return p


def ladybird_on_plain(tmp_path: Path, where: tuple[float, float]) -> tuple[Path, tuple[int, int, int, int]]:
    """The ladybird (a real photo's 240 x 180 px patch around it) pasted on a plain, softly
    graded 1800 x 1200 background at `where` (fractions of the frame): the photo's path and the
    ladybird's box in its pixels. A small sharp subject no crop cue or head was fitted on."""
    from PIL import Image, ImageFilter

    src = Image.open(shared_photo("mate_LadyBird.jpg")).convert("RGB")
    w, h = src.size
    patch = src.crop((round(0.655 * w) - 40, round(0.42 * h) - 40, round(0.755 * w) + 40, round(0.585 * h) + 40))
    bg = Image.linear_gradient("L").resize((1800, 1200)).convert("RGB")
    bg = Image.blend(Image.new("RGB", bg.size, (120, 140, 110)), bg, 0.15).filter(ImageFilter.GaussianBlur(4))
    x, y = round(where[0] * (1800 - patch.width)), round(where[1] * (1200 - patch.height))
    bg.paste(patch, (x, y))
    path = tmp_path / f"ladybird_{where[0]}_{where[1]}.jpg"
    bg.save(path, quality=92)
    return path, (x + 40, y + 40, x + patch.width - 40, y + patch.height - 40)
