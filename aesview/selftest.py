"""`aesview --self-test`: the whole pipeline on the bundled samples, headless, no Qt.

Meant for the place a user or a packager can't otherwise look into: a fresh wheel install or a
frozen bundle. It loads the default model (card and sha256 checked), scores the sample photos,
checks the results make sense, crops the best one and writes that crop to a temporary folder.
Every step prints one line; the first failure prints what went wrong and the exit code is 1.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_FAILED = 0, 1


class SelfTestFailure(Exception):
    pass


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise SelfTestFailure(message)


def _finite(a) -> bool:
    import numpy as np
    return a is not None and bool(np.isfinite(a).all())


def _load(model: str | None, device: str, say) -> object:
    from .core.weights import ModelError, load_model
    try:
        loaded = load_model(model, device=device)
    except ModelError as exc:
        raise SelfTestFailure(f"model: {exc}") from exc
    c = loaded.card
    say(f"model     {c.name} ({c.architecture}, {len(c.attributes)} attributes, "
        f"{'trained' if c.trained else 'UNTRAINED head'}) on {loaded.device}")
    say(f"          {loaded.path} (sha256 {c.sha256[:16]}… matches its card)")
    return loaded


def _score(loaded, samples: Path, say) -> list:
    from .core.imaging import list_images
    from .core.records import rank
    from .core.scoring import Scorer
    _check(samples.is_dir(), f"samples: {samples} is not a folder")
    paths = [str(p) for p in list_images(samples)]
    _check(len(paths) >= 2, f"samples: {samples} holds {len(paths)} photo(s); at least 2 are "
                            "needed to rank")
    t0 = time.perf_counter()
    records = list(Scorer(loaded, cache=None).score_paths(paths))
    dt = time.perf_counter() - t0
    failed = [r for r in records if not r.ok]
    _check(not failed, "scoring failed for " + "; ".join(f"{r.path}: {r.error}" for r in failed))
    _check(len(records) == len(paths), f"scored {len(records)} of {len(paths)} photos")
    k = len(loaded.attributes)
    for r in records:
        name = Path(r.path).name
        if r.score is None or r.aesam is None or r.attam is None:
            raise SelfTestFailure(f"{name}: no score or maps")
        _check(0.0 <= r.score <= 1.0 and math.isfinite(r.score), f"{name}: score {r.score} is not in [0, 1]")
        _check(_finite(r.aesam) and r.aesam.ndim == 2 and r.aesam.size > 0,
               f"{name}: AesAM is missing or not finite")
        _check(_finite(r.attam) and r.attam.shape == (k, *r.aesam.shape),
               f"{name}: AttAM is missing, not finite or not (K, h, w)")
        _check(sorted(r.attributes) == sorted(loaded.attributes)
               and all(0.0 <= v <= 1.0 for v in r.attributes.values()),
               f"{name}: attribute scores are missing or outside [0, 1]")
    ranked = rank(records)
    scores = [r.score for r in ranked if r.score is not None]
    spread = scores[0] - scores[-1]
    _check(spread > 1e-6, f"ranking is degenerate: all {len(ranked)} samples score {scores[0]:.6f}")
    say(f"scored    {len(records)} samples in {dt:.1f} s; scores {scores[-1]:.3f}..{scores[0]:.3f}")
    for r, score in zip(ranked, scores):
        say(f"          #{r.rank:<2} {score:.3f}  {Path(r.path).name}")
    return ranked


def _crop(best, say) -> None:
    from PIL import Image

    from .core.crop import best_crop
    from .core.export import export_crop
    w, h = best.image_size
    box = tuple(int(v) for v in best_crop(best.aesam, best.image_size, "original"))
    left, top, right, bottom = box
    _check(0 <= left < right <= w and 0 <= top < bottom <= h,
           f"crop {box} does not lie inside the {w}x{h} photo")
    with tempfile.TemporaryDirectory(prefix="aesview-selftest-") as tmp:
        out = export_crop(best.path, box, Path(tmp) / "best-crop.jpg")
        with Image.open(out) as im:
            im.load()
            size = im.size
        _check(size == (right - left, bottom - top),
               f"the written crop is {size[0]}x{size[1]}, expected {right - left}x{bottom - top}")
    say(f"crop      {Path(best.path).name}: {box} of {w}x{h}, written and re-read as {size[0]}x{size[1]}")


def _qt_loaded() -> list[str]:
    """Qt modules (and GUI modules of ours) that got imported. In a PyInstaller bundle the PySide6
    runtime hook itself imports PySide6.QtCore at start-up, so there only the GUI ones count."""
    gui = ("aesview.gui", "PySide6.QtGui", "PySide6.QtWidgets")
    frozen = getattr(sys, "frozen", False)
    return sorted(m for m in sys.modules
                  if m.startswith(gui) or (not frozen and m.split(".")[0] == "PySide6"))


def run_self_test(model: str | None = None, samples: str | Path | None = None,
                  device: str = "auto", out: TextIO | None = None) -> int:
    """0 when every step passed, 1 (with the reason on stderr) at the first that did not."""
    out = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    t0 = time.perf_counter()
    try:
        import torch

        from . import __version__
        from .paths import samples_dir
        frozen = " (frozen bundle)" if getattr(sys, "frozen", False) else ""
        say(f"aesview   {__version__}{frozen}, Python {sys.version.split()[0]}, torch {torch.__version__}"
            f" (CUDA {'available' if torch.cuda.is_available() else 'not available'})")
        loaded = _load(model, device, say)
        try:
            folder = Path(samples) if samples else samples_dir()
        except FileNotFoundError as exc:
            raise SelfTestFailure(f"samples: {exc}") from exc
        ranked = _score(loaded, folder, say)
        _crop(ranked[0], say)
        _check(not _qt_loaded(), "the self-test pulled in Qt (" + ", ".join(_qt_loaded())
               + "); the core must not import it")
    except SelfTestFailure as exc:
        print(f"aesview self-test FAILED: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - any surprise is a failed self-test, said plainly
        import traceback
        traceback.print_exc()
        print(f"aesview self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    say(f"self-test passed in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK
