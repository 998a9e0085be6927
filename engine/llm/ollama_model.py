"""ChatModel on a real Ollama server, through the official `ollama` Python client.

Every call streams (`stream=True`), so text reaches `on_delta` as it is generated and a cancelled
call can be stopped mid-flight. Cancelling works below the ollama client, which hides its httpx
response inside a generator that another thread cannot close while it is blocked reading: an httpx
`request` event hook installs an httpcore `trace` callback on each request; when httpcore reports
`connection.connect_tcp.complete` the callback keeps the new TCP socket for the call. On cancel,
`socket.shutdown(SHUT_RDWR)` wakes the blocked read at once (whether the server is still evaluating
the prompt or streaming tokens), the read fails, and the call raises Cancelled; the server sees the
connection close. Keep-alive is off so every call opens its own connection and the trace always
fires (one TCP connect to a local server costs well under a millisecond).

Also here: `probe` (is the server up, is the model pulled) and `pull_model` (with progress).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import ollama
import pydantic

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, OllamaError
from engine.llm.budget import count_prompt_tokens
from engine.llm.calibration import TokenCalibration
from engine.llm.types import ChatResult, Message, ToolCall

CONNECT_TIMEOUT = 5.0
BACKOFF_CAP = 8.0  # seconds; the longest wait between two attempts
BACKOFF_JITTER = 0.25  # up to this fraction of the wait is added at random, so parallel readers
# that failed together do not all retry in the same instant
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_REGISTRY = "registry.ollama.ai/"
DEFAULT_NAMESPACE = "library/"
# Qwen2 writes tool calls as <tool_call>{json}</tool_call>. Ollama parses them into
# message.tool_calls and drops the markup; servers that stream the raw text as well (ollama-compat)
# would leave it in the content, so it is dropped here too once the calls were parsed.
_TOOL_CALL_MARKUP = re.compile(r"<tool_call>.*?(?:</tool_call>|$)", re.S)

StatusState = Literal["ready", "not_running", "model_missing", "error"]


# ---------------------------------------------------------------------------------------------
# Errors a user can act on


def unreachable_error(host: str, detail: str = "") -> OllamaError:
    suffix = f" ({detail})" if detail else ""
    return OllamaError(
        "ollama_unreachable",
        f"Ollama is not running at {host}{suffix}.",
        "Start it with `ollama serve` (or open the Ollama app), "
        "or set the Ollama host in Settings.",
    )


def model_missing_error(model: str) -> OllamaError:
    return OllamaError(
        "model_missing",
        f"Model {model} is not pulled.",
        f"Run `ollama pull {model}` or pull it from the app.",
    )


class _Transient(Exception):
    """Wraps an OllamaError that is worth retrying (connection reset, 5xx, 429, connect timeout)."""

    def __init__(self, error: OllamaError) -> None:
        super().__init__(error.message)
        self.error = error


# ---------------------------------------------------------------------------------------------
# Cancellable HTTP


class _InFlight:
    """The TCP socket of one call, so that another thread can abort the call's blocking read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.aborted = False

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            aborted = self.aborted
        if aborted:  # cancelled while connecting: close the new connection at once
            _shutdown(sock)

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # shutdown (unlike close) wakes a recv() blocked in another thread; the socket may already be
    # closed by httpcore, which is fine.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _CancellableClient:
    """An ollama.Client whose in-flight requests can be aborted from another thread."""

    def __init__(self, host: str, read_timeout: float) -> None:
        self.host = host
        self._local = threading.local()
        self.client = ollama.Client(
            host=host,
            timeout=httpx.Timeout(read_timeout, connect=min(CONNECT_TIMEOUT, read_timeout)),
            limits=httpx.Limits(max_keepalive_connections=0),
            event_hooks={"request": [self._install_trace]},
        )

    def _install_trace(self, request: httpx.Request) -> None:
        inflight: _InFlight | None = getattr(self._local, "inflight", None)
        if inflight is None:
            return

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    inflight.attach(sock)

        request.extensions["trace"] = trace

    @contextlib.contextmanager
    def abortable(self, cancel: CancelToken) -> Iterator[_InFlight]:
        """Requests made by this thread inside the block are aborted when `cancel` fires."""
        inflight = _InFlight()
        self._local.inflight = inflight
        remove = cancel.on_cancel(inflight.abort)
        try:
            yield inflight
        finally:
            remove()
            self._local.inflight = None

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]


