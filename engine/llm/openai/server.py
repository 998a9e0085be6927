"""An OpenAI-compatible server itself: `probe` (is it up, does it serve the model, how large is its
window)."""

from __future__ import annotations

from typing import Any

import httpx

from engine.errors import ErrorKind
from engine.llm.openai.errors import (
    URL_HINT,
    error_text,
    http_error,
    model_missing_error,
    translate,
)
from engine.llm.retry import unwrap
from engine.llm.status import ServerStatus

# Where servers put the window in a /v1/models entry: vLLM and SGLang `max_model_len`, LM Studio
# `loaded_context_length` (the loaded instance) or `max_context_length`, others `context_length`.
WINDOW_KEYS = ("max_model_len", "loaded_context_length", "context_length", "max_context_length")


def probe(base_url: str, model: str, *, api_key: str = "", timeout: float = 3.0) -> ServerStatus:
    """Is an OpenAI-compatible server answering at `base_url`, does it serve `model`, and what
    window does it say the model has? Never raises."""
    base_url = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(timeout=httpx.Timeout(timeout), headers=headers) as client:
        try:
            response = client.get(f"{base_url}/models")
        except Exception as exc:
            return _status_from_error(exc, base_url)
        if response.status_code >= 400:
            return _status_from_reply(response, base_url, model)
        try:
            entries = _entries(response.json())
        except ValueError:
            return ServerStatus(
                "error",
                f"{base_url}/models did not answer with a model list.",
                URL_HINT,
            )
        served = [str(entry.get("id", "")) for entry in entries if entry.get("id")]
        version = _version(client, base_url)
        if served and not any(name.casefold() == model.casefold() for name in served):
            error = model_missing_error(model, base_url, served)
            return ServerStatus("model_missing", error.message, error.hint, served, version)
        entry = next(
            (e for e in entries if str(e.get("id", "")).casefold() == model.casefold()), {}
        )
        window = _window(entry) or _llama_cpp_window(client, base_url)
    where = f"The server at {base_url}" + (f" ({version})" if version else "")
    sized = f" with a {window}-token window" if window else ""
    return ServerStatus(
        "ready", f"{where} is ready with {model}{sized}.", "", served, version, window
    )


def _entries(data: Any) -> list[dict[str, Any]]:
    items = data.get("data") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("no model list")
    return [item for item in items if isinstance(item, dict)]


def _window(entry: dict[str, Any]) -> int:
    for key in WINDOW_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def _server_root(base_url: str) -> str:
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def _llama_cpp_window(client: httpx.Client, base_url: str) -> int:
    """llama.cpp's server says its per-slot window in /props (outside /v1)."""
    try:
        response = client.get(f"{_server_root(base_url)}/props")
        settings = response.json().get("default_generation_settings", {})
        value = settings.get("n_ctx", 0)
    except (httpx.HTTPError, ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) and value > 0 else 0


def _version(client: httpx.Client, base_url: str) -> str:
    """vLLM and SGLang answer /version; other servers do not say."""
    try:
        response = client.get(f"{_server_root(base_url)}/version")
        if response.status_code != 200:
            return ""
        value = response.json().get("version", "")
    except (httpx.HTTPError, ValueError, AttributeError):
        return ""
    return str(value)[:40]


def _status_from_reply(response: httpx.Response, base_url: str, model: str) -> ServerStatus:
    text = error_text(response.read())
    if response.status_code in (404, 405):
        return ServerStatus(
            "error", f"{base_url} has no model list (HTTP {response.status_code}).", URL_HINT
        )
    error = unwrap(http_error(response.status_code, text, base_url, model))
    return ServerStatus("error", error.message, error.hint)


def _status_from_error(exc: Exception, base_url: str) -> ServerStatus:
    try:
        error = unwrap(translate(exc, base_url))
    except Exception as unknown:
        return ServerStatus("error", f"Checking the server at {base_url} failed: {unknown}.")
    if error.kind == ErrorKind.OLLAMA_UNREACHABLE:
        return ServerStatus("not_running", error.message, error.hint)
    return ServerStatus("error", error.message, error.hint)
