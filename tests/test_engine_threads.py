"""Threads through the Engine with the real Ollama client against the fake server: every answer
is stored as a turn, a follow-up is understood from its thread, a source that changed or vanished
is reported, and the exports (Markdown, JSON, training traces) hold what the threads hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.agent.events import FollowUp
from engine.api import Engine
from engine.errors import ErrorKind, NeedleError
from engine.library.exports import TRACE_SYSTEM
from engine.threads import Thread, TraceFilter
from tests.helpers.fake_ollama import FakeOllama
from tests.helpers.scripted_model import (
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    verify_by_words,
    wire_responder,
)

TRAVEL = (
    "# Travel\n\nThe committee met every spring to plan the year.\n\n"
    "In 2019 Marta went to the Lisbon conference.\n\n"
    "The budget was approved in March after a long debate.\n"
)
LATER = "# Later\n\nIn 2021 Marta went to the Kyoto workshop.\n"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "travel.md").write_text(TRAVEL, "utf-8")
    (folder / "later.md").write_text(LATER, "utf-8")
    return folder


def rewrite_to(question: str) -> str:
    return json.dumps({"question": question})


def script() -> ScriptedModel:
    def answer(request):  # type: ignore[no-untyped-def]
        needle = "2021" if "2021" in request.question else "Lisbon"
        return answer_from_document_containing(needle)(request)

    return ScriptedModel(
        [
            Rule(lambda r: r.is_rewrite, rewrite_to("Where did Marta go in 2021?")),
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["Marta", "2019", "2021"])),
            Rule(lambda r: r.is_verify, verify_by_words()),
            Rule(lambda r: r.is_answer, answer),
        ]
    )


@pytest.fixture
def engine(needle_home: Path, notes: Path) -> Iterator[tuple[Engine, FakeOllama]]:
    with FakeOllama() as fake, Engine.open() as opened:
        fake.responder = wire_responder(script())
        opened.update_settings({"ollama_host": fake.url})
        opened.add_folder(notes)
        opened.index()
        yield opened, fake


def ask_two(engine: Engine) -> Thread:
    first = engine.ask("Where did Marta go in 2019?", level="1")
    assert first.thread_id and first.turn == 1
    steps: list[str] = []
    second = engine.ask(
        "and in 2021?",
        level="1",
        thread_id=first.thread_id,
        on_event=lambda e: steps.append(e.type),
    )
    assert (second.thread_id, second.turn) == (first.thread_id, 2)
    assert "follow_up" in steps
    return engine.thread(first.thread_id)


def test_answers_are_stored_as_turns_and_a_follow_up_is_understood_from_its_thread(
    engine: tuple[Engine, FakeOllama],
) -> None:
    thread = ask_two(engine[0])
    first, second = thread.turns
    assert thread.title == "Where did Marta go in 2019?"
    assert "Lisbon" in first.answer and "Kyoto" in second.answer
    assert second.rewritten == "Where did Marta go in 2021?" and first.rewritten == ""
    follow_up = [e for e in second.events if e["type"] == FollowUp.type]
    assert follow_up and follow_up[0]["question"] == "Where did Marta go in 2021?"
    (cited,) = first.citations
    assert cited.quote == "In 2019 Marta went to the Lisbon conference."
    assert cited.path.endswith("travel.md") and cited.state == "current"
    # The passages read hold the cited text, in document order.
    assert any(cited.quote in passage.text for passage in first.read)
    assert [p.path for p in second.read] == sorted(p.path for p in second.read)
    assert first.model and first.prompt_tokens > 0 and first.found


def test_an_unknown_thread_is_a_clear_error(engine: tuple[Engine, FakeOllama]) -> None:
    with pytest.raises(NeedleError) as raised:
        engine[0].ask("and then?", thread_id="nope")
    assert raised.value.kind == ErrorKind.THREAD_UNKNOWN


def test_a_cited_file_that_changed_or_vanished_is_reported(
    engine: tuple[Engine, FakeOllama], notes: Path
) -> None:
    eng = engine[0]
    thread = ask_two(eng)
    assert eng.threads()[0].stale_sources == 0
    (notes / "travel.md").write_text(TRAVEL.replace("Lisbon", "Porto"), "utf-8")
    (notes / "later.md").unlink()
    eng.index()
    first, second = eng.thread(thread.thread_id).turns
    assert [c.state for c in first.citations] == ["changed"]
    assert [c.state for c in second.citations] == ["vanished"]
    assert eng.threads()[0].stale_sources == 2
    markdown = eng.export_thread(thread.thread_id, "md")
    assert "the file changed since this answer" in markdown and "the file is gone" in markdown


def test_history_search_rename_delete(engine: tuple[Engine, FakeOllama]) -> None:
    eng = engine[0]
    thread = ask_two(eng)
    assert [s.thread_id for s in eng.threads("kyoto")] == [thread.thread_id]
    assert eng.threads("nothing like this") == []
    assert eng.rename_thread(thread.thread_id, "Marta's trips").title == "Marta's trips"
    eng.delete_thread(thread.thread_id)
    assert eng.threads() == []


def test_markdown_and_json_exports_hold_the_thread(engine: tuple[Engine, FakeOllama]) -> None:
    eng = engine[0]
    thread = ask_two(eng)
    markdown = eng.export_thread(thread.thread_id, "md")
    travel = thread.turns[0].citations[0].path
    assert "## Where did Marta go in 2019?" in markdown and "## and in 2021?" in markdown
    assert thread.turns[0].answer in markdown
    assert f"1. [travel.md]({Path(travel).as_uri()})" in markdown
    assert "“In 2019 Marta went to the Lisbon conference.”" in markdown
    assert Thread.from_dict(json.loads(eng.export_thread(thread.thread_id, "json"))).turns == (
        eng.thread(thread.thread_id).turns
    )
    one = eng.export_thread(thread.thread_id, "md", [2])
    assert one.startswith("### and in 2021?") and "Lisbon" not in one
    assert all(turn.kept for turn in eng.thread(thread.thread_id).turns)
    with pytest.raises(NeedleError) as raised:
        eng.export_thread(thread.thread_id, "pdf")
    assert raised.value.kind == ErrorKind.BAD_EXPORT_FORMAT


@pytest.mark.parametrize("fmt", ["chatml", "sharegpt"])
def test_trace_records_match_the_stored_threads(
    engine: tuple[Engine, FakeOllama], tmp_path: Path, fmt: str
) -> None:
    eng = engine[0]
    thread = ask_two(eng)
    out = tmp_path / "traces.jsonl"
    stats = eng.export_traces(out, fmt)
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert stats.records == len(records) == 2
    for record, turn in zip(records, thread.turns, strict=True):
        if fmt == "chatml":
            roles = [m["role"] for m in record["messages"]]
            assert roles == ["system", "user", "assistant"]
            system, user, assistant = (m["content"] for m in record["messages"])
        else:
            roles = [m["from"] for m in record["conversations"]]
            assert roles == ["system", "human", "gpt"]
            system, user, assistant = (m["value"] for m in record["conversations"])
        assert system == TRACE_SYSTEM
        assert user.endswith(f"Question: {turn.asked}")
        assert all(passage.text.strip() in user for passage in turn.read)
        assert assistant.startswith(turn.answer) and turn.citations[0].path in assistant
        meta = record["metadata"]
        assert (meta["thread_id"], meta["turn"], meta["question"]) == (
            turn.thread_id,
            turn.position,
            turn.question,
        )
        assert (meta["level"], meta["levels"], meta["model"]) == (1, [1], turn.model)
        assert meta["grounded"] == turn.grounded and meta["kept"] is False
        assert meta["prompt_tokens"] == turn.prompt_tokens and meta["context_tokens"] > 0
        assert meta["stale_sources"] == 0


def test_a_trace_record_says_when_its_sources_changed(
    engine: tuple[Engine, FakeOllama], notes: Path, tmp_path: Path
) -> None:
    eng = engine[0]
    ask_two(eng)
    (notes / "later.md").unlink()
    eng.index()
    out = tmp_path / "traces.jsonl"
    eng.export_traces(out, "chatml")
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["metadata"]["stale_sources"] for r in records] == [0, 1]


def test_trace_filters_and_stats(engine: tuple[Engine, FakeOllama], tmp_path: Path) -> None:
    eng = engine[0]
    ask_two(eng)
    eng.ask("Where did Marta go in 2019?", level="1")  # the same answer again: one record
    stats = eng.export_traces(None, "chatml")
    assert (stats.records, stats.skipped_duplicates) == (2, 1)
    assert stats.by_level == {1: 2} and stats.longest_context_tokens > 0
    assert eng.export_traces(None, "chatml", TraceFilter(level=2)).records == 0
    assert eng.export_traces(None, "chatml", TraceFilter(since=4e9)).records == 0
    grounded = eng.export_traces(None, "chatml", TraceFilter(grounded_only=True))
    assert grounded.records == grounded.grounded