def _close_stream(stream: object) -> None:
    """Close the client's response generator: that leaves its `with` block and so releases the
    HTTP response (typed as a plain Iterator by the client, it is really a generator)."""
    close = getattr(stream, "close", None)
    if callable(close):
        close()


def _translate(exc: BaseException, host: str, model: str) -> OllamaError | _Transient:
    """Map what the ollama client and httpx raise to a user-facing error; transient ones wrapped."""
    if isinstance(exc, ollama.ResponseError):
        return _translate_response_error(exc, model)
    if isinstance(exc, httpx.ConnectTimeout):
        return _Transient(unreachable_error(host, "no answer within the connect timeout"))
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        # Refused or unresolvable: retrying cannot help, say so at once.
        return unreachable_error(host)
    if isinstance(exc, httpx.TimeoutException):
        return OllamaError(
            "timeout",
            f"Ollama at {host} stopped answering (no data within the read timeout).",
            "The model may be overloaded or too large for this machine; try again, or raise the "
            "request timeout in Settings.",
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return _Transient(
            OllamaError(
                "connection_lost",
                f"The connection to Ollama at {host} broke during the request ({exc}).",
                "Check that Ollama is still running; the request can be repeated.",
            )
        )
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return OllamaError(
            "bad_reply",
            f"Ollama at {host} sent a reply that is not valid NDJSON ({_first_line(exc)}).",
            "Check that the host really is an Ollama server and that it is up to date.",
        )
    if isinstance(exc, httpx.HTTPError):
        return OllamaError("ollama_error", f"Talking to Ollama at {host} failed: {exc}.")
    raise exc


def _translate_response_error(exc: ollama.ResponseError, model: str) -> OllamaError | _Transient:
    status = exc.status_code
    text = str(exc.error).strip()
    if status == 404 and "not found" in text.lower():
        return model_missing_error(model)
    error = OllamaError(
        "ollama_error",
        f"Ollama refused the request (HTTP {status}): {text}"
        if status > 0
        else f"Ollama reported an error: {text}",
        "See the Ollama server log for details.",
    )
    return _Transient(error) if status in TRANSIENT_STATUS else error


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# The chat model


@dataclass
class _Attempt:
    """What one streamed attempt produced so far; `emitted` forbids retrying (the caller has
    already shown text that a second attempt would repeat)."""

    parts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    emitted: bool = False


class OllamaChatModel:
    """`ChatModel` on an Ollama server. Safe to share between threads: at most `max_concurrency`
    calls run at once (others wait, still cancellable). Each call sends
    `options={"num_ctx": context_window, "temperature": temperature, "num_predict": max_tokens}`,
    `format=json_schema` and `tools` when given, and streams. Transient failures (connection reset,
    HTTP 5xx/429, connect timeout) are retried up to `retries` times with exponential backoff and
    jitter, but only before any text reached `on_delta`; other errors are raised at once as
    OllamaError with a hint. `timeout` bounds one call: no data for that long, or a stream still
    running after it, is a "timeout" error."""

    def __init__(
        self,
        host: str,
        model: str,
        *,
        context_window: int = 8192,
        timeout: float = 300.0,
        max_concurrency: int = 4,
        retries: int = 3,
        temperature: float = 0.0,
        calibration: TokenCalibration | None = None,
        backoff: float = 0.5,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._host = host.rstrip("/")
        self._model = model
        self._context_window = context_window
        self._timeout = timeout
        self._retries = max(0, retries)
        self._temperature = temperature
        self._backoff = backoff
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._http = _CancellableClient(self._host, timeout)
        self.calibration = calibration if calibration is not None else TokenCalibration()

    @property
    def name(self) -> str:
        return self._model

    @property
    def host(self) -> str:
        return self._host

    @property
    def context_window(self) -> int:
        return self._context_window

    @property
    def token_ratio(self) -> float:
        """Server tokens per estimated token for this model; give it to PromptBudget."""
        return self.calibration.ratio(self._model)

    def close(self) -> None:
        self._http.close()

    def chat(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        on_delta: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
        cancel: CancelToken = NEVER,
    ) -> ChatResult:
        """One streamed call; see the class docstring. Raises OllamaError or Cancelled."""
        cancel.raise_if_cancelled()
        request = self._request(messages, json_schema, tools, max_tokens)
        with self._slot(cancel):
            started = time.monotonic()
            result = self._with_retries(request, on_delta, cancel)
        seconds = time.monotonic() - started
        self.calibration.observe(
            self._model,
            count_prompt_tokens(messages, tools),
            result.prompt_tokens,
            num_ctx=self._context_window,
        )
        return ChatResult(
            content=result.content,
            tool_calls=result.tool_calls,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            seconds=seconds,
            done_reason=result.done_reason,
        )

    def _request(
        self,
        messages: list[Message],
        json_schema: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_ctx": self._context_window,
            "temperature": self._temperature,
        }
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [message.to_ollama() for message in messages],
            "options": options,
        }
        if json_schema is not None:
            request["format"] = json_schema
        if tools:
            request["tools"] = tools
        return request

    @contextlib.contextmanager
    def _slot(self, cancel: CancelToken) -> Iterator[None]:
        """One of `max_concurrency` places; waiting for it can be cancelled."""
        while not self._slots.acquire(timeout=0.05):
            cancel.raise_if_cancelled()
        try:
            yield
        finally:
            self._slots.release()

    def _with_retries(
        self,
        request: dict[str, Any],
        on_delta: Callable[[str], None] | None,
        cancel: CancelToken,
    ) -> ChatResult:
        attempt_number = 0
        while True:
            attempt = _Attempt()
            try:
                return self._stream_once(request, on_delta, cancel, attempt)
            except _Transient as transient:
                if attempt.emitted or attempt_number >= self._retries:
                    raise transient.error from None
            self._sleep_before_retry(attempt_number, cancel)
            attempt_number += 1

    def _sleep_before_retry(self, attempt_number: int, cancel: CancelToken) -> None:
        delay = min(BACKOFF_CAP, self._backoff * 2**attempt_number)
        delay += random.uniform(0.0, BACKOFF_JITTER * delay)
        if cancel.wait(delay):
            raise Cancelled()

    def _stream_once(
        self,
        request: dict[str, Any],
        on_delta: Callable[[str], None] | None,
        cancel: CancelToken,
        attempt: _Attempt,
    ) -> ChatResult:
        deadline = time.monotonic() + self._timeout
        final: ollama.ChatResponse | None = None
        with self._http.abortable(cancel):
            try:
                stream = self._http.client.chat(stream=True, **request)
                try:
                    for chunk in stream:
                        cancel.raise_if_cancelled()
                        self._take_chunk(chunk, on_delta, attempt)
                        if chunk.done:
                            final = chunk
                            break
                        if time.monotonic() > deadline:
                            raise self._deadline_error()
                finally:
                    _close_stream(stream)
            except (Cancelled, OllamaError):
                raise
            except Exception as exc:
                if cancel.cancelled:  # a cancel shows up here as a broken read
                    raise Cancelled() from None
                error = _translate(exc, self._host, self._model)
                if isinstance(error, _Transient):
                    raise error from exc
                raise error from exc
        if final is None:
            raise OllamaError(
                "bad_reply",
                f"Ollama at {self._host} ended the reply without its final chunk.",
                "The server may have crashed mid-reply; check the Ollama log and try again.",
            )
        content = "".join(attempt.parts)
        tool_calls = tuple(attempt.tool_calls)
        if tool_calls:
            content = _TOOL_CALL_MARKUP.sub("", content).strip()
        elif request.get("tools"):
            tool_calls, content = recover_tool_calls(content, _tool_names(request["tools"]))
        return ChatResult(
            content=content,
            tool_calls=tool_calls,
            prompt_tokens=final.prompt_eval_count or 0,
            completion_tokens=final.eval_count or 0,
            done_reason=final.done_reason or "",
        )

    @staticmethod
    def _take_chunk(
        chunk: ollama.ChatResponse, on_delta: Callable[[str], None] | None, attempt: _Attempt
    ) -> None:
        message = chunk.message
        if message.content:
            attempt.parts.append(message.content)
            attempt.emitted = True
            if on_delta is not None:
                on_delta(message.content)
        for call in message.tool_calls or ():
            attempt.tool_calls.append(ToolCall(call.function.name, dict(call.function.arguments)))

    def _deadline_error(self) -> OllamaError:
        return OllamaError(
            "timeout",
            f"The model did not finish its reply within {self._timeout:g} s.",
            "Try a smaller scope or a faster model, or raise the request timeout in Settings.",
        )


# ---------------------------------------------------------------------------------------------
# Tool calls written as text

_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*?)(?:```|$)", re.S)
_CLOSERS = {"{": "}", "[": "]"}


def recover_tool_calls(text: str, tool_names: set[str]) -> tuple[tuple[ToolCall, ...], str]:
    """Tool calls a model wrote as text instead of native calls — `<tool_call>{…}</tool_call>`
    blocks, a ```json block, or a reply that starts with a JSON object — whose "name" is one of
    the offered tools. Small models often drop the last closing brace, so unbalanced JSON is
    closed before parsing. Returns the calls and the text that remains; no calls and `text`
    unchanged when nothing qualifies."""
    spans = [(*m.span(0), m.group(0)) for m in _TOOL_CALL_MARKUP.finditer(text)]
    spans += [(*m.span(0), m.group(1)) for m in _FENCED_JSON.finditer(text)]
    stripped = text.lstrip()
    if not spans and stripped.startswith("{"):
        start = len(text) - len(stripped)
        spans = [(start, start + len(_balanced(stripped)[1]), stripped)]
    calls: list[ToolCall] = []
    remaining = text
    for start, end, candidate in sorted(spans, reverse=True):
        call = _parse_call(candidate.replace("<tool_call>", "").replace("</tool_call>", ""))
        if call is not None and call.name in tool_names:
            calls.insert(0, call)
            remaining = remaining[:start] + remaining[end:]
    return (tuple(calls), remaining.strip()) if calls else ((), text)


def _parse_call(candidate: str) -> ToolCall | None:
    start = candidate.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(_balanced(candidate[start:].strip())[0])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # some models send the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    return ToolCall(data["name"], arguments) if isinstance(arguments, dict) else None


def _balanced(fragment: str) -> tuple[str, str]:
    """The first JSON value of `fragment` with unclosed strings, objects and arrays closed, and
    the part of `fragment` it was made from (text after a complete value is left out)."""
    stack: list[str] = []
    in_string = escaped = False
    for index, char in enumerate(fragment):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return fragment[: index + 1], fragment[: index + 1]
    closed = fragment + ('"' if in_string else "") + "".join(reversed(stack))
    return closed, fragment


def _tool_names(tools: list[dict[str, Any]]) -> set[str]:
    return {str(tool.get("function", {}).get("name", "")) for tool in tools}


# ---------------------------------------------------------------------------------------------
# Probe and pull


@dataclass(frozen=True)
class OllamaStatus:
    """What `probe` found. `models` are the pulled model names; `version` the server's version
    ("" when unknown)."""

    state: StatusState
    message: str
    hint: str = ""
    models: list[str] = field(default_factory=list)
    version: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "message": self.message,
            "hint": self.hint,
            "models": list(self.models),
            "version": self.version,
        }


@dataclass(frozen=True)
class PullProgress:
    """One progress line of a pull: `status` as Ollama words it ("pulling manifest",
    "pulling 8eeb52dfb3bb", "verifying sha256 digest", "success"); bytes when known."""

    status: str
    completed: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        return self.completed / self.total if self.total else None


def canonical_model_name(name: str) -> str:
    """Ollama's rules: a name without a tag means `:latest`; the default registry and the
    `library/` namespace may be left out; names compare case-insensitively."""
    name = name.strip().lower()
    if name.startswith(DEFAULT_REGISTRY):
        name = name[len(DEFAULT_REGISTRY) :]
    if name.startswith(DEFAULT_NAMESPACE):
        name = name[len(DEFAULT_NAMESPACE) :]
    last_part = name.rsplit("/", 1)[-1]
    if ":" not in last_part:
        name += ":latest"
    return name


def same_model(a: str, b: str) -> bool:
    return canonical_model_name(a) == canonical_model_name(b)


def probe(host: str, model: str, *, timeout: float = 3.0) -> OllamaStatus:
    """Is Ollama reachable at `host`, and is `model` pulled? Never raises."""
    host = host.rstrip("/")
    client = ollama.Client(host=host, timeout=httpx.Timeout(timeout))
    try:
        listing = client.list()
        names = [m.model for m in listing.models if m.model]
        version = _server_version(client)
    except Exception as exc:
        return _status_from_error(exc, host, model)
    finally:
        client.close()  # type: ignore[no-untyped-call]
    if not any(same_model(name, model) for name in names):
        error = model_missing_error(model)
        return OllamaStatus("model_missing", error.message, error.hint, names, version)
    server = f"Ollama {version}" if version else "Ollama"
    return OllamaStatus("ready", f"{server} is ready with {model}.", "", names, version)


def _server_version(client: ollama.Client) -> str:
    # The ollama client has no call for /api/version; use its own httpx client (same host/timeout).
    try:
        response = client._client.get("/api/version")
        response.raise_for_status()
        return str(response.json().get("version", ""))
    except (httpx.HTTPError, ValueError, AttributeError):
        return ""


def _status_from_error(exc: Exception, host: str, model: str) -> OllamaStatus:
    try:
        translated = _translate(exc, host, model)
    except Exception as unknown:
        return OllamaStatus("error", f"Checking Ollama at {host} failed: {unknown}.")
    error = translated.error if isinstance(translated, _Transient) else translated
    if error.kind == "ollama_unreachable":
        return OllamaStatus("not_running", error.message, error.hint)
    return OllamaStatus("error", error.message, error.hint)


def pull_model(
    host: str,
    model: str,
    *,
    on_progress: Callable[[PullProgress], None],
    cancel: CancelToken = NEVER,
    timeout: float = 600.0,
) -> None:
    """Download `model` into the Ollama at `host`, reporting each progress line. Returns when
    Ollama says "success"; raises OllamaError (kind "pull_failed" when Ollama refuses, e.g. an
    unknown name) or Cancelled (the download stops; Ollama keeps the parts it already has)."""
    http = _CancellableClient(host.rstrip("/"), timeout)
    try:
        with http.abortable(cancel):
            _pull_stream(http, model, on_progress, cancel)
    finally:
        http.close()


def _pull_stream(
    http: _CancellableClient,
    model: str,
    on_progress: Callable[[PullProgress], None],
    cancel: CancelToken,
) -> None:
    succeeded = False
    try:
        stream = http.client.pull(model, stream=True)
        try:
            for line in stream:
                cancel.raise_if_cancelled()
                status = line.status or ""
                on_progress(PullProgress(status, line.completed or 0, line.total or 0))
                succeeded = succeeded or status == "success"
        finally:
            _close_stream(stream)
    except (Cancelled, OllamaError):
        raise
    except ollama.ResponseError as exc:
        if cancel.cancelled:
            raise Cancelled() from None
        raise OllamaError(
            "pull_failed",
            f"Ollama could not pull {model}: {exc.error}.",
            "Check the model name (for example qwen2:7b-instruct) and the internet connection.",
        ) from exc
    except Exception as exc:
        if cancel.cancelled:
            raise Cancelled() from None
        translated = _translate(exc, http.host, model)
        raise (translated.error if isinstance(translated, _Transient) else translated) from exc
    if not succeeded:
        raise OllamaError(
            "pull_failed",
            f"Pulling {model} ended before Ollama reported success.",
            "Try the pull again; Ollama resumes where it stopped.",
        )
