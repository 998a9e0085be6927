"""The `needle` command line: a thin shell over `engine.api.Engine`.

Every command prints human-readable text by default and, where it says so, one stable JSON
document (or one JSON event per line for `ask`) with `--json`; docs/cli.md documents both.
Errors never show a traceback: a NeedleError prints `needle: <message>` and `  hint: <hint>` to
stderr and exits 2 when the user's input was wrong, 1 when the work itself failed, 130 when the
user pressed Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from engine import __version__
from engine.agent.events import (
    Answer,
    AnswerDelta,
    ChunkVerdict,
    Citation,
    ErrorEvent,
    Event,
    Hits,
    Keywords,
    LevelStarted,
    LlmCall,
    QueryParsed,
    ScopeChosen,
    SubAnswer,
    SubQuestion,
)
from engine.api import USER_ERROR_KINDS, Check, Engine, FolderInfo, StatusReport, diagnose
from engine.cancel import CancelToken
from engine.config import LEVELS, PARSE_MODES
from engine.errors import Cancelled, NeedleError
from engine.models import FileRecord, IndexProgress, IndexSummary, SearchFilters, SearchHit

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130  # the shell convention for "stopped by SIGINT"

PROGRESS_INTERVAL_TTY = 0.1  # at most 10 redraws per second
PROGRESS_INTERVAL_PLAIN = 2.0  # a line every two seconds when output is a log file or a pipe
SNIPPET_WIDTH = 100


# ----------------------------------------------------------------------------------------------
# Output plumbing


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
    return EXIT_USER_ERROR if error.kind in USER_ERROR_KINDS else EXIT_FAILURE


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


# ----------------------------------------------------------------------------------------------
# Progress display


class ProgressPrinter:
    """Shows IndexProgress: a redrawn bar on a terminal, throttled plain lines otherwise.

    Progress is latest-value-wins: updates that arrive faster than the display interval are
    dropped, except phase changes, which are always shown.
    """

    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self.stream = stream
        self.tty = tty
        self.interval = PROGRESS_INTERVAL_TTY if tty else PROGRESS_INTERVAL_PLAIN
        self._last_draw = 0.0
        self._last_phase = ""
        self._bar_visible = False

    def __call__(self, progress: IndexProgress) -> None:
        now = time.monotonic()
        phase_changed = progress.phase != self._last_phase
        if not phase_changed and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        self._last_phase = progress.phase
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
        columns = shutil.get_terminal_size((80, 24)).columns
        counts = f"{progress.done}/{progress.total}" if progress.total else f"{progress.done}"
        if progress.total:
            counts += f" {100 * progress.done // progress.total}%"
        errors = f" {progress.errors} errors" if progress.errors else ""
        bar_width = 24
        filled = int(bar_width * progress.done / progress.total) if progress.total else 0
        bar = "#" * filled + "-" * (bar_width - filled)
        head = f"{progress.phase:<10} [{bar}] {counts}{errors} "
        room = max(0, columns - display_width(head) - 1)
        current = fit_width(short_path(progress.current), room) if progress.current else ""
        self.stream.write("\r\x1b[K" + head + current)
        self.stream.flush()
        self._bar_visible = True

    def _write_line(self, progress: IndexProgress) -> None:
        counts = f"{progress.done}/{progress.total}" if progress.total else f"{progress.done}"
        errors = f", {progress.errors} errors" if progress.errors else ""
        self.stream.write(f"{progress.phase}: {counts} files{errors}\n")
        self.stream.flush()


# ----------------------------------------------------------------------------------------------
# Rendering results


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def problem_reason(record: FileRecord) -> str:
    """Why a file is not searchable, without repeating its full path (it is printed beside)."""
    reason = record.error or record.error_kind
    return reason.replace(record.path, Path(record.path).name)


def render_summary(console: Console, summary: IndexSummary, known_problems: int) -> None:
    """What one index run did, the files it could not index and why, and the older problems."""
    changes = [
        (summary.added, "added"),
        (summary.updated, "updated"),
        (summary.renamed, "renamed"),
        (summary.removed, "removed"),
        (summary.errors, "with errors"),
    ]
    done = ", ".join(f"{count} {label}" for count, label in changes if count)
    unchanged = f"{plural(summary.unchanged, 'file')} unchanged"
    console.print(
        f"Indexed in {summary.seconds:.1f} s: "
        + (f"{done}; {unchanged}" if done else f"up to date, {unchanged}")
        + f"; {plural(summary.chunks_written, 'chunk')} written."
    )
    if summary.problems:
        console.print("Files that could not be indexed:")
        for record in summary.problems:
            console.print(f"  {short_path(record.path)}: {problem_reason(record)}")
    older = known_problems - len(summary.problems)
    if older > 0:
        console.print(
            f"{plural(older, 'other file')} could not be indexed earlier; "
            "`needle status` lists them and why."
        )


def render_change(console: Console, summary: IndexSummary) -> None:
    """One line per watcher batch, prefixed with the time, as a log a person can scan."""
    stamp = time.strftime("%H:%M:%S")
    parts = [
        f"{count} {label}"
        for count, label in (
            (summary.added, "added"),
            (summary.updated, "updated"),
            (summary.renamed, "renamed"),
            (summary.removed, "removed"),
            (summary.errors, "with errors"),
        )
        if count
    ]
    console.print(f"[{stamp}] " + (", ".join(parts) if parts else "no change"))
    for record in summary.problems:
        console.print(f"  {short_path(record.path)}: {problem_reason(record)}")
    console.out.flush()


def render_folder(console: Console, info: FolderInfo) -> None:
    never_indexed = info.last_indexed is None and not info.pending
    state = {
        "indexing": "not indexed yet (run `needle index`)"
        if never_indexed
        else f"indexing, {info.pending} pending",
        "up_to_date": "up to date",
        "errors": f"{plural(info.errors + info.skipped, 'file')} not searchable",
        "missing": "MISSING — the folder no longer exists",
    }.get(info.state, info.state)
    console.print(console.bold(short_path(info.path)))
    console.print(
        f"  {plural(info.files, 'file')}, {info.indexed} indexed, "
        f"{plural(info.chunks, 'chunk')} — {state}"
        + (f" — watching by {info.watch_mode}" if info.watch_mode != "off" else "")
    )
    if info.watch_note:
        console.print(f"  note: {info.watch_note}")


def highlight_snippet(console: Console, hit: SearchHit) -> str:
    """The snippet on one line with matched terms in bold (on a colour terminal)."""
    if not console.color or not hit.snippet_highlights:
        return one_line(hit.snippet)
    pieces: list[str] = []
    cursor = 0
    for span in sorted(hit.snippet_highlights, key=lambda h: h.start):
        if span.start < cursor:
            continue
        pieces.append(hit.snippet[cursor : span.start])
        pieces.append(console.bold(hit.snippet[span.start : span.end]))
        cursor = span.end
    pieces.append(hit.snippet[cursor:])
    return one_line("".join(pieces))


def location_of(page: int | None, heading: str) -> str:
    parts = []
    if page is not None:
        parts.append(f"page {page}")
    if heading:
        parts.append(heading)
    return " · ".join(parts)


def render_hits(console: Console, hits: list[SearchHit], seconds: float) -> None:
    if not hits:
        console.print("No matches.")
        return
    for number, hit in enumerate(hits, 1):
        where = location_of(hit.page, " > ".join(hit.heading))
        title = hit.title or Path(hit.path).name
        console.print(f"{number}. {console.bold(title)}  {console.dim(f'({hit.score:.2f})')}")
        console.print(f"   {short_path(hit.path)}" + (f" — {where}" if where else ""))
        console.print(f"   {highlight_snippet(console, hit)}")
    console.print(console.dim(f"{len(hits)} results in {seconds * 1000:.0f} ms"))


def render_status(console: Console, report: StatusReport) -> None:
    counts = ", ".join(f"{n} {state}" for state, n in report.counts.items())
    console.print(f"Library: {short_path(report.data_dir)}")
    console.print(f"Files: {report.total_files} ({counts})")
    console.print(f"Chunks: {report.chunks}, index size {format_bytes(report.index_bytes)}")
    if report.writer_busy:
        console.print("Another Needle process is indexing this library right now.")
    console.print()
    if not report.folders:
        console.print("No folders yet: add one with `needle folders add PATH`.")
    for info in report.folders:
        render_folder(console, info)
    if report.problems:
        console.print()
        console.print(console.bold(f"Files that are not searchable ({len(report.problems)}):"))
        for record in report.problems:
            console.print(f"  {short_path(record.path)}")
            console.print(f"    {record.error_kind}: {problem_reason(record)}")


def render_checks(console: Console, checks: list[Check]) -> None:
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for check in checks:
        console.print(f"[{marks.get(check.status, check.status)}] {check.name}: {check.message}")
        if check.hint and check.status != "ok":
            console.print(f"       fix: {check.hint}")


# ----------------------------------------------------------------------------------------------
# ask: streaming answer, sources, step log


@dataclass
class AskPrinter:
    """Human output of `needle ask`: streams answer text, keeps a step log for the end.

    On a terminal a transient status line on stderr shows what the agent is doing while no
    answer text has arrived yet (Level 2 may read for a while before it writes anything).
    """

    console: Console
    steps: list[str] = field(default_factory=list)
    streamed: bool = False
    at_line_start: bool = True
    status_visible: bool = False
    verdicts_relevant: int = 0
    verdicts_total: int = 0
    verdicts_cached: int = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, AnswerDelta):
            self._stream(event.text)
            return
        if isinstance(event, LevelStarted) and self.streamed:
            # Auto mode escalated after an answer was already streamed: mark the boundary.
            self._stream_break(f"[level {event.level}: {event.reason or 'escalating'}]")
        step = describe_event(event)
        if isinstance(event, ChunkVerdict):
            self.verdicts_total = event.total
            self.verdicts_relevant += int(event.relevant)
            self.verdicts_cached += int(event.cached)
            self._status(f"reading {event.done}/{event.total} chunks…")
            return
        if step:
            # A new step closes the reading tally; model-call events in between do not.
            self._flush_verdicts()
            self.steps.append(step)
            self._status(step)

    def finish(self, answer: Answer) -> None:
        self.clear_status()
        self._flush_verdicts()
        out = self.console
        if not self.streamed:
            out.print(answer.text)
        elif not self.at_line_start:
            out.print()
        if answer.citations:
            out.print()
            out.print(out.bold("Sources"))
            for citation in answer.citations:
                render_citation(out, citation)
        out.print()
        out.print(out.bold("Steps"))
        for step in self.steps:
            out.print(f"  - {step}")
        out.print(
            f"  - level {answer.level}: {answer.llm_calls} model calls, "
            f"{answer.prompt_tokens} prompt + {answer.completion_tokens} completion tokens, "
            f"{answer.seconds:.1f} s"
        )
        out.out.flush()

    def _flush_verdicts(self) -> None:
        if not self.verdicts_total:
            return
        cached = f", {self.verdicts_cached} from cache" if self.verdicts_cached else ""
        self.steps.append(
            f"read {self.verdicts_total} chunks: {self.verdicts_relevant} relevant{cached}"
        )
        self.verdicts_total = self.verdicts_relevant = self.verdicts_cached = 0

    def _stream(self, text: str) -> None:
        if not text:
            return
        self.clear_status()
        self.console.out.write(text)
        self.console.out.flush()
        self.streamed = True
        self.at_line_start = text.endswith("\n")

    def _stream_break(self, note: str) -> None:
        prefix = "" if self.at_line_start else "\n"
        self.console.out.write(f"{prefix}\n{self.console.dim(note)}\n\n")
        self.at_line_start = True

    def _status(self, text: str) -> None:
        if not self.console.err_is_tty or self.streamed:
            return
        columns = shutil.get_terminal_size((80, 24)).columns
        self.console.err.write("\r\x1b[K" + fit_width(one_line(text), columns - 1))
        self.console.err.flush()
        self.status_visible = True

    def clear_status(self) -> None:
        if self.status_visible:
            self.console.err.write("\r\x1b[K")
            self.console.err.flush()
            self.status_visible = False


def describe_event(event: Event) -> str:
    """One short line for the step log; empty for events that are not steps."""
    if isinstance(event, LevelStarted):
        return f"level {event.level}" + (f": {event.reason}" if event.reason else "")
    if isinstance(event, QueryParsed):
        note = f" ({event.note})" if event.note else ""
        return f"question parsed [{event.method}]{note}: {one_line(event.information)}"
    if isinstance(event, Keywords):
        words = [*event.english, *event.chinese]
        return "keywords: " + (", ".join(words) if words else "(none)")
    if isinstance(event, Hits):
        ms = event.seconds * 1000
        return f"{event.purpose}: {len(event.hits)} of {event.total} chunks in {ms:.0f} ms"
    if isinstance(event, ScopeChosen):
        pre = " after a BM25 prefilter" if event.prefiltered else ""
        read = f"reading {event.read_chunks} of {event.total_chunks} chunks{pre}"
        return f"scope: {event.description}; {read}"
    if isinstance(event, SubQuestion):
        return f"step {event.step}: {one_line(event.question)}"
    if isinstance(event, SubAnswer):
        return f"step {event.step} answer: {one_line(event.answer)[:160]}"
    if isinstance(event, LlmCall):
        return ""  # totals are in the final line; per-call detail is in --json
    if isinstance(event, ErrorEvent):
        return f"error: {event.message}"
    return ""


def render_citation(console: Console, citation: Citation) -> None:
    where = location_of(citation.page, citation.heading)
    name = Path(citation.path).name
    console.print(f"[{citation.number}] {name}" + (f" — {where}" if where else ""))
    console.print(f"    {short_path(citation.path)}")
    quote = cited_excerpt(citation)
    if quote:
        console.print(f"    “{quote}”")


def cited_excerpt(citation: Citation, width: int = SNIPPET_WIDTH) -> str:
    """The highlighted span when there is one (what supports the answer), else the chunk's start."""
    if citation.highlights:
        start, end = citation.highlights[0]
        text = one_line(citation.text[start:end])
    else:
        text = one_line(citation.text)
    return text if len(text) <= width else text[: width - 1] + "…"


