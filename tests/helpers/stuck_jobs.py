"""Job functions for the extraction pool's watchdog tests. They live in a module of their own so
spawned worker processes can import them by name (a test module's functions would drag pytest
fixtures along)."""

from __future__ import annotations

import time
from pathlib import Path

from engine.library.extraction import ExtractJob, ExtractOutcome, Heartbeat, run_extract_job


def hang_on_stuck_files(job: ExtractJob) -> ExtractOutcome:
    """Extract normally, except that a file named "stuck.*" hangs after its first heartbeat, as
    a worker inside native code does (no heartbeat, no return)."""
    if Path(job.path).name.startswith("stuck."):
        Heartbeat(job.heartbeat_dir, job.path)
        while True:
            time.sleep(1)
    return run_extract_job(job)


def report_ocr_pages(job: ExtractJob) -> ExtractOutcome:
    """Say "recognising page n of 3" for three pages, slowly, then extract normally."""
    heartbeat = Heartbeat(job.heartbeat_dir, job.path)
    for page in (1, 2, 3):
        heartbeat.ocr_page(page, 3)
        time.sleep(0.4)
    return run_extract_job(job)


def slow_pages_forever(job: ExtractJob) -> ExtractOutcome:
    """A file named "slow.*" reads page after page at 0.2 s each and never ends, beating on
    time, as the crafted PDF did under pypdf; other files are extracted normally."""
    if Path(job.path).name.startswith("slow."):
        heartbeat = Heartbeat(job.heartbeat_dir, job.path)
        while True:
            time.sleep(0.2)
            heartbeat.beat(force=True)
    return run_extract_job(job)


def ocr_slowly(job: ExtractJob) -> ExtractOutcome:
    """Recognise five pages at 0.5 s each (announced as OCR pages), then extract normally."""
    heartbeat = Heartbeat(job.heartbeat_dir, job.path)
    for page in range(1, 6):
        heartbeat.ocr_page(page, 5)
        time.sleep(0.5)
    return run_extract_job(job)
