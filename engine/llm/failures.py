"""Network failures, translated the same way whichever backend met them.

Both backends speak HTTP through httpx, so a refused connection, a read timeout or a broken stream
means the same thing on each and gets the same error kind, wording and retry decision; only the
server's name ("Ollama at …", "the model server at …") and the first-aid differ. What a server
says in its own replies (HTTP errors, malformed bodies) stays with each backend's `errors.py`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from engine.errors import ErrorKind, OllamaError
from engine.llm.retry import Transient


@dataclass(frozen=True)
class ServerWords:
    """How the messages name one server and what they tell the user to check."""

    name: str  # "Ollama at http://…" or "the model server at http://…"
    unreachable: Callable[[str], OllamaError]  # the backend's "not running" error, given a detail
    still_running: str  # the first-aid after a broken connection

    @property
    def subject(self) -> str:
        return self.name[:1].upper() + self.name[1:]


def network_failure(exc: BaseException, server: ServerWords) -> OllamaError | Transient | None:
    """`exc` as a user-facing error when it is a network failure (transient ones wrapped), else
    None for the backend to classify."""
    if isinstance(exc, httpx.ConnectTimeout):
        return Transient(server.unreachable("no answer within the connect timeout"))
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return server.unreachable("")  # refused or unresolvable: retrying cannot help
    if isinstance(exc, httpx.TimeoutException):
        return OllamaError(
            ErrorKind.TIMEOUT,
            f"{server.subject} stopped answering (no data within the read timeout).",
            "The model may be overloaded or too large for this machine; try again, or raise the "
            "request timeout in Settings.",
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Transient(
            OllamaError(
                ErrorKind.CONNECTION_LOST,
                f"The connection to {server.name} broke during the request ({exc}).",
                server.still_running,
            )
        )
    return None


def other_http_failure(exc: BaseException, server: ServerWords) -> OllamaError | None:
    """Any other httpx failure, as a plain error naming the server; None when `exc` is not one."""
    if isinstance(exc, httpx.HTTPError):
        return OllamaError(ErrorKind.OLLAMA_ERROR, f"Talking to {server.name} failed: {exc}.")
    return None


def deadline_error(timeout: float) -> OllamaError:
    """A call that outran the whole-call deadline (engine/llm/transport.py enforces it)."""
    return OllamaError(
        ErrorKind.TIMEOUT,
        f"The model did not finish its reply within {timeout:g} s.",
        "Try a smaller scope or a faster model, or raise the request timeout in Settings.",
    )
