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
from engine.library.extraction import ExtractJob, JobLimits, JobRunner
from engine.library.indexer import Indexer
from engine.models import IndexProgress
from engine.search.index import ChunkIndex
from engine.settings import Settings
from tests.helpers.pdf_factory import write_pdf
from tests.helpers.stuck_jobs import (
    hang_on_stuck_files,
    ocr_slowly,
    report_ocr_pages,
    slow_pages_forever,
)

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
        limits=JobLimits(stall_seconds=2.0),
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
        catalog,
        index,
        Settings(),
        ocr=False,
        limits=JobLimits(stall_seconds=2.0),
        work=hang_on_stuck_files,
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


# Tight limits so a runaway job is stopped in seconds: beats every 0.2 s (never silent for the
# 2 s stall limit), 1.5 s for the text layer, 1 s more per page OCR announces.
TIGHT = JobLimits(stall_seconds=2.0, text_seconds=1.5, ocr_page_seconds=1.0, max_seconds=30.0)


@pytest.mark.expect_log("ran for .* over its")
def test_a_job_that_beats_on_time_but_never_ends_is_stopped_by_the_wall_clock(
    tmp_path: Path,
) -> None:
    """The crafted PDF of issue 9 (item 3) held indexing for 524 s: pypdf caught the per-page
    alarm, and every page took just under the silence limit."""
    paths = [
        write_pdf(tmp_path / "slow.pdf", ["never finished"]),
        write_pdf(tmp_path / "fine.pdf", ["harbour lighthouse"]),
    ]
    jobs = [ExtractJob(str(path), f"d{n}", MB) for n, path in enumerate(paths)]
    runner = JobRunner(
        jobs,
        use_pool=True,
        workers=2,
        max_in_flight=2,
        text_pool_threshold=None,
        limits=TIGHT,
        work=slow_pages_forever,
    )
    started = time.monotonic()
    outcomes = {Path(o.path).name: o for o in runner.results(NEVER)}
    assert time.monotonic() - started < 30
    assert outcomes["slow.pdf"].error_kind == "too_slow"
    assert "took longer than the 2 s allowed" in outcomes["slow.pdf"].error
    assert outcomes["fine.pdf"].chunks and not outcomes["fine.pdf"].error_kind


def test_ocr_pages_the_worker_announces_extend_its_time(tmp_path: Path) -> None:
    """Long OCR jobs are legitimate: 5 pages at 0.5 s run 2.5 s, past the 1.5 s of a text job
    but within 1.5 + 5 × 1 s."""
    path = write_pdf(tmp_path / "scan.pdf", ["recognised slowly"])
    runner = JobRunner(
        [ExtractJob(str(path), "d", MB)],
        use_pool=True,
        workers=1,
        max_in_flight=1,
        text_pool_threshold=None,
        limits=TIGHT,
        work=ocr_slowly,
    )
    (outcome,) = list(runner.results(NEVER))
    assert outcome.chunks and not outcome.error_kind


def test_the_job_limit_grows_with_ocr_pages_up_to_its_cap() -> None:
    limits = JobLimits()
    assert limits.allowed(0) == 180.0  # 120 s of text layer + 60 s margin
    assert limits.allowed(10) == 180.0 + 10 * 60.0
    assert limits.allowed(10_000) == limits.max_seconds == 4 * 3600.0
