"""`needle ask --thread`, `needle history`, `needle export` and `needle export-traces` on a real
library, with the real Ollama client against the fake server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.api import Engine
from engine.cli.console import EXIT_OK, EXIT_USER_ERROR
from engine.cli.main import main
from tests.helpers.fake_ollama import FakeOllama
from tests.helpers.scripted_model import wire_responder
from tests.test_engine_threads import LATER, TRAVEL, script


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, FakeOllama]]:
    monkeypatch.delenv("NEEDLE_HOME", raising=False)
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "travel.md").write_text(TRAVEL, "utf-8")
    (notes / "later.md").write_text(LATER, "utf-8")
    with FakeOllama() as fake:
        fake.responder = wire_responder(script())
        with Engine.open(tmp_path / "home") as engine:
            engine.update_settings({"ollama_host": fake.url})
            engine.add_folder(notes)
            engine.index()
        yield tmp_path / "home", fake


def needle(home: Path, *args: str) -> int:
    return main(["--data-dir", str(home), *args])


def thread_id_from(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("Thread "))
    return line.split()[1]


def test_a_thread_from_the_command_line(
    home: tuple[Path, FakeOllama], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = home[0]
    assert needle(data, "ask", "--level", "1", "Where did Marta go in 2019?") == EXIT_OK
    first = capsys.readouterr().out
    thread_id = thread_id_from(first)
    assert f"needle ask --thread {thread_id}" in first
    assert needle(data, "ask", "--level", "1", "--thread", thread_id, "and in 2021?") == EXIT_OK
    second = capsys.readouterr().out
    assert "follow-up understood as: Where did Marta go in 2021?" in second
    assert "Kyoto" in second and f"Thread {thread_id} (question 2)" in second

    assert needle(data, "history") == EXIT_OK
    listing = capsys.readouterr().out
    assert thread_id in listing and "2 questions" in listing and "last: and in 2021?" in listing
    assert needle(data, "history", "--search", "nothing like it") == EXIT_OK
    assert "No matching threads." in capsys.readouterr().out

    assert needle(data, "history", "show", thread_id) == EXIT_OK
    shown = capsys.readouterr().out
    assert "understood as: Where did Marta go in 2021?" in shown
    assert "“In 2019 Marta went to the Lisbon conference.”" in shown

    assert needle(data, "history", "rename", thread_id, "Marta's", "trips") == EXIT_OK
    capsys.readouterr()
    note = tmp_path / "marta.md"
    assert needle(data, "export", thread_id, "--format", "md", "-o", str(note)) == EXIT_OK
    markdown = note.read_text("utf-8")
    assert markdown.startswith("# Marta's trips") and "## and in 2021?" in markdown
    assert needle(data, "export", thread_id, "--format", "json") == EXIT_OK
    assert json.loads(capsys.readouterr().out)["title"] == "Marta's trips"

    traces = tmp_path / "traces.jsonl"
    code = needle(data, "export-traces", "--format", "sharegpt", "--stats", str(traces))
    assert code == EXIT_OK
    out, err = capsys.readouterr()
    assert "Wrote 2 records" in err and "records:            2 (level 1: 2)" in out
    records = [json.loads(line) for line in traces.read_text("utf-8").splitlines()]
    assert [r["metadata"]["kept"] for r in records] == [True, True]  # exported above
    assert needle(data, "export-traces", "--format", "chatml", "--stats", "--json") == EXIT_OK
    assert json.loads(capsys.readouterr().out)["records"] == 2
    assert (
        needle(data, "export-traces", "--format", "chatml", "--since", "2999-01-01", "--stats")
        == EXIT_OK
    )
    assert "records:            0" in capsys.readouterr().out

    assert needle(data, "history", "delete", thread_id) == EXIT_OK
    capsys.readouterr()
    assert needle(data, "history", "show", thread_id) == EXIT_USER_ERROR
    assert "history" in capsys.readouterr().err


def test_mistakes_get_clear_errors(
    home: tuple[Path, FakeOllama], capsys: pytest.CaptureFixture[str]
) -> None:
    data = home[0]
    assert needle(data, "ask", "--thread", "nope", "and then?") == EXIT_USER_ERROR
    assert "No thread 'nope'" in capsys.readouterr().err
    assert needle(data, "export-traces", "--format", "chatml") == EXIT_USER_ERROR
    assert "Say where to write the traces" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        needle(data, "export-traces", "--format", "chatml", "--since", "last week", "x.jsonl")
    assert "expected a date" in capsys.readouterr().err
