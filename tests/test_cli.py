"""The `needle` command line end to end, in a temporary --data-dir with a small folder of notes.

Most commands run in-process through `engine.cli.main.main` (fast); the ones about processes (a
second writer, Ctrl-C, a terminal that cannot show Chinese) run the real `python -m engine`.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import __version__
from engine.agent.events import Answer, AnswerDelta, ChunkVerdict, event_from_dict
from engine.api import Engine
from engine.cli.ask import AskPrinter
from engine.cli.console import (
    EXIT_CANCELLED,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USER_ERROR,
    Console,
    answer_now_on_interrupt,
    fit_width,
)
from engine.cli.main import main
from tests.helpers.fake_ollama import FakeOllama, Reply, RuleResponder, wants_json
from tests.test_api import closed_port, make_notes

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("NEEDLE_HOME", raising=False)
    return tmp_path / "home"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return make_notes(tmp_path)


@pytest.fixture
def indexed(data_dir: Path, notes: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A library with the notes folder added and indexed."""
    assert needle(data_dir, "folders", "add", str(notes)) == EXIT_OK
    assert needle(data_dir, "index") == EXIT_OK
    capsys.readouterr()
    return notes


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One indexed library shared by the tests that only read it (indexing costs a second)."""
    root = tmp_path_factory.mktemp("library")
    notes = make_notes(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OLLAMA_HOST", raising=False)
        patch.delenv("NEEDLE_HOME", raising=False)
        with Engine.open(root / "home") as engine:
            engine.add_folder(notes)
            engine.index()
        yield notes


def needle(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def run_needle(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m engine …` in a child process, as a user's shell would run it."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    environment.pop("NEEDLE_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "engine", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=environment,
        timeout=60,
        check=False,
    )


def json_out(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------------------------------------
# folders, index, search


def test_folders_add_index_and_search_json(
    data_dir: Path, notes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert needle(data_dir, "folders", "add", str(notes)) == EXIT_OK
    assert "needle index" in capsys.readouterr().out

    assert needle(data_dir, "index") == EXIT_OK
    out = capsys.readouterr().out
    assert "4 added" in out and "1 with errors" in out and "broken.txt" in out

    assert needle(data_dir, "search", "notice", "period", "--json") == EXIT_OK
    result = json_out(capsys)
    assert result["query"] == "notice period" and result["count"] == 1
    [hit] = result["hits"]
    assert hit["path"] == str(notes / "lease.pdf") and hit["page"] == 2
    assert "notice" in hit["snippet"].lower() and hit["snippet_highlights"]


def test_search_options_filter_and_limit(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = library.parent / "home"
    needle(data_dir, "search", "tomatoes OR notice OR tantivy", "-k", "2", "--json")
    assert json_out(capsys)["count"] == 2

    needle(data_dir, "search", "tomatoes OR notice", "--ext", "pdf", "--json")
    assert [Path(h["path"]).name for h in json_out(capsys)["hits"]] == ["lease.pdf"]

    needle(data_dir, "search", "tomatoes OR notice", "--in", str(library / "projects"), "--json")
    assert [Path(h["path"]).name for h in json_out(capsys)["hits"]] == ["garden.md"]


def test_search_human_output_shows_file_page_and_chinese(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = library.parent / "home"
    assert needle(data_dir, "search", "中文分词") == EXIT_OK
    out = capsys.readouterr().out
    assert "1. 中文" in out and "全文检索和中文分词" in out

    needle(data_dir, "search", "notice")
    out = capsys.readouterr().out
    assert "lease.pdf — page 2" in out and "1 result in" in out


def test_search_nothing_found_says_so(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert needle(library.parent / "home", "search", "xylophone") == EXIT_OK
    assert capsys.readouterr().out.startswith("No matches.")


def test_folders_list_and_remove(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = indexed.parent / "home"
    needle(data_dir, "folders", "list", "--json")
    [folder] = json_out(capsys)["folders"]
    assert folder["path"] == str(indexed) and folder["state"] == "errors"
    assert (folder["files"], folder["indexed"], folder["errors"]) == (5, 4, 1)

    assert needle(data_dir, "folders", "remove", str(indexed)) == EXIT_OK
    assert "5 files dropped" in capsys.readouterr().out
    needle(data_dir, "search", "tomatoes", "--json")
    assert json_out(capsys)["count"] == 0


# ---------------------------------------------------------------------------------------------
# status and doctor


def test_status_json_lists_the_binary_txt_with_its_reason(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert needle(library.parent / "home", "status", "--json") == EXIT_OK
    report = json_out(capsys)
    assert report["counts"] == {"pending": 0, "indexed": 4, "error": 1, "skipped": 0}
    assert report["total_files"] == 5 and report["chunks"] > 0
    [problem] = report["problems"]
    assert problem["path"] == str(library / "broken.txt")
    assert problem["state"] == "error" and problem["error_kind"] == "not_text"
    assert "binary" in problem["error"]


def test_status_human_output_names_the_failed_file(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needle(library.parent / "home", "status")
    out = capsys.readouterr().out
    assert "Files: 5 (0 pending, 4 indexed, 1 error, 0 skipped)" in out
    assert "broken.txt" in out and "not_text" in out


def test_doctor_reports_ollama_down_with_the_fix(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = indexed.parent / "home"
    needle(data_dir, "settings", f"ollama_host=http://127.0.0.1:{closed_port()}")
    capsys.readouterr()

    assert needle(data_dir, "doctor") == EXIT_FAILURE
    out = capsys.readouterr().out
    assert "[ok  ] index: The index opens and holds" in out
    assert (
        "[FAIL] ollama: Ollama is not running" in out and "fix: Start it with `ollama serve`" in out
    )

    assert needle(data_dir, "doctor", "--json") == EXIT_FAILURE
    report = json_out(capsys)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert report["ok"] is False and statuses["catalog"] == "ok" and statuses["ollama"] == "fail"


def test_doctor_still_runs_when_the_catalog_is_damaged(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = indexed.parent / "home"
    (data_dir / "data" / "catalog.sqlite3").write_bytes(b"this is not a database" * 100)

    assert needle(data_dir, "doctor", "--json") == EXIT_FAILURE
    checks = {c["name"]: c for c in json_out(capsys)["checks"]}
    assert checks["catalog"]["status"] == "fail" and "delete" in checks["catalog"]["hint"]
    assert checks["index"]["status"] == "fail" and checks["data folder"]["status"] == "ok"
    assert checks[f"folder {indexed}"]["status"] == "ok"


# ---------------------------------------------------------------------------------------------
# errors: message format and exit codes


def test_missing_folder_is_a_user_error_with_a_hint(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no such folder"
    assert needle(data_dir, "folders", "add", str(missing)) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    hint = "Check the spelling, or create the folder first."
    assert err == f"needle: {missing} does not exist.\n  hint: {hint}\n"


def test_usage_errors_use_the_same_format(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        needle(data_dir, "search", "x", "-k", "zero")
    assert raised.value.code == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("needle: ") and "\n  hint: run `needle search --help`" in err


def test_invalid_setting_is_refused_and_nothing_changes(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert needle(data_dir, "settings", "read_budget=0") == EXIT_USER_ERROR
    assert "read_budget must be 1 to 100000" in capsys.readouterr().err
    needle(data_dir, "settings", "--json")
    assert json_out(capsys)["read_budget"] == 300


def test_second_writer_gets_the_lock_message_not_a_trace(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = indexed.parent / "home"
    with Engine.open(data_dir, writer=True):
        blocked = run_needle(data_dir, "index")
        reader = run_needle(data_dir, "search", "tomatoes", "--json")

    assert blocked.returncode == EXIT_FAILURE
    assert blocked.stderr.startswith(f"needle: Another Needle process (pid {os.getpid()})")
    assert "\n  hint: " in blocked.stderr and "Traceback" not in blocked.stderr
    assert reader.returncode == EXIT_OK, reader.stderr
    assert json.loads(reader.stdout)["count"] == 1


def test_version_comes_from_package_metadata() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0 and result.stdout.strip() == f"needle {__version__}"
    assert __version__ != "0.0.0+unknown"


def test_chinese_output_survives_an_ascii_terminal(library: Path) -> None:
    result = run_needle(library.parent / "home", "search", "中文分词", PYTHONIOENCODING="ascii")
    assert result.returncode == EXIT_OK, result.stderr
    assert "\\u4e2d\\u6587" in result.stdout  # escaped, not a UnicodeEncodeError


# ---------------------------------------------------------------------------------------------
# index --watch and Ctrl-C


def test_index_watch_prints_changes_and_stops_cleanly_on_ctrl_c(indexed: Path) -> None:
    data_dir = indexed.parent / "home"
    environment = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "engine", "--data-dir", str(data_dir), "index", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        lines = read_until(process, "Press Ctrl-C")
        assert any("up to date, 5 files unchanged" in line for line in lines)
        assert any("1 other file could not be indexed earlier" in line for line in lines)
        # Written beside the folder and moved in, so one event carries the whole file.
        draft = indexed.parent / "fresh.md"
        draft.write_text("Quinces ripen late.\n", "utf-8")
        os.replace(draft, indexed / "fresh.md")
        change = read_until(process, "1 added")[-1]
        assert change.startswith("[")  # a timestamped log line
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == EXIT_OK, err
    assert "Traceback" not in err


def test_ctrl_c_stops_indexing_cleanly_and_the_next_run_continues(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for number in range(1500):
        (many / f"note{number}.md").write_text(f"# Note {number}\n\nplum {number}\n", "utf-8")
    needle(data_dir, "folders", "add", str(many))
    # The handler runs on the main thread, as it does when a user presses Ctrl-C.
    interrupt = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    interrupt.start()
    try:
        code = needle(data_dir, "index", "-q")
    finally:
        interrupt.cancel()
    err = capsys.readouterr().err
    assert code == EXIT_CANCELLED, err
    assert "needle: Indexing stopped." in err and "Traceback" not in err

    assert needle(data_dir, "index", "--json") == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] > 0 and summary["added"] + summary["unchanged"] == 1500


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 30.0) -> list[str]:
    """Lines of the process's stdout up to the one containing `marker`."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    process.kill()
    _, err = process.communicate()
    raise AssertionError(f"never saw {marker!r}; got {lines!r}; stderr: {err}")


