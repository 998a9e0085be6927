"""The engine process protocol: JSON lines over stdio (see docs/protocol.md).

This module is only the codec: message dataclasses, `encode`, `decode_request`, `decode_reply`,
the protocol version and the method names. Dispatch and threads live in
`engine/service/server.py`; the desktop's `EngineClient` uses the same codec, so both ends agree by
construction.

Every line is one UTF-8 JSON object terminated by "\\n". JSON escapes newlines inside strings, so a
message never spans two lines.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePath
from typing import Any, Final

from engine.errors import ErrorKind, NeedleError

# 2: settings.get/update answer {values, fields}
# 3: `ask.stop_reading` (answer from what was read so far) and the answer event's `partial`;
#    threads: ask takes thread_id and its answer names thread_id and turn; the follow_up event;
#    threads.list/get/rename/delete/export
PROTOCOL_VERSION: Final = 3


class Method(StrEnum):
    """Every request method the engine understands."""

    HANDSHAKE = "handshake"
    PING = "ping"
    SHUTDOWN = "shutdown"
    CANCEL = "cancel"
    ASK_STOP_READING = "ask.stop_reading"
    SETTINGS_GET = "settings.get"
    SETTINGS_UPDATE = "settings.update"
    FOLDERS_LIST = "folders.list"
    FOLDERS_ADD = "folders.add"
    FOLDERS_REMOVE = "folders.remove"
    INDEX_RUN = "index.run"
    INDEX_RETRY = "index.retry"
    STATUS = "status"
    PROBLEMS = "problems"
    SEARCH = "search"
    ASK = "ask"
    OLLAMA_STATUS = "ollama.status"
    OLLAMA_PULL = "ollama.pull"
    DOCTOR = "doctor"
    THREADS_LIST = "threads.list"
    THREADS_GET = "threads.get"
    THREADS_RENAME = "threads.rename"
    THREADS_DELETE = "threads.delete"
    THREADS_EXPORT = "threads.export"


METHODS: Final = frozenset(m.value for m in Method)

# Control methods are answered on the reading thread at once; everything else runs on a worker.
CONTROL_METHODS: Final = frozenset(
    {Method.HANDSHAKE, Method.PING, Method.SHUTDOWN, Method.CANCEL, Method.ASK_STOP_READING}
)


class Topic(StrEnum):
    """Topics of engine-initiated notifications."""

    INDEX = "index"  # progress of background indexing (startup reconcile)
    INDEX_CHANGED = "index_changed"  # a batch of changes was applied to the index
    OLLAMA = "ollama"  # the model server's state changed
    ERROR = "error"  # background work failed; data is {kind, message, hint, during}


@dataclass(frozen=True)
class Request:
    id: int
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "params": self.params}


@dataclass(frozen=True)
class EventReply:
    """One agent event (Event.to_dict()) belonging to request `id`."""

    id: int
    event: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "event", "event": self.event}


@dataclass(frozen=True)
class ProgressReply:
    """Latest-value-wins progress of request `id`; a newer one replaces an older one."""

    id: int
    progress: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "progress", "progress": self.progress}


@dataclass(frozen=True)
class ResultReply:
    """The final, successful answer to request `id`."""

    id: int
    result: Any

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "result", "result": self.result}


@dataclass(frozen=True)
class ErrorInfo:
    kind: str
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message, "hint": self.hint}

    def to_error(self) -> NeedleError:
        return NeedleError(ErrorKind.parse(self.kind), self.message, self.hint)

    @classmethod
    def from_error(cls, error: NeedleError) -> ErrorInfo:
        return cls(error.kind, error.message, error.hint)


@dataclass(frozen=True)
class ErrorReply:
    """The final, failed answer to request `id` (None when the request's id was unreadable)."""

    id: int | None
    error: ErrorInfo

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "error", "error": self.error.to_dict()}


@dataclass(frozen=True)
class Notification:
    """Engine-initiated news that belongs to no request."""

    topic: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": "notify", "topic": self.topic, "data": self.data}


Reply = EventReply | ProgressReply | ResultReply | ErrorReply | Notification
WireMessage = Request | Reply  # anything one protocol line carries

FINAL_REPLIES: Final = (ResultReply, ErrorReply)


