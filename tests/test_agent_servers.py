"""The agent on OpenAI-compatible servers, several at once, and with a reader model: each over
the real wire protocol (the fake speaks SSE like llama.cpp's server and vLLM), and end to end
through `Engine.ask` as `needle ask --host …/v1` runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.agent import prompts
from engine.agent.runner import answer_question, budget_for
from engine.api import Engine
from engine.endpoints import Endpoint
from engine.llm.connect import check_endpoints, open_chat_model
from engine.llm.openai.chat import OpenAIChatModel
from engine.llm.qwen.tokenizer import count_qwen_tokens
from engine.settings import Settings
from engine.tokens import estimate_tokens
from tests import test_agent_level2 as level2_case
from tests import test_agent_level3 as level3_case
from tests.helpers.agent import build_index
from tests.helpers.fake_openai import FakeOpenAI
from tests.helpers.scripted_model import wire_responder

MODEL = "qwen2.5-7b-instruct"
READER = "qwen2.5-0.5b-instruct"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(models=[MODEL, READER]) as server:
        yield server


def reads(fake: FakeOpenAI) -> list[dict[str, Any]]:
    return with_schema(fake, prompts.VERDICT_SCHEMA)


def with_schema(fake: FakeOpenAI, schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r.body
        for r in fake.chat_requests()
        if (r.body.get("response_format") or {}).get("json_schema", {}).get("schema") == schema
    ]


def test_level2_over_the_openai_wire(tmp_path: Path, fake: FakeOpenAI) -> None:
    notes = build_index(tmp_path, level2_case.NOTES)
    fake.responder = wire_responder(level2_case.reading_model())
    fake.token_delay = 0.01
    model = OpenAIChatModel(fake.url, MODEL, timeout=20.0, retries=0)
    answer = answer_question(
        level2_case.QUESTION, index=notes.index, model=model, settings=Settings(), level="2"
    )
    model.close()
    assert answer.found and "1987" in answer.text
    assert len(reads(fake)) == 3
    assert fake.max_active >= 2
    assert answer.prompt_tokens == sum(r.prompt_tokens for r in fake.chat_requests())
    assert fake.rejections == []


def test_level3_tool_calls_over_the_openai_wire(tmp_path: Path, fake: FakeOpenAI) -> None:
    notes = build_index(tmp_path, level3_case.NOTES)
    fake.responder = wire_responder(level3_case.two_hop_model())
    model = OpenAIChatModel(fake.url, MODEL, timeout=20.0, retries=0)
    answer = answer_question(
        level3_case.QUESTION, index=notes.index, model=model, settings=Settings(), level="3"
    )
    model.close()
    assert answer.found and "telegraph" in answer.text and len(answer.citations) == 2
    plans = [r.body for r in fake.chat_requests() if r.body.get("tools")]
    last = plans[-1]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert last[3]["tool_call_id"] == last[2]["tool_calls"][0]["id"]


def test_level2_reads_spread_over_two_servers(tmp_path: Path) -> None:
    notes = build_index(tmp_path, level2_case.NOTES)
    with FakeOpenAI(models=[MODEL]) as first, FakeOpenAI(models=[MODEL]) as second:
        for server in (first, second):
            server.responder = wire_responder(level2_case.reading_model())
            server.latency = 0.2
        endpoints = [Endpoint(first.url, "openai", 1), Endpoint(second.url, "openai", 1)]
        model = open_chat_model(
            MODEL, endpoints, check_endpoints(endpoints, MODEL), settings=Settings()
        )
        answer = answer_question(
            level2_case.QUESTION, index=notes.index, model=model, settings=Settings(), level="2"
        )
        assert answer.found and "1987" in answer.text
        assert len(reads(first)) >= 1 and len(reads(second)) >= 1  # both read at once
        assert len(reads(first)) + len(reads(second)) == 3
        assert first.max_active == 1 and second.max_active == 1


def test_a_reader_model_takes_the_reads_and_the_main_model_the_rest(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    notes = build_index(tmp_path, level2_case.NOTES)
    fake.responder = wire_responder(level2_case.reading_model())
    with FakeOpenAI(models=[READER]) as reader_server:
        reader_server.responder = wire_responder(level2_case.reading_model())
        main = OpenAIChatModel(fake.url, MODEL, retries=0)
        reader = OpenAIChatModel(reader_server.url, READER, retries=0, context_window=4096)
        answer = answer_question(
            level2_case.QUESTION,
            index=notes.index,
            model=main,
            reader=reader,
            settings=Settings(),
            level="2",
        )
        assert answer.found and "1987" in answer.text
        assert len(reads(reader_server)) == 3 and reads(fake) == []
        assert {r.body["model"] for r in reader_server.chat_requests()} == {READER}
        assert fake.chat_requests() and {r.body["model"] for r in fake.chat_requests()} == {MODEL}
        # The grounding check's verification read is the main model's, never the reader's.
        assert with_schema(fake, prompts.VERIFY_SCHEMA)
        assert with_schema(reader_server, prompts.VERIFY_SCHEMA) == []
        assert answer.chunks_read == 3  # the reader's reads count against the read budget
        # One budget for both: the reader's smaller window bounds every prompt.
        assert all(r.prompt_tokens <= 4096 for r in fake.chat_requests())


class _Named:
    def __init__(self, name: str, context_window: int = 8192) -> None:
        self.name = name
        self.context_window = context_window
        self.token_ratio = 1.25


def test_the_budget_counts_qwen_exactly_and_a_mixed_pair_by_the_estimate() -> None:
    settings = Settings()
    qwen, llama = _Named(MODEL), _Named("llama3:8b", context_window=4096)
    assert budget_for(qwen, settings).counter is count_qwen_tokens  # type: ignore[arg-type]
    same = budget_for(qwen, settings, _Named(READER))  # type: ignore[arg-type]
    assert same.counter is count_qwen_tokens and same.calibration == 1.0
    mixed = budget_for(qwen, settings, llama)  # type: ignore[arg-type]
    assert mixed.counter is estimate_tokens and mixed.calibration == 1.25
    assert mixed.context_window == 4096
    assert budget_for(llama, settings, qwen).counter is estimate_tokens  # type: ignore[arg-type]


def test_needle_ask_with_a_v1_host_uses_the_openai_server(
    needle_home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in level2_case.NOTES.items():
        (folder / name.replace("/", "-")).write_text(text, "utf-8")
    with FakeOpenAI(models=[MODEL, READER]) as server, Engine.open() as engine:
        server.responder = wire_responder(level2_case.reading_model())
        engine.add_folder(folder)
        engine.index()
        answer = engine.ask(
            level2_case.QUESTION, level="2", host=server.url, model=MODEL, reader_model=READER
        )
        assert answer.found and "1987" in answer.text
        models = [r.body["model"] for r in server.chat_requests()]
        assert models.count(READER) == len(reads(server)) and MODEL in models
        assert any(r.path == "/v1/models" for r in server.requests)  # checked first
