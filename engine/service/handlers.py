"""Request handlers: one function per protocol method, turning its params into an `Engine` call and
the result into JSON-ready data. `ServedEngine` is what they need of the engine."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.agent.events import Answer, Event
from engine.cancel import CancelToken
from engine.endpoints import backend_for_url
from engine.errors import ErrorKind, NeedleError
from engine.models import (
    DoctorReport,
    IndexProgress,
    IndexSummary,
    SearchFilters,
    SearchResult,
)
from engine.service.protocol import (
    Method,
    to_jsonable,
)
from engine.settings import LEVELS, Settings, SettingsSnapshot
from engine.threads import Thread, ThreadSummary

log = logging.getLogger("needle.service")

SEARCH_LIMIT_MAX = 500


class ServedEngine(Protocol):
    """What the service needs from engine.api.Engine (a fake implements it in tests)."""

    @property
    def settings(self) -> Settings: ...

    def settings_snapshot(self) -> SettingsSnapshot: ...

    def update_settings(self, changes: dict[str, Any]) -> Any: ...

    def add_folder(self, path: str) -> Any: ...

    def remove_folder(self, path: str) -> Any: ...

    def folders(self) -> Sequence[Any]: ...

    def index(
        self,
        *,
        progress: Callable[[IndexProgress], None] | None = ...,
        cancel: CancelToken = ...,
    ) -> IndexSummary: ...

    def retry(self, paths: Sequence[str]) -> IndexSummary: ...

    def start_watching(
        self,
        on_change: Callable[[IndexSummary], None],
        on_progress: Callable[[IndexProgress], None] | None = ...,
    ) -> Any: ...

    def stop_watching(self) -> Any: ...

    def search(
        self,
        query: str,
        *,
        limit: int = ...,
        filters: SearchFilters | None = ...,
        prefix: bool = ...,
    ) -> SearchResult: ...

    def status(self) -> Any: ...

    def problems(self, folder: str | None = ...) -> Sequence[Any]: ...

    def doctor(self) -> DoctorReport: ...

    def ollama_status(self, host: str | None = ..., model: str | None = ...) -> Any: ...

    def pull_model(
        self,
        model: str | None = ...,
        *,
        progress: Callable[[str, int, int], None] | None = ...,
        cancel: CancelToken = ...,
    ) -> Any: ...

    def ask(
        self,
        question: str,
        *,
        level: str = ...,
        scope: SearchFilters | None = ...,
        on_event: Callable[[Event], None] | None = ...,
        cancel: CancelToken = ...,
        stop_reading: CancelToken = ...,
        model: str | None = ...,
        host: str | None = ...,
        thread_id: str | None = ...,
    ) -> Answer: ...

    def threads(self, search: str = ..., *, limit: int = ...) -> list[ThreadSummary]: ...

    def thread(self, thread_id: str) -> Thread: ...

    def rename_thread(self, thread_id: str, title: str) -> Thread: ...

    def delete_thread(self, thread_id: str) -> None: ...

    def export_thread(
        self, thread_id: str, fmt: str = ..., positions: Sequence[int] | None = ...
    ) -> str: ...

    def save_thread(self, thread_id: str, fmt: str, path: str) -> str: ...

    def close(self) -> None: ...


@dataclass
class RequestContext:
    """What a handler may use besides the engine and the params."""

    request_id: int
    cancel: CancelToken
    # Set by `ask.stop_reading`: an ask answers from what it has read so far.
    stop_reading: CancelToken
    send_event: Callable[[Event | dict[str, Any]], None]
    send_progress: Callable[[dict[str, Any]], None]
    # Run after a successful result was sent (notifications that follow from it).
    after_success: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[ServedEngine, dict[str, Any], RequestContext], Any]


def _bad_params(method: str, problem: str) -> NeedleError:
    return NeedleError(
        ErrorKind.BAD_REQUEST,
        f"Bad parameters for '{method}': {problem}",
        "See docs/protocol.md for the parameters of each method.",
    )


def _check_text(method: str, key: str, value: str) -> str:
    """Text a peer sent that no file name or search can hold: a lone surrogate (JSON allows
    "\\ud800", UTF-8 does not) or a NUL."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad_params(method, f"'{key}' holds a lone surrogate, which is not text.") from None
    if "\0" in value:
        raise _bad_params(method, f"'{key}' holds a NUL character.")
    return value


