"""One function per `needle` command: call `Engine`, hand the result to a renderer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.api import Engine, diagnose, reset_settings
from engine.cancel import CancelToken
from engine.cli.console import (
    EXIT_FAILURE,
    EXIT_OK,
    Console,
    answer_now_on_interrupt,
    cancel_on_interrupt,
    short_path,
)
from engine.cli.progress import ProgressPrinter, PullPrinter
from engine.cli.render import (
    render_change,
    render_checks,
    render_folder,
    render_hits,
    render_status,
    render_summary,
)
from engine.errors import Cancelled, ErrorKind, NeedleError
from engine.models import IndexSummary, SearchFilters
from engine.settings import FIELDS_BY_NAME, SECRET_NAMES


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
            ErrorKind.NO_FOLDERS,
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
    result = engine.search(query, limit=args.k, filters=filters)
    if args.json:
        console.json_line(result.to_dict())
    else:
        render_hits(console, result)
        if not result.hits and not engine.status().chunks:
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
    report = diagnose(args.data_dir)
    if args.json:
        console.json_line(report.to_dict())
    else:
        render_checks(console, report)
        console.print(
            "All checks passed." if report.ok else "Some checks failed; see the fixes above."
        )
    return EXIT_OK if report.ok else EXIT_FAILURE


def cmd_ask(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT, "The question is empty.", 'Ask e.g. needle ask "…"'
        )
    scope = engine.resolve_scope(args.scope) if args.scope else None
    # Only `ask` needs the agent's event types: other commands start without them.
    from engine.agent.events import Answer, ChunkVerdict, ErrorEvent, Event
    from engine.cli.ask import AskPrinter, one_at_a_time

    printer = AskPrinter(console)
    printed_final: list[str] = []  # the answer or error event, when the stream carried it
    answering_passages: list[str] = []  # read so far and stating the answer

    def print_json(event: Event) -> None:
        if isinstance(event, Answer | ErrorEvent):
            printed_final.append(event.type)
        console.json_line(event.to_dict())

    show = print_json if args.json else printer

    def on_any_event(event: Event) -> None:
        if isinstance(event, ChunkVerdict) and event.relevant:
            answering_passages.append(event.chunk.chunk_id)
        show(event)

    on_event = one_at_a_time(on_any_event)
    with answer_now_on_interrupt(console, lambda: bool(answering_passages)) as (cancel, stop):
        try:
            answer = engine.ask(
                question,
                level=args.level or engine.settings.default_level,
                scope=scope,
                on_event=on_event,
                cancel=cancel,
                stop_reading=stop,
                model=args.model,
                host=args.host,
                reader_model=args.reader_model,
                reader_hosts=args.reader_host,
                parse_mode=args.parse_mode,
                compress_context=args.compress,
                score_gap=args.score_gap,
                thread_id=args.thread,
            )
        except NeedleError as error:
            if args.json and not printed_final:
                console.json_line(ErrorEvent(error.kind, error.message, error.hint).to_dict())
            printer.clear_status()
            raise
    if args.json:
        if not printed_final:
            console.json_line(answer.to_dict())
    else:
        printer.finish(answer)
        if answer.thread_id:
            from engine.cli.history import thread_line

            console.print(console.dim(thread_line(answer.thread_id, answer.turn)))
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


def cmd_settings(engine: Engine, args: argparse.Namespace, console: Console) -> int:
    if args.assignments:
        changes = dict(parse_assignment(item) for item in args.assignments)
        for name in SECRET_NAMES & changes.keys():
            if changes[name] == "-":
                changes[name] = read_secret(console, FIELDS_BY_NAME[name].label)
        engine.update_settings(changes)
    snapshot = engine.settings_snapshot()
    settings = snapshot.values.to_dict()
    for name in sorted(SECRET_NAMES):  # whether it is set and where; never the value
        settings[name] = secret_note(engine.secrets.where(name))
    if args.json:
        console.json_line(settings)
    else:
        for key, value in settings.items():
            console.print(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK


def cmd_settings_reset(args: argparse.Namespace, console: Console) -> int:
    """Runs without an open engine: a settings file that is not JSON stops the engine opening."""
    if args.assignments:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT,
            "--reset takes no KEY=VALUE.",
            "Reset first, then change settings with `needle settings KEY=VALUE`.",
        )
    done = reset_settings(args.data_dir)
    if args.json:
        console.json_line({"folders": list(done.folders), "backup": done.backup})
        return EXIT_OK
    kept = ", ".join(done.folders) if done.folders else "none"
    console.print(f"Settings reset to their defaults; folders kept: {kept}.")
    if done.backup:
        console.print(f"The old settings file is kept as {done.backup}.")
    return EXIT_OK


def read_secret(console: Console, label: str) -> str:
    """A secret typed at a hidden prompt (or piped in), so it is not left in the shell's
    history: `needle settings api_key=-`."""
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass(f"{label} (hidden; empty removes it): ").strip()
    return sys.stdin.readline().strip()


def secret_note(place: str | None) -> str:
    if place == "keyring":
        return "(set, in the system keyring)"
    if place == "file":
        return "(set, in a file only you can read)"
    return "(not set)"


def parse_assignment(item: str) -> tuple[str, Any]:
    """KEY=VALUE where VALUE is JSON when it parses as JSON (numbers, lists), else a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT,
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
    from engine.service import main as service_main

    result = service_main.main(["--data-dir", args.data_dir] if args.data_dir else [])
    return int(result or 0)


def cmd_mcp(args: argparse.Namespace) -> int:
    # Imported here, like the service: no other command needs the MCP server.
    from engine.mcp import main as mcp_main

    return mcp_main.main(args.data_dir)
