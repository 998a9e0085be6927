"""When something goes wrong inside the app itself: a rotating `desktop.log` beside the engine's
`engine.log`, a crash file written by `faulthandler` when the process dies hard (a segfault in a
native library, an abort), and an exception hook that logs an unexpected error and shows a
non-blocking dialog with everything a bug report needs (what happened, the setup checks, the
last lines of both logs) and a button that copies it."""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import tr
from desktop.theme import mono_font

log = logging.getLogger("needle.desktop")

DESKTOP_LOG = "desktop.log"
ENGINE_LOG = "engine.log"
DESKTOP_CRASH_LOG = "desktop-crash.log"
LOG_BYTES = 2_000_000
LOG_BACKUPS = 3
TAIL_LINES = 60

_crash_file: IO[str] | None = None


def setup_logging(logs: Path | None, *, level: int = logging.INFO) -> Path | None:
    """Log to stderr and, when `logs` is writable, to a rotating desktop.log there. Returns the
    log file, or None when only stderr could be used."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_file: Path | None = None
    if logs is not None:
        try:
            logs.mkdir(parents=True, exist_ok=True)
            log_file = logs / DESKTOP_LOG
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_file, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
                )
            )
        except OSError as exc:
            print(f"needle-desktop: cannot write the log file: {exc}", file=sys.stderr)
            log_file = None
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
        handlers=handlers,
        force=True,
    )
    return log_file


def enable_crash_log(logs: Path | None) -> Path | None:
    """On a hard crash, every thread's stack goes to desktop-crash.log (kept open for the life of
    the process: when the crash comes there is no opening a file any more)."""
    global _crash_file
    if logs is None:
        faulthandler.enable()
        return None
    try:
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / DESKTOP_CRASH_LOG
        _crash_file = path.open("a", encoding="utf-8")
        _crash_file.write(f"--- needle-desktop started (pid {os.getpid()}) ---\n")
        _crash_file.flush()
        faulthandler.enable(file=_crash_file, all_threads=True)
        return path
    except OSError:
        faulthandler.enable()
        return None


def tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    """The last `lines` lines of a text file ([] when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 256 * lines))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return data.splitlines()[-lines:]


def environment_summary(version: str) -> str:
    return (
        f"Needle {version} · Python {platform.python_version()} · Qt for Python {pyside_version}"
        f" · {platform.system()} {platform.release()} ({platform.machine()})"
    )


def diagnostics_text(
    problem: str,
    *,
    version: str,
    logs: Path | None,
    checks: str = "",
) -> str:
    """Everything a bug report needs, as plain text."""
    parts = [environment_summary(version), "", problem.rstrip()]
    if checks:
        parts += ["", "Setup checks:", checks.rstrip()]
    if logs is not None:
        for name in (DESKTOP_LOG, ENGINE_LOG):
            lines = tail(logs / name)
            if lines:
                parts += ["", f"Last lines of {logs / name}:", *lines]
    return "\n".join(parts) + "\n"


def open_folder(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))


class DiagnosticsDialog(QDialog):
    """Non-modal: the app keeps working behind it. `add_checks` fills in the setup checks when
    the engine's doctor answers."""

    def __init__(
        self,
        problem: str,
        *,
        version: str,
        logs: Path | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Needle ran into a problem"))
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.resize(720, 480)
        self._problem = problem
        self._version = version
        self._logs = logs
        self._checks = ""
        intro = QLabel(
            tr(
                "Something went wrong inside Needle. Your notes and the index are safe; you can "
                "keep working. If it happens again, copy the diagnostics below into a bug report."
            )
        )
        intro.setWordWrap(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(mono_font())
        self.details.setAccessibleName(tr("Diagnostics"))
        self.copy_button = QPushButton(tr("Copy diagnostics"))
        self.copy_button.clicked.connect(self.copy)
        self.logs_button = QPushButton(tr("Open logs folder"))
        self.logs_button.setEnabled(logs is not None)
        self.logs_button.clicked.connect(lambda: logs is not None and open_folder(logs))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.logs_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self._refresh()

    @property
    def text(self) -> str:
        return diagnostics_text(
            self._problem, version=self._version, logs=self._logs, checks=self._checks
        )

    def add_problem(self, problem: str) -> None:
        self._problem = f"{self._problem.rstrip()}\n\n{problem}"
        self._refresh()

    def add_checks(self, checks: str) -> None:
        self._checks = checks
        self._refresh()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setText(tr("Copied"))
        QTimer.singleShot(2000, lambda: self.copy_button.setText(tr("Copy diagnostics")))

    def _refresh(self) -> None:
        self.details.setPlainText(self.text)


class ExceptionReporter(QObject):
    """sys.excepthook (and threading.excepthook): log the error, then show it in one dialog on
    the UI thread. Errors while the dialog is open are added to it, not stacked in new ones."""

    reported = Signal(str)

    def __init__(
        self,
        *,
        version: str,
        logs: Path | None,
        parent_window: Callable[[], QWidget | None],
        request_checks: Callable[[Callable[[str], None]], None] | None = None,
    ) -> None:
        super().__init__()
        self._version = version
        self._logs = logs
        self._parent_window = parent_window
        self._request_checks = request_checks
        self.dialog: DiagnosticsDialog | None = None
        # Queued: an error on another thread is shown by the UI thread.
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = self._thread_hook

    def excepthook(
        self,
        kind: type[BaseException],
        error: BaseException,
        trace: TracebackType | None,
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        text = "".join(traceback.format_exception(kind, error, trace))
        log.error("unexpected error:\n%s", text.rstrip())
        self.reported.emit(text)

    def _thread_hook(self, args: Any) -> None:
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, text: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add_problem(text)
            return
        dialog = DiagnosticsDialog(
            text, version=self._version, logs=self._logs, parent=self._parent_window()
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(self._forget)
        self.dialog = dialog
        dialog.show()
        if self._request_checks is not None:
            self._request_checks(lambda checks: self._add_checks(dialog, checks))

    def _add_checks(self, dialog: DiagnosticsDialog, checks: str) -> None:
        if self.dialog is dialog:  # not closed (and deleted) while the engine worked
            dialog.add_checks(checks)

    def _forget(self) -> None:
        self.dialog = None
