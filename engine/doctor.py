"""`needle doctor`: health checks that each say what is wrong and the exact command that fixes it.

Every check is a small function returning a `Check`; none raises, because a doctor that crashes on
the problem it should diagnose is no use. `engine.api.Engine.doctor()` assembles them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import NeedleError
from engine.library.ignore import pattern_problems
from engine.models import Check
from engine.paths import AppPaths, disk_path
from engine.settings import Settings, read_settings

if TYPE_CHECKING:
    from engine.endpoints import Endpoint
    from engine.llm.status import ServerStatus


def library_checks(
    paths: AppPaths,
    settings: Settings,
    index_check: Callable[[], Check],
    *,
    settings_error: NeedleError | None = None,
    files_check: Callable[[], Check] | None = None,
) -> list[Check]:
    """Every check in order: data folder, settings, catalog, index, indexed files, each folder,
    Ollama. `index_check` and `files_check` are supplied by the caller (they need the open
    library); `settings_error` replaces the settings check when the file could not be read."""
    checks = [guarded("data folder", partial(check_data_dir, paths.data))]
    if settings_error is not None:
        checks.append(Check("settings", "fail", settings_error.message, settings_error.hint))
    else:
        checks.append(guarded("settings", partial(check_settings, paths.settings_file, settings)))
    checks.append(guarded("catalog", partial(check_catalog, paths.catalog_file)))
    checks.append(guarded("history", partial(check_history, paths.threads_file)))
    checks.append(guarded("index", index_check))
    if files_check is not None:
        checks.append(guarded("files", files_check))
    checks.append(guarded("ocr", check_ocr))
    checks += [guarded(f"folder {f}", partial(check_folder, f)) for f in settings.folders]
    if not settings.folders and settings_error is None:
        checks.append(
            Check("folders", "warn", "No folders are indexed.", "Run `needle folders add PATH`.")
        )
    checks += server_checks(settings, paths)
    return checks


def server_checks(settings: Settings, paths: AppPaths) -> list[Check]:
    """One check per model server, all probed at once: the main model's servers, then the
    reader's. A single Ollama is named "ollama", as before there could be several."""
    # The HTTP clients load only when a check needs them.
    from engine.llm.connect import ModelPlan, check_endpoints
    from engine.secrets import SecretStore

    try:
        plan = ModelPlan.from_settings(settings)
    except (NeedleError, ValueError) as error:  # the settings check already names the line
        return [Check("model servers", "fail", str(error), "Correct the server list in Settings.")]
    api_key = SecretStore(paths.config).get("api_key") if plan.uses_openai else ""
    groups = [("", plan.model, plan.endpoints)]
    if plan.reader_model:
        groups.append(("reader ", plan.reader_model, plan.reader_endpoints))
    several = len(plan.endpoints) + len(plan.reader_endpoints) > 1
    checks = []
    for prefix, model, endpoints in groups:
        statuses = check_endpoints(endpoints, model, api_key)
        for endpoint, status in zip(endpoints, statuses, strict=True):
            name = prefix + _server_name(endpoint, several)
            checks.append(guarded(name, partial(check_server, name, status, endpoint, model)))
    return checks


def _server_name(endpoint: Endpoint, several: bool) -> str:
    name = "ollama" if endpoint.backend == "ollama" else "openai server"
    return f"{name} {endpoint.url}" if several else name


def guarded(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; an unexpected exception becomes a failed check, not a crashed doctor."""
    try:
        return check()
    except Exception as error:  # the doctor must report, never crash
        return Check(
            name,
            "fail",
            f"Checking this failed unexpectedly: {type(error).__name__}: {error}",
            "Run `needle doctor` again; if it repeats, report it with this message.",
        )


def check_data_dir(data_dir: Path) -> Check:
    name = "data folder"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as error:
        return Check(
            name,
            "fail",
            f"{data_dir} is not writable ({error.strerror or error}).",
            f"Fix its permissions (`chmod u+rwx {data_dir}`) or choose another folder with "
            "--data-dir or NEEDLE_HOME.",
        )
    return Check(name, "ok", f"{data_dir} is writable.")


def _saved_problems(settings_file: Path) -> list[str]:
    """Values in the file that were refused and read as their defaults."""
    try:
        return read_settings(settings_file)[1]
    except (OSError, ValueError):
        return []  # an unreadable file stops the library from opening: reported there


def check_settings(settings_file: Path, settings: Settings) -> Check:
    name = "settings"
    problems = settings.problems() + pattern_problems(settings.ignore_patterns)
    problems += _saved_problems(settings_file)
    if problems:
        return Check(
            name,
            "fail",
            " ".join(problems),
            f"Correct the values with `needle settings KEY=VALUE` or edit {settings_file}.",
        )
    where = str(settings_file) if settings_file.exists() else "defaults (no settings file yet)"
    return Check(name, "ok", f"Settings are valid ({where}).")


def check_ocr() -> Check:
    """Whether scanned PDF pages and images can be read (the optional OCR extra)."""
    from engine.ingest.ocr import INSTALL_HINT, ocr_status

    status = ocr_status()
    if status.available:
        return Check(
            "ocr",
            "ok",
            f"{status.engine} reads scanned PDF pages and images (.png .jpg .tif .webp) in "
            "English and Chinese.",
        )
    return Check(
        "ocr",
        "warn",
        f"{status.reason} Scanned PDF pages and images are not read.",
        INSTALL_HINT,
    )


def _quick_check(database: Path) -> list[str]:
    """SQLite's own quick_check, on a separate read-only connection so it never writes."""
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=10.0)
        try:
            rows = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        rows = [(str(error),)]
    return [str(row[0]) for row in rows]