# ----------------------------------------------------------------------------------------------
# Commands


def cmd_folders_add(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    for raw in args.paths:
        info = engine.add_folder(raw)
        console.print(f"Added {short_path(info.path)}. Run `needle index` to index it.")
    return EXIT_OK


def cmd_folders_remove(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    for raw in args.paths:
        removed = engine.remove_folder(raw)
        console.print(
            f"Removed {short_path(removed.path)}: {removed.files} files dropped from the index."
        )
    return EXIT_OK


def cmd_folders_list(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    folders = engine.folders()
    if args.json:
        console.json_line({"folders": [f.to_dict() for f in folders]})
        return EXIT_OK
    if not folders:
        console.print("No folders yet: add one with `needle folders add PATH`.")
    for info in folders:
        render_folder(console, info)
    return EXIT_OK


def cmd_index(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    if not engine.settings.folders:
        raise NeedleError(
            "no_folders",
            "There are no folders to index.",
            "Add one with `needle folders add PATH`.",
        )
    progress_stream = console.err
    printer = ProgressPrinter(progress_stream, tty=console.err_is_tty)
    show_progress = not args.quiet and not args.json
    with cancel_on_interrupt(console, "indexing") as cancel:
        try:
            summary = engine.index(progress=printer if show_progress else None, cancel=cancel)
        except Cancelled:
            raise Cancelled(
                "Indexing stopped. Files finished so far are kept; run `needle index` to continue."
            ) from None
        finally:
            printer.finish()
        if args.json:
            console.json_line({"type": "index", **summary.to_dict()})
        else:
            render_summary(console, summary, len(engine.problems()))
        if not args.watch:
            return EXIT_OK
        return watch_until_interrupted(engine, args, console, cancel)


def watch_until_interrupted(
    engine: Engine, args: argparse.Namespace, console: Console, cancel: CancelToken
) -> int:
    def on_change(summary: IndexSummary) -> None:
        if args.json:
            console.json_line({"type": "change", **summary.to_dict()})
        else:
            render_change(console, summary)

    engine.start_watching(on_change)
    if not args.json:
        modes = ", ".join(f"{short_path(f.path)} ({f.watch_mode})" for f in engine.folders())
        console.print(f"Watching {modes or 'no folders'}. Press Ctrl-C to stop.")
        console.out.flush()
    try:
        while not cancel.wait(0.5):
            pass
    finally:
        engine.stop_watching()
    return EXIT_OK


def search_filters(engine: Engine, args: argparse.Namespace) -> SearchFilters | None:
    """--ext and --in as filters; several --in widen the search (a hit may be in any of them)."""
    extensions = tuple(e.lower().lstrip(".") for e in args.ext or ())
    scopes = [engine.resolve_scope(raw) for raw in args.within or ()]
    folders = tuple(f for scope in scopes for f in scope.folders)
    paths = tuple(p for scope in scopes for p in scope.paths)
    if not extensions and not scopes:
        return None
    return SearchFilters(folders=folders, paths=paths, extensions=extensions)


def cmd_search(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    query = " ".join(args.query)
    filters = search_filters(engine, args)
    started = time.perf_counter()
    hits = engine.search(query, limit=args.k, filters=filters)
    seconds = time.perf_counter() - started
    if args.json:
        console.json_line(
            {
                "query": query,
                "count": len(hits),
                "seconds": round(seconds, 4),
                "hits": [hit.to_dict() for hit in hits],
            }
        )
    else:
        render_hits(console, hits, seconds)
        if not hits and not engine.status().chunks:
            console.print(
                "Nothing is indexed yet: add a folder with `needle folders add PATH`, "
                "then run `needle index`."
            )
    return EXIT_OK


def cmd_status(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    report = engine.status()
    if args.json:
        console.json_line(report.to_dict())
    else:
        render_status(console, report)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    """Runs without an open engine: the doctor must work on a library that cannot open."""
    checks = diagnose(args.data_dir)
    healthy = all(check.status != "fail" for check in checks)
    if args.json:
        console.json_line({"ok": healthy, "checks": [c.to_dict() for c in checks]})
    else:
        render_checks(console, checks)
        console.print(
            "All checks passed." if healthy else "Some checks failed; see the fixes above."
        )
    return EXIT_OK if healthy else EXIT_FAILURE


def one_at_a_time(sink: Callable[[Event], None]) -> Callable[[Event], None]:
    """Level 2 reads chunks on several threads; their events must not interleave mid-line."""
    lock = threading.Lock()

    def locked(event: Event) -> None:
        with lock:
            sink(event)

    return locked


def cmd_ask(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise NeedleError("invalid_argument", "The question is empty.", 'Ask e.g. needle ask "…"')
    scope = engine.resolve_scope(args.scope) if args.scope else None
    printer = AskPrinter(console)
    on_event = one_at_a_time((lambda e: console.json_line(e.to_dict())) if args.json else printer)
    with cancel_on_interrupt(console, "the answer") as cancel:
        try:
            answer = engine.ask(
                question,
                level=args.level or engine.settings.default_level,
                scope=scope,
                on_event=on_event,
                cancel=cancel,
                model=args.model,
                host=args.host,
                parse_mode=args.parse_mode,
                compress_context=args.compress,
            )
        except NeedleError as error:
            if args.json:
                console.json_line(ErrorEvent(error.kind, error.message, error.hint).to_dict())
            printer.clear_status()
            raise
    if args.json:
        console.json_line(answer.to_dict())
    else:
        printer.finish(answer)
    return EXIT_OK


def cmd_pull(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    printer = PullPrinter(console)
    with cancel_on_interrupt(console, "the download") as cancel:
        try:
            engine.pull_model(args.model, progress=printer, cancel=cancel)
        finally:
            printer.finish()
    console.print(f"Model {args.model or engine.settings.model} is ready.")
    return EXIT_OK


@dataclass
class PullPrinter:
    console: Console
    last_draw: float = 0.0
    last_status: str = ""

    def __call__(self, status: str, completed: int, total: int) -> None:
        now = time.monotonic()
        tty = self.console.err_is_tty
        changed = status != self.last_status
        if not changed and now - self.last_draw < (
            PROGRESS_INTERVAL_TTY if tty else PROGRESS_INTERVAL_PLAIN
        ):
            return
        self.last_draw, self.last_status = now, status
        amount = f" {format_bytes(completed)} / {format_bytes(total)}" if total else ""
        if tty:
            self.console.err.write(f"\r\x1b[K{status}{amount}")
        else:
            self.console.err.write(f"{status}{amount}\n")
        self.console.err.flush()

    def finish(self) -> None:
        if self.console.err_is_tty and self.last_status:
            self.console.err.write("\r\x1b[K")
            self.console.err.flush()


def cmd_settings(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    if args.assignments:
        changes = dict(parse_assignment(item) for item in args.assignments)
        engine.update_settings(changes)
    settings = engine.settings.to_dict()
    if args.json:
        console.json_line(settings)
    else:
        for key, value in settings.items():
            console.print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK


def parse_assignment(item: str) -> tuple[str, Any]:
    """KEY=VALUE where VALUE is JSON when it parses as JSON (numbers, lists), else a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise NeedleError(
            "invalid_argument",
            f"Expected KEY=VALUE, got {item!r}.",
            "For example: needle settings model=qwen2:1.5b-instruct read_budget=200",
        )
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here: the service pulls in the protocol machinery the other commands never need.
    from engine import service

    result = service.main(["--data-dir", args.data_dir] if args.data_dir else [])
    return int(result or 0)


# ----------------------------------------------------------------------------------------------
# Argument parsing


class NeedleArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors use the same `needle: … / hint: …` shape as everything else."""

    def error(self, message: str) -> Any:
        sys.stderr.write(f"needle: {message}\n  hint: run `{self.prog} --help` for usage.\n")
        raise SystemExit(EXIT_USER_ERROR)


def _accept_data_dir_after_command(parser: argparse.ArgumentParser) -> None:
    """Let `--data-dir` also follow the command (`needle serve --data-dir D`), as people and
    scripts write it. SUPPRESS keeps a subcommand from resetting a value given before it."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for subparser in action.choices.values():
            if not any("--data-dir" in a.option_strings for a in subparser._actions):
                subparser.add_argument(
                    "--data-dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                )
            _accept_data_dir_after_command(subparser)


def build_parser() -> argparse.ArgumentParser:
    parser = NeedleArgumentParser(
        prog="needle",
        description="Search and ask questions of your own notes and PDFs, offline.",
    )
    parser.add_argument(
        "--data-dir",
        help="keep index, settings and cache here (default: $NEEDLE_HOME or the platform's)",
    )
    parser.add_argument("--version", action="version", version=f"needle {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=NeedleArgumentParser
    )
    commands.required = True

    folders = commands.add_parser("folders", help="add, remove or list indexed folders")
    folder_commands = folders.add_subparsers(
        dest="folders_command", metavar="ACTION", parser_class=NeedleArgumentParser
    )
    folder_commands.required = True
    add = folder_commands.add_parser("add", help="add folders to index")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.set_defaults(handler=cmd_folders_add)
    remove = folder_commands.add_parser(
        "remove", help="remove folders and drop their files from the index"
    )
    remove.add_argument("paths", nargs="+", metavar="PATH")
    remove.set_defaults(handler=cmd_folders_remove)
    listing = folder_commands.add_parser("list", help="list folders with their index state")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(handler=cmd_folders_list)

    index = commands.add_parser("index", help="bring the index up to date with the folders")
    index.add_argument(
        "--watch", action="store_true", help="keep running and index changes as they happen"
    )
    index.add_argument(
        "--json", action="store_true", help="print the summary (and each change) as JSON lines"
    )
    index.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    index.set_defaults(handler=cmd_index, reader=False)

    search = commands.add_parser("search", help="BM25 search with snippets")
    search.add_argument("query", nargs="+", metavar="QUERY")
    search.add_argument("-k", type=positive_int, default=10, help="number of results (default 10)")
    search.add_argument(
        "--ext", action="append", metavar="EXT", help="only files with this extension (repeatable)"
    )
    search.add_argument(
        "--in",
        dest="within",
        action="append",
        metavar="FOLDER",
        help="only files under this folder (repeatable)",
    )
    search.add_argument("--json", action="store_true", help="print one JSON document")
    search.set_defaults(handler=cmd_search, reader=True)

    status = commands.add_parser("status", help="file counts, folder states and per-file errors")
    status.add_argument("--json", action="store_true", help="print one JSON document")
    status.set_defaults(handler=cmd_status, reader=True)

    doctor = commands.add_parser("doctor", help="check paths, index health and Ollama")
    doctor.add_argument("--json", action="store_true", help="print one JSON document")
    doctor.set_defaults(handler=None, reader=True)

    ask = commands.add_parser(
        "ask", help="answer a question from your documents with the local model"
    )
    ask.add_argument("question", nargs="+", metavar="QUESTION")
    ask.add_argument(
        "--level",
        choices=LEVELS,
        help="auto (default), 1 keyword RAG, 2 chunk reading, 3 step by step",
    )
    ask.add_argument("--scope", metavar="PATH", help="only this file or folder")
    ask.add_argument("--json", action="store_true", help="print one JSON event per line")
    ask.add_argument("--model", metavar="M", help="Ollama model tag (default: from settings)")
    ask.add_argument(
        "--host", metavar="URL", help="Ollama URL (default: from settings or $OLLAMA_HOST)"
    )
    ask.add_argument(
        "--parse",
        dest="parse_mode",
        choices=PARSE_MODES,
        default="structured",
        help="understand the question with one structured call (default) or two calls",
    )
    ask.add_argument(
        "--compress",
        action="store_true",
        help="drop sentences unrelated to the question before packing the context",
    )
    ask.set_defaults(handler=cmd_ask, reader=True)

    pull = commands.add_parser("pull", help="download the model into Ollama, with progress")
    pull.add_argument("model", nargs="?", help="model tag (default: from settings)")
    pull.set_defaults(handler=cmd_pull, reader=True)

    settings = commands.add_parser("settings", help="show or change settings")
    settings.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    settings.add_argument("--json", action="store_true", help="print one JSON document")
    settings.set_defaults(handler=cmd_settings, reader=False)

    serve = commands.add_parser("serve", help="run the engine as a JSON-lines service on stdio")
    serve.set_defaults(handler=None)
    _accept_data_dir_after_command(parser)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def opens_read_only(args: argparse.Namespace) -> bool:
    """Commands that only read use the index read-only, so they work while another process
    (the desktop's engine, a `needle index --watch`) holds the writer lock."""
    if args.command == "folders":
        return bool(args.folders_command == "list")
    return bool(getattr(args, "reader", False))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console.from_std()
    if args.command == "serve":
        return cmd_serve(args)
    try:
        return dispatch(args, console)
    except NeedleError as error:
        print_error(console, error)
        return exit_code_for(error)
    except KeyboardInterrupt:
        console.err.write("\nneedle: stopped.\n")
        return EXIT_CANCELLED
    except BrokenPipeError:
        # `needle search … | head` closed the pipe: not an error worth a message.
        _silence_broken_stdout()
        return EXIT_OK


def dispatch(args: argparse.Namespace, console: Console) -> int:
    if args.command == "doctor":
        return cmd_doctor(args, console)
    handler: Callable[[Engine, argparse.Namespace, Console], int] = args.handler
    with Engine.open(args.data_dir, writer=not opens_read_only(args)) as engine:
        return handler(engine, args, console)


def _silence_broken_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
