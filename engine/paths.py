"""Where Needle keeps its files. Tests and benchmarks point NEEDLE_HOME (or --data-dir) at a
temporary folder so they never touch the user's real data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "Needle"
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
        for folder in (self.data, self.config, self.cache, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
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
