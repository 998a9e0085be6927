"""The engine facade: the one typed API that the `needle` CLI and the JSON-lines service call.

    with Engine.open() as engine:            # writer: owns the index, catalog and settings
        engine.add_folder("~/notes")
        engine.index(progress=print)
        hits = engine.search("tantivy ranking", limit=5)
        answer = engine.ask("What did I decide about the ranking?")

A library has one writer at a time (`engine.library.lock.WriterLock`). `Engine.open(writer=False)`
opens a reader: it searches, reports status and answers questions while another process (the
desktop's engine, `needle index --watch`) holds the writer, and refuses to change anything.

Every method raises `NeedleError` (with a stable `kind`, a message and a hint) for anything a
user can cause or fix; `engine.errors.USER_ERROR_KINDS` lists the kinds that mean "the request was
wrong" as opposed to "the work failed".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from engine.cancel import NEVER, CancelToken
from engine.errors import ErrorKind, NeedleError
from engine.jsonfile import write_json_atomic
from engine.library.catalog import Catalog
from engine.library.lock import WriterLock, read_owner_pid
from engine.models import (
    Check,
    DoctorReport,
    FileRecord,
    FolderInfo,
    FolderState,
    IndexProgress,
    IndexSummary,
    QueryWarning,
    SearchFilters,
    SearchHit,
    SearchResult,
    StatusReport,
    WatchMode,
)
from engine.paths import AppPaths, disk_path, resolve_paths
from engine.search.index import ChunkIndex
from engine.secrets import SecretStore
from engine.settings import (
    FIELDS,
    FIELDS_BY_NAME,
    INDEXER_SETTINGS,
    SECRET_NAMES,
    Settings,
    SettingsSnapshot,
    load_settings,
    normalize_host,
    salvage_folders,
    save_settings,
)
from engine.threads import (
    CitationState,
    ReadPassage,
    StoredCitation,
    Thread,
    ThreadSummary,
    TraceFilter,
    TraceStats,
    Turn,
    quoted_sentences,
    text_hash,
)

# The indexer (pypdf), the watcher (watchdog), the model client (ollama, httpx) and the agent are
# imported where they are first used: `needle search` and `needle status` start twice as fast
# without them.
if TYPE_CHECKING:
    from engine.agent.events import Answer, Event
    from engine.agent.followup import PriorTurn
    from engine.agent.scope import ScopeSpec
    from engine.agent.verdict_cache import SqliteVerdictCache
    from engine.library.indexer import Indexer
    from engine.library.threads import ThreadStore
    from engine.library.watcher import ChangeBatch, FolderWatcher
    from engine.llm.calibration import TokenCalibration
    from engine.llm.connect import ModelPlan
    from engine.llm.ollama.server import PullProgress
    from engine.llm.status import ServerStatus
    from engine.llm.types import ChatModel

log = logging.getLogger(__name__)

__all__ = [
    "Check",
    "Engine",
    "FolderInfo",
    "FolderState",
    "StatusReport",
    "diagnose",
]


FOLDER_STATE_FILE = "folders.json"  # when each folder was last fully indexed
CALIBRATION_FILE = "calibration.json"
POLLING_NOTE = (
    "The system refused more file watches here (on Linux, the inotify limit), so changes are "
    "found by polling every few seconds. Raise fs.inotify.max_user_watches to get instant updates."
)
LISTING_NOTE = (
    "The system's change notifications cannot follow this folder (usually a tree nested hundreds "
    "of levels deep), so changes are found by listing it every few seconds. Other folders are "
    "not affected."
)


# ----------------------------------------------------------------------------------------------
# Results


# ----------------------------------------------------------------------------------------------
# Small helpers


def normalize_folder_path(path: str | os.PathLike[str]) -> Path:
    """The form folders are stored and compared in: absolute, `~` expanded, symlinks resolved."""
    text = os.fspath(path).strip()
    if not text:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT, "The folder path is empty.", "Give a folder path."
        )
    return Path(text).expanduser().resolve()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """Which file is there (an atomic save replaces it), when it was written and how big it is;
    None when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _under_any(path: str, folders: Sequence[str]) -> bool:
    """Is `path` (as the index stores it) inside one of the watched `folders`?"""
    return any(Path(path).is_relative_to(folder) for folder in folders)


def _dir_size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue  # a segment merged away while we walked
    return total


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _ignore_event(event: Event) -> None:
    """The default `on_event` for `ask`."""


# ----------------------------------------------------------------------------------------------
# The engine


def query_warnings(query: str) -> tuple[QueryWarning, ...]:
    """What the user should know about a search-box query: `ext:` types that are never indexed
    (a filter only the query text can hold; the filters a frontend builds use known types)."""
    from engine.search.query import UNINDEXED_TYPE, parse_query, unindexed_types
    from engine.textforms import match_form

    parsed = parse_query(match_form(query))
    if not parsed.extensions:
        return ()
    from engine.ingest.extract import SUPPORTED_EXTENSIONS

    indexed = ", ".join(sorted({e.lstrip(".") for e in SUPPORTED_EXTENSIONS}))
    return tuple(
        QueryWarning(
            UNINDEXED_TYPE,
            extension,
            f"ext:{extension}: .{extension} files are not indexed, so none can match. "
            f"Indexed types: {indexed}.",
        )
        for extension in unindexed_types(parsed, SUPPORTED_EXTENSIONS)
    )


