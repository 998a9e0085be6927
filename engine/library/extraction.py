"""Extraction jobs and the process pool that runs them, with a watchdog.

A job is plain data in and out (`ExtractJob` -> `ExtractOutcome`), so it crosses process
boundaries by pickling. PDFs and images go to a pool of worker processes: OCR loads a 300 MB
engine that the indexing process should not keep, and only a worker's main thread can enforce
the per-page time limits (engine/ingest/deadline.py). Other files are extracted in this process
between pool results, unless there are many (`default_text_pool_threshold`).

Heartbeats and the watchdog
---------------------------
C code (PDFium parsing a page, ONNX Runtime running a model) cannot be interrupted by the alarm.
So each worker writes a heartbeat file (`<pid>.json` in a folder of the runner's: the job's
path, the time, and the page OCR is on) before every page it reads. The runner reads them every
fraction of a second: they carry "recognising text (page 3 of 40)" to the progress display, and
a job whose worker has been silent for `stall_seconds` is stopped: its worker is killed, the job
is recorded as `too_slow`, and the other jobs that were in the pool are run again (the kill
breaks the pool for all of them, through no fault of theirs). Files, not a queue: killing a
worker in the middle of writing to a shared queue can leave its lock held for good.

Silence is not the only limit: a worker can beat on time and still never finish (pypdf catches
the per-page alarm around each form XObject, so a PDF whose pages each take just under the
silence limit ran for 524 s). So each job also has a wall clock kept here, from the start time
its heartbeats carry: `JobLimits.allowed(ocr_pages)` — the text layer's budget plus a margin,
plus the OCR budget of every page the worker says it will recognise, capped. A job past it is
stopped the same way and recorded as `too_slow`. OCR of a 300-page scan legitimately takes many
minutes and gets them; a 20-page text PDF gets three.

A worker that dies by itself (a crash inside a native library, the OOM killer) also breaks the
pool. It is recreated and the jobs in flight retried; a job that was in flight during
`MAX_ATTEMPTS` breaks is recorded as an `internal` error, so one poisonous file cannot stall
the run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path

from engine.cancel import CancelToken
from engine.errors import ErrorKind, NeedleError
from engine.ingest.chunk import chunk_document
from engine.ingest.document import extraction_problem
from engine.ingest.extract import extract_file
from engine.ingest.ocr import OCR_PAGE_SECONDS, OcrSession
from engine.ingest.pdf import PDF_DOCUMENT_SECONDS
from engine.models import Chunk

log = logging.getLogger(__name__)

TOO_SLOW_ADVICE = "It may be damaged or extremely complex; it is tried again when it changes."

HASH_BLOCK = 1 << 20
# A worker silent this long is stuck in native code: the per-page limits (15 s for pypdf, 60 s
# for OCR) have long passed, and a dense page takes ~30 s to recognise on a busy machine.
STALL_SECONDS = 180.0
PARENT_CHECK_SECONDS = 0.5  # how often a worker checks that the engine that started it lives
# Heartbeats are written at most this often, except when OCR starts a page (always shown).
HEARTBEAT_INTERVAL = 1.0
# The wall clock of one pool job (see the module docstring): the text layer's own document limit
# plus a margin for opening, hashing and chunking; each page OCR reports adds the OCR page limit;
# nothing runs longer than the cap.
JOB_MARGIN_SECONDS = 60.0
JOB_MAX_SECONDS = 4 * 3600.0
POOL_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class JobLimits:
    """When the runner stops a pool worker from outside: silent for `stall_seconds`, or running
    longer than `allowed(ocr_pages)`."""

    stall_seconds: float = STALL_SECONDS
    text_seconds: float = PDF_DOCUMENT_SECONDS + JOB_MARGIN_SECONDS
    ocr_page_seconds: float = OCR_PAGE_SECONDS
    max_seconds: float = JOB_MAX_SECONDS

    def allowed(self, ocr_pages: int) -> float:
        """Seconds a job may run, given the pages its worker said OCR will recognise."""
        return min(self.max_seconds, self.text_seconds + max(0, ocr_pages) * self.ocr_page_seconds)


DEFAULT_LIMITS = JobLimits()


@dataclass(frozen=True)
class ExtractJob:
    path: str
    doc_id: str
    max_bytes: int
    known_hash: str = ""  # the catalog's hash: when the file still hashes to it, skip extraction
    ocr: bool = False  # recognise text in images and scanned pages
    ocr_cache: str = ""  # the OCR cache file; "" for none
    heartbeat_dir: str = ""  # where a pool worker reports progress; "" in this process


@dataclass(frozen=True)
class ExtractOutcome:
    path: str
    doc_id: str
    content_hash: str = ""
    unchanged: bool = False
    title: str = ""
    kind: str = ""
    page_count: int | None = None
    ocr_pages: int = 0
    chunks: tuple[Chunk, ...] = ()
    note_kind: str = ""  # a problem that did not stop indexing (e.g. "partial")
    note: str = ""
    error_kind: str = ""  # set when the file could not be indexed
    error: str = ""


def file_hash(path: str | os.PathLike[str]) -> str:
    """Content hash used for change and rename detection (BLAKE2b-128 of the bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class Heartbeat:
    """A worker's sign of life for the job it runs (see the module docstring)."""

    def __init__(self, folder: str, path: str) -> None:
        self.file = Path(folder) / f"{os.getpid()}.json"
        self.path = path
        self.started = time.time()
        self._last = 0.0
        self.beat(force=True)

    def beat(self, *, force: bool = False, page: int = 0, pages: int = 0) -> None:
        now = time.time()
        if not force and now - self._last < HEARTBEAT_INTERVAL:
            return
        self._last = now
        record = {
            "path": self.path,
            "at": now,
            "started": self.started,
            "ocr_page": page,
            "ocr_pages": pages,
        }
        partial = self.file.with_suffix(".tmp")
        with contextlib.suppress(OSError):  # the runner may be gone; the job still finishes
            partial.write_text(json.dumps(record), "utf-8")
            os.replace(partial, self.file)

    def ocr_page(self, page: int, pages: int) -> None:
        self.beat(force=True, page=page, pages=pages)


@dataclass(frozen=True)
class WorkerState:
    pid: int
    path: str
    at: float  # time.time() of the last heartbeat
    ocr_page: int = 0
    ocr_pages: int = 0
    started: float = 0.0  # time.time() when the worker began this job


def read_heartbeats(folder: str) -> list[WorkerState]:
    states = []
    for entry in Path(folder).glob("*.json"):
        try:
            record = json.loads(entry.read_text("utf-8"))
            states.append(
                WorkerState(
                    int(entry.stem),
                    str(record["path"]),
                    float(record["at"]),
                    int(record.get("ocr_page", 0)),
                    int(record.get("ocr_pages", 0)),
                    float(record.get("started", record["at"])),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being replaced right now, or left by a killed worker
    return states


def run_extract_job(job: ExtractJob) -> ExtractOutcome:
    """Hash, extract and chunk one file. Never raises: every failure becomes an outcome, because
    a NeedleError does not survive pickling back from a worker and one file must not stop a run."""
    try:
        heartbeat = Heartbeat(job.heartbeat_dir, job.path) if job.heartbeat_dir else None
        if job.known_hash:
            current = file_hash(job.path)
            if current == job.known_hash:
                return ExtractOutcome(job.path, job.doc_id, current, unchanged=True)
        document = extract_file(
            Path(job.path),
            max_bytes=job.max_bytes,
            ocr=_ocr_session(job, heartbeat),
            on_page=heartbeat.beat if heartbeat is not None else None,
        )
        chunks = tuple(chunk_document(job.doc_id, document))
        problem = extraction_problem(document)
        return ExtractOutcome(
            job.path,
            job.doc_id,
            content_hash=file_hash(job.path),
            title=document.title,
            kind=document.kind,
            page_count=document.page_count,
            ocr_pages=document.ocr_pages,
            chunks=chunks,
            note_kind=problem.kind if problem else "",
            note=problem.message if problem else "",
        )
    except NeedleError as error:
        return ExtractOutcome(job.path, job.doc_id, error_kind=error.kind, error=str(error))
    except FileNotFoundError:
        return ExtractOutcome(
            job.path, job.doc_id, error_kind=ErrorKind.VANISHED, error=f"{job.path} disappeared."
        )
    except Exception as error:  # one file's bug must not stop the run; recorded and logged
        log.exception("unexpected failure while extracting %s", job.path)
        message = f"Unexpected error while reading {job.path}: {type(error).__name__}: {error}"
        return ExtractOutcome(job.path, job.doc_id, error_kind=ErrorKind.INTERNAL, error=message)


def _ocr_session(job: ExtractJob, heartbeat: Heartbeat | None) -> OcrSession | None:
    if not job.ocr:
        return None
    from engine.ingest.ocr import shared_recogniser
    from engine.ingest.ocr_cache import OcrCache

    cache = OcrCache(Path(job.ocr_cache)) if job.ocr_cache else None
    progress = heartbeat.ocr_page if heartbeat is not None else None
    return OcrSession(shared_recogniser(), cache, progress)


def needs_pool(path: str) -> bool:
    """PDFs and images: native code that needs the watchdog, and OCR's engine."""
    return path.lower().endswith(POOL_SUFFIXES)


def default_text_pool_threshold(cpu_count: int | None = None) -> int | None:
    """How many text files make a run worth sending them to the pool; None for never.

    On 2 cores, text is faster here: this process's Python thread plus Tantivy's two indexing
    threads already keep both cores busy, and a worker only competes with them (measured on
    the corpora: 7.2-9.5 s in-process against 10.4-10.9 s with one worker, docs/index-schema.md
    "Reconcile"). With 4 or more cores the workers get cores of their own, and pickling a
    chunked note costs only ~3% of extracting it."""
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return 64 if cores >= 4 else None


def split_jobs(
    jobs: list[ExtractJob], *, use_pool: bool, text_pool_threshold: int | None
) -> tuple[list[ExtractJob], list[ExtractJob]]:
    """(jobs for the process pool, jobs for this process).

    PDFs and images always go to the pool (see `needs_pool`). Other files go there too when
    there are at least `text_pool_threshold` of them (see `default_text_pool_threshold`); a
    handful are done here, since starting worker processes would cost more than it saves."""
    if not use_pool:
        return [], list(jobs)
    texts = [job for job in jobs if not needs_pool(job.path)]
    if text_pool_threshold is not None and len(texts) >= text_pool_threshold:
        return list(jobs), []
    return [job for job in jobs if needs_pool(job.path)], texts


Work = Callable[[ExtractJob], ExtractOutcome]
Activity = Callable[[str, int, int], None]  # (path, OCR page, OCR pages) of a running job


class JobRunner:
    """Yields outcomes as jobs complete (see the module docstring)."""

    MAX_ATTEMPTS = 2
    MAX_POOL_RESTARTS = 5

    def __init__(
        self,
        jobs: list[ExtractJob],
        *,
        use_pool: bool,
        workers: int,
        max_in_flight: int,
        text_pool_threshold: int | None,
        limits: JobLimits = DEFAULT_LIMITS,
        work: Work = run_extract_job,
        on_activity: Activity | None = None,
    ) -> None:
        self.pool_jobs, self.local_jobs = split_jobs(
            jobs, use_pool=use_pool, text_pool_threshold=text_pool_threshold
        )
        self.workers = workers
        self.max_in_flight = max_in_flight
        self.limits = limits
        self.work = work
        self.on_activity = on_activity
        self._executor: ProcessPoolExecutor | None = None
        self._restarts = 0
        self._heartbeats = ""
        # Futures of jobs whose stuck worker the watchdog killed (with the reason to record),
        # and of the jobs the kill broke the pool under (they are run again, without counting
        # it as their failure).
        self._stopped: dict[Future[ExtractOutcome], str] = {}
        self._collateral: set[Future[ExtractOutcome]] = set()
        self._killing = False  # the watchdog killed a worker of the current pool
        self._owner: dict[Future[ExtractOutcome], ProcessPoolExecutor] = {}
        self._reported: dict[str, tuple[int, int]] = {}

    def results(self, cancel: CancelToken) -> Generator[ExtractOutcome, None, None]:
        if not self.pool_jobs:
            for job in self.local_jobs:
                cancel.raise_if_cancelled()
                yield self.work(job)
            return
        self._heartbeats = tempfile.mkdtemp(prefix="needle-workers-")
        self.pool_jobs = [replace(job, heartbeat_dir=self._heartbeats) for job in self.pool_jobs]
        try:
            yield from self._interleaved(cancel)
        except BaseException:
            if self._executor is not None:
                _stop_now(self._executor)
            raise
        finally:
            shutil.rmtree(self._heartbeats, ignore_errors=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = new_pool(self._pool_size())
        return self._executor

    def _pool_size(self) -> int:
        """No more workers than there are jobs (each costs a process start)."""
        return max(1, min(self.workers, len(self.pool_jobs)))

    def _interleaved(self, cancel: CancelToken) -> Iterator[ExtractOutcome]:
        waiting: list[tuple[ExtractJob, int]] = [(job, 0) for job in reversed(self.pool_jobs)]
        local = list(reversed(self.local_jobs))
        in_flight: dict[Future[ExtractOutcome], tuple[ExtractJob, int]] = {}
        while waiting or in_flight or local:
            cancel.raise_if_cancelled()
            if self._restarts > self.MAX_POOL_RESTARTS:
                yield from self._give_up_on_pool(waiting, local)
            while waiting and len(in_flight) < self.max_in_flight:
                job, attempts = waiting.pop()
                try:
                    pool = self._pool()
                    future = pool.submit(self.work, job)
                    in_flight[future] = (job, attempts)
                    self._owner[future] = pool
                except BrokenProcessPool:
                    # A worker died between two submissions; the job never ran.
                    waiting.append((job, attempts))
                    self._replace_broken_pool()
                    break
            # Do local work while the workers are busy; block only when none is left.
            done = _wait_some(set(in_flight), 0.0 if local else 0.2)
            self._watch(in_flight)
            broken = False
            for future in done:
                job, attempts = in_flight.pop(future)
                owner = self._owner.pop(future, None)
                try:
                    yield future.result()
                except BrokenProcessPool:
                    # Only a break of the current pool replaces it: futures of a pool replaced
                    # already may report their break after the new pool started.
                    broken = broken or owner is self._executor
                    yield from self._after_break(future, job, attempts, waiting)
            if broken:
                self._replace_broken_pool()
            if local and not done:
                yield self.work(local.pop())

    def _after_break(
        self,
        future: Future[ExtractOutcome],
        job: ExtractJob,
        attempts: int,
        waiting: list[tuple[ExtractJob, int]],
    ) -> Iterator[ExtractOutcome]:
        reason = self._stopped.pop(future, None)
        if reason is not None:
            yield ExtractOutcome(job.path, job.doc_id, error_kind=ErrorKind.TOO_SLOW, error=reason)
        elif future in self._collateral:
            self._collateral.discard(future)
            waiting.append((job, attempts))  # broken by our own kill, not by this job
        elif attempts + 1 >= self.MAX_ATTEMPTS:
            yield _crashed(job)
        else:
            waiting.append((job, attempts + 1))

    def _watch(self, in_flight: dict[Future[ExtractOutcome], tuple[ExtractJob, int]]) -> None:
        """Report OCR progress of running jobs, and stop the worker of a stuck one."""
        if not self._heartbeats or not in_flight:
            return
        futures = {job.path: future for future, (job, _) in in_flight.items()}
        now = time.time()
        for state in read_heartbeats(self._heartbeats):
            future = futures.get(state.path)
            if future is None or future in self._stopped:
                continue
            reason = self._overdue(state, now)
            if reason is not None:
                self._killing = True
                self._stopped[future] = reason
                self._collateral |= set(in_flight) - {future}
                self._kill(state.pid)
                continue
            progress = (state.ocr_page, state.ocr_pages)
            if self.on_activity is not None and self._reported.get(state.path) != progress:
                self._reported[state.path] = progress
                self.on_activity(state.path, *progress)

    def _overdue(self, state: WorkerState, now: float) -> str | None:
        """Why the job of `state` must be stopped now (the message recorded), else None."""
        silent = now - state.at
        if silent > self.limits.stall_seconds:
            log.warning("%s made no progress for %.0f s; stopping it", state.path, silent)
            return (
                f"Reading {state.path} made no progress for {self.limits.stall_seconds:.0f} s, "
                f"so it was stopped. {TOO_SLOW_ADVICE}"
            )
        running, allowed = now - state.started, self.limits.allowed(state.ocr_pages)
        if running > allowed:
            log.warning(
                "%s ran for %.0f s, over its %.0f s; stopping it", state.path, running, allowed
            )
            budget = f" with {state.ocr_pages} page(s) to recognise" if state.ocr_pages else ""
            return (
                f"Reading {state.path} took longer than the {allowed:.0f} s allowed for a "
                f"file{budget}, so it was stopped. {TOO_SLOW_ADVICE}"
            )
        return None

    def _kill(self, pid: int) -> None:
        processes = getattr(self._executor, "_processes", None) or {}
        process = processes.get(pid)
        if process is not None:
            process.kill()
        else:
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    def _replace_broken_pool(self) -> None:
        if self._killing:
            self._killing = False  # the watchdog's own doing, not a worker failing
        else:
            log.warning("an extraction worker died; restarting the worker pool")
            self._restarts += 1
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        for entry in Path(self._heartbeats).glob("*.json"):
            entry.unlink(missing_ok=True)  # the dead workers' last words

    def _give_up_on_pool(
        self, waiting: list[tuple[ExtractJob, int]], local: list[ExtractJob]
    ) -> Iterator[ExtractOutcome]:
        """Worker processes keep dying (no memory, a broken install): extract the remaining
        files here, except those that were in flight during a crash, which might be the cause."""
        log.error("the extraction pool failed %d times; continuing in-process", self._restarts)
        for job, attempts in waiting:
            if attempts:
                yield _crashed(job)
            else:
                local.append(replace(job, heartbeat_dir=""))
        waiting.clear()


def _crashed(job: ExtractJob) -> ExtractOutcome:
    message = (
        f"Reading {job.path} made the extraction process crash; the file is skipped "
        "(it is retried when it changes)."
    )
    return ExtractOutcome(job.path, job.doc_id, error_kind=ErrorKind.INTERNAL, error=message)


def new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of extraction workers that end when this process does, however it ends."""
    return ProcessPoolExecutor(
        max_workers=workers,
        # spawn: the same on every OS, and safe in a process that runs threads (fork would copy
        # held locks of the watcher and SQLite threads).
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker when its parent dies. A killed engine (`kill -9`, a
    crash) never shuts its pool down, and a worker blocked on the job queue, or deep in a PDF,
    would live on holding its memory. The parent's death shows as a new parent pid."""
    watcher = threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True
    )
    watcher.start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _wait_some(futures: set[Future[ExtractOutcome]], timeout: float) -> set[Future[ExtractOutcome]]:
    if not futures:
        return set()
    done, _ = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    return set(done)


def _stop_now(executor: ProcessPoolExecutor) -> None:
    """Cancel queued jobs and end the workers now: a cancelled run must not keep both cores busy
    finishing a large PDF nobody will use. The executor has no public way to kill running
    tasks, so its worker processes are terminated directly."""
    workers = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        if process.is_alive():
            process.terminate()
