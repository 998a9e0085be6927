"""Frozen entry point of the `needle` command line (also the engine process: `needle serve`)."""

import multiprocessing
import sys

from engine.cli import main

if __name__ == "__main__":
    # The indexer extracts PDFs in a process pool; frozen children must not re-run the CLI.
    multiprocessing.freeze_support()
    sys.exit(main())
