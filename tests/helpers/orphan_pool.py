"""`python -m tests.helpers.orphan_pool`: start the extraction pool, print its worker's pid, give
it a job that never ends, and wait to be killed, as an engine killed mid-run is."""

from __future__ import annotations

import os
import time

from engine.library.extraction import new_pool


def main() -> None:
    pool = new_pool(1)
    worker_pid = pool.submit(os.getpid).result(timeout=120)
    pool.submit(time.sleep, 600)
    print(worker_pid, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
