"""The catalog: SQLite (WAL) record of every file Needle knows, its state and why it failed.

The catalog is the truth about what is indexed. Each row is a `FileRecord` keyed by absolute path.
`doc_id` names the file's document in the Tantivy index and survives renames. State `pending`
means "the index may hold a partial or stale copy of this doc_id": the indexer writes it before
touching the index and replaces it only after the index commit, so a crash in between is repaired
on the next reconcile (see docs/index-schema.md, "Reconcile").

Thread safety: one connection per thread (SQLite connections must not be shared across threads
without care), WAL so readers never block the writer, and a process-local lock serialising
writes. Every public method is one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import ErrorKind, NeedleError
from engine.models import FileRecord, FileState
from engine.paths import make_database_private

SCHEMA_VERSION = 2
PROBLEM_STATES: tuple[FileState, ...] = ("error", "skipped")
ALL_STATES: tuple[FileState, ...] = ("pending", "indexed", "error", "skipped")

_COLUMNS = (
    "path",
    "size",
    "mtime",
    "content_hash",
    "state",
    "error_kind",
    "error",
    "chunk_count",
    "indexed_at",
    "doc_id",
    "kind",
    "page_count",
    "ocr_pages",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM files"
_UPSERT = (
    f"INSERT INTO files ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT(path) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in _COLUMNS[1:])
)

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'indexed', 'error', 'skipped')),
    error_kind TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL NOT NULL DEFAULT 0,
    doc_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    page_count INTEGER
);
CREATE INDEX IF NOT EXISTS files_by_hash ON files (content_hash);
CREATE INDEX IF NOT EXISTS files_by_doc ON files (doc_id);
CREATE INDEX IF NOT EXISTS files_by_state ON files (state);
"""
# Version 2: how many pages (or images) of a file were read by OCR.
_SCHEMA_V2 = "ALTER TABLE files ADD COLUMN ocr_pages INTEGER NOT NULL DEFAULT 0"