class BadMessage(NeedleError):
    """A line that is not a valid message. `request_id` is the id when it could still be read,
    so the error reply can name the request it refuses."""

    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(
            ErrorKind.BAD_REQUEST,
            message,
            "Each line must be one JSON object with an integer 'id' and a string 'method'.",
        )
        self.request_id = request_id


def to_jsonable(value: Any) -> Any:
    """Turn engine results into plain JSON values: objects with to_dict(), dataclasses, paths,
    tuples and sets are converted; everything else must already be JSON."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        # NaN and infinity are not JSON; a score nobody can compute is better sent as null.
        return value if math.isfinite(value) else None
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_jsonable(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} over the protocol")


def _json_default(value: Any) -> Any:
    """json.dumps calls this only for what it cannot encode itself (results, dataclasses, paths)."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} over the protocol")


def encode(message: WireMessage) -> bytes:
    """One protocol line, UTF-8, ending in a newline. Payloads may hold engine objects (anything
    `to_jsonable` accepts); they are converted while encoding."""
    data = message.to_dict()
    try:
        # The fast path lets the C encoder walk the data: search results are ~100 KB of lists
        # and strings, and converting them in Python first cost more than the search itself.
        text = json.dumps(
            data, default=_json_default, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        )
    except ValueError:
        # NaN or infinity somewhere, which JSON cannot carry: the slow path sends them as null.
        text = json.dumps(to_jsonable(data), ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


def _parse_object(line: bytes | str) -> dict[str, Any]:
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadMessage(f"The line is not valid UTF-8 ({exc.reason}).") from None
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"The line is not JSON ({exc.msg} at column {exc.colno}).") from None
    except RecursionError:
        raise BadMessage("The line nests arrays or objects too deeply to read.") from None
    if not isinstance(data, dict):
        raise BadMessage(f"The line is JSON but not an object (it is a {type(data).__name__}).")
    return data


def _read_id(data: dict[str, Any]) -> int | None:
    """The id when it is a proper integer (bool is not), else None."""
    value = data.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def decode_request(line: bytes | str) -> Request:
    """Parse one request line; raises BadMessage saying exactly what is wrong."""
    data = _parse_object(line)
    request_id = _read_id(data)
    if request_id is None:
        shown = "missing" if "id" not in data else f"{data['id']!r}, not an integer"
        raise BadMessage(f"The request has no usable 'id' ({shown}).")
    method = data.get("method")
    if not isinstance(method, str) or not method:
        raise BadMessage("The request has no 'method' string.", request_id)
    params = data.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadMessage("The request's 'params' must be an object.", request_id)
    return Request(request_id, method, params)


def _require_dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadMessage(f"The '{data.get('type')}' reply has no '{key}' object.", _read_id(data))
    return value


def decode_reply(line: bytes | str) -> Reply:
    """Parse one line the engine wrote; raises BadMessage when it is not a valid reply."""
    data = _parse_object(line)
    reply_type = data.get("type")
    if reply_type == "notify":
        topic = data.get("topic")
        if not isinstance(topic, str):
            raise BadMessage("The notification has no 'topic' string.")
        notify_data = data.get("data", {})
        return Notification(topic, notify_data if isinstance(notify_data, dict) else {})
    request_id = _read_id(data)
    if reply_type == "error":
        error = _require_dict(data, "error")
        info = ErrorInfo(
            str(error.get("kind", "error")),
            str(error.get("message", "")),
            str(error.get("hint", "")),
        )
        return ErrorReply(request_id, info)
    if request_id is None:
        raise BadMessage(f"The '{reply_type}' reply has no integer 'id'.")
    if reply_type == "result":
        return ResultReply(request_id, data.get("result"))
    if reply_type == "event":
        return EventReply(request_id, _require_dict(data, "event"))
    if reply_type == "progress":
        return ProgressReply(request_id, _require_dict(data, "progress"))
    raise BadMessage(f"Unknown reply type {reply_type!r}.", request_id)


def handshake_params(client: str) -> dict[str, Any]:
    """What a client sends as its first request."""
    return {"protocol": PROTOCOL_VERSION, "client": client}


def internal_error(doing: str, exc: BaseException) -> ErrorInfo:
    """The error sent when the engine itself failed: a bug, not the user's doing."""
    return ErrorInfo(
        ErrorKind.INTERNAL,
        f"The engine failed to {doing}: {type(exc).__name__}: {exc}",
        "This is a bug in Needle; the engine log has the details.",
    )
