"""Progress lines for the long commands (`needle index`, `needle pull`): a redrawn line on a
terminal, a line every few seconds in a log."""

from __future__ import annotations

from typing import TextIO

from engine.cli.console import (
    Console,
    display_width,
    fit_width,
    format_bytes,
    short_path,
    terminal_columns,
)
from engine.models import IndexProgress
from engine.throttle import Throttle

PROGRESS_INTERVAL_TTY = 0.1  # at most 10 redraws per second
PROGRESS_INTERVAL_PLAIN = 2.0  # a line every two seconds when output is a log file or a pipe


class ProgressPrinter:
    """Shows IndexProgress: a redrawn bar on a terminal, throttled plain lines otherwise.

    Progress is latest-value-wins: updates that arrive faster than the display interval are
    dropped, except phase changes, which are always shown.
    """

    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self.stream = stream
        self.tty = tty
        interval = PROGRESS_INTERVAL_TTY if tty else PROGRESS_INTERVAL_PLAIN
        self._throttle = Throttle(self._draw, interval, deliver_late=False)
        self._last_phase = ""
        self._bar_visible = False

    def __call__(self, progress: IndexProgress) -> None:
        phase_changed = progress.phase != self._last_phase
        self._last_phase = progress.phase
        self._throttle.push(progress, force=phase_changed)

    def _draw(self, progress: IndexProgress) -> None:
        if self.tty:
            self._draw_bar(progress)
        else:
            self._write_line(progress)

    def finish(self) -> None:
        if self._bar_visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._bar_visible = False

    def _draw_bar(self, progress: IndexProgress) -> None:
        columns = terminal_columns()
        counts = f"{progress.done}/{progress.total}" if progress.total else f"{progress.done}"
        if progress.total:
            counts += f" {100 * progress.done // progress.total}%"
        errors = f" {progress.errors} errors" if progress.errors else ""
        bar_width = 24
        filled = int(bar_width * progress.done / progress.total) if progress.total else 0
        bar = "#" * filled + "-" * (bar_width - filled)
        head = f"{progress.phase:<10} [{bar}] {counts}{errors} "
        room = max(0, columns - display_width(head) - 1)
        where = short_path(progress.current) if progress.current else ""
        if progress.activity:
            where = f"{where} · {progress.activity}" if where else progress.activity
        current = fit_width(where, room)
        self.stream.write("\r\x1b[K" + head + current)
        self.stream.flush()
        self._bar_visible = True

    def _write_line(self, progress: IndexProgress) -> None:
        counts = f"{progress.done}/{progress.total}" if progress.total else f"{progress.done}"
        errors = f", {progress.errors} errors" if progress.errors else ""
        activity = ""
        if progress.activity and progress.current:
            activity = f" — {short_path(progress.current)}: {progress.activity}"
        self.stream.write(f"{progress.phase}: {counts} files{errors}{activity}\n")
        self.stream.flush()


class PullPrinter:
    """Shows a model download: status and bytes, redrawn on a terminal, a line now and then in
    a log; a new status is always shown."""

    def __init__(self, console: Console) -> None:
        self.console = console
        tty = console.err_is_tty
        interval = PROGRESS_INTERVAL_TTY if tty else PROGRESS_INTERVAL_PLAIN
        self._throttle: Throttle[tuple[str, int, int]] = Throttle(
            self._draw, interval, deliver_late=False
        )
        self.last_status = ""

    def __call__(self, status: str, completed: int, total: int) -> None:
        changed = status != self.last_status
        self.last_status = status
        self._throttle.push((status, completed, total), force=changed)

    def _draw(self, state: tuple[str, int, int]) -> None:
        status, completed, total = state
        amount = f" {format_bytes(completed)} / {format_bytes(total)}" if total else ""
        if self.console.err_is_tty:
            self.console.err.write(f"\r\x1b[K{status}{amount}")
        else:
            self.console.err.write(f"{status}{amount}\n")
        self.console.err.flush()

    def finish(self) -> None:
        if self.console.err_is_tty and self.last_status:
            self.console.err.write("\r\x1b[K")
            self.console.err.flush()
