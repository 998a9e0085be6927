"""The `needle` argument parser: every command, its options and its handler."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli.commands import (
    cmd_ask,
    cmd_folders_add,
    cmd_folders_list,
    cmd_folders_remove,
    cmd_index,
    cmd_pull,
    cmd_search,
    cmd_settings,
    cmd_status,
)
from engine.cli.console import EXIT_USER_ERROR, terminal_columns
from engine.cli.history import cmd_export, cmd_export_traces, cmd_history, parse_since
from engine.cli.render import settings_help
from engine.settings import LEVELS, PARSE_MODES


class VersionAction(argparse.Action):
    """`--version`, reading the installed version only when asked (it is slow to look up)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **_: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, help="show program's version number and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from engine import __version__

        sys.stdout.write(f"needle {__version__}\n")
        parser.exit()


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, measuring the terminal without importing shutil (argparse does so
    for every argument it adds, which costs `needle search` a few milliseconds of start-up)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=terminal_columns() - 2)


class ListingHelpFormatter(HelpFormatter):
    """Keeps the epilog's lines as written (the list of settings)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))


class NeedleArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors use the same `needle: … / hint: …` shape as everything else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

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
    parser.add_argument("--version", action=VersionAction)
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
    ask.add_argument(
        "--model", metavar="M", help="model name as the server knows it (default: from settings)"
    )
    ask.add_argument(
        "--host",
        metavar="URL",
        action="append",
        help="model server: an Ollama URL, or an OpenAI-compatible one ending in /v1 (e.g. "
        "http://127.0.0.1:8000/v1); repeat it to spread the work over several, 'URL xN' for N "
        "requests at once (default: from settings or $OLLAMA_HOST)",
    )
    ask.add_argument(
        "--reader-model",
        metavar="M",
        help="a smaller model for Level 2's reads (default: from settings; none: the main model)",
    )
    ask.add_argument(
        "--reader-host",
        metavar="URL",
        action="append",
        help="where the reader model runs, like --host (default: the main model's servers)",
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
    ask.add_argument(
        "--pack-all",
        dest="score_gap",
        action="store_false",
        help="Level 1 packs its top hits up to the window, also those far below the best score "
        "(the old rule, kept to measure the score-gap rule against)",
    )
    ask.add_argument(
        "--thread",
        metavar="ID",
        help="continue this thread: the question is a follow-up to its earlier questions "
        "(`needle history` lists them)",
    )
    ask.set_defaults(handler=cmd_ask, reader=True)

    _add_history_commands(commands)

    pull = commands.add_parser("pull", help="download the model into Ollama, with progress")
    pull.add_argument("model", nargs="?", help="model tag (default: from settings)")
    pull.set_defaults(handler=cmd_pull, reader=True)

    settings = commands.add_parser(
        "settings",
        help="show or change settings",
        epilog=settings_help(),
        formatter_class=ListingHelpFormatter,
    )
    settings.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    settings.add_argument("--json", action="store_true", help="print one JSON document")
    settings.add_argument(
        "--reset",
        action="store_true",
        help="every setting back to its default, keeping the folders (also for a damaged file)",
    )
    settings.set_defaults(handler=cmd_settings, reader=False)

    serve = commands.add_parser("serve", help="run the engine as a JSON-lines service on stdio")
    serve.set_defaults(handler=None)

    mcp = commands.add_parser(
        "mcp",
        help="serve your library to AI assistants (Claude Desktop, Cherry Studio …) over MCP on "
        "stdio, read-only",
    )
    mcp.set_defaults(handler=None)
    _accept_data_dir_after_command(parser)
    return parser


def _add_history_commands(commands: Any) -> None:
    history = commands.add_parser("history", help="list, show, rename or delete asked threads")
    history.add_argument("--search", metavar="TEXT", help="only threads whose text holds TEXT")
    history.add_argument("--json", action="store_true", help="print one JSON document")
    actions = history.add_subparsers(
        dest="history_command", metavar="ACTION", parser_class=NeedleArgumentParser
    )
    show = actions.add_parser("show", help="a thread's questions, answers and sources")
    show.add_argument("thread_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print one JSON document")
    rename = actions.add_parser("rename", help="give a thread a name")
    rename.add_argument("thread_id", metavar="ID")
    rename.add_argument("name", nargs="+", metavar="NAME")
    delete = actions.add_parser("delete", help="delete a thread")
    delete.add_argument("thread_id", metavar="ID")
    prune = actions.add_parser("prune", help="delete threads not continued for a while")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    history.set_defaults(handler=cmd_history, reader=True)

    export = commands.add_parser("export", help="a thread as Markdown or JSON")
    export.add_argument("thread_id", metavar="ID")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(handler=cmd_export, reader=True)

    traces = commands.add_parser(
        "export-traces",
        help="stored answers as long-context training records (JSON lines)",
    )
    traces.add_argument("output", nargs="?", metavar="OUT.jsonl")
    traces.add_argument("--format", choices=("chatml", "sharegpt"), required=True)
    traces.add_argument(
        "--grounded-only", action="store_true", help="only answers their sources support"
    )
    traces.add_argument(
        "--since", type=parse_since, metavar="DATE", help="only answers from DATE on (2026-11-01)"
    )
    traces.add_argument("--level", type=int, choices=(1, 2, 3), help="only answers of this level")
    traces.add_argument("--stats", action="store_true", help="print what the export holds")
    traces.add_argument("--json", action="store_true", help="--stats as one JSON document")
    traces.set_defaults(handler=cmd_export_traces, reader=True)


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
