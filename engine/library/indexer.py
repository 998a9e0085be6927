"""Keeping the index equal to the disk: reconcile folders, apply watcher batches, remove folders.

Commit order (why the catalog and the index never disagree after a crash)
--------------------------------------------------------------------------
Tantivy only makes writes visible at `commit()`; everything added since the last commit is lost
when the process dies. So each batch of files goes:

1. index writes for the batch (add/delete/rename), not yet committed;
2. catalog: every row the batch touches is written in state `pending` (new and renamed rows too),
   in one SQLite transaction;
3. `index.commit()`;
4. catalog: the rows' final states (`indexed`, `error`, `skipped`, or removed), one transaction.

A crash before 2 loses the index writes, and the catalog still describes the old files, whose
size/mtime no longer match, so they are redone. A crash between 2 and 4 leaves `pending` rows: the
next reconcile deletes their doc_id from the index and extracts them again (or drops them when
the file is gone). If the index itself was rebuilt (`index.rebuilt`) or its chunk count disagrees
with the catalog, the files whose documents are missing are re-extracted.

Extraction runs in a process pool (PDFs and images always, text files when there are many; see
engine/library/extraction.py and docs/index-schema.md "Reconcile"), with a bounded number of jobs
in flight so memory stays flat on any corpus, a watchdog for stuck workers, and results consumed
as they complete.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind
from engine.ingest.extract import kind_for_path, scanned_extensions
from engine.ingest.ocr import ocr_status
from engine.library.catalog import Catalog
from engine.library.extraction import (
    DEFAULT_LIMITS,
    ExtractJob,
    ExtractOutcome,
    JobLimits,
    JobRunner,
    Work,
    default_text_pool_threshold,
    file_hash,
    needs_pool,
    run_extract_job,
)
from engine.library.ignore import IgnoreRules
from engine.library.scanner import (
    DiskFile,
    ScanProblem,
    is_supported,
    normalize_extensions,
    outside,
    real_roots,
    scan_folders,
)
from engine.models import Chunk, FileRecord, FileState, IndexProgress, IndexSummary, SearchFilters
from engine.paths import disk_path, stored_path
from engine.settings import Settings
from engine.throttle import Throttle

log = logging.getLogger(__name__)

# Kinds that are a property of the file (or of this installation) rather than a failure: shown,
# but state "skipped".
SKIPPED_KINDS = frozenset(
    {
        ErrorKind.TOO_LARGE,
        ErrorKind.NO_TEXT,
        ErrorKind.SYMLINK_LOOP,
        ErrorKind.OUTSIDE_FOLDERS,
        ErrorKind.PATH_TOO_LONG,
        ErrorKind.UNSUPPORTED,
        ErrorKind.OCR_UNAVAILABLE,
    }
)
# Errors worth retrying on every reconcile even when the file did not change.
RETRY_KINDS = frozenset({ErrorKind.INTERNAL, ErrorKind.UNREADABLE, ErrorKind.VANISHED})


class WritableIndex(Protocol):
    """What the indexer needs of `engine.search.index.ChunkIndex` opened writable."""

    @property
    def rebuilt(self) -> bool: ...

    def add_document(
        self,
        doc_id: str,
        path: str,
        title: str,
        chunks: Sequence[Chunk],
        *,
        extension: str,
        modified: float,
        size: int,
        kind: str,
    ) -> object: ...

    def delete_document(self, doc_id: str) -> None: ...

    def rename_document(self, doc_id: str, new_path: str, new_title: str) -> int: ...

    def commit(self) -> None: ...

    def count(self, filters: SearchFilters | None = None) -> int: ...


# ---------------------------------------------------------------------------------------------
# Progress


class ProgressReport:
    """The run's `IndexProgress`, changed in place as work proceeds; snapshots reach `callback`
    through a `Throttle` (at most one per `interval`, plus forced ones: phase changes and the
    final state, so the last value is always delivered)."""

    def __init__(
        self,
        callback: Callable[[IndexProgress], None] | None,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.progress = IndexProgress(phase="scanning")
        self._throttle = (
            Throttle(callback, interval, deliver_late=False, clock=clock) if callback else None
        )

    def update(self, *, force: bool = False, **changes: object) -> None:
        for name, value in changes.items():
            setattr(self.progress, name, value)
        if self._throttle is not None:
            self._throttle.push(replace(self.progress), force=force)


# ---------------------------------------------------------------------------------------------
# The plan: what must happen to which file


@dataclass
class _Plan:
    jobs: list[tuple[ExtractJob, DiskFile, FileRecord | None]] = field(default_factory=list)
    renames: list[tuple[FileRecord, DiskFile]] = field(default_factory=list)
    deletions: list[FileRecord] = field(default_factory=list)
    problems: list[tuple[ScanProblem, FileRecord | None]] = field(default_factory=list)
    stale_doc_ids: list[str] = field(default_factory=list)  # delete from the index first
    unchanged: int = 0

    @property
    def total(self) -> int:
        return len(self.jobs) + len(self.renames) + len(self.deletions) + len(self.problems)


@dataclass
class _Batch:
    """Index writes not yet committed, and the catalog rows that describe them."""

    pending: list[FileRecord] = field(default_factory=list)
    pending_removed: list[str] = field(default_factory=list)
    final: list[FileRecord] = field(default_factory=list)
    final_removed: list[str] = field(default_factory=list)
    touches_index: bool = False
    size: int = 0

    def clear(self) -> None:
        self.pending.clear()
        self.pending_removed.clear()
        self.final.clear()
        self.final_removed.clear()
        self.touches_index = False
        self.size = 0


def _state_for(kind: str) -> FileState:
    return "skipped" if kind in SKIPPED_KINDS else "error"


def _extension(path: str) -> str:
    return Path(path).suffix.lower().lstrip(".")


def _doc_kind(path: str) -> str:
    kind = kind_for_path(Path(path))
    return kind or ""


class Indexer:
    """Reconciles folders with the catalog and the index. One Indexer per writable index; the
    caller holds the WriterLock.

    Public: `reconcile(folders, progress=, cancel=)`, `apply_changes(changed, deleted, moved)`,
    `remove_folder(folder)`, `drop_ignored(folders)`, `rules`, `extensions`.
    """

    def __init__(
        self,
        catalog: Catalog,
        index: WritableIndex,
        settings: Settings,
        *,
        workers: int = 2,
        commit_every_files: int = 1000,
        commit_every_seconds: float = 5.0,
        progress_interval: float = 0.1,
        text_pool_threshold: int | None = default_text_pool_threshold(),
        ocr: bool | None = None,
        ocr_cache: Path | None = None,
        limits: JobLimits = DEFAULT_LIMITS,
        work: Work = run_extract_job,
    ) -> None:
        """`ocr`: recognise text in images and scanned pages (default: when installed);
        `ocr_cache`: the file of texts already recognised; `limits`: when a worker that is silent
        or over its time is stopped (`JobLimits`); `work`: the job function."""
        self.catalog = catalog
        self.index = index
        self.settings = settings
        self.rules = IgnoreRules.usable(settings.ignore_patterns)
        self.ocr = ocr_status().available if ocr is None else ocr
        self.ocr_cache = ocr_cache
        self.limits = limits
        self.work = work
        self.extensions = normalize_extensions(scanned_extensions(ocr=self.ocr))
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self.workers = max(1, workers)
        self.max_in_flight = self.workers * 4
        self.commit_every_files = commit_every_files
        self.commit_every_seconds = commit_every_seconds
        self.progress_interval = progress_interval
        self.text_pool_threshold = text_pool_threshold
        self._rebuild_handled = False

    # -- public ------------------------------------------------------------------------------

    def reconcile(
        self,
        folders: Sequence[str | os.PathLike[str]],
        *,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken = NEVER,
    ) -> IndexSummary:
        """Bring catalog and index in line with what is on disk under `folders` (the complete
        list of watched folders: rows outside all of them are removed; rows under a folder that
        is missing right now, such as an unplugged drive, are kept untouched).

        Raises `Cancelled` when `cancel` is set; everything finished before that is committed
        and consistent, the rest is picked up by the next reconcile."""
        started = time.monotonic()
        report = ProgressReport(progress, self.progress_interval)
        report.update(phase="scanning", force=True)
        roots = [Path(folder).absolute() for folder in folders]
        self.rules.refresh()  # ignore files may have changed while nobody was watching
        scan = scan_folders(
            roots,
            self.rules,
            self.extensions,
            cancel=cancel,
            progress=lambda found, folder: report.update(done=found, current=str(folder)),
        )
        summary = IndexSummary()
        plan = self._plan_reconcile(scan.files, scan.problems, scan.missing_roots)
        summary.unchanged = plan.unchanged
        report.update(phase="indexing", total=plan.total, done=0, force=True)
        self._execute(plan, summary, report, cancel, use_pool=True)
        summary.seconds = time.monotonic() - started
        report.update(phase="done", current="", force=True)
        return summary

    def apply_changes(
        self,
        changed: Iterable[str | os.PathLike[str]],
        deleted: Iterable[str | os.PathLike[str]],
        moved: Iterable[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
        *,
        folders: Sequence[str | os.PathLike[str]] | None = None,
        progress: Callable[[IndexProgress], None] | None = None,
    ) -> IndexSummary:
        """Apply one watcher batch, committed before returning. A changed path that is gone (or
        now ignored) counts as deleted; a deleted path that is a folder removes everything under
        it; a moved folder moves every file under it; a deleted path and a new path of equal
        content in the same batch are a rename. `folders` (the watched folders) lets ignore
        rules apply relative to the right folder; without it, rules are judged by file name.
        Text files of small batches are extracted in this process, anything else in the pool.
        `progress` hears about batches that extract files (a scanned PDF's OCR takes minutes)."""
        started = time.monotonic()
        roots = [Path(folder).absolute() for folder in folders or ()]
        summary = IndexSummary()
        plan = self._plan_changes(roots, changed, deleted, moved)
        summary.unchanged = plan.unchanged
        # Small batches are extracted here; PDFs and images (native code under the watchdog,
        # OCR's engine) and large batches (a folder copied in) go to the pool.
        threshold = self.text_pool_threshold
        use_pool = (threshold is not None and len(plan.jobs) >= threshold) or any(
            needs_pool(str(disk.path)) for _, disk, _ in plan.jobs
        )
        # Only batches that go to the pool take long enough for progress to be worth showing.
        report = ProgressReport(progress if use_pool else None, self.progress_interval)
        report.update(phase="indexing", total=plan.total, done=0, force=bool(plan.jobs))
        self._execute(plan, summary, report, NEVER, use_pool=use_pool)
        if plan.jobs:
            report.update(phase="done", current="", force=True)
        summary.seconds = time.monotonic() - started
        return summary

    def remove_folder(self, folder: str | os.PathLike[str]) -> int:
        """Drop every file under `folder` from index and catalog; returns how many. Files also
        under another watched folder come back at the next reconcile with those folders."""
        records = self.catalog.records_under(stored_path(Path(folder).absolute()))
        batch = _Batch()
        for record in records:
            self._delete_into(batch, record)
        self._flush(batch)
        return len(records)

    def drop_ignored(self, folders: Sequence[str | os.PathLike[str]]) -> int:
        """Drop from index and catalog every file under `folders` that the ignore rules now
        exclude (a pattern just added), without scanning the disk; returns how many."""
        self.rules.refresh()
        batch = _Batch()
        dropped = 0
        for folder in folders:
            root = Path(folder).absolute()
            for record in self.catalog.records_under(stored_path(root)):
                if self.rules.ignored(Path(disk_path(record.path)), root):
                    self._delete_into(batch, record)
                    dropped += 1
        self._flush(batch)
        return dropped

    # -- planning ----------------------------------------------------------------------------

    def _plan_reconcile(
        self,
        files: list[DiskFile],
        problems: list[ScanProblem],
        missing_roots: list[Path],
    ) -> _Plan:
        plan = _Plan()
        known = {record.path: record for record in self.catalog.all_records()}
        stale = self._stale_paths(known)
        # Recorded at once, so an interrupted repair (cancel, crash) is resumed next time.
        self.catalog.mark_pending(p for p in stale if known[p].state != "pending")
        self._rebuild_handled = True
        kept_roots = [stored_path(root) for root in missing_roots]
        on_disk: dict[str, DiskFile] = {stored_path(f.path): f for f in files}
        problem_paths = {stored_path(problem.path) for problem in problems}
        new_files: list[DiskFile] = []
        for path, disk in on_disk.items():
            record = known.get(path)
            if record is None:
                new_files.append(disk)
            elif path in stale:
                plan.jobs.append((self._job(record.doc_id), disk, record))
            elif self._needs_work(record, disk):
                plan.jobs.append((self._job(record.doc_id, record), disk, record))
            else:
                plan.unchanged += 1
        for problem in problems:
            record = known.get(stored_path(problem.path))
            if record is not None and (record.error_kind, record.error) == (
                problem.kind,
                problem.message,
            ):
                plan.unchanged += 1  # already recorded with this reason
            else:
                plan.problems.append((problem, record))
        gone = [
            record
            for path, record in known.items()
            if path not in on_disk
            and path not in problem_paths
            and not any(_is_under(path, kept) for kept in kept_roots)
        ]
        plan.stale_doc_ids = [known[path].doc_id for path in stale if known[path].doc_id]
        # Membership is decided by the scan: a row not seen on disk and not kept is gone.
        self._pair_renames(plan, new_files, gone, not_movable=stale)
        return plan

    def _plan_changes(
        self,
        roots: list[Path],
        changed: Iterable[str | os.PathLike[str]],
        deleted: Iterable[str | os.PathLike[str]],
        moved: Iterable[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    ) -> _Plan:
        plan = _Plan()
        gone: dict[str, FileRecord] = {}
        candidates: dict[str, DiskFile] = {}
        for source, target in self._expand_folder_moves(moved):
            source_path, target_path = stored_path(Path(source).absolute()), Path(target).absolute()
            record = self.catalog.get(source_path)
            if record is not None:
                gone[source_path] = record
            self._consider(target_path, roots, candidates, gone)
        for path in deleted:
            # A deleted folder cannot be listed any more: its files are what the catalog has.
            absolute = stored_path(Path(path).absolute())
            record = self.catalog.get(absolute)
            for gone_record in [record] if record else self.catalog.records_under(absolute):
                gone[gone_record.path] = gone_record
        for path in changed:
            self._consider(Path(path).absolute(), roots, candidates, gone)
        new_files: list[DiskFile] = []
        for path, disk in candidates.items():
            gone.pop(path, None)
            record = self.catalog.get(path)
            if record is None:
                new_files.append(disk)
            elif record.state == "pending" or self._needs_work(record, disk):
                plan.jobs.append((self._job(record.doc_id, record), disk, record))
            else:
                plan.unchanged += 1
        self._pair_renames(plan, new_files, list(gone.values()))
        return plan

    def _expand_folder_moves(
        self, moved: Iterable[tuple[str | os.PathLike[str], str | os.PathLike[str]]]
    ) -> list[tuple[Path, Path]]:
        """A moved folder becomes one move per file the catalog has under it."""
        expanded: list[tuple[Path, Path]] = []
        for source, target in moved:
            source_path, target_path = Path(source).absolute(), Path(target).absolute()
            source_key = stored_path(source_path)
            if self.catalog.get(source_key) is None and target_path.is_dir():
                for record in self.catalog.records_under(source_key):
                    relative = Path(record.path).relative_to(source_key)
                    target_key = stored_path(target_path / relative)
                    expanded.append((Path(disk_path(record.path)), Path(disk_path(target_key))))
            else:
                expanded.append((source_path, target_path))
        return expanded

    def _consider(
        self,
        path: Path,
        roots: list[Path],
        candidates: dict[str, DiskFile],
        gone: dict[str, FileRecord],
    ) -> None:
        """A path the watcher says changed: on disk and wanted -> candidate, otherwise gone."""
        disk = self._disk_file(path, roots)
        key = stored_path(path)
        if disk is not None:
            candidates[key] = disk
            return
        record = self.catalog.get(key)
        if record is not None:
            gone[key] = record

    def _disk_file(self, path: Path, roots: list[Path]) -> DiskFile | None:
        if not is_supported(path, self.extensions):
            return None
        root = next((r for r in roots if _is_under(str(path), str(r))), path.parent)
        if self.rules.ignored(path, root):
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        if roots and outside(path, real_roots(roots)) is not None:
            return None  # a link out of the watched folders: the next reconcile reports it
        return DiskFile(path, info.st_size, info.st_mtime)

    def _needs_work(self, record: FileRecord, disk: DiskFile) -> bool:
        if record.state == "pending":
            return True
        if record.state == "error" and record.error_kind in RETRY_KINDS:
            return True
        if self._ocr_arrived(record):
            return True
        if record.error_kind == ErrorKind.TOO_LARGE and disk.size <= self.max_bytes:
            return True  # the limit was raised since
        return record.size != disk.size or record.mtime != disk.mtime

    def _ocr_arrived(self, record: FileRecord) -> bool:
        """The file was read without OCR, which this installation now has."""
        return self.ocr and record.error_kind == ErrorKind.OCR_UNAVAILABLE

    def _job(self, doc_id: str, record: FileRecord | None = None) -> ExtractJob:
        unchanged_is_enough = record and record.state == "indexed" and not self._ocr_arrived(record)
        return ExtractJob(
            "",
            doc_id or self.catalog.new_doc_id(),
            self.max_bytes,
            known_hash=record.content_hash if record and unchanged_is_enough else "",
            ocr=self.ocr,
            ocr_cache=str(self.ocr_cache) if self.ocr_cache else "",
        )

    def _stale_paths(self, known: dict[str, FileRecord]) -> set[str]:
        """Rows whose document in the index cannot be trusted (see module docstring)."""
        stale = {path for path, record in known.items() if record.state == "pending"}
        indexed = [r for r in known.values() if r.state == "indexed" and r.chunk_count > 0]
        if self.index.rebuilt and not self._rebuild_handled:
            log.warning("the index was rebuilt: re-extracting %d files", len(indexed))
            return stale | {r.path for r in indexed}
        expected = sum(r.chunk_count for r in indexed)
        if self.index.count(SearchFilters()) != expected:
            log.warning("index and catalog disagree on chunk counts: checking each file")
            for record in indexed:
                if self.index.count(SearchFilters(paths=(record.path,))) != record.chunk_count:
                    stale.add(record.path)
        return stale

    def _pair_renames(
        self,
        plan: _Plan,
        new_files: list[DiskFile],
        gone: list[FileRecord],
        *,
        not_movable: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """A new path whose bytes equal a vanished indexed file is that file, moved: keep its
        doc_id and move its chunks instead of extracting again. Rows in `not_movable` (their
        document in the index is stale) are deleted, never moved."""
        movable: dict[int, list[FileRecord]] = defaultdict(list)
        for record in gone:
            if record.path in not_movable:
                continue
            if record.state == "indexed" and record.content_hash and record.doc_id:
                movable[record.size].append(record)
        claimed: set[str] = set()
        for disk in new_files:
            match = self._matching_record(disk, movable.get(disk.size, []), claimed)
            if match is None:
                plan.jobs.append((self._job(""), disk, None))
            else:
                claimed.add(match.path)
                plan.renames.append((match, disk))
        plan.deletions.extend(record for record in gone if record.path not in claimed)

    @staticmethod
    def _matching_record(
        disk: DiskFile, candidates: list[FileRecord], claimed: set[str]
    ) -> FileRecord | None:
        open_candidates = [c for c in candidates if c.path not in claimed]
        if not open_candidates:
            return None
        try:
            digest = file_hash(disk.path)
        except OSError:
            return None
        return next((c for c in open_candidates if c.content_hash == digest), None)

    # -- execution ---------------------------------------------------------------------------

    def _execute(
        self,
        plan: _Plan,
        summary: IndexSummary,
        report: ProgressReport,
        cancel: CancelToken,
        *,
        use_pool: bool,
    ) -> None:
        batch = _Batch()
        for doc_id in plan.stale_doc_ids:
            self.index.delete_document(doc_id)
            batch.touches_index = True
        try:
            self._apply_cheap_steps(plan, batch, summary, report, cancel)
            jobs = [replace(job, path=str(disk.path)) for job, disk, _ in plan.jobs]
            context = {str(disk.path): (disk, record) for _, disk, record in plan.jobs}
            runner = JobRunner(
                jobs,
                use_pool=use_pool,
                workers=self.workers,
                max_in_flight=self.max_in_flight,
                text_pool_threshold=self.text_pool_threshold,
                limits=self.limits,
                work=self.work,
                on_activity=lambda path, page, pages: report.update(
                    current=path, ocr_page=page, ocr_pages=pages
                ),
            )
            last_commit = time.monotonic()
            with contextlib.closing(runner.results(cancel)) as outcomes:
                for outcome in outcomes:
                    disk, record = context[outcome.path]
                    self._apply_guarded(batch, summary, outcome, disk, record)
                    report.update(
                        done=report.progress.done + 1,
                        current=outcome.path,
                        errors=summary.errors,
                        ocr_page=0,
                        ocr_pages=0,
                    )
                    if self._due(batch, last_commit):
                        report.update(phase="committing", force=True)
                        self._flush(batch)
                        last_commit = time.monotonic()
                        report.update(phase="indexing", force=True)
        except Cancelled:
            self._flush(batch)
            raise
        report.update(phase="committing", force=True)
        self._flush(batch)

    def _due(self, batch: _Batch, last_commit: float) -> bool:
        if batch.size >= self.commit_every_files:
            return True
        return batch.size > 0 and time.monotonic() - last_commit >= self.commit_every_seconds

    def _apply_cheap_steps(
        self,
        plan: _Plan,
        batch: _Batch,
        summary: IndexSummary,
        report: ProgressReport,
        cancel: CancelToken,
    ) -> None:
        """Renames, deletions and scan problems: no extraction needed."""
        for record, disk in plan.renames:
            cancel.raise_if_cancelled()
            if self._rename_into(batch, record, disk):
                summary.renamed += 1
                report.update(done=report.progress.done + 1, current=str(disk.path))
            else:
                # The index lost this document: extract the file under its old doc_id.
                log.warning("index had no chunks for %s; extracting %s", record.path, disk.path)
                plan.jobs.append((self._job(record.doc_id), disk, None))
                batch.final_removed.append(record.path)
        for record in plan.deletions:
            self._delete_into(batch, record)
            summary.removed += 1
            report.update(done=report.progress.done + 1, current=record.path)
        for problem, known in plan.problems:
            self._problem_into(batch, problem, known, summary)
            report.update(done=report.progress.done + 1, current=str(problem.path))

    def _rename_into(self, batch: _Batch, record: FileRecord, disk: DiskFile) -> bool:
        """Queue a rename; False when the index holds no chunks to move."""
        new_path = stored_path(disk.path)
        title = self._renamed_title(record, Path(new_path))
        if self.index.rename_document(record.doc_id, new_path, title) == 0:
            return record.chunk_count == 0 and self._rename_empty(batch, record, disk)
        moved = replace(record, path=new_path, size=disk.size, mtime=disk.mtime)
        batch.pending_removed.append(record.path)
        batch.pending.append(replace(moved, state="pending"))
        batch.final.append(moved)
        batch.touches_index = True
        batch.size += 1
        return True

    @staticmethod
    def _rename_empty(batch: _Batch, record: FileRecord, disk: DiskFile) -> bool:
        """A file with no chunks (empty note) has nothing in the index to move."""
        batch.final_removed.append(record.path)
        moved = replace(record, path=stored_path(disk.path), size=disk.size, mtime=disk.mtime)
        batch.final.append(moved)
        batch.size += 1
        return True

    def _renamed_title(self, record: FileRecord, new_path: Path) -> str:
        """Titles taken from the file name follow the rename; titles from the content stay."""
        current = self._current_title(record.doc_id)
        old_path = Path(record.path)
        if current in ("", old_path.stem, old_path.name):
            return new_path.stem
        return current

    def _current_title(self, doc_id: str) -> str:
        document_chunks = getattr(self.index, "document_chunks", None)
        if document_chunks is None:
            return ""
        hits = document_chunks(doc_id)
        return str(hits[0].title) if hits else ""

    def _delete_into(self, batch: _Batch, record: FileRecord) -> None:
        if record.doc_id and record.state in ("indexed", "pending"):
            self.index.delete_document(record.doc_id)
            batch.touches_index = True
            batch.pending.append(replace(record, state="pending"))
        batch.final_removed.append(record.path)
        batch.size += 1

    def _problem_into(
        self,
        batch: _Batch,
        problem: ScanProblem,
        record: FileRecord | None,
        summary: IndexSummary,
    ) -> None:
        path = stored_path(problem.path)
        doc_id = record.doc_id if record else ""
        if record is not None and record.doc_id and record.state in ("indexed", "pending"):
            self.index.delete_document(record.doc_id)
            batch.touches_index = True
            batch.pending.append(replace(record, state="pending"))
        row = FileRecord(
            path=path,
            size=0,
            mtime=0.0,
            content_hash="",
            state=_state_for(problem.kind),
            error_kind=problem.kind,
            error=stored_path(problem.message),
            doc_id=doc_id,
            kind=_doc_kind(path),
        )
        batch.size += 1
        self._record_failure(batch, summary, row)

    def _apply_guarded(
        self,
        batch: _Batch,
        summary: IndexSummary,
        outcome: ExtractOutcome,
        disk: DiskFile,
        record: FileRecord | None,
    ) -> None:
        """`_apply_outcome`, turning an unexpected failure (say, the index refusing a document)
        into an "internal" error row for this one file."""
        try:
            self._apply_outcome(batch, summary, outcome, disk, record)
        except Exception as error:
            log.exception("unexpected failure while indexing %s", outcome.path)
            self.index.delete_document(outcome.doc_id)
            batch.touches_index = True
            failed = ExtractOutcome(
                outcome.path,
                outcome.doc_id,
                content_hash=outcome.content_hash,
                error_kind=ErrorKind.INTERNAL,
                error=f"Unexpected error while indexing: {type(error).__name__}: {error}",
            )
            row = self._error_row(failed, disk)
            batch.pending.append(replace(row, state="pending"))
            self._record_failure(batch, summary, row)

    def _apply_outcome(
        self,
        batch: _Batch,
        summary: IndexSummary,
        outcome: ExtractOutcome,
        disk: DiskFile,
        record: FileRecord | None,
    ) -> None:
        batch.size += 1
        if outcome.unchanged and record is not None:
            # Touched but identical (e.g. saved without edits, or copied back): no reindex.
            batch.final.append(replace(record, size=disk.size, mtime=disk.mtime))
            summary.unchanged += 1
            return
        had_document = record is not None and record.state in ("indexed", "pending")
        if outcome.error_kind == ErrorKind.VANISHED and not os.path.exists(outcome.path):
            if record is not None:
                self._delete_into(batch, record)
                summary.removed += 1
            return
        if had_document:
            self.index.delete_document(outcome.doc_id)
            batch.touches_index = True
        if outcome.error_kind:
            row = self._error_row(outcome, disk)
            if had_document:
                batch.pending.append(replace(row, state="pending"))
            self._record_failure(batch, summary, row)
            return
        row = self._indexed_row(outcome, disk)
        if outcome.chunks:
            self.index.add_document(
                outcome.doc_id,
                row.path,
                stored_path(outcome.title),
                outcome.chunks,
                extension=_extension(outcome.path),
                modified=disk.mtime,
                size=disk.size,
                kind=outcome.kind,
            )
            batch.touches_index = True
        batch.pending.append(replace(row, state="pending"))
        batch.final.append(row)
        summary.chunks_written += len(outcome.chunks)
        if record is None:
            summary.added += 1
        else:
            summary.updated += 1
        if row.error_kind:
            summary.problems.append(row)

    @staticmethod
    def _record_failure(batch: _Batch, summary: IndexSummary, row: FileRecord) -> None:
        """A file that could not be indexed: its final row says why, and the run counts it."""
        batch.final.append(row)
        summary.errors += 1
        summary.problems.append(row)

    @staticmethod
    def _indexed_row(outcome: ExtractOutcome, disk: DiskFile) -> FileRecord:
        return FileRecord(
            path=stored_path(outcome.path),
            size=disk.size,
            mtime=disk.mtime,
            content_hash=outcome.content_hash,
            state="indexed",
            error_kind=outcome.note_kind,
            error=stored_path(outcome.note),
            chunk_count=len(outcome.chunks),
            indexed_at=time.time(),
            doc_id=outcome.doc_id,
            kind=outcome.kind,
            page_count=outcome.page_count,
            ocr_pages=outcome.ocr_pages,
        )

    @staticmethod
    def _error_row(outcome: ExtractOutcome, disk: DiskFile) -> FileRecord:
        return FileRecord(
            path=stored_path(outcome.path),
            size=disk.size,
            mtime=disk.mtime,
            content_hash=outcome.content_hash,
            state=_state_for(outcome.error_kind),
            error_kind=outcome.error_kind,
            error=stored_path(outcome.error),
            indexed_at=time.time(),
            doc_id=outcome.doc_id,
            kind=_doc_kind(outcome.path),
        )

    def _flush(self, batch: _Batch) -> None:
        """Steps 2-4 of the commit order in the module docstring."""
        if batch.touches_index:
            self.catalog.replace(batch.pending_removed, batch.pending)
            self.index.commit()
        self.catalog.replace(batch.final_removed + batch.pending_removed, batch.final)
        batch.clear()


def _is_under(path: str, folder: str) -> bool:
    return path.startswith(os.path.join(folder, ""))
