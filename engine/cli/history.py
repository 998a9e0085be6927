"""`needle history`, `needle export` and `needle export-traces`: the stored threads from the
command line (docs/threads.md)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from engine.api import Engine
from engine.cli.console import EXIT_OK, Console, one_line, short_path
from engine.errors import ErrorKind, NeedleError
from engine.threads import ThreadSummary, TraceFilter, TraceStats, Turn

_STATE_WORDS = {"changed": "changed since", "vanished": "file gone"}


def when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")


def parse_since(text: str) -> float:
    """`--since` as unix seconds: an ISO date (2026-11-01) or date and time, local time."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-11-01 (or 2026-11-01T09:30), got {text!r}"
        ) from None
    return moment.timestamp()


def cmd_history(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    action = getattr(args, "history_command", None)
    if action == "show":
        return _show(engine, args, console)
    if action == "rename":
        thread = engine.rename_thread(args.thread_id, " ".join(args.name))
        console.print(f"Renamed {thread.thread_id} to “{thread.title}”.")
        return EXIT_OK
    if action == "delete":
        engine.delete_thread(args.thread_id)
        console.print(f"Deleted thread {args.thread_id}.")
        return EXIT_OK
    if action == "prune":
        gone = engine.prune_threads(args.older_than)
        console.print(
            f"Deleted {gone} thread{'s' if gone != 1 else ''} older than {args.older_than:g} days."
        )
        return EXIT_OK
    summaries = engine.threads(args.search or "")
    if args.json:
        console.json_line({"threads": [s.to_dict() for s in summaries]})
        return EXIT_OK
    if not summaries:
        console.print(
            "No matching threads." if args.search else "No questions asked yet: try `needle ask`."
        )
    for summary in summaries:
        _print_summary(console, summary)
    return EXIT_OK


def _print_summary(console: Console, summary: ThreadSummary) -> None:
    turns = f"{summary.turns} question{'s' if summary.turns != 1 else ''}"
    stale = (
        f", {summary.stale_sources} source{'s' if summary.stale_sources != 1 else ''} changed"
        if summary.stale_sources
        else ""
    )
    console.print(
        f"{console.bold(summary.thread_id)}  {when(summary.updated)}  {one_line(summary.title)}"
    )
    console.print(console.dim(f"    {turns}{stale}; last: {one_line(summary.last_question)[:100]}"))


def _show(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    thread = engine.thread(args.thread_id)
    if args.json:
        console.json_line(thread.to_dict())
        return EXIT_OK
    console.print(console.bold(thread.title))
    console.print(console.dim(f"{thread.thread_id}, started {when(thread.created)}"))
    for turn in thread.turns:
        _print_turn(console, turn)
    console.print()
    console.print(f'Continue with: needle ask --thread {thread.thread_id} "…"')
    return EXIT_OK


def _print_turn(console: Console, turn: Turn) -> None:
    console.print()
    console.print(console.bold(f"{turn.position}. {one_line(turn.question)}"))
    if turn.rewritten:
        console.print(console.dim(f"   understood as: {one_line(turn.rewritten)}"))
    console.print(turn.answer.strip())
    for citation in turn.citations:
        page = f", page {citation.page}" if citation.page is not None else ""
        state = f"  [{_STATE_WORDS[citation.state]}]" if citation.state in _STATE_WORDS else ""
        console.print(f"  [{citation.number}] {short_path(citation.path)}{page}{state}")
        if citation.quote:
            console.print(console.dim(f"      “{one_line(citation.quote)[:200]}”"))
    grounded = "grounded" if turn.grounded else ("not grounded" if turn.found else "not found")
    console.print(
        console.dim(f"   level {turn.level}, {turn.model}, {grounded}, {when(turn.asked_at)}")
    )


def cmd_export(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    if not args.output or args.output == "-":
        console.out.write(engine.export_thread(args.thread_id, args.format))
        console.out.flush()
        return EXIT_OK
    written = engine.save_thread(args.thread_id, args.format, args.output)
    console.err.write(f"Wrote {short_path(written)}.\n")
    return EXIT_OK


def cmd_export_traces(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    if not args.output and not args.stats:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT,
            "Say where to write the traces.",
            "Give a file: needle export-traces --format chatml traces.jsonl (or --stats only).",
        )
    which = TraceFilter(grounded_only=args.grounded_only, since=args.since, level=args.level)
    stats = engine.export_traces(args.output, args.format, which)
    if args.output:
        console.err.write(
            f"Wrote {stats.records} record{'s' if stats.records != 1 else ''} to "
            f"{short_path(str(Path(args.output).expanduser()))}.\n"
        )
    if args.stats:
        _print_stats(console, stats, as_json=args.json)
    return EXIT_OK


def _print_stats(console: Console, stats: TraceStats, *, as_json: bool) -> None:
    if as_json:
        console.json_line(stats.to_dict())
        return
    levels = ", ".join(f"level {level}: {n}" for level, n in sorted(stats.by_level.items()))
    console.print(f"records:            {stats.records}" + (f" ({levels})" if levels else ""))
    console.print(f"grounded:           {stats.grounded}")
    console.print(f"kept by the user:   {stats.kept}")
    console.print(
        f"context tokens:     {stats.context_tokens} (longest {stats.longest_context_tokens})"
    )
    console.print(f"left out, nothing read: {stats.skipped_without_reading}")
    console.print(f"left out, repeats:      {stats.skipped_duplicates}")


def thread_line(thread_id: str, turn: int) -> str:
    """The line `needle ask` ends with: where the answer is kept and how to follow up."""
    follow_up = f'needle ask --thread {thread_id} "…"'
    return f"Thread {thread_id} (question {turn}): follow up with {follow_up}"
