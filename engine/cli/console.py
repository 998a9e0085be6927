"""Terminal plumbing shared by every command: where output goes, how wide text is, how errors
and Ctrl-C turn into messages and exit codes."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from engine.cancel import CancelToken
from engine.errors import Cancelled, NeedleError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130  # the shell convention for "stopped by SIGINT"


@dataclass
class Console:
    """Where output goes and what it may contain (colour, carriage returns, non-ASCII)."""

    out: TextIO
    err: TextIO
    out_is_tty: bool
    err_is_tty: bool
    color: bool

    @classmethod
    def from_std(cls) -> Console:
        _make_encoding_safe(sys.stdout)
        _make_encoding_safe(sys.stderr)
        out_tty = sys.stdout.isatty()
        err_tty = sys.stderr.isatty()
        color = out_tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        return cls(sys.stdout, sys.stderr, out_tty, err_tty, color)

    @property
    def out_is_unicode(self) -> bool:
        encoding = (getattr(self.out, "encoding", None) or "").lower().replace("-", "")
        return encoding.startswith("utf")

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color else text

    def json_line(self, data: Any) -> None:
        """One JSON document per line; non-ASCII stays readable unless the stream can't hold it."""
        self.out.write(json.dumps(data, ensure_ascii=not self.out_is_unicode) + "\n")
        self.out.flush()


def _make_encoding_safe(stream: TextIO) -> None:
    """A terminal in a Latin-1 locale must not crash on Chinese text: escape what it can't show."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def display_width(text: str) -> int:
    """Columns a terminal uses for `text`: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def terminal_columns() -> int:
    """The terminal's width: $COLUMNS, else the width of the terminal on stdout, else 80 (what
    shutil.get_terminal_size does; shutil with its compression modules is slow to import)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def fit_width(text: str, width: int) -> str:
    """Cut `text` to `width` columns, keeping its end (the file name) and marking the cut."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    kept: list[str] = []
    used = 1
    for ch in reversed(text):
        w = display_width(ch)
        if used + w > width:
            break
        kept.append(ch)
        used += w
    return "…" + "".join(reversed(kept))


def one_line(text: str) -> str:
    return " ".join(text.split())


def short_path(path: str) -> str:
    """Show paths under the home folder as ~/…, which is how people think of them."""
    home = str(Path.home())
    if path == home or path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def print_error(console: Console, error: NeedleError) -> None:
    console.err.write(f"needle: {error.message}\n")
    if error.hint:
        console.err.write(f"  hint: {error.hint}\n")
    console.err.flush()


def exit_code_for(error: NeedleError) -> int:
    if isinstance(error, Cancelled):
        return EXIT_CANCELLED
    return EXIT_USER_ERROR if error.is_user_error else EXIT_FAILURE


# ----------------------------------------------------------------------------------------------
# Ctrl-C


@contextmanager
def cancel_on_interrupt(console: Console, what: str) -> Iterator[CancelToken]:
    """The first Ctrl-C asks the running work to stop cleanly; a second one stops at once.

    Work runs on the main thread, so the handler only sets the token: the indexer and the agent
    check it between files and model calls and unwind through their own cleanup.
    """
    token = CancelToken()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        console.err.write(f"\nneedle: stopping {what}… (press Ctrl-C again to quit at once)\n")
        console.err.flush()
        token.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def answer_now_on_interrupt(
    console: Console, found_so_far: Callable[[], bool]
) -> Iterator[tuple[CancelToken, CancelToken]]:
    """(cancel, stop_reading) for `needle ask`. The first Ctrl-C, once the reading has found a
    passage that states the answer (`found_so_far`), stops the reading and answers from what was
    found; otherwise, and on the next Ctrl-C, the question is cancelled; one more quits at once."""
    cancel, stop_reading = CancelToken(), CancelToken()
    if threading.current_thread() is not threading.main_thread():
        yield cancel, stop_reading
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        if not stop_reading.cancelled and found_so_far():
            console.err.write(
                "\nneedle: answering from what was found so far… "
                "(press Ctrl-C again to stop the answer)\n"
            )
            stop_reading.cancel()
        else:
            console.err.write(
                "\nneedle: stopping the answer… (press Ctrl-C again to quit at once)\n"
            )
            cancel.cancel()
        console.err.flush()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel, stop_reading
    finally:
        signal.signal(signal.SIGINT, previous)
