"""Each level once through the real OllamaChatModel against the fake Ollama server: structured
output (`format`), streaming and native tool calls on the real wire protocol, and the server's
num_ctx check on every request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.agent import prompts
from engine.agent.runner import answer_question
from engine.llm.ollama.chat import OllamaChatModel
from engine.settings import Settings
from tests import test_agent_level2 as level2_case
from tests import test_agent_level3 as level3_case
from tests.helpers.agent import Notes, build_index
from tests.helpers.fake_ollama import Failure, FakeOllama
from tests.helpers.scripted_model import (
    Request,
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    wire_responder,
)

MODEL = "qwen2:7b-instruct"


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def client(fake: FakeOllama) -> Iterator[OllamaChatModel]:
    model = OllamaChatModel(fake.url, MODEL, timeout=20.0, retries=0)
    yield model
    model.close()


def chat_bodies(fake: FakeOllama) -> list[dict[str, Any]]:
    return [r.body for r in fake.chat_requests()]


def test_level1_over_the_wire(tmp_path: Path, fake: FakeOllama, client: OllamaChatModel) -> None:
    notes = build_index(tmp_path, {"boiler.md": "The boiler was serviced in May by Hans."})
    script = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["boiler", "serviced"])),
            Rule(lambda r: r.is_answer, answer_from_document_containing("boiler")),
        ]
    )
    fake.responder = wire_responder(script)
    deltas: list[str] = []
    answer = answer_question(
        "When was the boiler serviced?",
        index=notes.index,
        model=client,
        settings=Settings(),
        level="1",
        on_event=lambda e: (
            deltas.append(getattr(e, "text", "")) if e.type == "answer_delta" else None
        ),
    )
    assert answer.found and "May" in answer.text and len(answer.citations) == 1
    parse_body, answer_body = chat_bodies(fake)
    assert parse_body["format"] == prompts.parse_schema("When was the boiler serviced?")
    assert "format" not in answer_body
    assert all(b["options"]["num_ctx"] == 8192 for b in (parse_body, answer_body))
    assert len(deltas) > 1 and "".join(deltas).strip() == answer.text  # streamed in pieces
    assert answer.prompt_tokens == sum(r.prompt_tokens for r in fake.chat_requests())
    assert fake.rejections == []


def test_level2_over_the_wire(tmp_path: Path, fake: FakeOllama, client: OllamaChatModel) -> None:
    notes = build_index(tmp_path, level2_case.NOTES)
    fake.responder = wire_responder(level2_case.reading_model())
    fake.token_delay = 0.01  # reads overlap, so concurrency is visible
    answer = answer_question(
        level2_case.QUESTION, index=notes.index, model=client, settings=Settings(), level="2"
    )
    assert answer.found and "1987" in answer.text
    reads = [b for b in chat_bodies(fake) if b.get("format") == prompts.VERDICT_SCHEMA]
    assert len(reads) == 3
    assert fake.max_active >= 2
    assert fake.rejections == []


def test_level3_tool_calls_over_the_wire(
    tmp_path: Path, fake: FakeOllama, client: OllamaChatModel
) -> None:
    notes = build_index(tmp_path, level3_case.NOTES)
    fake.responder = wire_responder(level3_case.two_hop_model())
    answer = answer_question(
        level3_case.QUESTION, index=notes.index, model=client, settings=Settings(), level="3"
    )
    assert answer.found and "telegraph" in answer.text and len(answer.citations) == 2
    plans = [b for b in chat_bodies(fake) if b.get("tools")]
    assert len(plans) == 3
    last = plans[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert last[2]["tool_calls"][0]["function"]["arguments"] == {"question": level3_case.FIRST_HOP}
    assert fake.rejections == []


def test_level3_falls_back_to_text_when_the_server_rejects_tools(
    tmp_path: Path, fake: FakeOllama, client: OllamaChatModel
) -> None:
    notes = build_index(tmp_path, level3_case.NOTES)
    script = level3_case.two_hop_model()

    def text_planner(request: Request) -> str:
        if "1804" not in request.text:
            return f"ASK: {level3_case.FIRST_HOP}"
        if "telegraph" not in request.text:
            return f"ASK: {level3_case.SECOND_HOP}"
        return "ANSWER: The telegraph [2], 19th century like the symphony [1]."

    def parse_then_refuse_tools(request: Request) -> str:
        # The next request is the first planner call, which offers tools: refuse it as Ollama
        # does for models without tool support.
        fake.fail_next(Failure(400, f"registry.ollama.ai/library/{MODEL} does not support tools"))
        return parse_json()(request)

    script.rules[0] = Rule(lambda r: r.is_parse, parse_then_refuse_tools)
    script.rules[1] = Rule(lambda r: r.is_plan and not r.tools, text_planner)
    fake.responder = wire_responder(script)
    answer = answer_question(
        level3_case.QUESTION, index=notes.index, model=client, settings=Settings(), level="3"
    )
    offered_tools = [r for r in fake.chat_requests() if r.body.get("tools")]
    assert len(offered_tools) == 1  # refused once; every later planner call is plain text
    assert answer.found and answer.text.startswith("The telegraph [1]")
    assert fake.rejections == []


def test_auto_level_with_a_broken_server_is_a_clear_error(tmp_path: Path) -> None:
    notes: Notes = build_index(tmp_path, {"a.md": "Alpha."})
    with FakeOllama(models=()) as empty:
        model = OllamaChatModel(empty.url, MODEL, timeout=5.0, retries=0)
        errors: list[str] = []
        with pytest.raises(Exception) as raised:
            answer_question(
                "What is alpha?",
                index=notes.index,
                model=model,
                settings=Settings(),
                on_event=lambda e: errors.append(e.type) if e.type == "error" else None,
            )
        model.close()
    assert getattr(raised.value, "kind", "") == "model_missing"
    assert errors == ["error"]
