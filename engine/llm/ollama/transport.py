"""The ollama client with abortable requests (engine/llm/transport.py says how)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import ollama

from engine.cancel import CancelToken
from engine.llm.transport import InFlight, SocketAborter


class CancellableClient:
    """An ollama.Client whose in-flight requests can be aborted from another thread."""

    def __init__(self, host: str, read_timeout: float) -> None:
        self.host = host
        self._aborter = SocketAborter()
        self.client = ollama.Client(host=host, **self._aborter.client_options(read_timeout))

    @contextlib.contextmanager
    def abortable(self, cancel: CancelToken, deadline: float | None = None) -> Iterator[InFlight]:
        """Requests made by this thread inside the block are aborted when `cancel` fires or the
        `deadline` (seconds) passes."""
        with self._aborter.abortable(cancel, deadline) as inflight:
            yield inflight

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]
