"""The engine's child process: launching it, reading its stdout as protocol lines and its stderr
as log lines, and how it ended, as a plain value (`EngineExit`) that says why in words.

One `EngineProcess` per launch; the client makes a new one for every restart. Everything runs on
the UI thread's event loop and never waits (except `wait_finished`, for the app's last moments).
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

log = logging.getLogger("needle.engine_client")
engine_log = logging.getLogger("needle.engine")  # the engine's stderr, line by line

CREATE_NO_WINDOW = 0x08000000
STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class EngineExit:
    """How an engine process ended. `start_error` when it never started; `killed_because` when
    the client killed it (it hung); else its exit code, or `crashed` when a signal ended it."""

    code: int | None = None
    crashed: bool = False
    start_error: str = ""
    killed_because: str = ""
    last_message: str = ""  # its last line of log output

    def describe(self) -> str:
        if self.start_error:
            return f"The engine could not start: {self.start_error}"
        if self.killed_because:
            return self.killed_because
        if self.crashed:
            # Killed by a signal: its last log line is whatever it did before, not the cause.
            return "The engine crashed."
        reason = f"The engine exited unexpectedly (exit code {self.code})."
        # An exit on its own ends with the explanation (a traceback's last line, say).
        return reason + (f" Last message: {self.last_message}" if self.last_message else "")


class EngineProcess(QObject):
    """A running (or starting) engine. `line_received` carries each stdout line without its
    newline; `exited` carries the `EngineExit`, once."""

    started = Signal()
    line_received = Signal(bytes)
    exited = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process = QProcess(self)
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._killed_because = ""
        self._done = False
        # Bound slots, not lambdas: Qt drops them when this object is destroyed, so a late
        # signal of a dying process can never call into a deleted object.
        self._process.readyReadStandardOutput.connect(self._on_stdout)
        self._process.readyReadStandardError.connect(self._on_stderr)
        self._process.started.connect(self.started)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)

    def start(
        self,
        command: Sequence[str],
        environment: Mapping[str, str] | None = None,
        working_directory: str | None = None,
    ) -> None:
        process = self._process
        process.setProgram(command[0])
        process.setArguments(list(command[1:]))
        if environment:
            merged = QProcessEnvironment.systemEnvironment()
            for key, value in environment.items():
                merged.insert(key, value)
            process.setProcessEnvironment(merged)
        if working_directory:
            process.setWorkingDirectory(working_directory)
        if sys.platform == "win32":
            _hide_console_window(process)
        else:
            # Its own session: a Ctrl-C in the terminal that started the app reaches the app,
            # which then shuts the engine down in order, instead of both dying at once (and the
            # engine being restarted under a quitting app).
            process.setUnixProcessParameters(QProcess.UnixProcessFlag.CreateNewSession)
        log.info("starting the engine: %s", " ".join(command))
        process.start()

    @property
    def running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int | None:
        if not self.running:
            return None
        return int(self._process.processId()) or None

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr_tail)

    def write(self, data: bytes) -> None:
        if self.running:
            self._process.write(data)

    def kill(self, because: str = "") -> None:
        """Kill it; `because` becomes the reason `exited` gives (an engine that hung)."""
        if because:
            self._killed_because = because
        if self.running:
            self._process.kill()

    def terminate(self) -> None:
        if self.running:
            self._process.terminate()

    def wait_finished(self, timeout_ms: int) -> bool:
        """Blocking: only for the app's last moments (`shutdown_blocking`)."""
        self._process.waitForBytesWritten(min(timeout_ms, 1000))
        return bool(self._process.waitForFinished(timeout_ms))

    def silence_and_kill(self) -> None:
        """Stop it without a single further signal (its client is being destroyed)."""
        try:
            self.blockSignals(True)
            self._process.blockSignals(True)
            if self.running:
                self._process.kill()
                self._process.waitForFinished(2000)
        except RuntimeError:  # the C++ object is already gone: nothing left to stop
            pass

    # -- reading ---------------------------------------------------------------------------

    def _on_stdout(self) -> None:
        self._stdout += bytes(self._process.readAllStandardOutput().data())
        while (newline := self._stdout.find(b"\n")) >= 0:
            line = bytes(self._stdout[:newline])
            del self._stdout[: newline + 1]
            if line.strip():
                self.line_received.emit(line)
            if self._done or self.signalsBlocked():
                return  # a receiver shut the client down or replaced this engine

    def _on_stderr(self) -> None:
        self._stderr += bytes(self._process.readAllStandardError().data())
        while (newline := self._stderr.find(b"\n")) >= 0:
            line = self._stderr[:newline].decode("utf-8", "replace").rstrip()
            del self._stderr[: newline + 1]
            self._stderr_tail.append(line)
            engine_log.debug("%s", line)

    # -- ending ------------------------------------------------------------------------------

    def _on_error(self, error: QProcess.ProcessError) -> None:
        # Only a failed start gets no `finished` signal; other errors are followed by one.
        if error == QProcess.ProcessError.FailedToStart:
            self._end(EngineExit(start_error=self._process.errorString()))

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._on_stderr()
        last = next((line.strip() for line in reversed(self._stderr_tail) if line.strip()), "")
        crashed = status == QProcess.ExitStatus.CrashExit
        self._end(EngineExit(code, crashed, killed_because=self._killed_because, last_message=last))

    def _end(self, ending: EngineExit) -> None:
        if not self._done:
            self._done = True
            self.exited.emit(ending)


def _hide_console_window(process: QProcess) -> None:
    """The bundled `needle.exe` is a console program (it is also the CLI); started from the
    windowed app it would open a console window for the engine's whole life. Not verified on
    Windows yet: it is guarded so that, at worst, the window shows."""
    modifier_setter = getattr(process, "setCreateProcessArgumentsModifier", None)
    if modifier_setter is None:
        return

    def add_no_window_flag(arguments: Any) -> None:
        arguments.flags |= CREATE_NO_WINDOW

    try:
        modifier_setter(add_no_window_flag)
    except Exception:
        log.warning("cannot hide the engine's console window", exc_info=True)
