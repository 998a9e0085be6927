"""A fake OpenAI-compatible server speaking the real wire protocol on 127.0.0.1, for tests.

`POST /v1/chat/completions` answers with server-sent events (`data: {chunk}` lines, chunked
transfer encoding, `data: [DONE]` at the end) exactly as llama.cpp's server, vLLM and LM Studio do;
`GET /v1/models` lists the served models with a window. Replies come from the same responders as
tests/helpers/fake_ollama.py: the responder sees the request with `format` set to the JSON schema
that `response_format` asked for, so `RuleResponder`, `default_responder` and the predicates work
unchanged.

    with FakeOpenAI(RuleResponder([(user_contains("capital"), Reply("Paris"))])) as fake:
        model = OpenAIChatModel(fake.url, "qwen2.5-7b-instruct")   # fake.url ends in /v1

Knobs (attributes): `models`, `window` (max_model_len; prompts over it get vLLM's 400 and are
recorded in `rejections`), `api_key` (then a missing or wrong Bearer token gets 401),
`schema_forms` (which `response_format` types it takes: {"json_schema", "json_object"}; a
llama-cpp-python-like server takes only "json_object"), `report_usage` (answer
`stream_options.include_usage`), `strict_options` (refuse `stream_options` like an old server),
`latency` (seconds of "prompt evaluation" before the first token), `token_delay`, `slots` (requests
computed at once; the rest wait, like a server with that many sequences), `cache_prefix` (report
`prompt_tokens_details.cached_tokens` for the prefix shared with the previous prompt).
Records: `requests`, `chat_requests()`, `rejections`, `disconnects`, `max_active`.

As a process: `python tests/helpers/fake_openai.py --port 0 --latency 0.5 --slots 1` prints
`fake-openai listening on http://127.0.0.1:PORT/v1`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `engine` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest

from engine.llm.budget import count_prompt_tokens, counter_for_model
from engine.tokens import estimate_tokens
from tests.helpers.fake_ollama import (
    _PIECE,
    RecordedRequest,
    Reply,
    Responder,
    _message_from_json,
    default_responder,
    warm_tokenizer,
)

DEFAULT_MODELS = ("qwen2.5-7b-instruct",)
DEFAULT_WINDOW = 32768
CHAT_PATH = "/v1/chat/completions"


@dataclass
class Failure:
    """An injected failure for the next chat request. `mode`: "http" answers `status` with an
    OpenAI error object; "broken_json" streams an event that is not JSON; "cut" streams one
    token and closes the connection without finishing; "hang_up" closes at once;
    "error_event" streams an error object mid-reply; "trickle" sends a byte every 0.1 s for
    `seconds` without ever finishing an event."""

    status: int = 500
    message: str = "injected failure"
    mode: str = "http"
    seconds: float = 0.0


def count_openai_tokens(body: dict[str, Any]) -> int:
    """The raw prompt tokens of a chat request, counted as the served model's tokenizer would:
    exactly for Qwen models (as a real server does), else like PromptBudget estimates them."""
    messages = []
    for data in body.get("messages", []):
        calls = [
            {"function": {"name": c["function"]["name"], "arguments": _loads(c)}}
            for c in data.get("tool_calls") or ()
        ]
        messages.append(_message_from_json({**data, "tool_calls": calls}))
    counter = counter_for_model(str(body.get("model") or ""))
    return count_prompt_tokens(messages, body.get("tools") or None, counter)


def _loads(call: dict[str, Any]) -> dict[str, Any]:
    arguments = call["function"].get("arguments") or "{}"
    value = json.loads(arguments) if isinstance(arguments, str) else arguments
    return value if isinstance(value, dict) else {}


class FakeOpenAI:
    """The fake server; `url` is its base URL (ending in /v1)."""

    def __init__(
        self,
        responder: Responder = default_responder,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        port: int = 0,
        latency: float = 0.0,
        slots: int = 0,
    ) -> None:
        self.responder = responder
        self.models = list(models)
        self.window = DEFAULT_WINDOW
        self.api_key = ""
        self.schema_forms = {"json_schema", "json_object"}
        self.report_usage = True
        self.strict_options = False
        self.refusal_status = 422  # FastAPI's; llama-cpp-python's server says 500
        self.latency = latency
        self.token_delay = 0.0
        self.cache_prefix = False
        self.requests: list[RecordedRequest] = []
        self.rejections: list[RecordedRequest] = []
        self.disconnects = 0
        self.active = 0
        self.max_active = 0
        self._computing = threading.BoundedSemaphore(slots) if slots > 0 else None
        self._failures: list[Failure] = []
        self._previous_prompt = ""
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), _make_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        warm_tokenizer(self.models)
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

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, failure: Failure | None = None, *, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([failure or Failure()] * times)

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == CHAT_PATH]

    def wait_for_disconnects(self, count: int = 1, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.disconnects < count:
            time.sleep(0.01)
        return self.disconnects >= count

    # -- used by the handler ----------------------------------------------------------------------

    def _take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(record)
            if record.status == 400 and record.path == CHAT_PATH:
                self.rejections.append(record)

    def _cached(self, prompt: str) -> int:
        """Tokens of the prefix `prompt` shares with the previous prompt (one KV cache, as in
        llama.cpp's server with one slot)."""
        with self._lock:
            previous, self._previous_prompt = self._previous_prompt, prompt
        length = next(
            (i for i, (a, b) in enumerate(zip(previous, prompt, strict=False)) if a != b),
            min(len(previous), len(prompt)),
        )
        return estimate_tokens(prompt[:length]) if self.cache_prefix else 0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | _ClientGone):
            return
        super().handle_error(request, client_address)


