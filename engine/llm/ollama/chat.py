"""ChatModel on a real Ollama server, through the official `ollama` Python client.

Every call streams (`stream=True`), so text reaches `on_delta` as it is generated and a cancelled
call can be stopped mid-flight (engine/llm/transport.py says how). Calls are retried with backoff
on transient failures until text has reached the caller (engine/llm/retry.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ollama

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.budget import count_prompt_tokens
from engine.llm.calibration import TokenCalibration
from engine.llm.ollama.errors import translate
from engine.llm.ollama.transport import CancellableClient
from engine.llm.retry import Attempt, Transient
from engine.llm.served import ServedModel
from engine.llm.tool_calls import settle_tool_calls
from engine.llm.transport import close_stream
from engine.llm.types import ChatResult, Message, ToolCall


class OllamaChatModel(ServedModel):
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
        super().__init__(
            host,
            model,
            context_window=context_window,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retries=retries,
            temperature=temperature,
            calibration=calibration,
            backoff=backoff,
        )
        self._http = CancellableClient(self._url, timeout)

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
        with self._slots.hold(cancel):
            started = time.monotonic()
            result = self._retry.run(
                lambda attempt: self._stream_once(request, cancel, attempt), on_delta, cancel
            )
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
            cached_tokens=result.cached_tokens,
            endpoint=self._url,
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

    def _stream_once(
        self, request: dict[str, Any], cancel: CancelToken, attempt: Attempt
    ) -> ChatResult:
        deadline = time.monotonic() + self._timeout
        final: ollama.ChatResponse | None = None
        with self._http.abortable(cancel, self._timeout) as inflight:
            try:
                stream = self._http.client.chat(stream=True, **request)
                try:
                    for chunk in stream:
                        cancel.raise_if_cancelled()
                        self._take_chunk(chunk, attempt)
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
                failure = self._failure(exc, cancel, inflight)
                raise failure from (None if isinstance(failure, Cancelled) else exc)
        if final is None:
            raise OllamaError(
                ErrorKind.BAD_REPLY,
                f"Ollama at {self._url} ended the reply without its final chunk.",
                "The server may have crashed mid-reply; check the Ollama log and try again.",
            )
        tool_calls, content = settle_tool_calls(
            attempt.content, tuple(attempt.tool_calls), request.get("tools")
        )
        return ChatResult(
            content=content,
            tool_calls=tool_calls,
            prompt_tokens=final.prompt_eval_count or 0,
            completion_tokens=final.eval_count or 0,
            done_reason=final.done_reason or "",
            cached_tokens=_reused_tokens(final),
        )

    @staticmethod
    def _take_chunk(chunk: ollama.ChatResponse, attempt: Attempt) -> None:
        message = chunk.message
        attempt.text(message.content or "")
        for call in message.tool_calls or ():
            attempt.tool_calls.append(ToolCall(call.function.name, dict(call.function.arguments)))

    def _translate(self, exc: Exception) -> OllamaError | Transient:
        return translate(exc, self._url, self._model)


def _reused_tokens(final: ollama.ChatResponse) -> int:
    """Ollama itself does not report a reused prompt prefix (its prompt_eval_count just drops);
    the ollama-compat evaluation server adds `x_prompt_tokens_reused`, kept here when present."""
    extra = final.model_extra or {}
    value = extra.get("x_prompt_tokens_reused", 0)
    return value if isinstance(value, int) else 0
