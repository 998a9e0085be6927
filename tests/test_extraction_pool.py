"""The extraction pool's watchdog: a worker stuck where no alarm reaches (native code) is stopped,
its file is recorded as too slow, and the files that shared the pool are read all the same;
OCR progress travels from the workers to the progress display."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cancel import NEVER
from engine.library.catalog import Catalog
from engine.library.extraction import ExtractJob, JobRunner
from engine.library.indexer import Indexer
from engine.models import IndexProgress
from engine.search.index import ChunkIndex
from engine.settings import Settings
from tests.helpers.pdf_factory import write_pdf
from tests.helpers.stuck_jobs import hang_on_stuck_files, report_ocr_pages

MB = 1024 * 1024


@pytest.mark.expect_log("made no progress for")
def test_a_stuck_worker_is_stopped_and_the_other_files_still_read(tmp_path: Path) -> None:
    paths = [
        write_pdf(tmp_path / "stuck.pdf", ["never read"]),
        write_pdf(tmp_path / "fine.pdf", ["harbour lighthouse"]),
        write_pdf(tmp_path / "also fine.pdf", ["another page"]),
    ]
    jobs = [ExtractJob(str(path), f"d{n}", MB) for n, path in enumerate(paths)]
    runner = JobRunner(
        jobs,
        use_pool=True,
        workers=2,
        max_in_flight=3,
        text_pool_threshold=None,
        stall_seconds=2.0,
        work=hang_on_stuck_files,
    )
    started = time.monotonic()
    outcomes = {Path(o.path).name: o for o in runner.results(NEVER)}
    assert time.monotonic() - started < 60
    assert outcomes["stuck.pdf"].error_kind == "too_slow"
    assert "no progress" in outcomes["stuck.pdf"].error
    assert outcomes["fine.pdf"].chunks and not outcomes["fine.pdf"].error_kind
    assert outcomes["also fine.pdf"].chunks and not outcomes["also fine.pdf"].error_kind


@pytest.mark.expect_log("made no progress for")
def test_a_too_slow_file_is_recorded_and_not_retried_until_it_changes(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    write_pdf(notes / "stuck.pdf", ["never read"])
    write_pdf(notes / "fine.pdf", ["harbour lighthouse"])
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    index = ChunkIndex.open(tmp_path / "index", writable=True)
    indexer = Indexer(
        catalog, index, Settings(), ocr=False, stall_seconds=2.0, work=hang_on_stuck_files
    )
    summary = indexer.reconcile([notes])
    assert (summary.added, summary.errors) == (1, 1)
    record = catalog.get(str(notes / "stuck.pdf"))
    assert record is not None and (record.state, record.error_kind) == ("error", "too_slow")
    assert index.search("harbour")
    assert indexer.reconcile([notes]).unchanged == 2


def test_ocr_progress_reaches_the_progress_callback(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", ["text"])
    seen: list[tuple[str, int, int]] = []
    runner = JobRunner(
        [ExtractJob(str(path), "d", MB)],
        use_pool=True,
        workers=1,
        max_in_flight=1,
        text_pool_threshold=None,
        work=report_ocr_pages,
        on_activity=lambda p, page, pages: seen.append((Path(p).name, page, pages)),
    )
    (outcome,) = list(runner.results(NEVER))
    assert outcome.chunks
    assert ("scan.pdf", 2, 3) in seen
    assert IndexProgress("indexing", ocr_page=2, ocr_pages=3).activity == (
        "recognising text (page 2 of 3)"
    )


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent that does not reap it (a container's init)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        return "\nState:\tZ" not in status.read_text("utf-8", "replace")
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX parent pids and signals")
def test_extraction_workers_exit_when_the_engine_is_killed() -> None:
    """Workers outlived a `kill -9`ed engine for an hour, ~130 MB each (issue 9, item 9)."""
    engine = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.orphan_pool"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert engine.stdout is not None
        worker = int(engine.stdout.readline())
        assert _running(worker)
    finally:
        engine.kill()
        engine.wait()
    deadline = time.monotonic() + 20
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    still_running = _running(worker)
    if still_running:
        os.kill(worker, signal.SIGKILL)
    assert not still_running