class _ClientGone(Exception):
    pass


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_fake = fake

    return Handler


def _error(message: str, kind: str = "invalid_request_error", code: int = 400) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError as exc:
            raise _ClientGone() from exc

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self._send_chunk(f"data: {data}\n\n".encode())

    def _authorized(self) -> bool:
        key = self.server_fake.api_key
        if not key or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send_json(401, _error("Invalid API key", "authentication_error", 401))
        return False

    def do_GET(self) -> None:
        fake = self.server_fake
        fake._record(RecordedRequest("GET", self.path, {}))
        if self.path == "/v1/models":
            if self._authorized():
                entries = [
                    {"id": n, "object": "model", "owned_by": "fake", "max_model_len": fake.window}
                    for n in fake.models
                ]
                self._send_json(200, {"object": "list", "data": entries})
        else:
            self._send_json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if self.path != CHAT_PATH or not isinstance(body, dict):
            fake._record(RecordedRequest("POST", self.path, {}, status=404))
            self._send_json(404, {"detail": "Not Found"})
            return
        record = RecordedRequest("POST", CHAT_PATH, body)
        refusal = self._refusal(body, record)
        if refusal is not None:
            record.status = refusal[0]
            fake._record(record)
            self._send_json(*refusal)
            return
        fake._record(record)
        failure = fake._take_failure()
        if failure is not None and failure.mode in ("http", "hang_up"):
            self._fail(failure)
            return
        with fake._lock:
            fake.active += 1
            fake.max_active = max(fake.max_active, fake.active)
        try:
            self._answer(body, record.prompt_tokens, failure)
        except _ClientGone:
            with fake._lock:
                fake.disconnects += 1
            self.close_connection = True
        finally:
            with fake._lock:
                fake.active -= 1

    def _refusal(self, body: dict[str, Any], record: RecordedRequest) -> tuple[int, Any] | None:
        fake = self.server_fake
        if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return 401, _error("Invalid API key", "authentication_error", 401)
        model = str(body.get("model", ""))
        if model not in fake.models:
            return 404, _error(f"The model `{model}` does not exist.", "NotFoundError", 404)
        if fake.strict_options and "stream_options" in body:
            return fake.refusal_status, {
                "detail": [
                    {
                        "loc": ["body", "stream_options"],
                        "msg": "Extra inputs are not permitted",
                        "type": "extra_forbidden",
                    }
                ]
            }
        wanted = (body.get("response_format") or {}).get("type")
        if wanted and wanted != "text" and wanted not in fake.schema_forms:
            return fake.refusal_status, {
                "detail": [
                    {
                        "loc": ["body", "response_format", "type"],
                        "msg": "Input should be 'text' or 'json_object'",
                        "type": "literal",
                    }
                ]
            }
        record.prompt_tokens = count_openai_tokens(body)
        limit = fake.window - int(body.get("max_tokens") or 0)
        if record.prompt_tokens > limit:
            return 400, _error(
                f"This model's maximum context length is {fake.window} tokens. However, you "
                f"requested {record.prompt_tokens + int(body.get('max_tokens') or 0)} tokens."
            )
        return None

    def _fail(self, failure: Failure) -> None:
        if failure.mode == "http":
            self._send_json(failure.status, _error(failure.message, "server_error", failure.status))
        else:
            self.close_connection = True
            self.connection.shutdown(2)

    def _answer(self, body: dict[str, Any], prompt_tokens: int, failure: Failure | None) -> None:
        fake = self.server_fake
        view = dict(body)
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get(
            "schema"
        )
        json_mode = response_format.get("type") == "json_object"
        view["format"] = schema if schema else ("json" if json_mode else None)
        reply = fake.responder(view)
        if isinstance(reply, str):
            reply = Reply(reply)
        pieces = _PIECE.findall(reply.text)
        finish = "stop"
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and 0 <= max_tokens < len(pieces):
            pieces, finish = pieces[:max_tokens], "length"
        texts = (str(m.get("content") or "") for m in body.get("messages", []))
        cached = fake._cached("\n".join(texts))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if fake._computing is not None:
            fake._computing.acquire()
        try:
            time.sleep(fake.latency)
        finally:
            if fake._computing is not None:
                fake._computing.release()
        model = body["model"]
        self._send_chunk(b": ping\n\n")  # a comment, as servers send to keep the line open
        self._event(_chunk(model, {"role": "assistant", "content": ""}))
        for index, piece in enumerate(pieces):
            if failure is not None and index == 1:
                self._mid_failure(failure)
                return
            self._event(_chunk(model, {"content": piece}))
            if fake.token_delay:
                time.sleep(fake.token_delay)
        for index, call in enumerate(reply.tool_calls):
            arguments = json.dumps(call.get("arguments", {}))
            half = len(arguments) // 2
            first = {
                "index": index,
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": call["name"], "arguments": arguments[:half]},
            }
            self._event(_chunk(model, {"tool_calls": [first]}))
            rest = {"index": index, "function": {"arguments": arguments[half:]}}
            self._event(_chunk(model, {"tool_calls": [rest]}))
        if reply.tool_calls:
            finish = "tool_calls"
        self._event(_chunk(model, {}, finish))
        options = body.get("stream_options") or {}
        if fake.report_usage and options.get("include_usage"):
            completion = max(len(pieces), estimate_tokens(reply.text))
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": prompt_tokens + completion,
                "prompt_tokens_details": {"cached_tokens": min(cached, prompt_tokens)},
            }
            self._event(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        self._event("[DONE]")
        self._send_chunk(b"")

    def _mid_failure(self, failure: Failure) -> None:
        if failure.mode == "broken_json":
            self._send_chunk(b'data: {"choices": [{"delta": {"content": "x\n\n')
            self._send_chunk(b"")
        elif failure.mode == "error_event":
            self._event(_error(failure.message, "server_error", 500))
            self._send_chunk(b"")
        elif failure.mode == "trickle":  # no read ever times out, no event ever completes
            self._send_chunk(b'data: {"choices": [{"delta": {"content": "')
            stop = time.monotonic() + failure.seconds
            while time.monotonic() < stop:
                self._send_chunk(b"a")
                time.sleep(0.1)
            self.close_connection = True
        else:  # cut
            self.close_connection = True
            self.connection.shutdown(2)


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible API.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model", action="append", default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--slots", type=int, default=0, help="requests computed at once")
    args = parser.parse_args(argv)
    fake = FakeOpenAI(
        models=args.model or DEFAULT_MODELS, port=args.port, latency=args.latency, slots=args.slots
    )
    print(f"fake-openai listening on {fake.url}", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
