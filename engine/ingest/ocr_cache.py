"""Texts OCR already made of page images, keyed by the page's pixels (`ocr.page_key`).

A renamed, copied or re-saved file whose pages look the same is never recognised twice, and
neither is any page after the index is rebuilt. One SQLite file in the cache folder; extraction
workers in separate processes read and write it concurrently (WAL, a busy timeout). The cache is
an optimisation: when it cannot be opened or written, OCR simply runs again."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from engine.paths import make_database_private

log = logging.getLogger(__name__)

# Past this many pages the least recently used are dropped (a page's text is ~2-4 KB).
MAX_PAGES = 100_000
# How often (in pages written) the size is checked.
PRUNE_EVERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    used_at REAL NOT NULL
)
"""


class OcrCache:
    """`get(key)` and `put(key, text)`; failures are logged and treated as a miss."""

    def __init__(self, path: Path, *, max_pages: int = MAX_PAGES) -> None:
        self.path = Path(path)
        self.max_pages = max_pages
        self._connection: sqlite3.Connection | None = None
        self._writes = 0
        self._broken = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is not None or self._broken:
            return self._connection
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            make_database_private(self.path)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as error:
            log.warning(
                "OCR cache %s unusable, pages will be recognised again: %s", self.path, error
            )
            self._broken = True
            return None
        self._connection = connection
        return connection

    def get(self, key: str) -> str | None:
        connection = self._connect()
        if connection is None:
            return None
        try:
            row = connection.execute("SELECT text FROM pages WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            connection.execute("UPDATE pages SET used_at = ? WHERE key = ?", (time.time(), key))
        except sqlite3.Error as error:
            log.warning("OCR cache read failed: %s", error)
            return None
        return str(row[0])

    def put(self, key: str, text: str) -> None:
        connection = self._connect()
        if connection is None:
            return
        try:
            connection.execute(
                "INSERT OR REPLACE INTO pages (key, text, used_at) VALUES (?, ?, ?)",
                (key, text, time.time()),
            )
            self._writes += 1
            if self._writes % PRUNE_EVERY == 0:
                self.prune()
        except sqlite3.Error as error:
            log.warning("OCR cache write failed: %s", error)

    def prune(self) -> None:
        """Keep the `max_pages` most recently used pages."""
        connection = self._connect()
        if connection is None:
            return
        connection.execute(
            "DELETE FROM pages WHERE key NOT IN "
            "(SELECT key FROM pages ORDER BY used_at DESC LIMIT ?)",
            (self.max_pages,),
        )

    def __len__(self) -> int:
        connection = self._connect()
        if connection is None:
            return 0
        return int(connection.execute("SELECT COUNT(*) FROM pages").fetchone()[0])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
