"""The tools `needle mcp` offers: `search`, `ask`, `get_chunks` and `status`.

Each tool has a JSON Schema for its arguments and for its structured result, checks the arguments
itself (a wrong one is a tool error the model can read and correct, not a protocol error) and
answers with text for the model plus the same facts as `structuredContent`.

Privacy: every path and text a tool returns comes from a chunk indexed under a folder the user
watches *now* (the settings are re-read when the app changes them). Searches and questions are
limited to those folders, a scope outside them is refused, and a chunk id whose file is no longer
under them is unknown."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.agent.events import (
    Answer,
    AnswerDelta,
    ChunkVerdict,
    Citation,
    Event,
    Grounding,
    Hits,
    Keywords,
    LevelStarted,
    ScopeChosen,
    SubQuestion,
    WaveStarted,
)
from engine.api import Engine
from engine.cancel import CancelToken
from engine.errors import ErrorKind, NeedleError
from engine.models import SearchFilters, SearchHit, StatusReport
from engine.search.query import parse_date
from engine.settings import LEVELS

SEARCH_LIMIT_DEFAULT = 10
SEARCH_LIMIT_MAX = 50
CHUNKS_MAX = 20
EXCERPT_CHARS = 400  # of a cited passage, in the text the model reads (all of it is structured)


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may use besides the engine: its cancel token and a way to report what
    it is doing (a message; the server numbers and throttles them)."""

    cancel: CancelToken
    report: Callable[[str], None]


ERROR_KIND_META = "needle/errorKind"  # a failed call's stable kind (engine/errors.py), in _meta


@dataclass(frozen=True)
class ToolResult:
    """A `tools/call` result: `text` for the model, `structured` for programs (it matches the
    tool's outputSchema), or, when the tool failed, the error's message and hint as text and its
    kind in `_meta` (an error has no structured result: it would not match the schema)."""

    text: str
    structured: dict[str, Any] | None = None
    error_kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"content": [{"type": "text", "text": self.text}]}
        if self.structured is not None:
            data["structuredContent"] = self.structured
        if self.error_kind:
            data["isError"] = True
            data["_meta"] = {ERROR_KIND_META: self.error_kind}
        return data

    @classmethod
    def from_error(cls, error: NeedleError) -> ToolResult:
        text = error.message + (f"\nHint: {error.hint}" if error.hint else "")
        return cls(text, error_kind=str(error.kind))


Run = Callable[[Engine, dict[str, Any], ToolContext], ToolResult]


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    run: Run
    read_only: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "openWorldHint": False,  # only the user's own documents, nothing on the web
            },
        }


# ----------------------------------------------------------------------------------------------
# Arguments


def _bad(tool: str, problem: str, hint: str = "") -> NeedleError:
    return NeedleError(
        ErrorKind.INVALID_ARGUMENT,
        f"{tool}: {problem}",
        hint or f"The '{tool}' tool's input schema (tools/list) describes its arguments.",
    )


def _check_known(tool: str, arguments: dict[str, Any], known: Sequence[str]) -> None:
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise _bad(tool, f"unknown argument '{unknown[0]}'.", f"It takes: {', '.join(known)}.")


