"""One error vocabulary: every kind is declared in ErrorKind, titled in the desktop, sorted into
"your request" (exit 2) or "the work failed" (exit 1), and nobody (not even a test double) speaks
a kind that does not exist."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from desktop.errors import SILENT_KINDS, TITLES, plain_error
from engine.cli.console import EXIT_CANCELLED, EXIT_FAILURE, EXIT_USER_ERROR, exit_code_for
from engine.errors import USER_ERROR_KINDS, Cancelled, ErrorKind, NeedleError
from engine.service.protocol import ErrorInfo

TESTS = Path(__file__).resolve().parent
RAISERS = {"NeedleError", "OllamaError", "WriterLocked", "FileProblem", "ErrorInfo"}


def test_every_kind_has_a_desktop_title() -> None:
    assert set(TITLES) == set(ErrorKind)
    assert all(title and title[0].isupper() for title in TITLES.values())
    assert set(ErrorKind) >= SILENT_KINDS


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_the_user_s_mistakes_exit_2_and_failed_work_exits_1(kind: ErrorKind) -> None:
    error = Cancelled() if kind is ErrorKind.CANCELLED else NeedleError(kind, "x")
    expected = EXIT_USER_ERROR if kind in USER_ERROR_KINDS else EXIT_FAILURE
    assert exit_code_for(error) == (EXIT_CANCELLED if kind is ErrorKind.CANCELLED else expected)


def test_questions_scopes_parse_modes_and_ignore_patterns_are_the_user_s_to_fix() -> None:
    for kind in ("question_too_long", "bad_parse_mode", "scope_empty", "invalid_ignore_pattern"):
        assert ErrorKind(kind) in USER_ERROR_KINDS


def test_an_unknown_kind_is_refused_where_it_is_made() -> None:
    with pytest.raises(ValueError):
        NeedleError("already_watched", "That folder is already watched.")  # type: ignore[arg-type]


def test_a_kind_from_a_newer_engine_still_reads_as_an_error_with_its_own_words() -> None:
    error = ErrorInfo("disk_quota_exceeded", "Quota exceeded.", "Free some space.").to_error()
    assert error.kind is ErrorKind.INTERNAL and error.message == "Quota exceeded."
    assert plain_error({"kind": "disk_quota_exceeded", "message": "x"}).title == (
        "Disk quota exceeded"
    )


def _kinds_spoken_by_the_doubles() -> list[tuple[str, str]]:
    """Error kinds written as literals in the test helpers and the recorded event streams."""
    spoken: list[tuple[str, str]] = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:  # this file makes bad kinds on purpose
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0] if node.args else None
            if name in RAISERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                spoken.append((f"{path.name}:{node.lineno}", first.value))
    for path in sorted((TESTS / "recorded_events").glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            event = json.loads(line)
            if event.get("type") == "error":
                spoken.append((f"{path.name}:{number}", event["kind"]))
    return spoken


def test_the_test_doubles_speak_only_real_kinds() -> None:
    spoken = _kinds_spoken_by_the_doubles()
    assert spoken, "the scan found no kinds at all: it would pass whatever the doubles say"
    assert [(where, kind) for where, kind in spoken if kind not in set(ErrorKind)] == []


ENGINE = TESTS.parent / "engine"
COMMAND_WORDS = (
    "`",
    "needle index",
    "needle folders",
    "needle doctor",
    "needle pull",
    "ollama serve",
    "ollama pull",
    "--data-dir",
    "NEEDLE_HOME",
    "chmod",
)


def _names_a_kind(node: ast.expr) -> bool:
    """`ErrorKind.X` written out, not a kind passed along (`error.kind`)."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ErrorKind"
    )


def _engine_hints() -> list[tuple[str, str]]:
    """(kind, hint) of every error the engine raises with a written hint."""
    found: list[tuple[str, str]] = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 3:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            kind = node.args[0]
            if name not in RAISERS or not _names_a_kind(kind):
                continue
            hint = node.args[2]
            parts = (
                [hint.value]
                if isinstance(hint, ast.Constant)
                else [v.value for v in getattr(hint, "values", []) if isinstance(v, ast.Constant)]
            )
            text = "".join(str(p) for p in parts)
            if text:
                found.append((ErrorKind[kind.attr].value, text + " PATH."))
    return found


def test_the_engine_has_hints_worded_for_the_command_line() -> None:
    hints = _engine_hints()
    assert len(hints) > 20
    assert any("`" in hint for _, hint in hints)  # so the next test has something to remove


@pytest.mark.parametrize(("kind", "hint"), _engine_hints())
def test_the_app_never_shows_a_command_line_hint(kind: str, hint: str) -> None:
    """The window has buttons for what the command line types: no backticks, no commands."""
    plain = plain_error({"kind": kind, "message": "Something `needle index` said.", "hint": hint})
    shown = plain.as_text()
    assert not any(
        word in shown.replace("Something needle index said.", "") for word in COMMAND_WORDS
    ), shown
    assert "`" not in shown
    assert "_" not in kind or kind not in shown  # no internal kind names like ollama_unreachable
