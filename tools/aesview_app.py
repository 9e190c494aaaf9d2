"""Entry point of the frozen app (PyInstaller runs this file as __main__; aesview/__main__.py
uses a relative import and cannot be the script)."""

import multiprocessing
import sys

from aesview.cli import main

if __name__ == "__main__":
    # A frozen program re-runs itself for multiprocessing children (DataLoader workers in
    # `aesview train`); without this each child would start the app again.
    multiprocessing.freeze_support()
    sys.exit(main())