def _record(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def _values(record: FileRecord) -> tuple[Any, ...]:
    return tuple(getattr(record, column) for column in _COLUMNS)


def folder_bounds(folder: str | os.PathLike[str]) -> tuple[str, str]:
    """[low, high) string bounds of every path strictly inside `folder`.

    Uses the separator's successor character as the upper bound, so an index range scan finds a
    folder's files without LIKE (whose wildcards `%` and `_` are legal in file names)."""
    prefix = os.path.join(os.fspath(folder), "")
    return prefix, prefix[:-1] + chr(ord(os.sep) + 1)


class Catalog:
    """The files table of one library. `Catalog(path)` opens (creating if needed) and migrates.

    Public methods: `upsert`, `upsert_many`, `get`, `get_by_doc_id`, `delete`, `delete_many`,
    `all_records`, `records_under(folder)`, `records_in_state(state)`, `state_counts(folder)`,
    `problems(folder)`, `find_by_hash(content_hash)`, `new_doc_id()`, `total_chunks()`, `close()`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        self._migrate()

    # -- connections -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise NeedleError(
                ErrorKind.CATALOG_CLOSED, "The catalog was closed.", "Reopen the library."
            )
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open_connection()
            self._local.connection = connection
            with self._connections_lock:
                self._close_orphans()
                self._connections[threading.current_thread()] = connection
        return connection

    def _close_orphans(self) -> None:
        """Close connections of threads that ended (a service may use a thread per request;
        without this, each would leave an open file behind until `close()`)."""
        for thread, connection in list(self._connections.items()):
            if not thread.is_alive():
                del self._connections[thread]
                connection.close()

    def _open_connection(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across application crashes in WAL mode; only a power cut may
            # lose the last transactions, which the next reconcile redoes.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            make_database_private(self.path)
        except sqlite3.DatabaseError as error:
            raise NeedleError(
                ErrorKind.CATALOG_CORRUPT,
                f"The catalog at {self.path} cannot be opened ({error}).",
                "Delete it to rebuild the index from your folders (`needle doctor` shows where).",
            ) from error
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _migrate(self) -> None:
        current = self._connection().execute("PRAGMA user_version").fetchone()[0]
        if current == SCHEMA_VERSION:
            return  # nothing to write: readers never need a write lock to open
        with self._transaction() as connection:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise NeedleError(
                    ErrorKind.CATALOG_TOO_NEW,
                    f"The catalog at {self.path} was written by a newer Needle "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}).",
                    "Update Needle, or delete the catalog to rebuild the index.",
                )
            if version < 1:
                for statement in _SCHEMA_V1.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            if version < 2:
                connection.execute(_SCHEMA_V2)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close every thread's connection. The catalog cannot be used afterwards."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, {}
        for connection in connections.values():
            connection.close()

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, record: FileRecord) -> None:
        self.upsert_many([record])

    def upsert_many(self, records: Iterable[FileRecord]) -> None:
        """Insert or replace rows by path, all in one transaction."""
        rows = [_values(record) for record in records]
        if not rows:
            return
        with self._transaction() as connection:
            connection.executemany(_UPSERT, rows)

    def replace(self, remove_paths: Iterable[str], records: Iterable[FileRecord]) -> None:
        """Delete `remove_paths` and upsert `records` atomically (a rename moves a row)."""
        removed = [(path,) for path in remove_paths]
        rows = [_values(record) for record in records]
        with self._transaction() as connection:
            connection.executemany("DELETE FROM files WHERE path = ?", removed)
            connection.executemany(_UPSERT, rows)

    def delete(self, path: str) -> bool:
        return self.delete_many([path]) > 0

    def delete_many(self, paths: Iterable[str]) -> int:
        rows = [(path,) for path in paths]
        if not rows:
            return 0
        with self._transaction() as connection:
            before = connection.total_changes
            connection.executemany("DELETE FROM files WHERE path = ?", rows)
            return connection.total_changes - before

    def mark_pending(self, paths: Iterable[str]) -> None:
        """Flag rows whose documents are about to change in the index (see module docstring)."""
        rows = [(path,) for path in paths]
        with self._transaction() as connection:
            connection.executemany("UPDATE files SET state = 'pending' WHERE path = ?", rows)

    # -- reads -------------------------------------------------------------------------------

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[FileRecord]:
        rows = self._connection().execute(sql, parameters).fetchall()
        return [_record(row) for row in rows]

    def get(self, path: str) -> FileRecord | None:
        records = self._query(f"{_SELECT} WHERE path = ?", (path,))
        return records[0] if records else None

    def get_by_doc_id(self, doc_id: str) -> FileRecord | None:
        records = self._query(f"{_SELECT} WHERE doc_id = ? LIMIT 1", (doc_id,))
        return records[0] if records else None

    def all_records(self) -> list[FileRecord]:
        return self._query(f"{_SELECT} ORDER BY path")

    def records_under(self, folder: str | os.PathLike[str]) -> list[FileRecord]:
        """Rows for files anywhere inside `folder` (not the folder itself), ordered by path."""
        low, high = folder_bounds(folder)
        return self._query(f"{_SELECT} WHERE path >= ? AND path < ? ORDER BY path", (low, high))

    def records_in_state(self, state: FileState) -> list[FileRecord]:
        return self._query(f"{_SELECT} WHERE state = ? ORDER BY path", (state,))

    def find_by_hash(self, content_hash: str) -> list[FileRecord]:
        """Rows with this content hash: the candidates when a new path may be a renamed file."""
        if not content_hash:
            return []
        return self._query(f"{_SELECT} WHERE content_hash = ? ORDER BY path", (content_hash,))

    def state_counts(self, folder: str | os.PathLike[str] | None = None) -> dict[str, int]:
        """Number of files per state (every state present as a key), for one folder or all."""
        counts: dict[str, int] = dict.fromkeys(ALL_STATES, 0)
        sql = "SELECT state, COUNT(*) FROM files"
        parameters: tuple[Any, ...] = ()
        if folder is not None:
            sql += " WHERE path >= ? AND path < ?"
            parameters = folder_bounds(folder)
        for state, count in self._connection().execute(sql + " GROUP BY state", parameters):
            counts[str(state)] = int(count)
        return counts

    def problems(self, folder: str | os.PathLike[str] | None = None) -> list[FileRecord]:
        """Files in state error or skipped, and indexed files that lost part of their text (a
        PDF with unreadable pages: kind "partial"), each with `error_kind` and `error` saying
        why, so the user knows why a file never matches or matches only in part."""
        sql = f"{_SELECT} WHERE (state IN ('error', 'skipped') OR error_kind != '')"
        parameters: tuple[Any, ...] = ()
        if folder is not None:
            sql += " AND path >= ? AND path < ?"
            parameters = folder_bounds(folder)
        return self._query(sql + " ORDER BY path", parameters)

    def total_chunks(self) -> int:
        """Chunks the index should hold for indexed files (a cheap consistency check)."""
        row = (
            self._connection()
            .execute("SELECT COALESCE(SUM(chunk_count), 0) FROM files WHERE state = 'indexed'")
            .fetchone()
        )
        return int(row[0])

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM files").fetchone()[0])

    # -- identity ----------------------------------------------------------------------------

    @staticmethod
    def new_doc_id() -> str:
        """A fresh document id. Random rather than a counter so no two processes or crashed runs
        can ever hand out the same id; the indexer keeps it for the file's whole life, renames
        included."""
        import uuid  # only a writer makes ids; readers start faster without it

        return uuid.uuid4().hex[:20]
