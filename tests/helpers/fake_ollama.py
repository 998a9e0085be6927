"""A fake Ollama server speaking the real HTTP/NDJSON protocol on 127.0.0.1, for tests.

The real `ollama` client (and so OllamaChatModel) talks to it unchanged. Replies come from a
*responder*, a callable `(request_json) -> Reply | str`; `RuleResponder` picks a reply by matching
the last user message or the system prompt. Everything is recorded for assertions, and any chat
request whose prompt is over `options.num_ctx` tokens (counted like the budgeter counts them) is
rejected with HTTP 400 and recorded in `rejections`, so every test checks the 8k promise.

In a test:

    with FakeOllama(responder=RuleResponder([(user_contains("capital"), Reply("Paris"))])) as fake:
        model = OllamaChatModel(fake.url, "qwen2:7b-instruct")
        ...
        assert fake.rejections == []

As a process (for end-to-end tests that run the real engine as a child process):

    python tests/helpers/fake_ollama.py --port 0 --script replies.json

prints `fake-ollama listening on http://127.0.0.1:PORT` on its first line and serves until killed.
The script file is JSON: {"models": [...], "token_delay": 0.0, "default": REPLY,
"rules": [{"user_contains": "...", "system_contains": "...", "format": true, "tools": true,
"reply": REPLY}, ...]} where REPLY is {"content": str or JSON value, "tool_calls":
[{"name": ..., "arguments": {...}}]}. A rule's conditions must all hold; the first match wins.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `engine` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest

from engine.llm.budget import count_prompt_tokens, counter_for_model
from engine.llm.qwen.tokenizer import count_qwen_tokens, is_qwen_model
from engine.llm.types import Message, ToolCall
from engine.tokens import estimate_tokens

DEFAULT_MODELS = ("qwen2:7b-instruct", "qwen2.5-coder:0.5b")
DEFAULT_NUM_CTX = 2048  # what real Ollama uses when a request gives no num_ctx
FAKE_VERSION = "0.6.0-fake"
_PIECE = re.compile(r"\s*\S+|\s+")


# ---------------------------------------------------------------------------------------------
# Replies and responders


@dataclass(frozen=True)
class Reply:
    """What the fake model says: text (a dict/list is sent as its JSON) and/or tool calls, each
    `{"name": str, "arguments": dict}`."""

    content: str | dict[str, Any] | list[Any] = ""
    tool_calls: tuple[dict[str, Any], ...] = ()

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return json.dumps(self.content, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        return cls(data.get("content", ""), tuple(data.get("tool_calls", ())))


Responder = Callable[[dict[str, Any]], "Reply | str"]
Predicate = Callable[[dict[str, Any]], bool]


def last_user_message(request: dict[str, Any]) -> str:
    for message in reversed(request.get("messages", [])):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return ""


def system_prompt(request: dict[str, Any]) -> str:
    return "\n".join(
        str(m.get("content", "")) for m in request.get("messages", []) if m.get("role") == "system"
    )


def user_contains(text: str) -> Predicate:
    """True when the last user message contains `text` (case-insensitive)."""
    needle = text.lower()
    return lambda request: needle in last_user_message(request).lower()


def system_contains(text: str) -> Predicate:
    """True when the system prompt contains `text` (case-insensitive)."""
    needle = text.lower()
    return lambda request: needle in system_prompt(request).lower()


def wants_json(request: dict[str, Any]) -> bool:
    return bool(request.get("format"))


def offers_tools(request: dict[str, Any]) -> bool:
    return bool(request.get("tools"))


def example_for_schema(schema: Any) -> Any:
    """A small value valid for a JSON schema (first enum value, empty strings and lists)."""
    if not isinstance(schema, dict):
        return {}
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example_for_schema(sub) for name, sub in properties.items()}
    defaults: dict[str, Any] = {"string": "", "array": [], "boolean": False, "integer": 0}
    return defaults.get(kind, 0 if kind == "number" else None)


def default_responder(request: dict[str, Any]) -> Reply:
    """JSON asked for: a minimal instance of the schema ({} for "json"). Otherwise an echo of the
    last user message, so tests can see what the model was asked."""
    fmt = request.get("format")
    if isinstance(fmt, dict):
        return Reply(example_for_schema(fmt))
    if fmt == "json":
        return Reply({})
    question = last_user_message(request).strip().splitlines()
    return Reply(f"You asked: {question[-1] if question else ''}")


class RuleResponder:
    """The first rule whose predicate holds gives the reply; otherwise `fallback`. A rule's reply
    may be a Reply, a string, or a callable `(request) -> Reply | str` for dynamic answers."""

    def __init__(
        self,
        rules: Sequence[tuple[Predicate, Reply | str | Responder]],
        fallback: Responder = default_responder,
    ) -> None:
        self.rules = list(rules)
        self.fallback = fallback

    def __call__(self, request: dict[str, Any]) -> Reply | str:
        for predicate, reply in self.rules:
            if predicate(request):
                return reply(request) if callable(reply) else reply
        return self.fallback(request)


def responder_from_script(script: dict[str, Any]) -> RuleResponder:
    """A RuleResponder from the JSON script format described in the module docstring."""
    rules: list[tuple[Predicate, Reply | str | Responder]] = []
    for rule in script.get("rules", []):
        rules.append((_script_predicate(rule), Reply.from_json(rule.get("reply", {}))))
    fallback: Responder = default_responder
    if "default" in script:
        default = Reply.from_json(script["default"])
        fallback = lambda request: default  # noqa: E731
    return RuleResponder(rules, fallback)


def _script_predicate(rule: dict[str, Any]) -> Predicate:
    checks: list[Predicate] = []
    if "user_contains" in rule:
        checks.append(user_contains(str(rule["user_contains"])))
    if "system_contains" in rule:
        checks.append(system_contains(str(rule["system_contains"])))
    if "format" in rule:
        checks.append(lambda r: wants_json(r) == bool(rule["format"]))
    if "tools" in rule:
        checks.append(lambda r: offers_tools(r) == bool(rule["tools"]))
    return lambda request: all(check(request) for check in checks)


# ---------------------------------------------------------------------------------------------
# Failures and records


@dataclass
class Failure:
    """An injected failure for the next matching request. `mode`: "http" answers `status` with
    `{"error": message}`; "broken_json" streams a line that is not JSON; "empty_stream" answers
    200 with no lines; "hang_up" closes the connection without answering; "trickle" streams
    one byte of a line every 0.1 s for `seconds` and never finishes the line."""

    status: int = 500
    message: str = "injected failure"
    mode: str = "http"
    path: str = "/api/chat"
    seconds: float = 10.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: dict[str, Any]
    prompt_tokens: int = 0  # for /api/chat: the counted prompt (after token_factor)
    status: int = 200


def warm_tokenizer(models: Sequence[str]) -> None:
    """Load the Qwen vocabulary now, on the caller's thread, when a served model is Qwen. Loaded
    on a server thread at the first request instead, it holds the GIL for up to seconds on a busy
    machine, and the desktop tests' watchdog sees the UI thread (same process) as blocked."""
    if any(is_qwen_model(model) for model in models):
        count_qwen_tokens("warm")


