"""`needle-desktop`: the application entry point.

    needle-desktop [--data-dir DIR] [--self-test] [--self-test-timeout SECONDS]

`--self-test` starts the whole app (offscreen when there is no display), waits for the engine's
handshake, asks it for its status, shuts it down cleanly and exits 0; any failure exits non-zero
with the reason on stderr. Packaging runs it against the bundle."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from desktop import operations
from desktop.about import APP_NAME, ORGANIZATION, app_version
from desktop.engine_client import EngineClient, default_engine_command
from desktop.errors import plain_error
from desktop.icon import app_icon
from desktop.main_window import MainWindow
from desktop.theme import apply_theme
from engine.models import StatusReport

log = logging.getLogger("needle.desktop")

HOME_ENV = "NEEDLE_HOME"  # the same override the engine honours
EXIT_OK, EXIT_TIMEOUT, EXIT_ENGINE_FAILED = 0, 1, 2


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="needle-desktop", description=APP_NAME)
    parser.add_argument("--data-dir", help="keep the index, settings and logs in this folder")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start, reach the engine, shut down cleanly and exit (0 when all went well)",
    )
    parser.add_argument("--self-test-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {app_version()}")
    return parser.parse_args(list(argv))


def settings_store(data_dir: str | None) -> QSettings:
    """Window layout lives beside the engine's settings when a data folder is chosen (tests,
    portable installs), otherwise where the platform keeps per-user app settings."""
    root = data_dir or os.environ.get(HOME_ENV)
    if root:
        path = Path(root).expanduser().resolve() / "config" / "desktop.ini"
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APP_NAME)


def prefer_offscreen_without_display() -> None:
    """A self-test on a headless machine (CI, packaging) must not need a display server."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def create_application(argv: Sequence[str]) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(app_version())
    app.setDesktopFileName("needle")
    app.setWindowIcon(app_icon())
    apply_theme(app)
    return app


class SelfTest(QObject):
    """Drives --self-test: handshake, one real request, clean shutdown, exit code."""

    def __init__(self, app: QApplication, client: EngineClient, timeout: float) -> None:
        super().__init__(app)
        self._app = app
        self._client = client
        self._started = time.monotonic()
        self.exit_code: int | None = None
        client.ready.connect(self._on_ready)
        client.engine_failed.connect(self._on_failed)
        client.stopped.connect(self._on_stopped)
        QTimer.singleShot(int(timeout * 1000), self._on_timeout)

    def _report(self, message: str) -> None:
        print(f"self-test: {message}", file=sys.stderr, flush=True)

    def _on_ready(self) -> None:
        info = self._client.engine_info
        self._report(
            f"engine ready in {time.monotonic() - self._started:.2f} s "
            f"(engine {info.get('engine_version', '?')}, pid {self._client.engine_pid})"
        )
        operations.get_status(self._client, self._on_status, self._on_error)

    def _on_status(self, _status: StatusReport) -> None:
        self._report("status answered; shutting down")
        self.exit_code = EXIT_OK
        self._client.shutdown()

    def _on_error(self, error: Any) -> None:
        self._report(f"status failed: {plain_error(error).as_text()}")
        self.exit_code = EXIT_ENGINE_FAILED
        self._client.shutdown()

    def _on_failed(self, reason: str) -> None:
        self._report(f"the engine failed: {reason}")
        self.exit_code = EXIT_ENGINE_FAILED
        self._app.exit(EXIT_ENGINE_FAILED)

    def _on_stopped(self) -> None:
        if self.exit_code is not None:
            self._report(f"engine stopped; exit {self.exit_code}")
            self._app.exit(self.exit_code)

    def _on_timeout(self) -> None:
        if self.exit_code is None:
            self._report("timed out waiting for the engine")
            self.exit_code = EXIT_TIMEOUT
            self._client.shutdown_blocking(2.0)
            self._app.exit(EXIT_TIMEOUT)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.self_test:
        prefer_offscreen_without_display()
    app = create_application([sys.argv[0]])
    client = EngineClient(default_engine_command(args.data_dir))
    window = MainWindow(client, settings_store(args.data_dir))
    self_test = SelfTest(app, client, args.self_test_timeout) if args.self_test else None
    # Whatever ends the event loop, the engine is asked to stop, then terminated, then killed.
    app.aboutToQuit.connect(lambda: client.shutdown_blocking(5.0))
    window.show()
    client.start()
    code = app.exec()
    window.save_layout()
    if self_test is not None and self_test.exit_code is not None:
        return self_test.exit_code
    return code


if __name__ == "__main__":
    raise SystemExit(main())