# ---------------------------------------------------------------------------------------------
# ask


def test_ask_with_ollama_unreachable_names_the_fix(
    library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    code = needle(library.parent / "home", "ask", "When is the notice due?", "--host", host)
    assert code == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith(f"needle: Ollama is not running at {host}.")
    assert "hint: Start it with `ollama serve`" in err

    code = needle(library.parent / "home", "ask", "When?", "--json", "--host", host)
    assert code == EXIT_FAILURE
    lines = capsys.readouterr().out.splitlines()
    event = json.loads(lines[-1])
    assert event["type"] == "error" and event["kind"] == "ollama_unreachable"
    assert [json.loads(line)["type"] for line in lines].count("error") == 1  # not printed twice


PARSED = {
    "information": "the notice period of the lease",
    "instruction": "",
    "keywords_en": ["notice", "period"],
    "keywords_zh": ["通知"],
    "multi_hop": False,
}
ANSWER = "The notice period is two calendar months [1]."


@pytest.fixture
def answering_ollama() -> Iterator[FakeOllama]:
    responder = RuleResponder([(wants_json, Reply(PARSED)), (lambda request: True, Reply(ANSWER))])
    with FakeOllama(responder=responder) as fake:
        yield fake


def test_ask_streams_the_answer_then_sources_then_steps(
    library: Path, answering_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code = needle(
        library.parent / "home", "ask", "What is the notice period?", "--level", "1",
        "--host", answering_ollama.url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    answer_at, sources_at, steps_at = (out.index(s) for s in (ANSWER, "Sources", "Steps"))
    assert answer_at < sources_at < steps_at
    assert "[1] lease.pdf — page 2" in out
    assert "keywords: notice, period, 通知" in out
    assert answering_ollama.rejections == []


def test_ask_json_prints_one_event_per_line(
    library: Path, answering_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    code = needle(
        library.parent / "home", "ask", "What is the notice period?", "--level", "1", "--json",
        "--host", answering_ollama.url, "--scope", str(library / "lease.pdf"),
    )  # fmt: skip
    assert code == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = [e["type"] for e in events]
    assert types[-1] == "answer" and "answer_delta" in types and "keywords" in types
    assert types.count("answer") == 1  # the final event once, not again after the stream
    answer = events[-1]
    assert answer["text"] == ANSWER and answer["citations"][0]["page"] == 2


def test_fit_width_counts_chinese_as_two_columns() -> None:
    assert fit_width("/notes/中文笔记.md", 10) == "…文笔记.md"
    assert fit_width("short", 10) == "short"


def test_ask_printer_renders_a_recorded_level2_answer() -> None:
    recording = REPO / "tests" / "recorded_events" / "ask_en_level2.jsonl"
    events = [
        event_from_dict(json.loads(line)) for line in recording.read_text("utf-8").splitlines()
    ]
    out, err = io.StringIO(), io.StringIO()
    printer = AskPrinter(Console(out, err, out_is_tty=False, err_is_tty=False, color=False))
    for event in events[:-1]:
        printer(event)
    final = events[-1]
    assert isinstance(final, Answer)
    printer.finish(final)

    text = out.getvalue()
    streamed = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    relevant = sum(1 for e in events if isinstance(e, ChunkVerdict) and e.relevant)
    assert text.startswith(streamed)
    assert "[1] flat-lease-2023.pdf — page 3" in text
    assert f"read 24 passages: {relevant} state the answer" in text
    assert "level 2: escalated" in text
    assert err.getvalue() == ""  # no status line when stderr is not a terminal


def test_ask_printer_marks_an_answer_from_a_partial_reading() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = AskPrinter(Console(out, err, out_is_tty=False, err_is_tty=False, color=False))
    answer = Answer("It is red [1].", (), 2, 3, 900, 20, 4.0, chunks_read=7, partial=True)
    printer.finish(answer)
    text = " ".join(out.getvalue().split())
    assert "Partial reading: answered from the 7 passages read before you stopped" in text


def test_pull_downloads_the_model_then_doctor_is_happy_about_ollama(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOllama(models=[]) as fake:
        needle(data_dir, "settings", f"ollama_host={fake.url}")
        capsys.readouterr()
        assert needle(data_dir, "pull") == EXIT_OK
        pulled = capsys.readouterr()
        assert "Model qwen2:7b-instruct is ready." in pulled.out and "success" in pulled.err

        assert needle(data_dir, "pull", "no-such-model:1b") == EXIT_FAILURE
        assert "needle: Ollama could not pull no-such-model:1b" in capsys.readouterr().err

        needle(data_dir, "doctor", "--json")
        checks = {c["name"]: c["status"] for c in json_out(capsys)["checks"]}
    assert checks["ollama"] == "ok"


def test_data_dir_may_follow_the_command(
    data_dir: Path, notes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`needle serve --data-dir D` is how the desktop and scripts write it; it once failed with
    "unrecognized arguments"."""
    assert main(["folders", "add", str(notes), "--data-dir", str(data_dir)]) == EXIT_OK
    capsys.readouterr()
    assert main(["folders", "list", "--json", "--data-dir", str(data_dir)]) == EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert [Path(f["path"]) for f in listed["folders"]] == [notes.resolve()]
    # Given before the command, a value is not reset by the command's own (absent) option.
    assert needle(data_dir, "folders", "list", "--json") == EXIT_OK
    assert json.loads(capsys.readouterr().out) == listed


@pytest.mark.parametrize(("flag", "parse_calls"), [((), 1), (("--parse", "two_call"), 2)])
def test_ask_parse_flag_chooses_one_structured_call_or_the_two_call_variant(
    library: Path,
    answering_ollama: FakeOllama,
    capsys: pytest.CaptureFixture[str],
    flag: tuple[str, ...],
    parse_calls: int,
) -> None:
    code = needle(
        library.parent / "home", "ask", "What is the notice period?", "--level", "1", "--json",
        "--host", answering_ollama.url, *flag,
    )  # fmt: skip
    assert code == EXIT_OK
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    parsed = next(e for e in events if e["type"] == "query_parsed")
    assert parsed["method"] == ("two_call" if flag else "structured")
    structured_requests = [r for r in answering_ollama.chat_requests() if wants_json(r.body)]
    assert len(structured_requests) == parse_calls
    assert events[-1]["type"] == "answer" and ANSWER in events[-1]["text"]


def test_a_question_too_long_is_the_user_s_to_fix_and_exits_2(
    library: Path, answering_ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    question = "Why " + "really " * 3000 + "?"
    code = needle(library.parent / "home", "ask", question, "--host", answering_ollama.url)
    assert code == EXIT_USER_ERROR
    assert "The question is about" in capsys.readouterr().err


def test_a_change_while_the_app_has_the_library_says_so_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app merely being open is not "another indexing run" to wait for."""
    from engine.library.lock import APP_HOLDER, WriterLock
    from engine.paths import resolve_paths

    data_dir = tmp_path / "home"
    notes = make_notes(tmp_path)
    assert needle(data_dir, "status") == 0
    capsys.readouterr()
    with WriterLock(resolve_paths(data_dir).lock_file, APP_HOLDER):  # what `needle serve` takes
        assert needle(data_dir, "folders", "add", str(notes)) == 1
    err = capsys.readouterr().err
    assert "The Needle app has this library open" in err
    assert "quit the app" in err and "wait for the other indexing run" not in err.lower()


def test_a_settings_file_that_is_not_json_is_recovered_with_reset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged settings file stopped every command, the one that would fix it included
    (issue 9, item 4): `needle settings --reset` works without opening the library."""
    home = tmp_path / "home"
    settings_file = home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"folders": ["/somewhere/notes"], "max_file_mb": NaN', "utf-8")
    assert needle(home, "settings", "model=qwen2:1.5b") == EXIT_FAILURE
    capsys.readouterr()
    assert needle(home, "settings", "--reset") == EXIT_OK
    assert "kept as" in capsys.readouterr().out
    assert needle(home, "settings", "model=qwen2:1.5b") == EXIT_OK
    saved = json.loads(settings_file.read_text("utf-8"))
    assert saved["model"] == "qwen2:1.5b" and saved["max_file_mb"] == 64.0
    assert (home / "config" / "settings.json.bak").read_text("utf-8").endswith("NaN")


def test_settings_reset_keeps_the_folders_a_readable_file_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings_file = home / "config" / "settings.json"
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text('{"folders": ["/somewhere/notes"], "max_steps": "many"}', "utf-8")
    assert needle(home, "settings", "--reset") == EXIT_OK
    saved = json.loads(settings_file.read_text("utf-8"))
    assert saved["folders"] == ["/somewhere/notes"] and saved["max_steps"] == 6


def _interrupt() -> None:
    """A Ctrl-C, delivered to the main thread as a user's would be, and handled."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)


@pytest.mark.parametrize("found", [True, False])
def test_ask_first_ctrl_c_answers_from_what_was_found_else_cancels(found: bool) -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err, out_is_tty=False, err_is_tty=False, color=False)
    with answer_now_on_interrupt(console, lambda: found) as (cancel, stop_reading):
        _interrupt()
        assert stop_reading.cancelled is found and cancel.cancelled is not found
        if found:
            assert "answering from what was found so far" in err.getvalue()
            _interrupt()
            assert cancel.cancelled
        with pytest.raises(KeyboardInterrupt):
            _interrupt()
