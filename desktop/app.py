"""`needle-desktop`: the application entry point.

    needle-desktop [--data-dir DIR] [--background] [--self-test] [--self-test-timeout SECONDS]

One window per library: a second launch asks the running app to show its window and exits
(desktop/single_instance.py). `--background` starts without a window (the login entry uses it);
the engine watches the folders and the tray icon or a later launch brings the window.

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

from PySide6.QtCore import QLibraryInfo, QObject, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from desktop import operations
from desktop.about import APP_ID, APP_NAME, ORGANIZATION, app_version
from desktop.diagnostics import ExceptionReporter, enable_crash_log, setup_logging
from desktop.engine_client import EngineClient, default_engine_command
from desktop.errors import plain_error
from desktop.i18n import install_translators
from desktop.icon import app_icon
from desktop.platform_check import check_display_libraries
from desktop.preferences import BACKGROUND_FLAG, Preferences
from desktop.single_instance import InstanceServer, activate_running, instance_address
from desktop.theme import apply_theme
from engine.models import StatusReport
from engine.paths import resolve_paths

log = logging.getLogger("needle.desktop")

HOME_ENV = "NEEDLE_HOME"  # the same override the engine honours
EXIT_OK, EXIT_TIMEOUT, EXIT_ENGINE_FAILED, EXIT_NO_DISPLAY = 0, 1, 2, 3


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="needle-desktop", description=APP_NAME)
    parser.add_argument("--data-dir", help="keep the index, settings and logs in this folder")
    parser.add_argument(
        BACKGROUND_FLAG,
        action="store_true",
        help="start without a window: keep the index current; a later launch shows the window",
    )
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


def create_application(argv: Sequence[str], preferences: Preferences | None = None) -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv))
    prefs = preferences or Preferences()
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(app_version())
    # The reverse-DNS id names the desktop entry: Wayland's app id, the taskbar's icon.
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    install_translators(app, prefs.language)
    apply_theme(app, prefs.appearance)
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


def qt_plugins_dir() -> Path:
    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    paths = resolve_paths(args.data_dir)
    setup_logging(paths.logs)
    enable_crash_log(paths.logs)
    if args.self_test:
        prefer_offscreen_without_display()
    else:
        # One window per library: hand this launch to the app that has it open.
        address = instance_address(paths.data)
        if activate_running(address, ["--show"]):
            print("Needle is already running; its window was brought to the front.")
            return EXIT_OK
    missing = check_display_libraries(qt_plugins_dir())
    if missing:
        # Qt would stop with a message about its plugin, not the library that is missing.
        log.error("%s", missing)
        print(missing, file=sys.stderr)
        return EXIT_NO_DISPLAY
    store = settings_store(args.data_dir)
    preferences = Preferences.load(store)
    app = create_application([sys.argv[0]], preferences)
    app.setQuitOnLastWindowClosed(False)  # the window decides: quit, or keep watching in the tray
    from desktop.main_window import MainWindow  # after the translators: its strings are tr()'d

    client = EngineClient(default_engine_command(args.data_dir))
    window = MainWindow(
        client,
        store,
        preferences=preferences,
        logs=paths.logs,
        data_dir=args.data_dir,
        owns_app=True,
        background=args.background,
    )
    reporter = ExceptionReporter(
        version=app_version(),
        logs=paths.logs,
        parent_window=lambda: window,
        request_checks=window.request_checks,
    )
    reporter.install()
    server: InstanceServer | None = None
    if not args.self_test:
        server = InstanceServer(instance_address(paths.data), app)
        if server.listen():
            server.activated.connect(window.bring_to_front)
        else:
            log.warning("another Needle answers for this library; this one does not listen")
    self_test = SelfTest(app, client, args.self_test_timeout) if args.self_test else None
    # Whatever ends the event loop, the engine is asked to stop, then terminated, then killed.
    app.aboutToQuit.connect(lambda: client.shutdown_blocking(5.0))
    if server is not None:
        app.aboutToQuit.connect(server.close)
    if args.background:
        log.info("started in the background: watching the folders without a window")
    else:
        window.show()
    client.start()
    code = app.exec()
    window.save_layout()
    if self_test is not None and self_test.exit_code is not None:
        return self_test.exit_code
    return code


if __name__ == "__main__":
    raise SystemExit(main())