def _text(tool: str, arguments: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = arguments.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(tool, f"'{key}' must be a non-empty string.")
    if "\0" in value or not _is_unicode(value):
        raise _bad(tool, f"'{key}' holds characters that are not text.")
    return value


def _is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate: JSON can carry "\ud800", no file name or query can
    return True


def _texts(tool: str, data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _bad(tool, f"'{key}' must be a list of non-empty strings.")
    if not all("\0" not in v and _is_unicode(v) for v in value):
        raise _bad(tool, f"'{key}' holds characters that are not text.")
    return value


def _whole_number(
    tool: str, arguments: dict[str, Any], key: str, low: int, high: int, default: int
) -> int:
    value = arguments.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # some clients send every number as a float
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(tool, f"'{key}' must be a whole number from {low} to {high}.")
    return value


def _date(tool: str, data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    when = parse_date(value) if isinstance(value, str) else None
    if when is None:
        raise _bad(tool, f"'{key}' must be a date: YYYY, YYYY-MM or YYYY-MM-DD (got {value!r}).")
    return when


def _watched_folders(engine: Engine) -> tuple[str, ...]:
    folders = tuple(engine.settings.folders)
    if not folders:
        raise NeedleError(
            ErrorKind.NO_FOLDERS,
            "No folders are indexed yet, so there is nothing to search.",
            "Add a folder in the Needle app (or `needle folders add PATH`) and let it index.",
        )
    return folders


def _within(engine: Engine, tool: str, places: Sequence[str]) -> SearchFilters:
    """Filters for "only under these files or folders", each checked to lie inside a watched
    folder; all the watched folders when `places` is empty, so nothing outside them is read."""
    folders = _watched_folders(engine)
    if not places:
        return SearchFilters(folders=folders)
    scopes = []
    for place in places:
        if not os.path.isabs(os.path.expanduser(place)):
            raise _bad(
                tool,
                f"{place!r} is not an absolute path.",
                f"Give a full path inside a watched folder: {', '.join(folders)}.",
            )
        try:
            scopes.append(engine.resolve_scope(place))
        except NeedleError as error:
            # The CLI's hint (add the folder) is not for an assistant: it may only read.
            raise NeedleError(
                error.kind,
                f"{tool}: {error.message}",
                f"Give a file or folder inside the watched folders: {', '.join(folders)}.",
            ) from None
    return SearchFilters(
        folders=tuple(f for scope in scopes for f in scope.folders),
        paths=tuple(p for scope in scopes for p in scope.paths),
    )


# ----------------------------------------------------------------------------------------------
# Results


def _heading(hit_heading: Sequence[str] | str) -> str:
    return hit_heading if isinstance(hit_heading, str) else " > ".join(hit_heading)


def _where(path: str, page: int | None, heading: str) -> str:
    parts = [path] + ([f"page {page}"] if page is not None else []) + ([heading] if heading else [])
    return ", ".join(parts)


def _hit_data(hit: SearchHit) -> dict[str, Any]:
    return {
        "chunk_id": hit.chunk_id,
        "path": hit.path,
        "title": hit.title,
        "page": hit.page,
        "heading": _heading(hit.heading),
        "snippet": hit.snippet,
        "score": round(hit.score, 4),
    }


def _chunk_data(hit: SearchHit) -> dict[str, Any]:
    return {
        "chunk_id": hit.chunk_id,
        "path": hit.path,
        "title": hit.title,
        "page": hit.page,
        "heading": _heading(hit.heading),
        "text": hit.text,
        "ocr": hit.ocr,
    }


def _citation_data(citation: Citation) -> dict[str, Any]:
    return {
        "number": citation.number,
        "chunk_id": citation.chunk_id,
        "path": citation.path,
        "title": citation.title,
        "page": citation.page,
        "heading": citation.heading,
        "text": citation.text,
    }


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


# ----------------------------------------------------------------------------------------------
# The tools


def run_search(engine: Engine, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    tool = "search"
    _check_known(tool, arguments, ("query", "limit", "filters"))
    query = _text(tool, arguments, "query", required=True)
    assert query is not None
    limit = _whole_number(tool, arguments, "limit", 1, SEARCH_LIMIT_MAX, SEARCH_LIMIT_DEFAULT)
    raw_filters = arguments.get("filters") or {}
    if not isinstance(raw_filters, dict):
        raise _bad(tool, "'filters' must be an object.")
    _check_known(
        f"{tool} filters", raw_filters, ("paths", "extensions", "modified_after", "modified_before")
    )
    within = _within(engine, tool, _texts(tool, raw_filters, "paths"))
    filters = SearchFilters(
        folders=within.folders,
        paths=within.paths,
        extensions=tuple(e.lower().lstrip(".") for e in _texts(tool, raw_filters, "extensions")),
        modified_after=_date(tool, raw_filters, "modified_after"),
        modified_before=_date(tool, raw_filters, "modified_before"),
    )
    result = engine.search(query, limit=limit, filters=filters)
    hits = [_hit_data(hit) for hit in result.hits]
    lines = [note.message for note in result.warnings]
    if not hits:
        lines.append(f"No passage matches {query!r}.")
    else:
        shown = f"The best {len(hits)} of {result.total}" if result.more else f"{len(hits)}"
        lines.append(f"{shown} matching passage{'s' if len(hits) > 1 else ''} for {query!r}:")
        for number, hit in enumerate(hits, 1):
            lines.append(f"{number}. {_where(hit['path'], hit['page'], hit['heading'])}")
            lines.append(f"   {' '.join(hit['snippet'].split())}")
            lines.append(f"   chunk_id: {hit['chunk_id']}")
    structured = {
        "query": query,
        "total": result.total,
        "seconds": round(result.seconds, 4),
        "hits": hits,
        "warnings": [note.message for note in result.warnings],
    }
    return ToolResult("\n".join(lines), structured)


def run_get_chunks(engine: Engine, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    tool = "get_chunks"
    _check_known(tool, arguments, ("ids",))
    ids = _texts(tool, arguments, "ids")
    if not 1 <= len(ids) <= CHUNKS_MAX:
        raise _bad(tool, f"'ids' must list 1 to {CHUNKS_MAX} chunk ids.")
    hits = engine.get_chunks(ids)
    found = {hit.chunk_id for hit in hits}
    missing = [chunk_id for chunk_id in dict.fromkeys(ids) if chunk_id not in found]
    if missing:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT,
            f"get_chunks: no indexed passage in the watched folders has the id "
            f"{', '.join(repr(m) for m in missing)}.",
            "Chunk ids come from the search and ask tools; a file that changed since has new ids, "
            "so search again.",
        )
    chunks = [_chunk_data(hit) for hit in hits]
    lines: list[str] = []
    for chunk in chunks:
        lines.append(
            f"[{chunk['chunk_id']}] {_where(chunk['path'], chunk['page'], chunk['heading'])}"
        )
        lines.append(chunk["text"].strip())
        lines.append("")
    return ToolResult("\n".join(lines).strip(), {"chunks": chunks})


def run_ask(engine: Engine, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    tool = "ask"
    _check_known(tool, arguments, ("question", "level", "scope"))
    question = _text(tool, arguments, "question", required=True)
    assert question is not None
    level = arguments.get("level") or engine.settings.default_level
    if level not in LEVELS:
        raise _bad(tool, f"'level' must be one of {', '.join(LEVELS)}.")
    scope_path = _text(tool, arguments, "scope", required=False)
    scope = _within(engine, tool, [scope_path] if scope_path else [])
    answer = engine.ask(
        question,
        level=str(level),
        scope=scope,
        on_event=lambda event: _report_event(event, ctx),
        cancel=ctx.cancel,
        # The assistant keeps its own conversation; its questions are not the user's history.
        remember=False,
    )
    return _answer_result(answer)


def _answer_result(answer: Answer) -> ToolResult:
    citations = [_citation_data(c) for c in answer.citations]
    # Only an answer that was not found offers the closest passages instead.
    candidates = [] if answer.found else [_citation_data(c) for c in answer.candidates]
    lines = [answer.text.strip() or "(no answer)"]
    if citations:
        lines += ["", "Sources:"]
        for cited in citations:
            lines.append(
                f"[{cited['number']}] {_where(cited['path'], cited['page'], cited['heading'])}"
            )
            lines.append(f"    {_excerpt(cited['text'])}")
    if candidates:
        lines += ["", "The documents do not state it; the passages that came closest:"]
        for near in candidates:
            lines.append(f"- {_where(near['path'], near['page'], near['heading'])}")
            lines.append(f"    {_excerpt(near['text'])}")
    if answer.found and not answer.grounded and answer.grounding:
        lines += ["", f"Note: {answer.grounding}"]
    structured = {
        "answer": answer.text,
        "found": answer.found,
        "grounded": answer.grounded,
        "level": answer.level,
        "seconds": round(answer.seconds, 2),
        "citations": citations,
        "candidates": candidates,
    }
    return ToolResult("\n".join(lines), structured)


def _report_event(event: Event, ctx: ToolContext) -> None:
    message = progress_message(event)
    if message:
        ctx.report(message)


def progress_message(event: Event) -> str:
    """What a step of the reading agent means to someone waiting for the answer; "" for steps
    not worth a line."""
    if isinstance(event, LevelStarted):
        named = f"Level {event.level}"
        if event.reason.startswith(named):
            return event.reason
        return f"{named}: {event.reason}" if event.reason else named
    if isinstance(event, Keywords):
        words = ", ".join((*event.english, *event.chinese))
        return f"Searching for {words}" if words else ""
    if isinstance(event, Hits):
        return f"Found {event.total} matching passages" if event.purpose == "retrieval" else ""
    if isinstance(event, ScopeChosen):
        return (
            f"Reading up to {event.read_chunks} of {event.total_chunks} passages in "
            f"{event.description}"
        )
    if isinstance(event, WaveStarted):
        return f"Reading {event.chunks} passages (round {event.wave})"
    if isinstance(event, ChunkVerdict):
        return f"Read {event.done} of {event.total} passages"
    if isinstance(event, SubQuestion):
        return f"Step {event.step}: {event.question}"
    if isinstance(event, Grounding):
        return "Checking the answer against its sources"
    if isinstance(event, AnswerDelta):
        return "Writing the answer"
    return ""


def run_status(engine: Engine, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    _check_known("status", arguments, ())
    report = engine.status()
    settings = engine.settings
    folders = [
        {
            "path": folder.path,
            "state": folder.state,
            "files": folder.files,
            "indexed": folder.indexed,
            "not_searchable": folder.errors + folder.skipped,
            "chunks": folder.chunks,
            "last_indexed": folder.last_indexed,
        }
        for folder in report.folders
    ]
    structured = {
        "folders": folders,
        "files": sum(folder.files for folder in report.folders),
        "chunks": sum(folder.chunks for folder in report.folders),
        "kept_current": report.writer_busy,
        "freshness": freshness(report),
        "model": settings.model,
        "model_server": settings.server_url,
    }
    lines = [freshness(report)]
    if not folders:
        lines.append("No folders are indexed yet.")
    for folder in report.folders:
        when = folder.last_indexed
        lines.append(
            f"- {folder.path}: {folder.indexed} of {folder.files} files searchable, "
            f"{folder.state.replace('_', ' ')}"
            + (f" (last full index {_timestamp(when)})" if when else "")
        )
    lines.append(f"Answers use {settings.model} at {settings.server_url}.")
    return ToolResult("\n".join(lines), structured)


def freshness(report: StatusReport) -> str:
    """Whether another process keeps the index current: `needle mcp` itself only reads."""
    if report.writer_busy:
        return (
            "The Needle app (or `needle index`) has the library open and keeps the index current "
            "as files change."
        )
    return (
        "No Needle process is keeping the index current: files changed since the last index are "
        "searched as they were then. Open the Needle app (or run `needle index`) to update it."
    )


def _timestamp(seconds: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")


# ----------------------------------------------------------------------------------------------
# Schemas


_NULLABLE_INT = {"type": ["integer", "null"]}
_PATH_LIST = {"type": "array", "items": {"type": "string"}}
_DATE = {
    "type": "string",
    "description": "YYYY, YYYY-MM or YYYY-MM-DD (local time)",
    "pattern": r"^\d{4}(-\d{1,2}(-\d{1,2})?)?$",
}
_PASSAGE_FIELDS = {
    "chunk_id": {"type": "string"},
    "path": {"type": "string"},
    "title": {"type": "string"},
    "page": _NULLABLE_INT,
    "heading": {"type": "string"},
}
_CITATION = {
    "type": "object",
    "properties": {"number": {"type": "integer"}, **_PASSAGE_FIELDS, "text": {"type": "string"}},
    "required": ["number", "chunk_id", "path", "text"],
}

SEARCH = Tool(
    name="search",
    title="Search my notes",
    description=(
        "Keyword (BM25) search over the user's own indexed notes and PDFs, in English or Chinese. "
        'Query syntax: words, "exact phrases", -excluded words, ext:pdf, in:FOLDER, '
        "after:2024-01, before:2024-06. Returns the best passages with path, page, heading, a "
        "snippet and a chunk_id (pass chunk ids to get_chunks for the whole passage)."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for"},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": SEARCH_LIMIT_MAX,
                "default": SEARCH_LIMIT_DEFAULT,
                "description": "how many passages to return",
            },
            "filters": {
                "type": "object",
                "properties": {
                    "paths": {
                        **_PATH_LIST,
                        "description": "only these files or folders (absolute paths inside the "
                        "watched folders; see the status tool)",
                    },
                    "extensions": {**_PATH_LIST, "description": "only these file types: md, pdf…"},
                    "modified_after": _DATE,
                    "modified_before": _DATE,
                },
                "additionalProperties": False,
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "total": {"type": "integer", "description": "passages that matched in all"},
            "seconds": {"type": "number", "description": "how long the search took"},
            "hits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        **_PASSAGE_FIELDS,
                        "snippet": {"type": "string"},
                        "score": {"type": ["number", "null"]},
                    },
                    "required": ["chunk_id", "path", "page", "snippet"],
                },
            },
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["query", "total", "hits"],
    },
    run=run_search,
)

ASK = Tool(
    name="ask",
    title="Ask my notes",
    description=(
        "Answer a question from the user's own notes and PDFs with Needle's local model, which "
        "reads the matching passages and cites them ([1], [2] …, each with path and page). Takes "
        "seconds to minutes (level 2 reads passages one by one); reports progress. Says so when "
        "the documents do not contain the answer. level: auto (default), 1 quick keyword "
        "retrieval, 2 reads passages one by one, 3 step by step for questions in several parts."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "question": {"type": "string"},
            "level": {"type": "string", "enum": list(LEVELS), "default": "auto"},
            "scope": {
                "type": "string",
                "description": "only this file or folder (an absolute path inside a watched "
                "folder)",
            },
        },
        "required": ["question"],
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "found": {"type": "boolean", "description": "false: the documents do not say"},
            "grounded": {"type": "boolean", "description": "the cited passages support it"},
            "level": {"type": "integer"},
            "seconds": {"type": "number"},
            "citations": {"type": "array", "items": _CITATION},
            "candidates": {"type": "array", "items": _CITATION},
        },
        "required": ["answer", "found", "citations"],
    },
    run=run_ask,
)

GET_CHUNKS = Tool(
    name="get_chunks",
    title="Read passages",
    description=(
        "The full text of indexed passages by chunk_id (from search hits or ask citations), with "
        "path, page and heading."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "ids": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": CHUNKS_MAX,
            },
        },
        "required": ["ids"],
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "chunks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        **_PASSAGE_FIELDS,
                        "text": {"type": "string"},
                        "ocr": {"type": "boolean"},
                    },
                    "required": ["chunk_id", "path", "text"],
                },
            }
        },
        "required": ["chunks"],
    },
    run=run_get_chunks,
)

