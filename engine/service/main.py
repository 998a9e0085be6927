"""`needle serve`: the engine as a child process speaking the JSON-lines protocol on stdio.

This module is the process around `Service`: it keeps stdout for the protocol, sets up logging,
opens the engine and turns SIGTERM into a clean shutdown."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO

from engine import __version__
from engine.errors import NeedleError
from engine.paths import PRIVATE_FOLDER, make_private
from engine.service.handlers import ServedEngine
from engine.service.output import BinaryOutput
from engine.service.protocol import internal_error
from engine.service.server import EXIT_OK, Service

log = logging.getLogger("needle.service")


def protect_stdout() -> BinaryIO:
    """Return a private stream onto the real stdout, and point fd 1 and sys.stdout at stderr,
    so a stray print() in any library (or a child process) can never corrupt the protocol."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


def setup_logging(log_dir: str | None, file_name: str = "engine.log") -> None:
    """Log to stderr and to `file_name` in `log_dir` (rotated), never to stdout."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir:
        try:
            os.makedirs(log_dir, mode=PRIVATE_FOLDER, exist_ok=True)
            log_file = os.path.join(log_dir, file_name)
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
                )
            )
            make_private(log_file)
        except OSError as exc:
            print(f"needle: cannot write the log file: {exc}", file=sys.stderr)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
        handlers=handlers,
        force=True,
    )


_crash_file: Any = None  # kept open: when a hard crash comes there is no opening a file


def enable_crash_log(log_dir: str, command: str = "serve") -> None:
    """A hard crash (a segfault in a native library, an abort) writes every thread's stack to
    engine-crash.log beside engine.log, not only to a stderr nobody keeps."""
    global _crash_file
    try:
        _crash_file = open(os.path.join(log_dir, "engine-crash.log"), "a", encoding="utf-8")  # noqa: SIM115
        _crash_file.write(f"--- needle {command} {__version__} started (pid {os.getpid()}) ---\n")
        _crash_file.flush()
        faulthandler.enable(file=_crash_file, all_threads=True)
    except OSError as exc:
        log.warning("cannot write the crash log in %s: %s", log_dir, exc)
        faulthandler.enable()


def run_stdio(
    open_engine: Callable[[], ServedEngine],
    *,
    data_dir: str,
    output: BinaryOutput | None = None,
    **service_options: Any,
) -> int:
    """Serve the protocol on this process's stdin/stdout. `open_engine` errors (another engine
    holds the writer lock, say) are reported in reply to the handshake, then the process ends.
    `output` is the protocol stream when the caller already protected stdout."""
    if output is None:
        output = protect_stdout()
    engine: ServedEngine | None = None
    startup_error: NeedleError | None = None
    try:
        engine = open_engine()
    except NeedleError as exc:
        log.error("the engine could not open: %s", exc)
        startup_error = exc
    except Exception as exc:
        log.exception("the engine could not open")
        startup_error = internal_error("open its data", exc).to_error()
    service = Service(
        engine, output, data_dir=data_dir, startup_error=startup_error, **service_options
    )
    stop_on_terminate()
    try:
        return service.serve(sys.stdin.buffer)
    except (KeyboardInterrupt, SystemExit):
        # serve() closed the engine on the way out; being told to stop is not a failure.
        log.info("stopped by a signal; the engine was closed")
        return EXIT_OK


def stop_on_terminate() -> None:
    """SIGTERM (the client's "terminate", a logout) ends the reading loop like SIGINT does, so
    the engine still stops watching, cancels work and closes its index before it exits. SIGINT
    is installed explicitly: Python leaves it ignored when the parent ignored it (a background
    job, `nohup`, some CI runners), and then Ctrl-C would not stop the engine."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(EXIT_OK)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: Sequence[str] | None = None) -> int:
    """`needle serve [--data-dir D]` / `python -m engine serve`."""
    parser = argparse.ArgumentParser(prog="needle serve", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="keep the index, settings and cache here")
    args = parser.parse_args(argv)
    output = protect_stdout()  # before the heavy imports, in case one of them prints

    from engine.api import Engine
    from engine.library.lock import APP_HOLDER
    from engine.paths import resolve_paths

    paths = resolve_paths(args.data_dir)
    setup_logging(str(paths.logs))
    enable_crash_log(str(paths.logs))
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 PID` prints every thread's stack: why is it stuck?
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    log.info("needle serve %s starting, data in %s", __version__, paths.data)

    def open_engine() -> ServedEngine:
        return Engine.open(args.data_dir, writer=True, holder=APP_HOLDER)

    code = run_stdio(open_engine, data_dir=str(paths.data), output=output)
    log.info("needle serve exits with %d", code)
    logging.shutdown()
    sys.stderr.flush()
    # Non-daemon threads of libraries (observers, pools) must not keep a finished engine alive.
    os._exit(code)
