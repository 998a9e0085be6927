"""One window per library: a second launch hands its request to the running app, which raises its
window, and exits.

The running app listens on a per-user local socket named after the library it has open (its
data folder), so two libraries (`--data-dir`) can be open side by side while the same library
never is — a second engine would only be refused the index's writer lock. QtNetwork (and so
QLocalServer) is not in the bundle; this uses Python's `socket` with a `QSocketNotifier` for the
event loop: a Unix domain socket in a private (0700) folder of the user's runtime directory, or,
where there are no Unix sockets, a loopback TCP port written to a file in that folder with a
random token the caller must send back.

`NEEDLE_RUNTIME_DIR` moves the folder (tests point it at their own temporary folder, as several
suites run on one machine at once)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, Signal

log = logging.getLogger("needle.desktop")

RUNTIME_ENV = "NEEDLE_RUNTIME_DIR"
CONNECT_TIMEOUT = 2.0
MAX_MESSAGE = 64 * 1024
# sockaddr_un holds about 108 bytes; a longer path falls back to the temporary folder.
MAX_SOCKET_PATH = 100


def runtime_dir() -> Path:
    """A folder only this user can enter: $NEEDLE_RUNTIME_DIR, else $XDG_RUNTIME_DIR/needle, else
    a per-user folder in the temporary directory."""
    override = os.environ.get(RUNTIME_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and Path(xdg).is_dir():
        return Path(xdg) / "needle"
    user = getattr(os, "getuid", lambda: os.environ.get("USERNAME", "user"))()
    return Path(tempfile.gettempdir()) / f"needle-{user}"


@dataclass(frozen=True)
class InstanceAddress:
    """Where the app holding one library listens."""

    folder: Path
    name: str  # derived from the library's data folder

    @property
    def socket_path(self) -> Path:
        path = self.folder / f"{self.name}.sock"
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            return Path(tempfile.gettempdir()) / f"needle-{self.name}.sock"
        return path

    @property
    def port_file(self) -> Path:
        return self.folder / f"{self.name}.port"


def instance_address(library: str | os.PathLike[str]) -> InstanceAddress:
    key = os.path.normcase(os.path.abspath(os.fspath(library)))
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return InstanceAddress(runtime_dir(), f"library-{digest}")


def _private_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)


def _unix_sockets() -> bool:
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"


def _connect(address: InstanceAddress, timeout: float) -> tuple[socket.socket, str] | None:
    """A connection to the running app and the token to send, or None when none listens."""
    if _unix_sockets():
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(timeout)
        try:
            client.connect(str(address.socket_path))
        except OSError:
            client.close()
            return None
        return client, ""
    try:
        port_text, token = address.port_file.read_text("utf-8").split()
        tcp = socket.create_connection(("127.0.0.1", int(port_text)), timeout=timeout)
    except (OSError, ValueError):
        return None
    return tcp, token


def activate_running(
    address: InstanceAddress, arguments: Sequence[str] = (), timeout: float = CONNECT_TIMEOUT
) -> bool:
    """Ask the app already running on this library to show itself (and act on `arguments`).
    True when it answered; False when no app runs (or it did not answer: then this launch goes
    on, and the engine's writer lock is the last word)."""
    connected = _connect(address, timeout)
    if connected is None:
        return False
    connection, token = connected
    message = json.dumps({"action": "activate", "args": list(arguments), "token": token})
    try:
        with connection:
            connection.sendall(message.encode("utf-8") + b"\n")
            reply = connection.makefile("rb").readline(MAX_MESSAGE)
    except OSError as exc:
        log.warning("the running Needle did not answer: %s", exc)
        return False
    return reply.strip() == b"ok"


class InstanceServer(QObject):
    """The running app's side: `activated(arguments)` when another launch asked to be it."""

    activated = Signal(list)

    def __init__(self, address: InstanceAddress, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.address = address
        self._listener: socket.socket | None = None
        self._notifier: QSocketNotifier | None = None
        self._token = ""
        self._clients: dict[int, tuple[socket.socket, QSocketNotifier, bytearray]] = {}

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def listen(self) -> bool:
        """Start listening; False when another app already does (it should be asked instead)."""
        _private_folder(self.address.folder)
        listener = self._bind()
        if listener is None:
            return False
        listener.listen(8)
        listener.setblocking(False)
        self._listener = listener
        self._notifier = QSocketNotifier(listener.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._accept)
        return True

    def _bind(self) -> socket.socket | None:
        if not _unix_sockets():
            return self._bind_tcp()
        path = self.address.socket_path
        for _attempt in range(2):
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                server.bind(str(path))
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600)
                return server
            except OSError as exc:
                server.close()
                if exc.errno != errno.EADDRINUSE:
                    raise
            # A socket file is there: a live app, or one that crashed and left it.
            if _connect(self.address, 0.5) is not None:
                return None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return None

    def _bind_tcp(self) -> socket.socket | None:
        if _connect(self.address, 0.5) is not None:
            return None
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        self._token = secrets.token_hex(16)
        self.address.port_file.write_text(f"{server.getsockname()[1]} {self._token}\n", "utf-8")
        return server

    def close(self) -> None:
        for connection, notifier, _buffer in list(self._clients.values()):
            notifier.setEnabled(False)
            connection.close()
        self._clients.clear()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier = None
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.close()
        target = self.address.socket_path if _unix_sockets() else self.address.port_file
        with contextlib.suppress(OSError):
            target.unlink()

    # -- connections -------------------------------------------------------------------------

    def _accept(self) -> None:
        listener = self._listener
        if listener is None:
            return
        while True:
            try:
                connection, _peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accepting a second launch failed: %s", exc)
                return
            connection.setblocking(False)
            key = connection.fileno()
            notifier = QSocketNotifier(key, QSocketNotifier.Type.Read, self)
            self._clients[key] = (connection, notifier, bytearray())
            # The signal's descriptor argument is a QSocketDescriptor or an int depending on the
            # platform: each notifier carries its own key instead.
            notifier.activated.connect(partial(self._read, key))

    def _read(self, key: int, *_signal_arguments: object) -> None:
        entry = self._clients.get(key)
        if entry is None:
            return
        connection, _notifier, buffer = entry
        try:
            chunk = connection.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        buffer += chunk
        if chunk and b"\n" not in buffer and len(buffer) < MAX_MESSAGE:
            return
        self._finish(key, bytes(buffer))

    def _finish(self, key: int, data: bytes) -> None:
        connection, notifier, _buffer = self._clients.pop(key)
        notifier.setEnabled(False)
        notifier.deleteLater()
        arguments = self._message_arguments(data)
        with contextlib.suppress(OSError):
            connection.setblocking(True)
            connection.settimeout(1.0)
            connection.sendall(b"ok\n" if arguments is not None else b"refused\n")
        connection.close()
        if arguments is not None:
            self.activated.emit(arguments)

    def _message_arguments(self, data: bytes) -> list[str] | None:
        try:
            message = json.loads(data.split(b"\n", 1)[0] or b"{}")
        except ValueError:
            return None
        if not isinstance(message, dict) or message.get("action") != "activate":
            return None
        if self._token and message.get("token") != self._token:
            return None
        arguments = message.get("args")
        return [str(a) for a in arguments] if isinstance(arguments, list) else []
