"""Small JSON files (settings, folder states, calibration, the index's schema record) written
atomically: a crash or a full disk mid-write leaves the old file, never half a file."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """Write `data` as indented UTF-8 JSON to a temporary file beside `path`, then rename it
    over `path`. Creates the parent folder; raises OSError when the folder is not writable."""
    import tempfile  # with its dependencies a noticeable part of `needle search`'s start-up

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=sort_keys)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