def text_param(method: str, params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _bad_params(method, f"'{key}' must be a non-empty string.")
    return _check_text(method, key, value)


def _optional_text(method: str, params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad_params(method, f"'{key}' must be a string.")
    return _check_text(method, key, value)


def _limit_param(method: str, params: dict[str, Any], default: int) -> int:
    value = params.get("limit", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SEARCH_LIMIT_MAX:
        raise _bad_params(method, f"'limit' must be a whole number from 1 to {SEARCH_LIMIT_MAX}.")
    return value


def _string_tuple(method: str, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad_params(method, f"'{key}' must be a list of strings.")
    return tuple(_check_text(method, key, v) for v in value)


def _optional_time(method: str, data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_params(method, f"'{key}' must be unix seconds (a number) or null.")
    return float(value)


def filters_from_params(method: str, data: Any) -> SearchFilters | None:
    """The protocol's filter object -> SearchFilters; None when nothing restricts the search."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _bad_params(method, "filters must be an object.")
    unknown = set(data) - {"folders", "paths", "extensions", "modified_after", "modified_before"}
    if unknown:
        raise _bad_params(method, f"unknown filter {sorted(unknown)[0]!r}.")
    filters = SearchFilters(
        folders=_string_tuple(method, data, "folders"),
        paths=_string_tuple(method, data, "paths"),
        extensions=tuple(e.lower().lstrip(".") for e in _string_tuple(method, data, "extensions")),
        modified_after=_optional_time(method, data, "modified_after"),
        modified_before=_optional_time(method, data, "modified_before"),
    )
    return None if filters == SearchFilters() else filters


def handle_settings_get(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.settings_snapshot().to_dict()


def handle_settings_update(
    engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
) -> Any:
    changes = params.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise _bad_params(Method.SETTINGS_UPDATE, "'changes' must be a non-empty object.")
    engine.update_settings(changes)
    return engine.settings_snapshot().to_dict()


def handle_folders_list(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return {"folders": engine.folders()}


def handle_search(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    query = text_param(Method.SEARCH, params, "query")
    limit = _limit_param(Method.SEARCH, params, 20)
    filters = filters_from_params(Method.SEARCH, params.get("filters"))
    prefix = params.get("prefix", False)
    if not isinstance(prefix, bool):
        raise _bad_params(Method.SEARCH, "'prefix' must be true or false.")
    return engine.search(query, limit=limit, filters=filters, prefix=prefix).to_dict()


def handle_index_run(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.index(progress=lambda p: ctx.send_progress(p.to_dict()), cancel=ctx.cancel)


def handle_index_retry(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    paths = _string_tuple(Method.INDEX_RETRY, params, "paths")
    if not paths:
        raise _bad_params(Method.INDEX_RETRY, "'paths' must list at least one file.")
    return engine.retry(list(paths))


def handle_status(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.status()


def handle_problems(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return {"problems": engine.problems(_optional_text(Method.PROBLEMS, params, "folder"))}


def handle_doctor(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.doctor().to_dict()


def handle_ollama_status(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    host = _optional_text(Method.OLLAMA_STATUS, params, "host")
    model = _optional_text(Method.OLLAMA_STATUS, params, "model")
    return ollama_state(engine, host, model)


def ollama_state(engine: ServedEngine, host: str | None = None, model: str | None = None) -> Any:
    """The probe's answer plus which host and model it is about, for the status bar."""
    settings = engine.settings
    state = to_jsonable(engine.ollama_status(host, model))
    if isinstance(state, dict):
        state.setdefault("host", host or settings.server_url)
        state.setdefault("model", model or settings.model)
        state.setdefault("backend", settings.backend if not host else backend_for_url(host))
    return state


def handle_ollama_pull(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    model = _optional_text(Method.OLLAMA_PULL, params, "model")

    def report(status: str, completed: int, total: int) -> None:
        ctx.send_progress({"status": status, "completed": completed, "total": total})

    engine.pull_model(model, progress=report, cancel=ctx.cancel)
    return {"model": model or engine.settings.model, "ready": True}


def handle_ask(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    question = text_param(Method.ASK, params, "question")
    level = params.get("level") or engine.settings.default_level
    if level not in LEVELS:
        raise _bad_params(Method.ASK, f"'level' must be one of {', '.join(LEVELS)}.")
    scope = filters_from_params(Method.ASK, params.get("scope"))
    return engine.ask(
        question,
        level=str(level),
        scope=scope,
        on_event=ctx.send_event,
        cancel=ctx.cancel,
        stop_reading=ctx.stop_reading,
        model=_optional_text(Method.ASK, params, "model"),
        host=_optional_text(Method.ASK, params, "host"),
        thread_id=_optional_text(Method.ASK, params, "thread_id"),
    )


THREADS_LIST_MAX = 500


def handle_threads_list(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    search = _optional_text(Method.THREADS_LIST, params, "search") or ""
    limit = _limit_param(Method.THREADS_LIST, params, THREADS_LIST_MAX)
    summaries = engine.threads(search, limit=min(limit, THREADS_LIST_MAX))
    return {"threads": [summary.to_dict() for summary in summaries]}


def handle_threads_get(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    return engine.thread(text_param(Method.THREADS_GET, params, "thread_id")).to_dict()


def handle_threads_rename(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    thread_id = text_param(Method.THREADS_RENAME, params, "thread_id")
    title = text_param(Method.THREADS_RENAME, params, "title")
    return engine.rename_thread(thread_id, title).to_dict()


def handle_threads_delete(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    thread_id = text_param(Method.THREADS_DELETE, params, "thread_id")
    engine.delete_thread(thread_id)
    return {"deleted": thread_id}


def handle_threads_export(engine: ServedEngine, params: dict[str, Any], ctx: RequestContext) -> Any:
    thread_id = text_param(Method.THREADS_EXPORT, params, "thread_id")
    fmt = _optional_text(Method.THREADS_EXPORT, params, "format") or "md"
    turns = params.get("turns")
    if turns is not None and (
        not isinstance(turns, list)
        or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in turns)
    ):
        raise _bad_params(Method.THREADS_EXPORT, "'turns' must list turn numbers (1, 2, …).")
    path = _optional_text(Method.THREADS_EXPORT, params, "path")
    if path is not None:
        if turns is not None:
            raise _bad_params(Method.THREADS_EXPORT, "'path' saves a whole thread: no 'turns'.")
        return {"path": engine.save_thread(thread_id, fmt, path), "format": fmt}
    return {"text": engine.export_thread(thread_id, fmt, turns), "format": fmt}
