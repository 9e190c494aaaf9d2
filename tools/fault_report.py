"""Issue 13's table: each bomb case through the real CLI (`aesview score FILE --json`) and through
the loader alone (score-size decode, thumbnail, full-resolution original for export), with the
outcome and each fresh process's peak RSS (VmHWM), plus the whole zoo scored as one folder.

    .venv/bin/python tools/fault_report.py [--out report.md]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fault_zoo import LOADER_CHILD, PEAK_FN, build_bombs  # noqa: E402

CLI_CHILD = PEAK_FN + r"""
import sys
from aesview.cli import main
rc = main(sys.argv[1:])
sys.stderr.write("PEAK_MB %.0f\n" % peak_mb())
sys.exit(rc)
"""


def run_cli(args: list[str], cache: Path) -> tuple[int, float, float, str, str]:
    import os
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", CLI_CHILD, *args], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, AESVIEW_CACHE_DIR=str(cache)))
    took = time.monotonic() - t0
    peak = float(p.stderr.rsplit("PEAK_MB", 1)[1]) if "PEAK_MB" in p.stderr else float("nan")
    return p.returncode, peak, took, p.stdout, p.stderr


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    args = ap.parse_args()
    rows = ["| case | file size | CLI outcome (exit) | CLI peak RSS | loader: score / thumb / "
            "original | loader peak RSS |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        bombs = build_bombs(Path(tmp) / "bombs")
        for name, (path, _) in bombs.items():
            rc, peak, took, out, err = run_cli(["score", str(path), "--json", "-q"],
                                               Path(tmp) / "cache")
            tb = "Traceback" in err
            try:
                img = json.loads(out)["images"][0]
                outcome = f"error: {img['error']}" if img["error"] else f"scored {img['score']:.3f}"
            except (ValueError, KeyError, IndexError):
                outcome = "no JSON"
            lp = subprocess.run([sys.executable, "-c", LOADER_CHILD, str(path), "score", "thumb",
                                 "original"], capture_output=True, text=True, cwd=ROOT)
            ld = json.loads(lp.stdout)
            ops = " / ".join("ok" if "ok" in ld[o] else "error" for o in ("score", "thumb",
                                                                           "original"))
            rows.append(f"| {name} | {path.stat().st_size:,} B | {outcome[:90]} ({rc}"
                        f"{', TRACEBACK' if tb else ''}) | {peak:.0f} MB | {ops} | "
                        f"{ld['peak_mb']:.0f} MB |")
            print(rows[-1], flush=True)
        rc, peak, took, out, err = run_cli(["score", str(Path(tmp) / "bombs"), "--json", "-q"],
                                           Path(tmp) / "cache2")
        imgs = json.loads(out)["images"]
        rows.append(f"| whole zoo as one folder ({len(imgs)} files) | | "
                    f"{sum(i['error'] is None for i in imgs)} scored, "
                    f"{sum(i['error'] is not None for i in imgs)} per-file errors ({rc}"
                    f"{', TRACEBACK' if 'Traceback' in err else ''}), {took:.0f} s | "
                    f"{peak:.0f} MB | | |")
        print(rows[-1])
    text = "\n".join(rows) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