def count_request_tokens(body: dict[str, Any]) -> int:
    """The raw prompt tokens of a chat request, counted as the served model's tokenizer would:
    exactly for Qwen models (as a real server does), else like PromptBudget estimates them."""
    messages = [_message_from_json(m) for m in body.get("messages", [])]
    counter = counter_for_model(str(body.get("model") or ""))
    return count_prompt_tokens(messages, body.get("tools") or None, counter)


def _message_from_json(data: dict[str, Any]) -> Message:
    calls = tuple(
        ToolCall(c["function"]["name"], dict(c["function"].get("arguments") or {}))
        for c in data.get("tool_calls") or ()
    )
    role = data.get("role", "user")
    if role not in ("system", "user", "assistant", "tool"):
        role = "user"
    return Message(role, str(data.get("content") or ""), calls, str(data.get("tool_name") or ""))


# ---------------------------------------------------------------------------------------------
# The server


class FakeOllama:
    """The fake server. Start with `start()` or `with FakeOllama() as fake:`; `url` is its base.

    Knobs (plain attributes, change them any time): `models` (pulled names), `pullable` (names
    /api/pull can fetch), `token_delay` (seconds between streamed pieces), `first_token_delay`
    (seconds of "prompt evaluation" before the first piece), `token_factor` (the server's tokens
    per counted token: prompt_eval_count and the num_ctx check use count * factor),
    `pull_step_delay`. Records: `requests`, `rejections` (over-budget chat requests),
    `disconnects` (streams the client closed early), `max_active` (most chat requests at once)."""

    def __init__(
        self,
        responder: Responder = default_responder,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        port: int = 0,
        token_delay: float = 0.0,
    ) -> None:
        self.responder = responder
        self.models: list[str] = list(models)
        self.pullable: set[str] = {"qwen2:7b-instruct", "qwen2.5-coder:0.5b", "qwen2:latest"}
        self.token_delay = token_delay
        self.first_token_delay = 0.0
        self.token_factor = 1.0
        self.pull_step_delay = 0.0
        self.requests: list[RecordedRequest] = []
        self.rejections: list[RecordedRequest] = []
        self.disconnects = 0
        self.active = 0
        self.max_active = 0
        self._failures: list[Failure] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), _make_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeOllama:
        warm_tokenizer(self.models)
        # A short poll interval makes stop() quick: every test starts and stops a server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, failure: Failure | None = None, *, times: int = 1) -> None:
        """Make the next `times` requests to `failure.path` fail (default: HTTP 500 on chat)."""
        with self._lock:
            self._failures.extend([failure or Failure()] * times)

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/api/chat"]

    def wait_for_disconnects(self, count: int = 1, timeout: float = 3.0) -> bool:
        """True once at least `count` streams were closed by the client."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.disconnects >= count:
                return True
            time.sleep(0.01)
        return self.disconnects >= count

    # -- used by the handler --------------------------------------------------------------------

    def _take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.path == path:
                    return self._failures.pop(index)
        return None

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(record)
            if record.status == 400 and record.path == "/api/chat":
                self.rejections.append(record)

    def _enter_chat(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def _leave_chat(self) -> None:
        with self._lock:
            self.active -= 1

    def _count_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    def find_model(self, name: str) -> str | None:
        wanted = _canonical(name)
        return next((m for m in self.models if _canonical(m) == wanted), None)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (cancel, keep-alive off) is normal here, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError | _ClientGone):
            return
        super().handle_error(request, client_address)


def _canonical(name: str) -> str:
    name = name.strip().lower()
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _make_handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_fake = fake

    return Handler


class _ClientGone(Exception):
    """The client closed the connection while we were streaming."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeOllama

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # -- plumbing ---------------------------------------------------------------------------------

    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError as exc:  # broken pipe / reset: the client went away
            raise _ClientGone() from exc

    def _send_line(self, payload: dict[str, Any]) -> None:
        self._send_chunk(json.dumps(payload).encode() + b"\n")

    def _end_stream(self) -> None:
        self._send_chunk(b"")  # the zero-length chunk ends a chunked body

    def _trickle(self, seconds: float) -> None:
        """Bytes keep arriving, so no read times out, but no NDJSON line ever completes."""
        self._start_stream()
        self._send_chunk(b'{"model": "x", "message": {"role": "assistant", "content": "')
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            self._send_chunk(b"a")
            time.sleep(0.1)
        self.close_connection = True

    def _apply_failure(self, path: str) -> bool:
        failure = self.server_fake._take_failure(path)
        if failure is None:
            return False
        if failure.mode == "http":
            self._send_json(failure.status, {"error": failure.message})
        elif failure.mode == "broken_json":
            self._start_stream()
            self._send_chunk(b'{"model": "x", "message": {"role": "assist\n')
            self._end_stream()
        elif failure.mode == "empty_stream":
            self._start_stream()
            self._end_stream()
        elif failure.mode == "trickle":
            self._trickle(failure.seconds)
        else:  # hang_up
            self.close_connection = True
            self.connection.shutdown(2)
        return True

    # -- routes -----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        fake = self.server_fake
        fake._record(RecordedRequest("GET", self.path, {}))
        if self._apply_failure(self.path):
            return
        if self.path == "/api/tags":
            self._send_json(200, {"models": [_model_entry(name) for name in fake.models]})
        elif self.path == "/api/version":
            self._send_json(200, {"version": FAKE_VERSION})
        elif self.path in ("/", ""):
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._send_json(404, {"error": "404 page not found"})

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self._read_body()
        fake = self.server_fake
        if body is None:
            fake._record(RecordedRequest("POST", self.path, {}, status=400))
            self._send_json(400, {"error": "invalid JSON in request body"})
            return
        if self.path == "/api/chat":
            self._chat(body)
            return
        fake._record(RecordedRequest("POST", self.path, body))
        if self._apply_failure(self.path):
            return
        if self.path == "/api/show":
            self._show(body)
        elif self.path == "/api/pull":
            self._pull(body)
        else:
            self._send_json(404, {"error": "404 page not found"})

    def _show(self, body: dict[str, Any]) -> None:
        name = str(body.get("model") or body.get("name") or "")
        found = self.server_fake.find_model(name)
        if found is None:
            self._send_json(404, {"error": f'model "{name}" not found'})
            return
        self._send_json(
            200,
            {
                "modelfile": f"FROM {found}\n",
                "parameters": "stop <|im_start|>\nstop <|im_end|>",
                "template": "{{ .System }}{{ .Prompt }}",
                "details": _model_entry(found)["details"],
                "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
                "capabilities": ["completion", "tools"],
                "modified_at": _now(),
            },
        )

    def _pull(self, body: dict[str, Any]) -> None:
        fake = self.server_fake
        name = str(body.get("model") or body.get("name") or "")
        stream = body.get("stream", True)
        known = any(_canonical(p) == _canonical(name) for p in fake.pullable)
        if not stream:
            if known:
                self._add_model(name)
                self._send_json(200, {"status": "success"})
            else:
                self._send_json(500, {"error": "pull model manifest: file does not exist"})
            return
        self._start_stream()
        try:
            for line in _pull_lines(name, known):
                if fake.pull_step_delay:
                    time.sleep(fake.pull_step_delay)
                self._send_line(line)
            if known:
                self._add_model(name)
            self._end_stream()
        except _ClientGone:
            fake._count_disconnect()
            self.close_connection = True

    def _add_model(self, name: str) -> None:
        fake = self.server_fake
        with fake._lock:
            if fake.find_model(name) is None:
                fake.models.append(_canonical(name))

    def _chat(self, body: dict[str, Any]) -> None:
        fake = self.server_fake
        record = RecordedRequest("POST", "/api/chat", body)
        model = str(body.get("model") or "")
        if fake.find_model(model) is None:
            record.status = 404
            fake._record(record)
            self._send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        num_ctx = int((body.get("options") or {}).get("num_ctx") or DEFAULT_NUM_CTX)
        record.prompt_tokens = round(count_request_tokens(body) * fake.token_factor)
        if record.prompt_tokens > num_ctx:
            record.status = 400
            fake._record(record)
            self._send_json(
                400,
                {
                    "error": f"prompt is {record.prompt_tokens} tokens, over num_ctx {num_ctx}"
                    " (the fake server rejects what real Ollama would silently truncate)"
                },
            )
            return
        fake._record(record)
        if self._apply_failure("/api/chat"):
            return
        fake._enter_chat()
        try:
            self._answer(body, record.prompt_tokens)
        except _ClientGone:
            fake._count_disconnect()
            self.close_connection = True
        finally:
            fake._leave_chat()

    def _answer(self, body: dict[str, Any], prompt_tokens: int) -> None:
        fake = self.server_fake
        reply = fake.responder(body)
        if isinstance(reply, str):
            reply = Reply(reply)
        pieces = _PIECE.findall(reply.text)
        num_predict = (body.get("options") or {}).get("num_predict")
        done_reason = "stop"
        if isinstance(num_predict, int) and 0 <= num_predict < len(pieces):
            pieces, done_reason = pieces[:num_predict], "length"
        tool_calls = [
            {"function": {"name": c["name"], "arguments": c.get("arguments", {})}}
            for c in reply.tool_calls
        ]
        final = {
            "model": body["model"],
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": done_reason,
            "total_duration": 1_000_000,
            "load_duration": 1_000,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 500_000,
            "eval_count": max(len(pieces), estimate_tokens(reply.text)),
            "eval_duration": 500_000,
        }
        if not body.get("stream", True):
            self._sleep(fake.first_token_delay + fake.token_delay * len(pieces))
            final["message"] = {"role": "assistant", "content": "".join(pieces)}
            if tool_calls:
                final["message"]["tool_calls"] = tool_calls
            self._send_json(200, final)
            return
        self._start_stream()
        self._sleep(fake.first_token_delay)
        for piece in pieces:
            self._send_line(_delta(body["model"], {"role": "assistant", "content": piece}))
            self._sleep(fake.token_delay)
        if tool_calls:  # Ollama sends tool calls in one chunk of their own before the final one
            message = {"role": "assistant", "content": "", "tool_calls": tool_calls}
            self._send_line(_delta(body["model"], message))
        self._send_line(final)
        self._end_stream()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


