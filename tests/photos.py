"""Where the test photos live: the team's shared folder, else the bundled samples."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "photos"


def shared_photo(name: str) -> Path:
    p = SHARED / name
    if not p.is_file():
        import pytest
        pytest.skip(f"{p} not available")
    return p
