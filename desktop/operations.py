"""One small function per engine operation. The method name (`Method`), the parameters and the
decoding of the result into the engine's own dataclasses (`from_dict` beside `to_dict`) live
here, once; the window calls typed functions and never spells a method or guesses a result key.

Callbacks run on the UI thread (the client's rule). Every function returns the request's handle,
so the caller can cancel it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from engine.errors import NeedleError
from engine.models import (
    DoctorReport,
    FileRecord,
    FolderInfo,
    IndexSummary,
    SearchResult,
    StatusReport,
)
from engine.service.protocol import Method
from engine.settings import SettingsSnapshot
from engine.threads import Thread, ThreadSummary

T = TypeVar("T")
OnError = Callable[[NeedleError], None]
OnEvent = Callable[[dict[str, Any]], None]


class Handle(Protocol):
    def cancel(self) -> None: ...


class Requester(Protocol):
    """What the operations need of `EngineClient` (tests pass a recording fake)."""

    def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: OnEvent | None = None,
        on_progress: OnEvent | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: OnError | None = None,
    ) -> Any: ...


def _decoded(
    decode: Callable[[dict[str, Any]], T], on_result: Callable[[T], None] | None
) -> Callable[[Any], None] | None:
    """`on_result` fed with the result decoded once, here."""
    if on_result is None:
        return None
    deliver = on_result

    def receive(result: Any) -> None:
        deliver(decode(dict(result) if isinstance(result, Mapping) else {}))

    return receive


# -- settings --------------------------------------------------------------------------------


def get_settings(
    client: Requester, on_result: Callable[[SettingsSnapshot], None], on_error: OnError
) -> Any:
    return client.request(
        Method.SETTINGS_GET,
        on_result=_decoded(SettingsSnapshot.from_dict, on_result),
        on_error=on_error,
    )


def update_settings(
    client: Requester,
    changes: Mapping[str, Any],
    on_result: Callable[[SettingsSnapshot], None],
    on_error: OnError,
) -> Any:
    return client.request(
        Method.SETTINGS_UPDATE,
        {"changes": dict(changes)},
        on_result=_decoded(SettingsSnapshot.from_dict, on_result),
        on_error=on_error,
    )


# -- folders and indexing --------------------------------------------------------------------


def _folders(data: dict[str, Any]) -> list[FolderInfo]:
    return [FolderInfo.from_dict(folder) for folder in data.get("folders", ())]


def list_folders(
    client: Requester, on_result: Callable[[list[FolderInfo]], None], on_error: OnError
) -> Any:
    return client.request(
        Method.FOLDERS_LIST, on_result=_decoded(_folders, on_result), on_error=on_error
    )


def add_folder(
    client: Requester,
    path: str,
    on_result: Callable[[FolderInfo], None],
    on_error: OnError,
) -> Any:
    return client.request(
        Method.FOLDERS_ADD,
        {"path": path},
        on_result=_decoded(FolderInfo.from_dict, on_result),
        on_error=on_error,
    )


def remove_folder(
    client: Requester,
    path: str,
    on_error: OnError,
    on_result: Callable[[FolderInfo], None] | None = None,
) -> Any:
    """The result is the folder as it was just before (its `files` left the index)."""
    return client.request(
        Method.FOLDERS_REMOVE,
        {"path": path},
        on_result=_decoded(FolderInfo.from_dict, on_result),
        on_error=on_error,
    )


def run_index(
    client: Requester,
    on_progress: OnEvent,
    on_error: OnError,
    on_result: Callable[[IndexSummary], None] | None = None,
) -> Any:
    """Progress arrives in its wire form (`IndexProgress.to_dict()`), as the `index`
    notification sends it, so one view renders both."""
    return client.request(
        Method.INDEX_RUN,
        on_progress=on_progress,
        on_result=_decoded(IndexSummary.from_dict, on_result),
        on_error=on_error,
    )


def retry_files(
    client: Requester,
    paths: list[str],
    on_result: Callable[[IndexSummary], None],
    on_error: OnError,
) -> Any:
    """Read files with problems again, though they did not change."""
    return client.request(
        Method.INDEX_RETRY,
        {"paths": list(paths)},
        on_result=_decoded(IndexSummary.from_dict, on_result),
        on_error=on_error,
    )


def get_status(
    client: Requester, on_result: Callable[[StatusReport], None], on_error: OnError
) -> Any:
    return client.request(
        Method.STATUS, on_result=_decoded(StatusReport.from_dict, on_result), on_error=on_error
    )


def _problems(data: dict[str, Any]) -> list[FileRecord]:
    return [FileRecord.from_dict(record) for record in data.get("problems", ())]


def list_problems(
    client: Requester,
    folder: str | None,
    on_result: Callable[[list[FileRecord]], None],
    on_error: OnError,
) -> Any:
    return client.request(
        Method.PROBLEMS,
        {"folder": folder} if folder else {},
        on_result=_decoded(_problems, on_result),
        on_error=on_error,
    )


# -- searching and asking ----------------------------------------------------------------------


def search(
    client: Requester,
    query: str,
    limit: int,
    filters: Mapping[str, Any] | None,
    on_result: Callable[[SearchResult], None],
    on_error: OnError,
    *,
    prefix: bool = False,
) -> Any:
    """`prefix`: the query is still being typed (its last word may be unfinished)."""
    params: dict[str, Any] = {"query": query, "limit": limit}
    if filters:
        params["filters"] = dict(filters)
    if prefix:
        params["prefix"] = True
    return client.request(
        Method.SEARCH,
        params,
        on_result=_decoded(SearchResult.from_dict, on_result),
        on_error=on_error,
    )


def ask(
    client: Requester,
    question: str,
    level: str,
    scope: Mapping[str, Any] | None,
    on_event: OnEvent,
    on_result: Callable[[dict[str, Any]], None],
    on_error: OnError,
    thread_id: str | None = None,
) -> Any:
    """Events and the final answer stay in their wire form (`Event.to_dict()`): the answer and
    steps views render them as they stream, and recorded event files replay through them.
    `thread_id` makes the question a follow-up in that thread."""
    params: dict[str, Any] = {"question": question, "level": level}
    if scope:
        params["scope"] = dict(scope)
    if thread_id:
        params["thread_id"] = thread_id
    return client.request(
        Method.ASK,
        params,
        on_event=on_event,
        on_result=_decoded(lambda data: data, on_result),
        on_error=on_error,
    )


# -- the history ---------------------------------------------------------------------------------


def _summaries(data: dict[str, Any]) -> list[ThreadSummary]:
    return [ThreadSummary.from_dict(summary) for summary in data.get("threads", ())]


def list_threads(
    client: Requester,
    search: str,
    on_result: Callable[[list[ThreadSummary]], None],
    on_error: OnError,
) -> Any:
    params = {"search": search} if search.strip() else {}
    return client.request(
        Method.THREADS_LIST, params, on_result=_decoded(_summaries, on_result), on_error=on_error
    )


def get_thread(
    client: Requester, thread_id: str, on_result: Callable[[Thread], None], on_error: OnError
) -> Any:
    return client.request(
        Method.THREADS_GET,
        {"thread_id": thread_id},
        on_result=_decoded(Thread.from_dict, on_result),
        on_error=on_error,
    )


def rename_thread(
    client: Requester,
    thread_id: str,
    title: str,
    on_result: Callable[[Thread], None],
    on_error: OnError,
) -> Any:
    return client.request(
        Method.THREADS_RENAME,
        {"thread_id": thread_id, "title": title},
        on_result=_decoded(Thread.from_dict, on_result),
        on_error=on_error,
    )


def delete_thread(
    client: Requester, thread_id: str, on_result: Callable[[str], None], on_error: OnError
) -> Any:
    return client.request(
        Method.THREADS_DELETE,
        {"thread_id": thread_id},
        on_result=_decoded(lambda data: str(data.get("deleted", thread_id)), on_result),
        on_error=on_error,
    )


def export_thread(
    client: Requester,
    thread_id: str,
    fmt: str,
    on_result: Callable[[str], None],
    on_error: OnError,
    turns: Sequence[int] | None = None,
) -> Any:
    """The thread (or the turns at `turns`) as Markdown (`md`) or JSON (`json`) text."""
    params: dict[str, Any] = {"thread_id": thread_id, "format": fmt}
    if turns is not None:
        params["turns"] = list(turns)
    return client.request(
        Method.THREADS_EXPORT,
        params,
        on_result=_decoded(lambda data: str(data.get("text", "")), on_result),
        on_error=on_error,
    )


def save_thread(
    client: Requester,
    thread_id: str,
    fmt: str,
    path: str,
    on_result: Callable[[str], None],
    on_error: OnError,
) -> Any:
    """The engine writes the thread to `path` (the UI thread does no file I/O)."""
    return client.request(
        Method.THREADS_EXPORT,
        {"thread_id": thread_id, "format": fmt, "path": path},
        on_result=_decoded(lambda data: str(data.get("path", path)), on_result),
        on_error=on_error,
    )


# -- the model and the setup -------------------------------------------------------------------


def ollama_status(
    client: Requester,
    on_result: Callable[[dict[str, Any]], None],
    on_error: OnError,
    *,
    host: str | None = None,
) -> Any:
    """The probe's state as sent (`OllamaStatus.to_dict()`; its type lives with the HTTP
    client, which the desktop does not load). `host`: ask about another server than the
    configured one (the Settings dialog, while the host is being edited)."""
    return client.request(
        Method.OLLAMA_STATUS,
        {"host": host} if host else {},
        on_result=_decoded(lambda data: data, on_result),
        on_error=on_error,
    )


def pull_model(
    client: Requester,
    model: str | None,
    on_progress: OnEvent,
    on_result: Callable[[dict[str, Any]], None],
    on_error: OnError,
) -> Any:
    return client.request(
        Method.OLLAMA_PULL,
        {"model": model} if model else {},
        on_progress=on_progress,
        on_result=_decoded(lambda data: data, on_result),
        on_error=on_error,
    )


def run_doctor(
    client: Requester, on_result: Callable[[DoctorReport], None], on_error: OnError
) -> Any:
    return client.request(
        Method.DOCTOR, on_result=_decoded(DoctorReport.from_dict, on_result), on_error=on_error
    )
