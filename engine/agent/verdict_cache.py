"""Level-2 verdicts remembered by (chunk content, question, model).

Reading a chunk is the expensive step of Level 2. A chunk whose text did not change, read for the
same question by the same model, gets the same verdict, so the verdict is stored under a key made
of the hash of the chunk text, the normalized question and the model name. Editing a note changes
its chunks' text and therefore their keys: stale verdicts are never reused, only left to age out.

`SqliteVerdictCache` keeps verdicts in one SQLite file under the cache folder and is safe to use
from the parallel reader threads; `MemoryVerdictCache` is the same thing in a dict."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.errors import ErrorKind, NeedleError
from engine.lang import SENTENCE_ENDS

CACHE_FILE_NAME = "verdicts.sqlite3"
MAX_ROWS = 200_000  # about 100 MB at worst; the oldest verdicts go first


# Part of every key: verdicts written for an earlier read prompt are never reused.
READ_PROMPT_VERSION = 2


@dataclass(frozen=True)
class Verdict:
    """One chunk read for one question. `relevant` is what the reading trusts: the passage gives
    the answer (grade "answers") with quoted sentences that really are in it."""

    relevant: bool
    quotes: tuple[str, ...] = ()
    grade: str = "no"  # answers | related | no
    answer: str = ""  # the short answer the quotes give, in the question's language

    @property
    def related(self) -> bool:
        """About the question's subject without giving the answer: context, not evidence."""
        return self.grade == "related"


class VerdictCache(Protocol):
    def get(self, key: str) -> Verdict | None: ...

    def put(self, key: str, verdict: Verdict) -> None: ...


def normalize_question(question: str) -> str:
    """Case, width, spacing and final punctuation do not make a different question."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = " ".join(text.split())
    return re.sub(rf"[\s{re.escape(SENTENCE_ENDS)}]+$", "", text)


def verdict_key(chunk_text: str, question: str, model: str) -> str:
    content = hashlib.sha1(chunk_text.encode("utf-8", "surrogatepass")).hexdigest()
    material = "\x1f".join((content, normalize_question(question), model, str(READ_PROMPT_VERSION)))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryVerdictCache:
    def __init__(self) -> None:
        self._verdicts: dict[str, Verdict] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            return self._verdicts.get(key)

    def put(self, key: str, verdict: Verdict) -> None:
        with self._lock:
            self._verdicts[key] = verdict

    def __len__(self) -> int:
        with self._lock:
            return len(self._verdicts)


class SqliteVerdictCache:
    """One connection shared by all threads behind a lock: verdict reads and writes are tiny,
    and the model calls around them take seconds, so the lock is never the bottleneck."""

    def __init__(self, path: Path, *, max_rows: int = MAX_ROWS) -> None:
        self.path = path
        self._max_rows = max_rows
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open(path)
        except (sqlite3.DatabaseError, OSError):
            # A damaged cache holds nothing that cannot be recomputed: set it aside, start anew.
            self._set_aside(path)
            try:
                self._db = self._open(path)
            except (sqlite3.DatabaseError, OSError) as error:
                raise NeedleError(
                    ErrorKind.CACHE_UNUSABLE,
                    f"The verdict cache at {path} cannot be opened: {error}.",
                    "Check that the cache folder is writable, or delete the file.",
                ) from error

    @classmethod
    def in_folder(cls, cache_dir: Path) -> SqliteVerdictCache:
        return cls(cache_dir / CACHE_FILE_NAME)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS verdicts ("
            " key TEXT PRIMARY KEY, relevant INTEGER NOT NULL, quotes TEXT NOT NULL,"
            " stored REAL NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS verdicts_stored ON verdicts(stored)")
        db.commit()
        return db

    @staticmethod
    def _set_aside(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            damaged = Path(str(path) + suffix)
            if damaged.exists():
                damaged.replace(Path(str(damaged) + f".damaged-{int(time.time())}"))

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT relevant, quotes FROM verdicts WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        try:
            stored = json.loads(row[1])
        except ValueError:
            return None
        if not isinstance(stored, dict):
            return None  # written by an older version: the key cannot match, but be safe
        quotes = stored.get("quotes", [])
        return Verdict(
            bool(row[0]),
            tuple(str(q) for q in quotes) if isinstance(quotes, list) else (),
            str(stored.get("grade", "no")),
            str(stored.get("answer", "")),
        )

    def put(self, key: str, verdict: Verdict) -> None:
        payload = json.dumps(
            {"quotes": list(verdict.quotes), "grade": verdict.grade, "answer": verdict.answer},
            ensure_ascii=False,
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts (key, relevant, quotes, stored) VALUES (?,?,?,?)",
                (key, int(verdict.relevant), payload, time.time()),
            )
            self._db.commit()

    def prune(self) -> int:
        """Drop the oldest verdicts beyond the row limit; returns how many went."""
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
            excess = int(count) - self._max_rows
            if excess <= 0:
                return 0
            self._db.execute(
                "DELETE FROM verdicts WHERE key IN "
                "(SELECT key FROM verdicts ORDER BY stored LIMIT ?)",
                (excess,),
            )
            self._db.commit()
            return excess

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
