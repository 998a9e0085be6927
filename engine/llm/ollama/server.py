"""The Ollama server itself: `probe` (is it up, is the model pulled) and `pull_model`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import ollama

from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.ollama.errors import model_missing_error, translate
from engine.llm.ollama.transport import CancellableClient
from engine.llm.retry import Transient
from engine.llm.status import ServerStatus
from engine.llm.transport import close_stream

DEFAULT_REGISTRY = "registry.ollama.ai/"
DEFAULT_NAMESPACE = "library/"


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


def probe(host: str, model: str, *, timeout: float = 3.0) -> ServerStatus:
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
        return ServerStatus("model_missing", error.message, error.hint, names, version)
    server = f"Ollama {version}" if version else "Ollama"
    return ServerStatus("ready", f"{server} is ready with {model}.", "", names, version)


def _server_version(client: ollama.Client) -> str:
    # The ollama client has no call for /api/version; use its own httpx client (same host/timeout).
    try:
        response = client._client.get("/api/version")
        response.raise_for_status()
        return str(response.json().get("version", ""))
    except (httpx.HTTPError, ValueError, AttributeError):
        return ""


def _status_from_error(exc: Exception, host: str, model: str) -> ServerStatus:
    try:
        translated = translate(exc, host, model)
    except Exception as unknown:
        return ServerStatus("error", f"Checking Ollama at {host} failed: {unknown}.")
    error = translated.error if isinstance(translated, Transient) else translated
    if error.kind == ErrorKind.OLLAMA_UNREACHABLE:
        return ServerStatus("not_running", error.message, error.hint)
    return ServerStatus("error", error.message, error.hint)


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
    http = CancellableClient(host.rstrip("/"), timeout)
    try:
        with http.abortable(cancel):
            _pull_stream(http, model, on_progress, cancel)
    finally:
        http.close()


def _pull_stream(
    http: CancellableClient,
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
            close_stream(stream)
    except (Cancelled, OllamaError):
        raise
    except ollama.ResponseError as exc:
        if cancel.cancelled:
            raise Cancelled() from None
        raise OllamaError(
            ErrorKind.PULL_FAILED,
            f"Ollama could not pull {model}: {exc.error}.",
            "Check the model name (for example qwen2:7b-instruct) and the internet connection.",
        ) from exc
    except Exception as exc:
        if cancel.cancelled:
            raise Cancelled() from None
        translated = translate(exc, http.host, model)
        raise (translated.error if isinstance(translated, Transient) else translated) from exc
    if not succeeded:
        raise OllamaError(
            ErrorKind.PULL_FAILED,
            f"Pulling {model} ended before Ollama reported success.",
            "Try the pull again; Ollama resumes where it stopped.",
        )
