"""Where Needle keeps its files. Tests and benchmarks point NEEDLE_HOME (or --data-dir) at a
temporary folder so they never touch the user's real data."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "Needle"
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
HOME_ENV = "NEEDLE_HOME"


@dataclass(frozen=True)
class AppPaths:
    data: Path  # index and catalog
    config: Path  # settings.json
    cache: Path  # verdict cache, model calibration
    logs: Path

    @property
    def index_dir(self) -> Path:
        return self.data / "index"

    @property
    def catalog_file(self) -> Path:
        return self.data / "catalog.sqlite3"

    @property
    def threads_file(self) -> Path:
        """The questions asked, their answers and steps (engine/library/threads.py)."""
        return self.data / "threads.sqlite3"

    @property
    def lock_file(self) -> Path:
        return self.data / "writer.lock"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def ocr_cache_file(self) -> Path:
        """Text already recognised in page images (engine/ingest/ocr_cache.py)."""
        return self.cache / "ocr-cache.sqlite3"

    def ensure(self) -> AppPaths:
        """Create the folders, readable by this user only (they hold the text of every file
        indexed); folders made by an older Needle are made private too."""
        for folder in (self.data, self.config, self.cache, self.logs):
            folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
            os.chmod(folder, PRIVATE_FOLDER)
        return self


def resolve_paths(data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
    """`data_dir` (from --data-dir) wins, then $NEEDLE_HOME, then the platform's own folders."""
    root = data_dir if data_dir is not None else os.environ.get(HOME_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(base / "data", base / "config", base / "cache", base / "logs")
    import platformdirs  # only without --data-dir or $NEEDLE_HOME

    return AppPaths(
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )


_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def stored_path(path: str | os.PathLike[str]) -> str:
    """How the catalog and the index spell a file's path: the path itself when it is valid
    Unicode, otherwise each byte that is not UTF-8 (a Latin-1 name from an old zip or a Samba
    share, held by Python as a surrogate) written as `\\xe9`, so the name is stored, searched
    and shown as text."""
    text = os.fspath(path)
    if text.isascii() or not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def disk_path(stored: str) -> str:
    """The file a stored path names: the inverse of `stored_path`. A name that really holds
    the characters `\\xe9` is taken as written when such a file exists."""
    if "\\x" not in stored or os.path.lexists(stored):
        return stored
    return _ESCAPED_BYTE.sub(lambda match: chr(0xDC00 + int(match.group(1), 16)), stored)


def make_private(*files: str | os.PathLike[str]) -> None:
    """Make files Needle wrote (a database and its journal, a log) readable by this user only;
    files that do not exist (yet) are skipped."""
    for path in files:
        with contextlib.suppress(OSError):
            os.chmod(path, PRIVATE_FILE)


def make_database_private(path: str | os.PathLike[str]) -> None:
    """An SQLite file and its WAL journal files."""
    text = os.fspath(path)
    make_private(text, f"{text}-wal", f"{text}-shm")