STATUS = Tool(
    name="status",
    title="Library status",
    description=(
        "Which folders Needle has indexed (their paths, file counts, when last indexed), whether "
        "the index is being kept current by the Needle app, and which model answers questions."
    ),
    input_schema={"type": "object", "properties": {}, "additionalProperties": False},
    output_schema={
        "type": "object",
        "properties": {
            "folders": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "state": {"type": "string"},
                        "files": {"type": "integer"},
                        "indexed": {"type": "integer"},
                        "not_searchable": {"type": "integer"},
                        "chunks": {"type": "integer"},
                        "last_indexed": {"type": ["number", "null"]},
                    },
                    "required": ["path", "state", "files", "indexed"],
                },
            },
            "files": {"type": "integer"},
            "chunks": {"type": "integer"},
            "kept_current": {"type": "boolean"},
            "freshness": {"type": "string"},
            "model": {"type": "string"},
            "model_server": {"type": "string"},
        },
        "required": ["folders", "files", "chunks", "kept_current"],
    },
    run=run_status,
)

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (SEARCH, ASK, GET_CHUNKS, STATUS)}


def call_tool(engine: Engine, name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    """Run tool `name` (it must be in TOOLS); a NeedleError becomes a tool error result."""
    try:
        return TOOLS[name].run(engine, arguments, ctx)
    except NeedleError as error:
        return ToolResult.from_error(error)
