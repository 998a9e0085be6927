"""Cancellable HTTP for every model backend (Ollama's client and the OpenAI-compatible one).

A call blocked reading a streamed reply must stop the moment the user cancels, whether the server
is still evaluating the prompt or streaming tokens, and the server must see the connection close
(it then stops generating). Neither the ollama client (which hides its httpx response inside a
generator) nor a plain httpx stream can be closed safely from another thread while it is blocked
in a read, so the cut happens one level down: an httpx `request` event hook installs an httpcore
`trace` callback on each request; when httpcore reports `connection.connect_tcp.complete` the
callback keeps the new TCP socket for the call. On cancel, `socket.shutdown(SHUT_RDWR)` wakes the
blocked read at once, the read fails, and the call raises Cancelled. Keep-alive is off so every
call opens its own connection and the trace always fires (one TCP connect to a local server costs
well under a millisecond)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from engine.cancel import CancelToken

CONNECT_TIMEOUT = 5.0


class InFlight:
    """The TCP socket of one call, so that another thread can abort the call's blocking read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.aborted = False

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            aborted = self.aborted
        if aborted:  # cancelled while connecting: close the new connection at once
            _shutdown(sock)

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # shutdown (unlike close) wakes a recv() blocked in another thread; the socket may already be
    # closed by httpcore, which is fine.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class SocketAborter:
    """Makes the requests of an httpx client abortable from another thread. Give the client
    `timeout`, `limits` and `event_hooks` from `client_options`; wrap each call in
    `abortable(cancel)`."""

    def __init__(self) -> None:
        self._local = threading.local()

    def client_options(self, read_timeout: float) -> dict[str, Any]:
        """The httpx.Client keyword arguments that make this work (the ollama client passes them
        through to its httpx client)."""
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [self._install_trace]}
        return {
            "timeout": httpx.Timeout(read_timeout, connect=min(CONNECT_TIMEOUT, read_timeout)),
            "limits": httpx.Limits(max_keepalive_connections=0),
            "event_hooks": hooks,
        }

    def _install_trace(self, request: httpx.Request) -> None:
        inflight: InFlight | None = getattr(self._local, "inflight", None)
        if inflight is None:
            return

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                stream = info.get("return_value")
                sock = stream.get_extra_info("socket") if stream is not None else None
                if isinstance(sock, socket.socket):
                    inflight.attach(sock)

        request.extensions["trace"] = trace

    @contextlib.contextmanager
    def abortable(self, cancel: CancelToken, deadline: float | None = None) -> Iterator[InFlight]:
        """Requests made by this thread inside the block are aborted when `cancel` fires, or
        `deadline` seconds after the block starts: checked between streamed chunks alone, a
        deadline never fires while a server trickles bytes that never complete a line. After an
        abort, `aborted` on the yielded InFlight tells a deadline from a broken connection."""
        inflight = InFlight()
        self._local.inflight = inflight
        remove = cancel.on_cancel(inflight.abort)
        timer = threading.Timer(deadline, inflight.abort) if deadline is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            yield inflight
        finally:
            if timer is not None:
                timer.cancel()
            remove()
            self._local.inflight = None


def close_stream(stream: object) -> None:
    """Close a client's response generator: that leaves its `with` block and so releases the
    HTTP response (typed as a plain Iterator by the ollama client, it is really a generator)."""
    close = getattr(stream, "close", None)
    if callable(close):
        close()
