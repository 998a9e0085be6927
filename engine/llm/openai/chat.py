"""ChatModel on an OpenAI-compatible server: `POST {base_url}/chat/completions`, streamed.

Spoken with httpx (already Needle's HTTP client through the ollama package; docs/openai.md says
why not the `openai` package). Every call streams server-sent events, so text reaches `on_delta`
as it is generated, and a cancel shuts the call's socket down (engine/llm/transport.py), which the
server sees as the client going away. Structured output is asked for in the most precise form the
server takes, stepping down once per model when it refuses one (`STRUCTURED_FORMS`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.budget import count_prompt_tokens, counter_for_model
from engine.llm.calibration import TokenCalibration
from engine.llm.openai.errors import (
    OptionRefused,
    SchemaRefused,
    error_text,
    http_error,
    refuses_schema,
    refuses_stream_options,
    translate,
)
from engine.llm.openai.wire import DONE, StreamState, sse_data, to_openai_messages
from engine.llm.retry import Attempt, Transient
from engine.llm.served import ServedModel
from engine.llm.tool_calls import settle_tool_calls
from engine.llm.transport import SocketAborter
from engine.llm.types import ChatResult, Message
from engine.tokens import estimate_tokens

# How a JSON schema is asked for, most precise first: OpenAI's `json_schema` (vLLM, SGLang,
# llama.cpp's server, LM Studio, Ollama's /v1), the `json_object` + `schema` form of
# llama-cpp-python's server, plain JSON mode, and finally the prompt alone (the agent validates
# every structured reply and falls back when it is not what was asked).
STRUCTURED_FORMS = ("json_schema", "json_object_schema", "json_object", "prompt")


def response_format(form: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if form == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": schema, "strict": False},
        }
    if form == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if form == "json_object":
        return {"type": "json_object"}
    return None


class OpenAIChatModel(ServedModel):
    """`ChatModel` on an OpenAI-compatible server at `base_url` (".../v1"). Safe to share between
    threads: at most `max_concurrency` calls run at once. `context_window` is the server's window
    when it reported one (engine/llm/openai/server.py), else the user's setting. Usage comes from
    the server (`stream_options.include_usage`); a server that reports none gets our own count of
    the prompt and the reply. Retries, timeouts and errors work as for Ollama
    (docs/ollama.md), with the same error kinds."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "",
        context_window: int = 8192,
        timeout: float = 300.0,
        max_concurrency: int = 4,
        retries: int = 3,
        temperature: float = 0.0,
        calibration: TokenCalibration | None = None,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(
            base_url,
            model,
            context_window=context_window,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retries=retries,
            temperature=temperature,
            calibration=calibration,
            backoff=backoff,
        )
        self._aborter = SocketAborter()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, **self._aborter.client_options(timeout))
        self._lock = threading.Lock()
        self._form = 0  # index into STRUCTURED_FORMS: the most precise form the server took
        self._usage_option = True  # ask for usage in the stream until the server refuses it

    @property
    def structured_form(self) -> str:
        """How this server is asked for JSON now (it steps down when the server refuses)."""
        return STRUCTURED_FORMS[self._form]

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
        with self._slots.hold(cancel):
            started = time.monotonic()
            result = self._retry.run(
                lambda attempt: self._negotiated(
                    messages, json_schema, tools, max_tokens, cancel, attempt
                ),
                on_delta,
                cancel,
            )
        estimated = count_prompt_tokens(messages, tools)
        if result.prompt_tokens:
            self.calibration.observe(
                self._model,
                estimated,
                result.prompt_tokens,
                num_ctx=self._context_window,
            )
        return ChatResult(
            content=result.content,
            tool_calls=result.tool_calls,
            prompt_tokens=result.prompt_tokens or self._local_count(messages, tools, estimated),
            completion_tokens=result.completion_tokens or estimate_tokens(result.content),
            seconds=time.monotonic() - started,
            done_reason=result.done_reason,
            cached_tokens=result.cached_tokens,
            endpoint=self._url,
        )

    def _local_count(
        self, messages: list[Message], tools: list[dict[str, Any]] | None, estimated: int
    ) -> int:
        """Prompt tokens when the server reports no usage: exact for a Qwen model (the name
        decides, as for PromptBudget), else the estimate times the learned ratio."""
        counter = counter_for_model(self._model)
        if counter is not estimate_tokens:
            return count_prompt_tokens(messages, tools, counter)
        return round(estimated * self.token_ratio)

    def _negotiated(
        self,
        messages: list[Message],
        json_schema: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None,
        max_tokens: int | None,
        cancel: CancelToken,
        attempt: Attempt,
    ) -> ChatResult:
        """One attempt, stepping down the structured form (or dropping stream_options) when the
        server refuses the request for it; the step is remembered for later calls."""
        while True:
            form, usage_option = self._form, self._usage_option
            request = self._request(messages, json_schema, tools, max_tokens, form, usage_option)
            try:
                return self._stream_once(request, cancel, attempt)
            except SchemaRefused:
                with self._lock:
                    if self._form == form and form < len(STRUCTURED_FORMS) - 1:
                        self._form = form + 1
            except OptionRefused:
                with self._lock:
                    self._usage_option = False

    def _request(
        self,
        messages: list[Message],
        json_schema: dict[str, Any] | None,
        tools: list[dict[str, Any]] | None,
        max_tokens: int | None,
        form: int,
        usage_option: bool,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self._model,
            "messages": to_openai_messages(messages),
            "stream": True,
            "temperature": self._temperature,
        }
        if usage_option:
            request["stream_options"] = {"include_usage": True}
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        if json_schema is not None:
            wanted = response_format(STRUCTURED_FORMS[form], json_schema)
            if wanted is not None:
                request["response_format"] = wanted
        if tools:
            request["tools"] = tools
        return request

    def _stream_once(
        self, request: dict[str, Any], cancel: CancelToken, attempt: Attempt
    ) -> ChatResult:
        deadline = time.monotonic() + self._timeout
        state = StreamState()
        url = f"{self._url}/chat/completions"
        with self._aborter.abortable(cancel, self._timeout) as inflight:
            try:
                with self._http.stream("POST", url, json=request) as response:
                    if response.status_code >= 400:
                        self._refused(request, response.status_code, error_text(response.read()))
                    for data in sse_data(response.iter_lines()):
                        cancel.raise_if_cancelled()
                        if data.strip() == DONE:
                            state.done = True
                            break
                        attempt.text(state.take(self._chunk(data)))
                        if time.monotonic() > deadline:
                            raise self._deadline_error()
            except (Cancelled, OllamaError, Transient, SchemaRefused, OptionRefused):
                if cancel.cancelled:
                    raise Cancelled() from None
                raise
            except Exception as exc:
                failure = self._failure(exc, cancel, inflight)
                raise failure from (None if isinstance(failure, Cancelled) else exc)
        if not state.finished:
            raise OllamaError(
                ErrorKind.BAD_REPLY,
                f"The model server at {self._url} ended the reply before finishing it.",
                "The server may have crashed mid-reply; check its log and try again.",
            )
        tool_calls, content = settle_tool_calls(
            attempt.content, state.tool_calls(), request.get("tools")
        )
        return ChatResult(
            content=content,
            tool_calls=tool_calls,
            prompt_tokens=state.prompt_tokens(),
            completion_tokens=state.completion_tokens(),
            done_reason=state.finish_reason or "stop",
            cached_tokens=state.cached_tokens(),
        )

    def _refused(self, request: dict[str, Any], status: int, text: str) -> None:
        if "response_format" in request and refuses_schema(status, text):
            raise SchemaRefused(text)
        if "stream_options" in request and refuses_stream_options(status, text):
            raise OptionRefused(text)
        error = http_error(status, text, self._url, self._model)
        raise error

    def _chunk(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise OllamaError(
                ErrorKind.BAD_REPLY,
                f"The model server at {self._url} sent an event that is not JSON ({data[:80]!r}).",
                "Check that the URL points at an OpenAI-compatible server.",
            ) from None
        if not isinstance(chunk, dict):
            raise OllamaError(
                ErrorKind.BAD_REPLY,
                f"The model server at {self._url} sent an event that is not an object.",
                "Check that the URL points at an OpenAI-compatible server.",
            )
        if "error" in chunk:  # an error after the stream started (vLLM, llama.cpp)
            text = error_text(json.dumps(chunk).encode())
            raise OllamaError(
                ErrorKind.OLLAMA_ERROR,
                f"The model server at {self._url} failed mid-reply: {text}",
                "See the server's log for details.",
            )
        return chunk

    def _translate(self, exc: Exception) -> OllamaError | Transient:
        return translate(exc, self._url)
