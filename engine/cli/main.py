"""The `needle` command line: a thin shell over `engine.api.Engine`.

Every command prints human-readable text by default and, where it says so, one stable JSON
document (or one JSON event per line for `ask`) with `--json`; docs/cli.md documents both.
Errors never show a traceback: a NeedleError prints `needle: <message>` and `  hint: <hint>` to
stderr and exits 2 when the user's input was wrong, 1 when the work itself failed, 130 when the
user pressed Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from engine.api import Engine
from engine.cli.commands import cmd_doctor, cmd_mcp, cmd_serve, cmd_settings_reset
from engine.cli.console import EXIT_CANCELLED, EXIT_OK, Console, exit_code_for, print_error
from engine.cli.parser import build_parser, opens_read_only
from engine.errors import NeedleError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console.from_std()
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "mcp":
        return cmd_mcp(args)
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
    if args.command == "settings" and args.reset:
        return cmd_settings_reset(args, console)
    handler: Callable[[Engine, argparse.Namespace, Console], int] = args.handler
    writer = not opens_read_only(args)
    with Engine.open(args.data_dir, writer=writer, holder=f"needle {args.command}") as engine:
        return handler(engine, args, console)


def _silence_broken_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
