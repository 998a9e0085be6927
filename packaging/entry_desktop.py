"""Frozen entry point of the Needle desktop app."""

import multiprocessing
import sys

if __name__ == "__main__":
    # The desktop starts no workers itself; this keeps a stray multiprocessing child of any
    # library from opening a second window.
    multiprocessing.freeze_support()
    from desktop.app import main

    sys.exit(main())