def _delta(model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "created_at": _now(), "message": message, "done": False}


def _model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": _now(),
        "size": 4_400_000_000,
        "digest": f"{abs(hash(name)):064x}"[:64],
        "details": {
            "format": "gguf",
            "family": "qwen2",
            "families": ["qwen2"],
            "parameter_size": "7.6B",
            "quantization_level": "Q4_0",
        },
    }


def _pull_lines(name: str, known: bool) -> Iterator[dict[str, Any]]:
    yield {"status": "pulling manifest"}
    if not known:
        yield {"error": "pull model manifest: file does not exist"}
        return
    total = 4_000_000
    digest = "sha256:" + "8eeb52dfb3bb" + "0" * 52
    for completed in itertools.chain(range(0, total, total // 4), [total]):
        yield {
            "status": f"pulling {digest[7:19]}",
            "digest": digest,
            "total": total,
            "completed": completed,
        }
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    yield {"status": "success"}


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A started FakeOllama with the default responder; import this fixture into a test module
    (`from tests.helpers.fake_ollama import fake_ollama`) and set `fake_ollama.responder` as
    needed."""
    with FakeOllama() as fake:
        yield fake


# ---------------------------------------------------------------------------------------------
# Standalone


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a scripted fake Ollama on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", type=Path, help="JSON file of models and reply rules")
    args = parser.parse_args(argv)
    script: dict[str, Any] = {}
    if args.script is not None:
        script = json.loads(args.script.read_text("utf-8"))
    fake = FakeOllama(
        responder_from_script(script),
        models=script.get("models", DEFAULT_MODELS),
        port=args.port,
        token_delay=float(script.get("token_delay", 0.0)),
    )
    print(f"fake-ollama listening on {fake.url}", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