class Engine:
    """One library: settings, catalog, index, indexer and watcher behind one object.

    Thread safety: searches, status and questions may run concurrently with an index pass or
    watcher batch (the catalog has per-thread connections and the index serves searches while it
    is written). Writes to the index (`index`, watcher batches, `remove_folder`) are serialised by
    one lock, as are changes to settings.
    """

    def __init__(
        self,
        paths: AppPaths,
        settings: Settings,
        *,
        catalog: Catalog,
        index: ChunkIndex | None,
        lock: WriterLock | None,
    ) -> None:
        self.paths = paths
        self._settings = settings
        self._catalog = catalog
        self._index = index
        self._lock = lock
        self._write_lock = threading.RLock()
        self._settings_lock = threading.RLock()
        # Held while the folder list and the watcher's folders change together, so a folder added
        # while the watcher starts is never left unwatched.
        self._watch_lock = threading.RLock()
        self._indexer: Indexer | None = (
            _new_indexer(catalog, index, settings, paths) if lock and index else None
        )
        self._watcher: FolderWatcher | None = None
        self._on_change: Callable[[IndexSummary], None] | None = None
        self._on_progress: Callable[[IndexProgress], None] | None = None
        self._indexing = False
        self._verdict_cache: SqliteVerdictCache | None = None
        self._calibration: TokenCalibration | None = None
        self._history: ThreadStore | None = None
        self._history_lock = threading.Lock()
        self.secrets = SecretStore(paths.config)
        # A reader lives as long as its process (`needle mcp`): it follows the settings the
        # writer saves (folders added or removed in the app, another model) by this stamp.
        self._settings_stamp = _file_stamp(paths.settings_file)
        self._closed = False

    # -- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        writer: bool = True,
        holder: str = "",
    ) -> Engine:
        """Open the library in `data_dir` (else $NEEDLE_HOME, else the platform's folders).

        `writer=True` takes the writer lock (raising `WriterLocked` with a clear message when
        another process has it) and creates the index if needed; `holder` says who is writing,
        for that message in other processes ("app", or the command, "needle index").
        `writer=False` opens a reader that never writes the index and works while another
        process is writing it."""
        paths = resolve_paths(data_dir)
        _ensure_paths(paths)
        settings = _load_settings(paths)
        lock = WriterLock(paths.lock_file, holder).acquire() if writer else None
        catalog: Catalog | None = None
        index: ChunkIndex | None = None
        try:
            catalog = Catalog(paths.catalog_file)
            index = _open_index(paths, writable=writer)
            return cls(paths, settings, catalog=catalog, index=index, lock=lock)
        except BaseException:
            # Whatever failed, nothing stays held: the next open must not find the writer lock
            # taken or the catalog open by an engine that never came to be.
            if index is not None:
                index.close()
            if catalog is not None:
                catalog.close()
            if lock is not None:
                lock.release()
            raise

    def close(self) -> None:
        """Stop watching and release the index, the catalog and the writer lock. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stop_watching()
        with self._write_lock:
            if self._index is not None:
                self._index.close()
            self._catalog.close()
            if self._verdict_cache is not None:
                self._verdict_cache.close()
            if self._history is not None:
                self._history.close()
            if self._lock is not None:
                self._lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def writable(self) -> bool:
        return self._lock is not None

    def _require_writer(self, action: str) -> Indexer:
        if self._closed:
            raise NeedleError(ErrorKind.ENGINE_CLOSED, "The engine was closed.", "Open it again.")
        if self._indexer is None:
            raise NeedleError(
                ErrorKind.READ_ONLY,
                f"Cannot {action}: this Needle was opened read-only.",
                "Another Needle process owns this library; make the change there, or close it.",
            )
        return self._indexer

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (a copy: change them with `update_settings`). A reader sees what
        the writer last saved."""
        if self._lock is None:
            self._follow_settings_file()
        with self._settings_lock:
            return Settings.from_dict(self._settings.to_dict())

    def _follow_settings_file(self) -> None:
        """Read the settings again when the file changed since they were read. The writer saves
        atomically, so a changed file is whole; one that cannot be read keeps the last settings."""
        stamp = _file_stamp(self.paths.settings_file)
        if stamp == self._settings_stamp:
            return
        with self._settings_lock:
            if stamp == self._settings_stamp:
                return
            try:
                self._settings = _load_settings(self.paths)
            except NeedleError as error:
                log.info("keeping the settings read before: %s", error.message)
            self._settings_stamp = stamp

    def update_settings(self, changes: dict[str, Any]) -> Settings:
        """Apply `changes` (setting name -> value), validate, save, and return the new settings.
        Unknown names and invalid values raise NeedleError("invalid_settings") and change nothing.
        Folders are changed with `add_folder`/`remove_folder`, not here."""
        self._require_writer("change settings")
        secrets = {name: changes[name] for name in SECRET_NAMES & changes.keys()}
        changes = {name: value for name, value in changes.items() if name not in secrets}
        with self._settings_lock:
            updated = _apply_setting_changes(self._settings, changes)
            _check_secrets(secrets)
            for name, value in secrets.items():
                self.secrets.set(name, value.strip())
            save_settings(self.paths.settings_file, updated)
            self._settings = updated
            if INDEXER_SETTINGS & changes.keys() and self._index is not None:
                # Swapped, not locked: a running pass finishes with the old rules; every write
                # after it picks up the new indexer under the write lock.
                self._indexer = _new_indexer(self._catalog, self._index, updated, self.paths)
        if "ignore_patterns" in changes:
            # A new pattern takes effect now: what it excludes leaves the index at once (files
            # a removed pattern lets in arrive with the next index pass).
            with self._write_lock:
                self._require_writer("change settings").drop_ignored(updated.folders)
            if self._watcher is not None:
                self._restart_watcher()
        return self.settings

    def settings_snapshot(self) -> SettingsSnapshot:
        """The settings with their declarations and which secrets are set (never their values),
        as `settings.get` sends them."""
        return SettingsSnapshot(self.settings, secrets_set=tuple(self.secrets.stored()))

    # -- folders -----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike[str]) -> FolderInfo:
        """Add a folder to index (it is indexed by the next `index()` or at once when watching).
        It must exist, be a readable directory, and neither lie inside nor contain a folder that
        is already indexed (its files would be indexed twice)."""
        self._require_writer("add a folder")
        folder = normalize_folder_path(path)
        with self._watch_lock:
            with self._settings_lock:
                _check_new_folder(folder, [Path(f) for f in self._settings.folders])
                before = self._settings
                updated = Settings.from_dict(before.to_dict())
                updated.folders = [*updated.folders, str(folder)]
                save_settings(self.paths.settings_file, updated)
                self._settings = updated
            # All or nothing: a folder is not left saved after an error the user was shown
            # (v0.1 kept `/` when watching it failed with `internal`).
            try:
                if self._watcher is not None:
                    self._watcher.add_folder(folder)
                return self._folder_info(str(folder))
            except BaseException:
                self._undo_add_folder(folder, before)
                raise

    def _undo_add_folder(self, folder: Path, before: Settings) -> None:
        with self._settings_lock:
            save_settings(self.paths.settings_file, before)
            self._settings = before
        if self._watcher is not None:
            with contextlib.suppress(Exception):  # it may be the part that failed
                self._watcher.remove_folder(folder)

    def remove_folder(self, path: str | os.PathLike[str]) -> FolderInfo:
        """Stop indexing a folder and drop its files from the index and the catalog. Returns the
        folder as it was just before (so `files` says how many files were dropped). The folder
        may already be gone from disk."""
        self._require_writer("remove a folder")
        folder = self._known_folder(path)
        before = self._folder_info(folder)
        with self._watch_lock:
            with self._settings_lock:
                updated = Settings.from_dict(self._settings.to_dict())
                updated.folders = [f for f in updated.folders if f != folder]
                # Settings first: if we crash before the index is cleaned, the next reconcile
                # drops the files because they are outside every folder.
                save_settings(self.paths.settings_file, updated)
                self._settings = updated
            if self._watcher is not None:
                self._watcher.remove_folder(folder)
        with self._write_lock:
            self._require_writer("remove a folder").remove_folder(folder)
        self._forget_indexed_time(folder)
        return before

    def folders(self) -> list[FolderInfo]:
        """Every watched folder with its file counts, state and watch mode, in the order added."""
        return [self._folder_info(folder) for folder in self.settings.folders]

    def resolve_scope(self, path: str | os.PathLike[str]) -> SearchFilters:
        """Filters for "only this file or folder", checking that it exists and is inside one of
        the indexed folders. Used by `search --in` and `ask --scope`."""
        target = normalize_folder_path(path)
        if not target.exists():
            raise NeedleError(
                ErrorKind.SCOPE_MISSING,
                f"{target} does not exist.",
                "Give a file or folder inside one of your indexed folders (`needle folders list`).",
            )
        folders = [Path(f) for f in self.settings.folders]
        if not any(target == f or target.is_relative_to(f) for f in folders):
            raise NeedleError(
                ErrorKind.SCOPE_MISSING,
                f"{target} is not inside any indexed folder, so nothing there is searchable.",
                f"Add it with `needle folders add {target if target.is_dir() else target.parent}`.",
            )
        if target.is_dir():
            return SearchFilters(folders=(str(target),))
        return SearchFilters(paths=(str(target),))

    def _known_folder(self, path: str | os.PathLike[str]) -> str:
        folder = str(normalize_folder_path(path))
        known = self.settings.folders
        if folder in known:
            return folder
        listing = ", ".join(known) if known else "none yet"
        raise NeedleError(
            ErrorKind.FOLDER_UNKNOWN,
            f"{folder} is not one of the indexed folders.",
            f"Indexed folders: {listing}. `needle folders list` shows them.",
        )

    def _folder_info(self, folder: str) -> FolderInfo:
        counts = self._catalog.state_counts(folder)
        chunks = sum(
            r.chunk_count for r in self._catalog.records_under(folder) if r.state == "indexed"
        )
        last_indexed = self._indexed_times().get(folder)
        problems = counts["error"] + counts["skipped"]
        state: FolderState
        if not Path(folder).is_dir():
            state = "missing"
        elif self._indexing or counts["pending"] or last_indexed is None:
            state = "indexing"
        elif problems:
            state = "errors"
        else:
            state = "up_to_date"
        mode, note = self._watch_mode(folder)
        return FolderInfo(
            path=folder,
            state=state,
            files=sum(counts.values()),
            indexed=counts["indexed"],
            pending=counts["pending"],
            errors=counts["error"],
            skipped=counts["skipped"],
            chunks=chunks,
            watch_mode=mode,
            watch_note=note,
            last_indexed=last_indexed,
        )

    # -- when folders were last indexed (a small JSON file beside the catalog) -------------

    def _indexed_times(self) -> dict[str, float]:
        try:
            data = json.loads((self.paths.data / FOLDER_STATE_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        times = data.get("indexed_at", {}) if isinstance(data, dict) else {}
        return {str(k): float(v) for k, v in times.items() if isinstance(v, int | float)}

    def _record_indexed_times(self, folders: list[str], when: float) -> None:
        times = self._indexed_times()
        known = set(self.settings.folders)
        times = {k: v for k, v in times.items() if k in known}
        times.update(dict.fromkeys(folders, when))
        write_json_atomic(self.paths.data / FOLDER_STATE_FILE, {"indexed_at": times})

    def _forget_indexed_time(self, folder: str) -> None:
        times = self._indexed_times()
        if times.pop(folder, None) is not None:
            write_json_atomic(self.paths.data / FOLDER_STATE_FILE, {"indexed_at": times})

    # -- indexing ----------------------------------------------------------------------------

    def index(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken = NEVER,
    ) -> IndexSummary:
        """Bring the index in line with the folders: new, changed, renamed and deleted files.
        Safe to interrupt: `cancel` raises `Cancelled` after committing the finished part, and
        the next run carries on. Files that cannot be indexed are in `summary.problems`."""
        self._require_writer("index")
        with self._write_lock:
            indexer = self._require_writer("index")
            folders = self.settings.folders
            self._indexing = True
            try:
                started = time.time()
                summary = indexer.reconcile(folders, progress=progress, cancel=cancel)
            finally:
                self._indexing = False
        present = [f for f in folders if Path(f).is_dir()]
        self._record_indexed_times(present, started)
        return summary

    def start_watching(
        self,
        on_change: Callable[[IndexSummary], None] | None = None,
        on_progress: Callable[[IndexProgress], None] | None = None,
    ) -> None:
        """Follow the folders and index each change within about two seconds. `on_change` gets
        each applied batch's summary, on the watcher's thread; `on_progress` the progress of
        batches that take a while (PDFs and images: OCR can take minutes). Restarting replaces
        the callbacks."""
        indexer = self._require_writer("watch folders")
        from engine.library.watcher import FolderWatcher

        with self._watch_lock:
            self.stop_watching()
            self._on_change = on_change
            self._on_progress = on_progress
            watcher = FolderWatcher(
                self.settings.folders,
                self._indexer_rules(),
                self._apply_batch,
                extensions=indexer.extensions,
            )
            watcher.start()
            self._watcher = watcher

    def stop_watching(self) -> None:
        """Stop following the folders (changes meanwhile are found by the next `index()`)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    def _restart_watcher(self) -> None:
        callback, progress = self._on_change, self._on_progress
        self.stop_watching()
        self.start_watching(callback, progress)

    def _indexer_rules(self) -> Any:
        indexer = self._require_writer("watch folders")
        return indexer.rules

    def retry(self, paths: Sequence[str | os.PathLike[str]]) -> IndexSummary:
        """Read these files again now, though they did not change: files listed with a problem
        after the user fixed its cause outside Needle (decrypted the PDF, freed the disk,
        installed what was missing). Paths Needle does not know are ignored; a file that is
        gone leaves the index."""
        self._require_writer("read files again")
        with self._write_lock:
            indexer = self._require_writer("read files again")
            known = [
                record.path
                for record in (self._catalog.get(str(Path(p).absolute())) for p in paths)
                if record is not None
            ]
            self._catalog.mark_pending(known)
            return indexer.apply_changes(known, [], [], folders=self.settings.folders)

    def _apply_batch(self, batch: ChangeBatch) -> None:
        with self._write_lock:
            indexer = self._indexer
            if indexer is None or self._closed:
                return
            if batch.rules_changed:
                # An ignore file changed: what its folder holds may now be in or out. A scan
                # with the new rules settles that (and every other change of the batch).
                summary = indexer.reconcile(self.settings.folders, progress=self._on_progress)
            else:
                summary = indexer.apply_changes(
                    batch.changed,
                    batch.deleted,
                    batch.moved,
                    folders=self.settings.folders,
                    progress=self._on_progress,
                )
        callback = self._on_change
        if callback is not None:
            callback(summary)

    def _watch_mode(self, folder: str) -> tuple[WatchMode, str]:
        watcher = self._watcher
        if watcher is None:
            return "off", ""
        mode = watcher.modes().get(folder, "off")
        if mode != "polling":
            return mode, ""
        return mode, LISTING_NOTE if folder in watcher.listed_folders() else POLLING_NOTE

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        prefix: bool = False,
    ) -> SearchResult:
        """BM25 search in the search-box syntax (words, "phrases", -excluded, ext:pdf …): the
        best `limit` hits, each with its snippet, highlights, file, page and heading, how many
        chunks matched in all, how long the search took, and warnings about the query.
        `prefix`: the query is being typed, so its last word also matches longer words."""
        if limit < 1:
            raise NeedleError(
                ErrorKind.INVALID_ARGUMENT, "The result limit must be at least 1.", ""
            )
        started = time.perf_counter()
        index = self._search_index()
        if index is None:
            hits, total = [], 0
        else:
            page = index.search_counted(query, limit=limit, filters=filters, prefix=prefix)
            hits, total = page.hits, page.total
        elapsed = time.perf_counter() - started
        warnings = query_warnings(query)
        return SearchResult(query, tuple(hits), elapsed, total, warnings)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[SearchHit]:
        """The indexed chunks with these ids (as search hits and citations name them), in the
        order asked. Ids that are unknown, or whose file is no longer under a watched folder, are
        left out: the caller compares what came back with what it asked for."""
        index = self._search_index()
        if index is None or not chunk_ids:
            return []
        folders = self.settings.folders
        return [hit for hit in index.get_chunks(chunk_ids) if _under_any(hit.path, folders)]

    def _search_index(self) -> ChunkIndex | None:
        """The index, refreshed for readers so they see the writer's latest commit. A reader
        opened before anything was indexed retries opening, since the writer may have made it."""
        if self._closed:
            raise NeedleError(ErrorKind.ENGINE_CLOSED, "The engine was closed.", "Open it again.")
        if self._index is None:
            self._index = _open_index(self.paths, writable=False)
        elif not self.writable:
            self._index.reload()
        return self._index

    # -- status ------------------------------------------------------------------------------

    def status(self) -> StatusReport:
        """File counts by state, chunks, index size, folders and every file that is not
        searchable with the reason. Reads only local data: never waits on the network."""
        counts = self._catalog.state_counts()
        index = self._search_index()
        chunks = index.count() if index is not None else 0
        index_bytes = _dir_size(self.paths.index_dir) if self.paths.index_dir.is_dir() else 0
        return StatusReport(
            data_dir=str(self.paths.data),
            counts=counts,
            total_files=sum(counts.values()),
            chunks=chunks,
            index_bytes=index_bytes,
            folders=self.folders(),
            problems=self._catalog.problems(),
            watching=self.watching,
            indexing=self._indexing,
            writer_busy=not self.writable and self._writer_busy(),
            read_only=not self.writable,
            ocr_unavailable=self._ocr_unavailable(),
        )

    @staticmethod
    def _ocr_unavailable() -> str:
        from engine.ingest.ocr import ocr_status

        status = ocr_status()
        return "" if status.available else status.reason

    def problems(self, folder: str | os.PathLike[str] | None = None) -> list[FileRecord]:
        """Files that are not searchable (state error or skipped), optionally under one folder."""
        if folder is None:
            return self._catalog.problems()
        return self._catalog.problems(self._known_folder(folder))

    def _writer_busy(self) -> bool:
        pid = read_owner_pid(self.paths.lock_file)
        return pid is not None and _pid_alive(pid)

    # -- doctor ------------------------------------------------------------------------------

    def doctor(self) -> DoctorReport:
        """Health checks, each with the exact fix: data folder writable, settings valid, catalog
        integrity, index chunk count equal to the catalog's, folders readable, Ollama and model."""
        from engine.doctor import library_checks

        checks = library_checks(
            self.paths, self.settings, self._check_index, files_check=self._check_files
        )
        return DoctorReport(tuple(checks))

    def _check_index(self) -> Check:
        from engine.doctor import check_index_consistency

        try:
            index = self._search_index()
        except NeedleError as error:
            return Check("index", "fail", error.message, error.hint)
        counted = index.count() if index is not None else None
        return check_index_consistency(counted, self._catalog.total_chunks(), self.paths.index_dir)

    def _check_files(self) -> Check:
        from engine.doctor import check_files_present

        present = [folder for folder in self.settings.folders if Path(folder).is_dir()]
        stored = [r.path for folder in present for r in self._catalog.records_under(folder)]
        return check_files_present(stored)

    # -- the model ---------------------------------------------------------------------------

    def ollama_status(self, host: str | None = None, model: str | None = None) -> ServerStatus:
        """Is the main model server reachable, and does it have the model? Never raises; takes up
        to ~3 s. Ollama or OpenAI-compatible as the settings (or a `host` ending in /v1) say."""
        from engine.llm.connect import ModelPlan, probe_endpoint

        plan = ModelPlan.from_settings(self.settings, hosts=[host] if host else (), model=model)
        endpoint = plan.endpoints[0]
        api_key = self.secrets.get("api_key") if endpoint.backend == "openai" else ""
        return probe_endpoint(endpoint, plan.model, api_key)

    def pull_model(
        self,
        model: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        cancel: CancelToken = NEVER,
    ) -> None:
        """Download `model` (default: the configured one) into Ollama; `progress(status,
        completed_bytes, total_bytes)` follows the download. Raises OllamaError or Cancelled."""
        from engine.llm.ollama.server import pull_model as ollama_pull_model

        settings = self.settings
        if settings.backend == "openai":
            raise NeedleError(
                ErrorKind.INVALID_ARGUMENT,
                "Only Ollama can download models; an OpenAI-compatible server loads its own.",
                "Load the model in the server (llama.cpp: `llama-server -m MODEL.gguf`; LM Studio: "
                "load it in the app; vLLM: `vllm serve MODEL`), or choose Ollama in Settings.",
            )

        def report(update: PullProgress) -> None:
            if progress is not None:
                progress(update.status, update.completed, update.total)

        ollama_pull_model(
            settings.ollama_host, model or settings.model, on_progress=report, cancel=cancel
        )

    def ask(
        self,
        question: str,
        *,
        level: str = "auto",
        scope: ScopeSpec = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: CancelToken = NEVER,
        stop_reading: CancelToken = NEVER,
        model: str | None = None,
        host: str | list[str] | None = None,
        parse_mode: str = "structured",
        compress_context: bool = False,
        score_gap: bool = True,
        reader_model: str | None = None,
        reader_hosts: list[str] | None = None,
        thread_id: str | None = None,
        remember: bool = True,
    ) -> Answer:
        """Answer `question` from the indexed documents with the local model.

        `level` is "auto", "1", "2" or "3"; `scope` limits reading to a file, a folder (a path)
        or ready-made filters; `on_event` receives every step as it happens (see
        engine/agent/events.py); `stop_reading`, once set, makes Levels 2 and 3 stop reading and
        answer from what they found so far (Answer.partial); `model`/`host` override the
        settings for this question (`host` may be a list of servers, each "URL" or "URL xN"; a
        URL ending in /v1 is OpenAI-compatible), and `reader_model`/`reader_hosts` the reader of
        Level 2. Checks first that a server is running and has the model, raising OllamaError
        with the exact fix otherwise. Level-2 verdicts are cached under the cache folder.
        `parse_mode` "two_call" runs the reference design's separate split and keyword calls
        instead of one structured call, `compress_context` drops question-irrelevant sentences
        before packing, and `score_gap=False` packs Level 1's top hits by quota instead of by
        score support: they exist so their effect can be measured (bench/qa_bench.py).

        `thread_id` continues a stored thread: the question is a follow-up, understood from the
        thread's earlier turns. With `remember` (the default) the answer, its citations, steps
        and the passages read are stored as the thread's next turn (a new thread when
        `thread_id` is None); the returned Answer names the thread and the turn."""
        from engine.agent.runner import answer_question
        from engine.llm.connect import ModelPlan, close_model

        history = self._prior_turns(thread_id) if thread_id else []
        settings = self.settings
        plan = ModelPlan.from_settings(
            settings,
            hosts=[host] if isinstance(host, str) else (host or ()),
            model=model,
            reader_model=reader_model,
            reader_hosts=reader_hosts or (),
        )
        chat_model, reader = self._open_models(plan)
        try:
            index = self._search_index()
            if index is None:
                raise NeedleError(
                    ErrorKind.INDEX_MISSING,
                    "Nothing is indexed yet, so there is nothing to answer from.",
                    "Add a folder with `needle folders add PATH` and run `needle index`.",
                )
            steps = _StepRecorder(on_event or _ignore_event)
            answer = answer_question(
                question,
                index=index,
                model=chat_model,
                reader=reader,
                settings=settings,
                level=level,
                scope=scope,
                on_event=steps,
                cancel=cancel,
                stop_reading=stop_reading,
                verdict_cache=self._verdicts(),
                parse_mode=parse_mode,
                compress_context=compress_context,
                score_gap=score_gap,
                history=history,
            )
            if remember:
                turn = _turn_of(question, answer, steps.events, plan.model, index, thread_id or "")
                answer = self._remember(turn, answer)
            # Held back until now, so the streamed answer names the thread it was stored in.
            steps.release(answer)
            return answer
        finally:
            close_model(chat_model)
            if reader is not None:
                close_model(reader)

    # -- threads ---------------------------------------------------------------------------

    def _threads(self) -> ThreadStore:
        """The question history, opened on first use (readers add turns too)."""
        from engine.library.threads import ThreadStore

        if self._closed:
            raise NeedleError(ErrorKind.ENGINE_CLOSED, "The engine was closed.", "Open it again.")
        with self._history_lock:
            if self._history is None:
                self._history = ThreadStore(self.paths.threads_file)
            return self._history

    def _prior_turns(self, thread_id: str) -> list[PriorTurn]:
        from engine.agent.followup import PriorTurn

        return [
            PriorTurn(turn.asked, turn.answer, tuple(c.chunk_id for c in turn.citations))
            for turn in self._threads().thread(thread_id).turns
        ]

    def _remember(self, turn: Turn, answer: Answer) -> Answer:
        """`answer` stored as its thread's next turn, naming where. When the history cannot be
        written, the answer is still given (the log says why it was not kept)."""
        from dataclasses import replace

        try:
            store = self._threads()
            thread_id = turn.thread_id or store.new_thread(turn.question)
            stored = store.add_turn(replace(turn, thread_id=thread_id))
        except NeedleError as error:
            if error.kind == ErrorKind.THREAD_UNKNOWN:
                raise
            log.warning("The answer was not kept in the history: %s", error)
            return answer
        return replace(answer, thread_id=thread_id, turn=stored.position)

    def threads(self, search: str = "", *, limit: int = 500) -> list[ThreadSummary]:
        """The stored threads, the most recently continued first; `search` matches names,
        questions and answers. Each says how many of its sources changed or vanished."""
        from dataclasses import replace

        store = self._threads()
        summaries = store.threads(search, limit=limit)
        cited = store.citations_of([s.thread_id for s in summaries])
        states = self._citation_states([c for cs in cited.values() for c in cs])
        return [
            replace(
                summary,
                stale_sources=sum(
                    states.get(c.chunk_id) in ("changed", "vanished")
                    for c in cited.get(summary.thread_id, [])
                ),
            )
            for summary in summaries
        ]

    def thread(self, thread_id: str) -> Thread:
        """One thread with every turn; each citation says whether its source is still current,
        changed or vanished since the answer was written."""
        from dataclasses import replace

        thread = self._threads().thread(thread_id)
        states = self._citation_states([c for t in thread.turns for c in t.citations])
        return replace(thread, turns=tuple(t.with_states(states) for t in thread.turns))

    def rename_thread(self, thread_id: str, title: str) -> Thread:
        self._threads().rename(thread_id, title)
        return self.thread(thread_id)

    def delete_thread(self, thread_id: str) -> None:
        self._threads().delete(thread_id)

    def prune_threads(self, older_than_days: float) -> int:
        """Delete threads not continued for `older_than_days` days; how many went."""
        if older_than_days < 0:
            raise NeedleError(ErrorKind.INVALID_ARGUMENT, "The age must be zero days or more.", "")
        return self._threads().prune(time.time() - older_than_days * 86400)

    def export_thread(
        self, thread_id: str, fmt: str = "md", positions: Sequence[int] | None = None
    ) -> str:
        """The thread (or the turns at `positions`) as Markdown or JSON. The answers exported
        are marked as kept by the user (export-traces reports it)."""
        from engine.library.exports import export_thread

        text = export_thread(self.thread(thread_id), fmt, positions)
        self._threads().set_kept(thread_id, positions)
        return text

    def save_thread(self, thread_id: str, fmt: str, path: str | os.PathLike[str]) -> str:
        """`export_thread` written to `path` (atomically: a failed write leaves any earlier file
        whole); returns the path written."""
        from engine.library.exports import write_text_atomic

        target = Path(path).expanduser()
        text = self.export_thread(thread_id, fmt)
        try:
            write_text_atomic(target, text)
        except OSError as error:
            raise NeedleError(
                ErrorKind.INVALID_ARGUMENT,
                f"Cannot write {target}: {error.strerror or error}.",
                "Choose a file in a folder you can write to.",
            ) from error
        return str(target)

    def export_traces(
        self, out: str | os.PathLike[str] | None, fmt: str, which: TraceFilter | None = None
    ) -> TraceStats:
        """Every stored answer `which` selects as a long-context training record, written to
        `out` as JSON lines (only counted when `out` is None). Nothing leaves the machine."""
        from engine.library.exports import (
            TRACE_FORMATS,
            check_format,
            selected_traces,
            write_traces,
        )

        check_format(fmt, TRACE_FORMATS)
        turns = self._threads().turns(which)
        # A record says whether its sources still read as they did (metadata.stale_sources).
        states = self._citation_states([c for turn in turns for c in turn.citations])
        turns = [turn.with_states(states) for turn in turns]
        if out is None:
            return selected_traces(turns)[1]
        try:
            return write_traces(Path(out).expanduser(), turns, fmt)
        except OSError as error:
            raise NeedleError(
                ErrorKind.INVALID_ARGUMENT,
                f"Cannot write {out}: {error.strerror or error}.",
                "Choose a file in a folder you can write to.",
            ) from error

    def _citation_states(self, citations: Sequence[StoredCitation]) -> dict[str, CitationState]:
        """current / changed / vanished for each cited chunk, judged against the index."""
        index = self._search_index()
        if index is None or not citations:
            return {}
        found = {hit.chunk_id: hit for hit in index.get_chunks([c.chunk_id for c in citations])}
        states: dict[str, CitationState] = {}
        for citation in citations:
            hit = found.get(citation.chunk_id)
            if hit is not None and (
                not citation.content_hash or text_hash(hit.text) == citation.content_hash
            ):
                states[citation.chunk_id] = "current"
            elif hit is None and not os.path.exists(disk_path(citation.path)):
                states[citation.chunk_id] = "vanished"
            else:
                states[citation.chunk_id] = "changed"
        return states

    def _open_models(self, plan: ModelPlan) -> tuple[ChatModel, ChatModel | None]:
        """The main model and the reader (None when there is none), after checking every server
        at once; raises OllamaError with the exact fix when no server of either is ready."""
        from engine.llm.connect import check_endpoints, close_model, open_chat_model

        settings = self.settings
        api_key = self.secrets.get("api_key") if plan.uses_openai else ""
        calibration = self._token_calibration()
        statuses = check_endpoints(plan.endpoints, plan.model, api_key)
        main = open_chat_model(
            plan.model,
            plan.endpoints,
            statuses,
            settings=settings,
            api_key=api_key,
            calibration=calibration,
        )
        if not plan.reader_model:
            return main, None
        try:
            reader_statuses = check_endpoints(plan.reader_endpoints, plan.reader_model, api_key)
            reader = open_chat_model(
                plan.reader_model,
                plan.reader_endpoints,
                reader_statuses,
                settings=settings,
                api_key=api_key,
                calibration=calibration,
            )
        except BaseException:
            close_model(main)
            raise
        return main, reader

    def _verdicts(self) -> SqliteVerdictCache:
        from engine.agent.verdict_cache import SqliteVerdictCache

        if self._verdict_cache is None:
            self._verdict_cache = SqliteVerdictCache.in_folder(self.paths.cache)
        return self._verdict_cache

    def _token_calibration(self) -> TokenCalibration:
        from engine.llm.calibration import TokenCalibration

        if self._calibration is None:
            self._calibration = TokenCalibration(self.paths.cache / CALIBRATION_FILE)
        return self._calibration


@dataclass(frozen=True)
class SettingsReset:
    """What `reset_settings` did: the folders it kept and where the old file went."""

    folders: tuple[str, ...]
    backup: str  # "" when there was no settings file


def reset_settings(data_dir: str | os.PathLike[str] | None = None) -> SettingsReset:
    """Every setting back to its default, keeping the folders when the old file still names
    them; the old file is kept beside it as `settings.json.bak`. Works on a settings file that
    is not JSON at all (the library cannot open then), under the writer lock."""
    paths = resolve_paths(data_dir)
    _ensure_paths(paths)
    with WriterLock(paths.lock_file):
        folders = salvage_folders(paths.settings_file)
        backup = ""
        if paths.settings_file.exists():
            backup = str(paths.settings_file.with_name(paths.settings_file.name + ".bak"))
            os.replace(paths.settings_file, backup)
        save_settings(paths.settings_file, Settings(folders=list(folders)))
    return SettingsReset(tuple(folders), backup)


def diagnose(data_dir: str | os.PathLike[str] | None = None) -> DoctorReport:
    """`Engine.doctor()` for a library that may not even open (a damaged catalog, unreadable
    settings): whatever stops it from opening becomes a failed check, and the rest still run."""
    try:
        with Engine.open(data_dir, writer=False) as engine:
            return engine.doctor()
    except NeedleError as opening:
        from engine.doctor import library_checks

        unopened = Check("index", "fail", opening.message, opening.hint)
        paths = resolve_paths(data_dir)
        try:
            settings, settings_error = _load_settings(paths), None
        except NeedleError as error:
            settings, settings_error = Settings(), error
        checks = library_checks(paths, settings, lambda: unopened, settings_error=settings_error)
        return DoctorReport(tuple(checks))


# ----------------------------------------------------------------------------------------------
# Module helpers


class _StepRecorder:
    """Passes every event on and keeps the steps worth storing with the answer (the streamed
    pieces of the answer and the answer itself are stored as the answer). The answer event is
    held back for `release`: it goes out once the answer is stored, naming its thread."""

    def __init__(self, forward: Callable[[Event], None]) -> None:
        self._forward = forward
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.type == "answer":
            return
        if event.type != "answer_delta":
            with self._lock:
                self.events.append(event)
        self._forward(event)

    def release(self, answer: Event) -> None:
        self._forward(answer)


def _turn_of(
    question: str,
    answer: Answer,
    events: Sequence[Event],
    model: str,
    index: ChunkIndex,
    thread_id: str,
) -> Turn:
    """What is stored of one answer: the answer, its sources with the supporting sentence and
    the hash of their text, the steps, and the passages the agent had in front of it."""
    citations = tuple(
        StoredCitation(
            number=c.number,
            chunk_id=c.chunk_id,
            path=c.path,
            title=c.title,
            page=c.page,
            heading=c.heading,
            quote=quoted_sentences(c.text, c.highlights),
            content_hash=text_hash(c.text),
            start=c.start,
            end=c.end,
        )
        for c in answer.citations
    )
    return Turn(
        thread_id=thread_id,
        position=0,
        question=question.strip(),
        answer=answer.text,
        rewritten=answer.rewritten,
        level=answer.level,
        model=model,
        found=answer.found,
        grounded=answer.grounded,
        citations=citations,
        events=tuple(event.to_dict() for event in events),
        read=_passages_read(events, answer, index),
        llm_calls=answer.llm_calls,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        seconds=answer.seconds,
        asked_at=time.time(),
    )


def _passages_read(
    events: Sequence[Event], answer: Answer, index: ChunkIndex
) -> tuple[ReadPassage, ...]:
    """Every chunk put in front of the model (Level 1's and 2's answer context, each passage
    Level 2 or 3 read, the cited ones), with its text, in document order."""
    from engine.agent.events import ChunkVerdict, Hits, SubAnswer

    wanted: dict[str, None] = {}
    for event in events:
        if isinstance(event, Hits) and event.purpose == "context":
            wanted.update((ref.chunk_id, None) for ref in event.hits)
        elif isinstance(event, ChunkVerdict):
            wanted[event.chunk.chunk_id] = None
        elif isinstance(event, SubAnswer):
            wanted.update((chunk_id, None) for chunk_id in event.chunk_ids)
    wanted.update((c.chunk_id, None) for c in answer.citations)
    hits = index.get_chunks(list(wanted))
    hits.sort(key=lambda hit: (hit.path, hit.start))
    return tuple(
        ReadPassage(hit.chunk_id, hit.path, hit.text, hit.start, hit.page, hit.title)
        for hit in hits
    )


def _ensure_paths(paths: AppPaths) -> None:
    try:
        paths.ensure()
    except OSError as error:
        raise NeedleError(
            ErrorKind.DATA_DIR_UNUSABLE,
            f"Needle cannot create its folders ({error.strerror or error}: {error.filename}).",
            "Choose a writable place with --data-dir or the NEEDLE_HOME environment variable.",
        ) from error


def _load_settings(paths: AppPaths) -> Settings:
    try:
        return load_settings(paths.settings_file)
    except (ValueError, TypeError) as error:
        raise NeedleError(
            ErrorKind.SETTINGS_CORRUPT,
            f"The settings file {paths.settings_file} cannot be read: {error}.",
            "Run `needle settings --reset` to start from the defaults (your folders are kept when "
            "the file still names them), or fix the JSON by hand.",
        ) from error
    except OSError as error:
        raise NeedleError(
            ErrorKind.SETTINGS_UNREADABLE,
            f"The settings file {paths.settings_file} cannot be read ({error.strerror}).",
            "Check its permissions.",
        ) from error


def _new_indexer(
    catalog: Catalog, index: ChunkIndex, settings: Settings, paths: AppPaths
) -> Indexer:
    from engine.library.indexer import Indexer

    return Indexer(catalog, index, settings, ocr_cache=paths.ocr_cache_file)


def _open_index(paths: AppPaths, *, writable: bool) -> ChunkIndex | None:
    """The writer creates the index; a reader gets None when none exists yet."""
    try:
        return ChunkIndex.open(paths.index_dir, writable=writable)
    except NeedleError as error:
        if not writable and error.kind == ErrorKind.INDEX_MISSING:
            return None
        raise


def _apply_setting_changes(current: Settings, changes: dict[str, Any]) -> Settings:
    """`current` with `changes`, checked against each setting's declaration (engine/settings.py)
    and against what the runtime does with it (ignore patterns compiled as the scanner compiles
    them). Raises invalid_settings naming every problem; nothing is half-applied."""
    unknown = sorted(set(changes) - set(FIELDS_BY_NAME))
    if unknown:
        editable = ", ".join(f.name for f in FIELDS if f.editable)
        raise NeedleError(
            ErrorKind.INVALID_SETTINGS,
            f"Unknown setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            f"Known settings: {editable}.",
        )
    fixed = sorted(name for name in changes if not FIELDS_BY_NAME[name].editable)
    if fixed:
        raise NeedleError(
            ErrorKind.INVALID_SETTINGS,
            "Folders are not changed through settings.",
            "Use `needle folders add PATH` / `needle folders remove PATH`.",
        )
    data = current.to_dict()
    problems: list[str] = []
    for name, value in changes.items():
        declared = FIELDS_BY_NAME[name]
        if declared.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = declared.problem(value)
        if problem is not None:
            problems.append(problem)
        data[name] = value
    if problems:
        raise _invalid_settings(problems)
    updated = Settings.from_dict(data)
    if "ollama_host" in changes:
        updated.ollama_host = normalize_host(updated.ollama_host)
    if "openai_url" in changes:
        updated.openai_url = updated.openai_url.strip().rstrip("/")
    from engine.library.ignore import pattern_problems

    problems = updated.problems() + pattern_problems(updated.ignore_patterns)
    if problems:
        raise _invalid_settings(problems)
    return updated


def _invalid_settings(problems: list[str]) -> NeedleError:
    return NeedleError(
        ErrorKind.INVALID_SETTINGS, " ".join(problems), "Nothing was changed; correct the values."
    )


# Folders of the system, not of documents: their files are not notes, some never end (/proc,
# /dev) and some are private (/etc). The file system's root and the home folder itself are
# refused as well: a whole disk or home holds caches, mail stores and keys.
SYSTEM_FOLDERS = ("/etc", "/proc", "/dev", "/sys", "/boot", "/run", "/bin", "/sbin", "/lib", "/usr")


def _system_folder(folder: Path) -> str | None:
    """What `folder` is when Needle must not index it, else None."""
    real = Path(os.path.realpath(folder))
    if real == Path(real.anchor):
        return "the root of the file system"
    if real == Path(os.path.realpath(Path.home())):
        return "your home folder itself"
    if any(real == Path(s) or real.is_relative_to(s) for s in SYSTEM_FOLDERS):
        return "a system folder"
    return None


def _check_new_folder(folder: Path, existing: list[Path]) -> None:
    if not folder.exists():
        raise NeedleError(
            ErrorKind.FOLDER_MISSING,
            f"{folder} does not exist.",
            "Check the spelling, or create the folder first.",
        )
    if not folder.is_dir():
        raise NeedleError(
            ErrorKind.NOT_A_DIRECTORY,
            f"{folder} is a file, not a folder.",
            f"Add the folder that contains it: `needle folders add {folder.parent}`.",
        )
    what = _system_folder(folder)
    if what is not None:
        raise NeedleError(
            ErrorKind.SYSTEM_FOLDER,
            f"{folder} is {what}; Needle indexes folders of your own notes and documents.",
            "Add the folders that hold them instead, e.g. `needle folders add ~/Documents`.",
        )
    if not os.access(folder, os.R_OK | os.X_OK):
        raise NeedleError(
            ErrorKind.FOLDER_UNREADABLE,
            f"{folder} cannot be read by your user.",
            f"Give yourself read access (`chmod u+rx {folder}`) and add it again.",
        )
    for other in existing:
        if folder == other:
            raise NeedleError(
                ErrorKind.FOLDER_EXISTS,
                f"{folder} is already indexed.",
                "Run `needle index` to bring it up to date.",
            )
        if folder.is_relative_to(other):
            raise NeedleError(
                ErrorKind.FOLDER_OVERLAP,
                f"{folder} is inside {other}, which is already indexed.",
                "Its files are already searchable; `needle search --in` limits a search to it.",
            )
        if other.is_relative_to(folder):
            raise NeedleError(
                ErrorKind.FOLDER_OVERLAP,
                f"{folder} contains {other}, which is already indexed on its own.",
                f"Remove the inner folder first (`needle folders remove {other}`), then add "
                f"{folder}.",
            )


def _check_secrets(secrets: dict[str, Any]) -> None:
    problems = [p for n, v in secrets.items() if (p := FIELDS_BY_NAME[n].problem(v)) is not None]
    if problems:
        raise _invalid_settings(problems)
