"""What goes wrong talking to Ollama, as errors a user can act on; `Transient` marks the ones worth
retrying."""

from __future__ import annotations

import json

import ollama
import pydantic

from engine.errors import ErrorKind, OllamaError
from engine.llm.failures import ServerWords, network_failure, other_http_failure
from engine.llm.retry import TRANSIENT_STATUS, Transient


def unreachable_error(host: str, detail: str = "") -> OllamaError:
    suffix = f" ({detail})" if detail else ""
    return OllamaError(
        ErrorKind.OLLAMA_UNREACHABLE,
        f"Ollama is not running at {host}{suffix}.",
        "Start it with `ollama serve` (or open the Ollama app), "
        "or set the Ollama host in Settings.",
    )


def model_missing_error(model: str) -> OllamaError:
    return OllamaError(
        ErrorKind.MODEL_MISSING,
        f"Model {model} is not pulled.",
        f"Run `ollama pull {model}` or pull it from the app.",
    )


def translate(exc: BaseException, host: str, model: str) -> OllamaError | Transient:
    """Map what the ollama client and httpx raise to a user-facing error; transient ones wrapped."""
    if isinstance(exc, ollama.ResponseError):
        return _translate_response_error(exc, model)
    server = server_words(host)
    failure = network_failure(exc, server)
    if failure is not None:
        return failure
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return OllamaError(
            ErrorKind.BAD_REPLY,
            f"Ollama at {host} sent a reply that is not valid NDJSON ({_first_line(exc)}).",
            "Check that the host really is an Ollama server and that it is up to date.",
        )
    other = other_http_failure(exc, server)
    if other is not None:
        return other
    raise exc


def server_words(host: str) -> ServerWords:
    return ServerWords(
        name=f"Ollama at {host}",
        unreachable=lambda detail: unreachable_error(host, detail),
        still_running="Check that Ollama is still running; the request can be repeated.",
    )


def _translate_response_error(exc: ollama.ResponseError, model: str) -> OllamaError | Transient:
    status = exc.status_code
    text = str(exc.error).strip()
    if status == 404 and "not found" in text.lower():
        return model_missing_error(model)
    if _refuses_tools(text):
        return OllamaError(
            ErrorKind.TOOLS_UNSUPPORTED,
            f"Model {model} cannot call tools on this server: {text}",
            "Needle asks it step by step in plain text instead.",
        )
    error = OllamaError(
        ErrorKind.OLLAMA_ERROR,
        f"Ollama refused the request (HTTP {status}): {text}"
        if status > 0
        else f"Ollama reported an error: {text}",
        "See the Ollama server log for details.",
    )
    return Transient(error) if status in TRANSIENT_STATUS else error


def _refuses_tools(text: str) -> bool:
    """Ollama has no error code for it, only words: "<model> does not support tools"."""
    lowered = text.lower()
    return "support tools" in lowered or "tool use" in lowered


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
