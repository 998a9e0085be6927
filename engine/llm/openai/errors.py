"""What goes wrong talking to an OpenAI-compatible server, as the same error kinds (and the same
kind of exact fix) as the Ollama backend; `Transient` marks the ones worth retrying."""

from __future__ import annotations

import json
from typing import Any

from engine.errors import ErrorKind, OllamaError
from engine.llm.failures import ServerWords, network_failure, other_http_failure
from engine.llm.retry import TRANSIENT_STATUS, Transient

START_HINT = (
    "Start the server (llama.cpp: `llama-server -m MODEL.gguf --port 8000`; LM Studio: start "
    "the local server; vLLM: `vllm serve MODEL`), or set the server URL in Settings."
)
URL_HINT = (
    "Check the server URL in Settings: OpenAI-compatible servers are addressed by their base "
    "URL, which usually ends in /v1 (for example http://127.0.0.1:8000/v1)."
)


class SchemaRefused(Exception):
    """The server refused the request's `response_format`: the model falls back to a simpler form
    of structured output (engine/llm/openai/chat.py)."""


class OptionRefused(Exception):
    """The server refused `stream_options` (older servers validate strictly): sent without it."""


def unreachable_error(url: str, detail: str = "") -> OllamaError:
    suffix = f" ({detail})" if detail else ""
    return OllamaError(
        ErrorKind.OLLAMA_UNREACHABLE, f"No model server is answering at {url}{suffix}.", START_HINT
    )


def model_missing_error(model: str, url: str, served: list[str] | None = None) -> OllamaError:
    if served:
        names = ", ".join(served[:8])
        hint = (
            f"It serves {names}. Choose one with `needle settings model={served[0]}` (or in "
            f"Settings), or load {model} in the server."
        )
    else:
        hint = (
            f"Load {model} in the server, or set the model it serves in Settings "
            "(`needle doctor` lists them)."
        )
    return OllamaError(ErrorKind.MODEL_MISSING, f"Model {model} is not served at {url}.", hint)


def translate(exc: BaseException, url: str) -> OllamaError | Transient:
    """Map what httpx raises to a user-facing error; transient ones wrapped."""
    server = server_words(url)
    failure = network_failure(exc, server) or other_http_failure(exc, server)
    if failure is None:
        raise exc
    return failure


def server_words(url: str) -> ServerWords:
    return ServerWords(
        name=f"the model server at {url}",
        unreachable=lambda detail: unreachable_error(url, detail),
        still_running="Check that the server is still running; the request can be repeated.",
    )


def error_text(body: bytes) -> str:
    """The server's own words from an error body: OpenAI's {"error": {"message": …}},
    FastAPI's {"detail": …}, or the raw text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text[:500]
    return _message_of(data) or text[:500]


def _message_of(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if key in data:
                found = _message_of(data[key])
                if found:
                    return found
        return ""
    if isinstance(data, list):  # FastAPI/pydantic validation errors: [{"loc": …, "msg": …}]
        return "; ".join(filter(None, (_message_of(item) or _validation(item) for item in data)))
    return str(data) if data is not None else ""


def _validation(item: Any) -> str:
    if isinstance(item, dict) and "msg" in item:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    return ""


def http_error(status: int, text: str, url: str, model: str) -> OllamaError | Transient:
    """An HTTP error reply to a chat request, classified by status and the server's words."""
    lowered = text.lower()
    if status in (401, 403):
        return OllamaError(
            ErrorKind.AUTH_FAILED,
            f"The model server at {url} refused the request (HTTP {status}): {text}",
            "Set its API key in Settings, or with `needle settings api_key=-` (read from the "
            "terminal, kept in the system keyring).",
        )
    if status == 404 and "model" in lowered:
        return model_missing_error(model, url)
    if status in (404, 405):
        return OllamaError(
            ErrorKind.OLLAMA_ERROR,
            f"{url} has no chat completions endpoint (HTTP {status}): {text}",
            URL_HINT,
        )
    if _refuses_tools(lowered):
        return OllamaError(
            ErrorKind.TOOLS_UNSUPPORTED,
            f"Model {model} cannot call tools on this server: {text}",
            "Needle asks it step by step in plain text instead.",
        )
    if _over_window(lowered):
        return OllamaError(
            ErrorKind.PROMPT_TOO_LARGE,
            f"The model server at {url} refused a prompt as too long for its window: {text}",
            "Lower the context window in Settings to the server's own (or start the server with "
            "a larger one).",
        )
    error = OllamaError(
        ErrorKind.OLLAMA_ERROR,
        f"The model server at {url} refused the request (HTTP {status}): {text}",
        "See the server's log for details.",
    )
    return Transient(error) if status in TRANSIENT_STATUS else error


def refuses_schema(status: int, text: str) -> bool:
    """An error about `response_format` or `json_schema`: the server does not take this form.
    Any status: llama-cpp-python's server answers its request validation errors with HTTP 500
    ("loc: body.response_format.type … Input should be 'text' or 'json_object'")."""
    lowered = text.lower()
    return status >= 400 and ("response_format" in lowered or "json_schema" in lowered)


def refuses_stream_options(status: int, text: str) -> bool:
    return status >= 400 and "stream_options" in text.lower()


def _refuses_tools(lowered: str) -> bool:
    # vLLM: '"auto" tool choice requires --enable-auto-tool-choice'; llama.cpp: 'tools param
    # requires --jinja flag'; others: "does not support tools".
    return (
        "tool choice" in lowered
        or "tools param" in lowered
        or "support tools" in lowered
        or "tool use" in lowered
    )


def _over_window(lowered: str) -> bool:
    # vLLM: "maximum context length is 4096 tokens"; llama.cpp: "exceeds the available context
    # size"; llama-cpp-python: "Requested tokens (…) exceed context window of …".
    return (
        "maximum context length" in lowered
        or "context size" in lowered
        or "context window" in lowered
        or "context length" in lowered
    )