def check_history(threads_file: Path) -> Check:
    """The question history (docs/threads.md) is sound; a damaged one costs only the history."""
    name = "history"
    if not threads_file.exists():
        return Check(name, "ok", "No questions asked yet.")
    verdicts = _quick_check(threads_file)
    if verdicts == ["ok"]:
        return Check(name, "ok", f"{threads_file.name} passed SQLite's integrity check.")
    return Check(
        name,
        "fail",
        f"{threads_file} is damaged: {'; '.join(verdicts[:3])}.",
        f"Close Needle and move {threads_file} away: a new, empty history starts (your "
        "documents and the index are not affected).",
    )


def check_catalog(catalog_file: Path) -> Check:
    """SQLite's own quick_check, on a separate read-only connection so it never writes."""
    name = "catalog"
    if not catalog_file.exists():
        return Check(name, "warn", "There is no catalog yet.", "Run `needle index` to create it.")
    verdicts = _quick_check(catalog_file)
    if verdicts == ["ok"]:
        return Check(name, "ok", f"{catalog_file.name} passed SQLite's integrity check.")
    return Check(
        name,
        "fail",
        f"{catalog_file} is damaged: {'; '.join(verdicts[:3])}.",
        f"Close Needle, delete {catalog_file} and run `needle index` to rebuild it from your "
        "folders (your files are not touched).",
    )


def check_index_consistency(
    index_chunks: int | None, catalog_chunks: int, index_dir: Path
) -> Check:
    name = "index"
    if index_chunks is None:
        if catalog_chunks:
            return Check(
                name,
                "fail",
                f"The catalog lists {catalog_chunks} chunks but there is no index at {index_dir}.",
                "Run `needle index` to rebuild it.",
            )
        return Check(name, "warn", "Nothing is indexed yet.", "Run `needle index`.")
    if index_chunks != catalog_chunks:
        return Check(
            name,
            "fail",
            f"The index holds {index_chunks} chunks but the catalog expects {catalog_chunks}.",
            "Run `needle index`: it re-extracts the files whose chunks are missing.",
        )
    return Check(
        name, "ok", f"The index opens and holds the {index_chunks} chunks the catalog lists."
    )


def check_files_present(stored: Sequence[str]) -> Check:
    """Catalog rows whose file is gone: search would show a file that no longer exists (a delete
    or rename the watcher missed). `stored` are the rows of folders that are there: the files of
    a missing folder (an unmounted drive) are the folder check's business."""
    name = "files"
    checked = list(stored)
    gone = [path for path in checked if _gone(disk_path(path))]
    if gone:
        more = f" and {len(gone) - 1} more" if len(gone) > 1 else ""
        return Check(
            name,
            "warn",
            f"{len(gone)} indexed files no longer exist ({gone[0]}{more}); search still shows "
            "them.",
            "Run `needle index`: it removes them from the index.",
        )
    return Check(name, "ok", f"All {len(checked)} indexed files exist.")


def _gone(path: str | os.PathLike[str]) -> bool:
    """Known not to exist. A path the system cannot look up at all (past PATH_MAX: the row says
    so itself, as `path_too_long`) is not evidence that the file is gone."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def check_folder(folder: str) -> Check:
    name = f"folder {folder}"
    path = Path(folder)
    if not path.exists():
        return Check(
            name,
            "fail",
            "The folder does not exist (moved, deleted, or on a drive that is not mounted).",
            f"Reconnect it, or stop indexing it with `needle folders remove {_quoted(folder)}`.",
        )
    if not path.is_dir():
        return Check(
            name,
            "fail",
            "This is a file now, not a folder.",
            f"Remove it with `needle folders remove {_quoted(folder)}` and add the right folder.",
        )
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as error:
        return Check(
            name,
            "fail",
            f"The folder cannot be read ({error.strerror or error}).",
            f"Give your user read access: `chmod u+rx {_quoted(folder)}`.",
        )
    return Check(name, "ok", "Exists and is readable.")


def check_server(name: str, status: ServerStatus, endpoint: Endpoint, model: str) -> Check:
    if status.ready:
        return Check(name, "ok", status.message)
    if status.state == "not_running":
        hint = status.hint or "Start the server, or correct its URL in Settings."
        return Check(name, "fail", status.message or f"Nothing answers at {endpoint.url}.", hint)
    if status.state == "model_missing" and endpoint.backend == "ollama":
        return Check(
            name, "fail", status.message, f"Run `ollama pull {model}` or `needle pull {model}`."
        )
    return Check(
        name, "fail", status.message, status.hint or f"Check the server at {endpoint.url}."
    )


def _quoted(path: str) -> str:
    return f'"{path}"' if any(ch.isspace() for ch in path) else path
