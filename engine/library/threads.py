"""The question history: threads and their turns in one SQLite file of the library
(`AppPaths.threads_file`), readable by this user only.

WAL with synchronous=NORMAL: a turn is one transaction, so a crash (kill -9, power kept) leaves
either the whole turn or none of it. The schema is versioned by `PRAGMA user_version`; a newer
file is refused rather than misread. Readers and the writer process may both add turns (a CLI
`needle ask` beside the desktop): SQLite's own file locking serialises them.

Thread safety: one connection per store behind a lock; every call is short."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import ErrorKind, NeedleError
from engine.paths import make_database_private
from engine.threads import (
    ReadPassage,
    StoredCitation,
    Thread,
    ThreadSummary,
    TraceFilter,
    Turn,
    text_hash,
)

SCHEMA_VERSION = 2
ReadsByTurn = dict[tuple[str, int], list[ReadPassage]]
TITLE_CHARS = 80  # a new thread is named after its first question, cut here
LIST_LIMIT = 500

_SCHEMA_V1 = """
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE turns (
    thread_id TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    rewritten TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    level INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL DEFAULT '',
    found INTEGER NOT NULL DEFAULT 0,
    grounded INTEGER NOT NULL DEFAULT 0,
    kept INTEGER NOT NULL DEFAULT 0,
    llm_calls INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]',
    events TEXT NOT NULL DEFAULT '[]',
    read TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (thread_id, position)
);
CREATE INDEX turns_by_time ON turns (asked_at);
CREATE INDEX threads_by_update ON threads (updated);
"""
# Version 2: the passages a turn read are stored once per text (zlib-compressed) however many
# turns read them — follow-ups re-read their thread's chunks — and go when no turn needs them.
_SCHEMA_V2 = """
CREATE TABLE passages (
    hash TEXT PRIMARY KEY,
    text BLOB NOT NULL
);
CREATE TABLE turn_reads (
    thread_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    chunk_id TEXT NOT NULL,
    path TEXT NOT NULL,
    start INTEGER NOT NULL DEFAULT 0,
    page INTEGER,
    title TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL,
    PRIMARY KEY (thread_id, position, ord),
    FOREIGN KEY (thread_id, position) REFERENCES turns(thread_id, position) ON DELETE CASCADE
);
CREATE INDEX turn_reads_by_hash ON turn_reads (hash);
"""


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_v2(db: sqlite3.Connection) -> None:
    """The passages of version-1 turns move out of their JSON column into the shared table."""
    _run_script(db, _SCHEMA_V2)
    rows = db.execute("SELECT thread_id, position, read FROM turns WHERE read != '[]'").fetchall()
    for thread_id, position, read in rows:
        passages = [ReadPassage.from_dict(p) for p in _loaded_list(read) if isinstance(p, dict)]
        _insert_reads(db, thread_id, int(position), passages)
    db.execute("UPDATE turns SET read = '[]'")


# (version, step): _migrate runs, in order, every step above the file's version.
_MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (1, lambda db: _run_script(db, _SCHEMA_V1)),
    (2, _migrate_v2),
)

_TURN_COLUMNS = (
    "thread_id",
    "position",
    "asked_at",
    "question",
    "rewritten",
    "answer",
    "level",
    "model",
    "found",
    "grounded",
    "kept",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "seconds",
    "citations",
    "events",
    "read",
)
_SELECT_TURNS = f"SELECT {', '.join(_TURN_COLUMNS)} FROM turns"


def _title_from(question: str) -> str:
    title = " ".join(question.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _loaded_list(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return []  # a damaged column costs that column, never the turn
    return value if isinstance(value, list) else []


def _insert_reads(
    db: sqlite3.Connection, thread_id: str, position: int, passages: Sequence[ReadPassage]
) -> None:
    for order, passage in enumerate(passages):
        digest = text_hash(passage.text)
        db.execute(
            "INSERT OR IGNORE INTO passages (hash, text) VALUES (?, ?)",
            (digest, zlib.compress(passage.text.encode("utf-8", "surrogatepass"), 6)),
        )
        db.execute(
            "INSERT INTO turn_reads (thread_id, position, ord, chunk_id, path, start, page, "
            "title, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                thread_id,
                position,
                order,
                passage.chunk_id,
                passage.path,
                passage.start,
                passage.page,
                passage.title,
                digest,
            ),
        )


def _passage_text(blob: bytes) -> str:
    try:
        return zlib.decompress(blob).decode("utf-8", "surrogatepass")
    except (zlib.error, UnicodeDecodeError):
        return ""  # a damaged passage costs its text, never the turn


_SELECT_READS = (
    "SELECT r.thread_id, r.position, r.chunk_id, r.path, r.start, r.page, r.title, p.text "
    "FROM turn_reads r JOIN passages p ON p.hash = r.hash"
)


def _reads(db: sqlite3.Connection, where: str, args: Sequence[Any]) -> ReadsByTurn:
    found: ReadsByTurn = {}
    for thread_id, position, chunk_id, path, start, page, title, blob in db.execute(
        f"{_SELECT_READS} {where} ORDER BY r.thread_id, r.position, r.ord", args
    ):
        passage = ReadPassage(chunk_id, path, _passage_text(blob), int(start), page, title)
        found.setdefault((thread_id, int(position)), []).append(passage)
    return found


def _turn(row: Sequence[Any], reads: ReadsByTurn) -> Turn:
    data = dict(zip(_TURN_COLUMNS, row, strict=True))
    return Turn(
        thread_id=data["thread_id"],
        position=int(data["position"]),
        question=data["question"],
        answer=data["answer"],
        rewritten=data["rewritten"],
        level=int(data["level"]),
        model=data["model"],
        found=bool(data["found"]),
        grounded=bool(data["grounded"]),
        citations=tuple(
            StoredCitation.from_dict(c)
            for c in _loaded_list(data["citations"])
            if isinstance(c, dict)
        ),
        events=tuple(e for e in _loaded_list(data["events"]) if isinstance(e, dict)),
        read=tuple(reads.get((data["thread_id"], int(data["position"])), ())),
        llm_calls=int(data["llm_calls"]),
        prompt_tokens=int(data["prompt_tokens"]),
        completion_tokens=int(data["completion_tokens"]),
        seconds=float(data["seconds"]),
        asked_at=float(data["asked_at"]),
        kept=bool(data["kept"]),
    )


class ThreadStore:
    """`ThreadStore(path)` opens (creating and migrating) the history. Methods: `new_thread`,
    `add_turn`, `thread`, `threads`, `rename`, `delete`, `set_kept`, `prune`, `turns`, `close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across application crashes in WAL mode.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            make_database_private(self.path)
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise NeedleError(
                ErrorKind.HISTORY_CORRUPT,
                f"The question history at {self.path} cannot be opened ({error}).",
                "Move the file away to start a new history; your documents and index are "
                "not affected.",
            ) from error

    # -- plumbing ------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        if int(self._db.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION:
            return
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise NeedleError(
                    ErrorKind.HISTORY_TOO_NEW,
                    f"The question history at {self.path} was written by a newer Needle "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}).",
                    "Update Needle to see it; this version leaves it untouched.",
                )
            for step, migrate in _MIGRATIONS:
                if version < step:
                    migrate(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _require(self, db: sqlite3.Connection, thread_id: str) -> None:
        if db.execute("SELECT 1 FROM threads WHERE id = ?", (thread_id,)).fetchone() is None:
            raise unknown_thread(thread_id)

    # -- writes --------------------------------------------------------------------------------

    def new_thread(self, title: str, *, now: float | None = None) -> str:
        thread_id = uuid.uuid4().hex[:12]
        when = time.time() if now is None else now
        with self._transaction() as db:
            db.execute(
                "INSERT INTO threads (id, title, created, updated) VALUES (?, ?, ?, ?)",
                (thread_id, _title_from(title) or "Untitled", when, when),
            )
        return thread_id

    def add_turn(self, turn: Turn) -> Turn:
        """Append `turn` to its thread (its `position` is assigned here); one transaction."""
        with self._transaction() as db:
            self._require(db, turn.thread_id)
            (last,) = db.execute(
                "SELECT COALESCE(MAX(position), 0) FROM turns WHERE thread_id = ?",
                (turn.thread_id,),
            ).fetchone()
            stored = Turn.from_dict({**turn.to_dict(), "position": int(last) + 1})
            values = {
                **{name: getattr(stored, name) for name in _TURN_COLUMNS},
                "citations": _json([c.to_dict() for c in stored.citations]),
                "events": _json(list(stored.events)),
                "read": "[]",  # the passages go to turn_reads (schema version 2)
            }
            db.execute(
                f"INSERT INTO turns ({', '.join(_TURN_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _TURN_COLUMNS)})",
                tuple(values[name] for name in _TURN_COLUMNS),
            )
            _insert_reads(db, stored.thread_id, stored.position, stored.read)
            db.execute(
                "UPDATE threads SET updated = ? WHERE id = ?",
                (max(stored.asked_at, time.time()), stored.thread_id),
            )
        return stored

    def rename(self, thread_id: str, title: str) -> None:
        name = " ".join(title.split())
        if not name:
            raise NeedleError(
                ErrorKind.INVALID_ARGUMENT, "A thread's name cannot be empty.", "Type a name."
            )
        with self._transaction() as db:
            self._require(db, thread_id)
            db.execute("UPDATE threads SET title = ? WHERE id = ?", (name, thread_id))

    def delete(self, thread_id: str) -> None:
        with self._transaction() as db:
            self._require(db, thread_id)
            db.execute("DELETE FROM threads WHERE id = ?", (thread_id,))
            _forget_unread_passages(db)

    def set_kept(self, thread_id: str, positions: Sequence[int] | None = None) -> None:
        """Mark turns (all of the thread's when `positions` is None) as kept by the user."""
        with self._transaction() as db:
            self._require(db, thread_id)
            if positions is None:
                db.execute("UPDATE turns SET kept = 1 WHERE thread_id = ?", (thread_id,))
                return
            db.executemany(
                "UPDATE turns SET kept = 1 WHERE thread_id = ? AND position = ?",
                [(thread_id, position) for position in positions],
            )

    def prune(self, older_than: float) -> int:
        """Delete threads not continued since `older_than` (unix seconds); how many went."""
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM threads WHERE updated < ?", (older_than,))
            _forget_unread_passages(db)
            return int(cursor.rowcount)

    # -- reads ---------------------------------------------------------------------------------

    def thread(self, thread_id: str) -> Thread:
        with self._lock:
            row = self._db.execute(
                "SELECT id, title, created, updated FROM threads WHERE id = ?", (thread_id,)
            ).fetchone()
            if row is None:
                raise unknown_thread(thread_id)
            turns = self._db.execute(
                f"{_SELECT_TURNS} WHERE thread_id = ? ORDER BY position", (thread_id,)
            ).fetchall()
            reads = _reads(self._db, "WHERE r.thread_id = ?", (thread_id,))
        stored = tuple(_turn(turn, reads) for turn in turns)
        return Thread(row[0], row[1], float(row[2]), float(row[3]), stored)

    def threads(self, search: str = "", *, limit: int = LIST_LIMIT) -> list[ThreadSummary]:
        """The newest threads first; `search` matches names, questions and answers (any case)."""
        where = ""
        args: list[Any] = [limit]
        if search.strip():
            where = (
                "WHERE t.title LIKE ?1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns s WHERE "
                "s.thread_id = t.id AND (s.question LIKE ?1 ESCAPE '\\' OR "
                "s.rewritten LIKE ?1 ESCAPE '\\' OR s.answer LIKE ?1 ESCAPE '\\'))"
            )
            args = [_like_pattern(search.strip()), limit]
        limit_at = "?2" if where else "?1"
        query = (
            "SELECT t.id, t.title, t.created, t.updated, "
            "(SELECT COUNT(*) FROM turns c WHERE c.thread_id = t.id), "
            "(SELECT q.question FROM turns q WHERE q.thread_id = t.id "
            "ORDER BY q.position DESC LIMIT 1) "
            f"FROM threads t {where} ORDER BY t.updated DESC, t.id LIMIT {limit_at}"
        )
        with self._lock:
            rows = self._db.execute(query, args).fetchall()
        return [
            ThreadSummary(r[0], r[1], float(r[2]), float(r[3]), int(r[4]), r[5] or "") for r in rows
        ]

    def citations_of(self, thread_ids: Sequence[str]) -> dict[str, list[StoredCitation]]:
        """Every citation of each thread's answers (for the history list's staleness)."""
        cited: dict[str, list[StoredCitation]] = {}
        for start in range(0, len(thread_ids), 500):  # SQLite's limit on bound parameters
            batch = list(thread_ids[start : start + 500])
            marks = ", ".join("?" for _ in batch)
            with self._lock:
                rows = self._db.execute(
                    f"SELECT thread_id, citations FROM turns WHERE thread_id IN ({marks})", batch
                ).fetchall()
            for thread_id, citations in rows:
                cited.setdefault(thread_id, []).extend(
                    StoredCitation.from_dict(c)
                    for c in _loaded_list(citations)
                    if isinstance(c, dict)
                )
        return cited

    def turns(self, which: TraceFilter | None = None) -> list[Turn]:
        """Every stored turn that `which` selects (all when None), oldest first."""
        which = which or TraceFilter()
        clauses: list[str] = []
        args: list[Any] = []
        if which.grounded_only:
            clauses.append("grounded = 1")
        if which.since is not None:
            clauses.append("asked_at >= ?")
            args.append(which.since)
        if which.level is not None:
            clauses.append("level = ?")
            args.append(which.level)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT_TURNS}{where} ORDER BY asked_at, thread_id, position", args
            ).fetchall()
            reads = _reads(self._db, "", ())
        return [_turn(row, reads) for row in rows]

    def integrity(self) -> str:
        """SQLite's own check: "ok" for a sound file."""
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _forget_unread_passages(db: sqlite3.Connection) -> None:
    """Passage texts no stored turn read any more: a deleted thread takes its text with it."""
    db.execute(
        "DELETE FROM passages WHERE NOT EXISTS "
        "(SELECT 1 FROM turn_reads r WHERE r.hash = passages.hash)"
    )


def unknown_thread(thread_id: str) -> NeedleError:
    return NeedleError(
        ErrorKind.THREAD_UNKNOWN,
        f"No thread {thread_id!r} is in the history.",
        "List the threads with `needle history`.",
    )
