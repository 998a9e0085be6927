"""ChatModel on a real Ollama server, through the official `ollama` Python client.

Every call streams (`stream=True`), so text reaches `on_delta` as it is generated and a cancelled
call can be stopped mid-flight (engine/llm/ollama/transport.py says how). Calls are retried with
backoff on transient failures until text has reached the caller.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ollama

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.budget import count_prompt_tokens
from engine.llm.calibration import TokenCalibration
from engine.llm.ollama.errors import Transient, translate
from engine.llm.ollama.transport import CancellableClient, InFlight, close_stream
from engine.llm.tool_calls import TOOL_CALL_MARKUP, recover_tool_calls, tool_names
from engine.llm.types import ChatResult, Message, ToolCall

BACKOFF_CAP = 8.0  # seconds; the longest wait between two attempts
BACKOFF_JITTER = 0.25  # up to this fraction of the wait is added at random, so parallel readers
# that failed together do not all retry in the same instant


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
        self._http = CancellableClient(self._host, timeout)
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
            except Transient as transient:
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
        with self._http.abortable(cancel) as inflight, _abort_at_deadline(inflight, self._timeout):
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
                    close_stream(stream)
            except (Cancelled, OllamaError):
                raise
            except Exception as exc:
                if cancel.cancelled:  # a cancel shows up here as a broken read
                    raise Cancelled() from None
                if inflight.aborted:  # so does the deadline, however the bytes were arriving
                    raise self._deadline_error() from None
                error = translate(exc, self._host, self._model)
                if isinstance(error, Transient):
                    raise error from exc
                raise error from exc
        if final is None:
            raise OllamaError(
                ErrorKind.BAD_REPLY,
                f"Ollama at {self._host} ended the reply without its final chunk.",
                "The server may have crashed mid-reply; check the Ollama log and try again.",
            )
        content = "".join(attempt.parts)
        tool_calls = tuple(attempt.tool_calls)
        if tool_calls:
            content = TOOL_CALL_MARKUP.sub("", content).strip()
        elif request.get("tools"):
            tool_calls, content = recover_tool_calls(content, tool_names(request["tools"]))
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
            ErrorKind.TIMEOUT,
            f"The model did not finish its reply within {self._timeout:g} s.",
            "Try a smaller scope or a faster model, or raise the request timeout in Settings.",
        )


@contextlib.contextmanager
def _abort_at_deadline(inflight: InFlight, seconds: float) -> Iterator[None]:
    """Abort the call's connection when `seconds` pass: the deadline checked between chunks
    alone never fires while a server trickles bytes that never complete a line."""
    timer = threading.Timer(seconds, inflight.abort)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
