"""Frozen entry point of the `needle` command line (also the engine process: `needle serve`)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # The indexer extracts PDFs in a process pool. A frozen worker is this executable started
    # again; freeze_support() turns it into the worker and never returns. It runs before the
    # CLI is imported so that every worker start skips that import.
    multiprocessing.freeze_support()
    from engine.cli.main import main

    sys.exit(main())
