"""The fake Ollama server itself, spoken to with the real ollama client and as a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import ollama
import pytest

from engine.llm.budget import count_prompt_tokens, counter_for_model
from engine.llm.types import Message
from tests.helpers.fake_ollama import (
    Failure,
    FakeOllama,
    Reply,
    RuleResponder,
    count_request_tokens,
    example_for_schema,
    fake_ollama,
    responder_from_script,
    system_contains,
    user_contains,
)

__all__ = ["fake_ollama"]  # the imported fixture is used by tests below

MODEL = "qwen2:7b-instruct"
FAKE_SCRIPT = Path(__file__).parent / "helpers" / "fake_ollama.py"


def client(fake: FakeOllama) -> ollama.Client:
    return ollama.Client(host=fake.url, timeout=10)


def chat_body(content: str) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}]}


def test_tags_version_and_show_look_like_ollama(fake_ollama: FakeOllama) -> None:
    listing = client(fake_ollama).list()
    assert [m.model for m in listing.models] == list(fake_ollama.models)
    shown = client(fake_ollama).show(MODEL)
    assert shown.capabilities is not None and "tools" in shown.capabilities
    assert shown.modelinfo is not None and shown.modelinfo["qwen2.context_length"] == 32768


def test_show_and_chat_of_an_unknown_model_are_404(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client(fake_ollama).chat("ghost:1b", [{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404
    assert caught.value.error == 'model "ghost:1b" not found, try pulling it first'
    with pytest.raises(ollama.ResponseError):
        client(fake_ollama).show("ghost:1b")


def test_streaming_and_non_streaming_chat_say_the_same(fake_ollama: FakeOllama) -> None:
    fake_ollama.responder = lambda request: Reply("One two three four.")
    messages = [{"role": "user", "content": "count"}]
    whole = client(fake_ollama).chat(MODEL, messages, options={"num_ctx": 8192})
    parts = list(client(fake_ollama).chat(MODEL, messages, stream=True, options={"num_ctx": 8192}))
    assert whole.message.content == "One two three four."
    assert "".join(p.message.content or "" for p in parts) == whole.message.content
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    final = parts[-1]
    assert final.prompt_eval_count == whole.prompt_eval_count
    assert (final.prompt_eval_count or 0) > 0
    assert final.eval_count and final.done_reason == "stop"


def test_rule_responder_matches_user_and_system_text(fake_ollama: FakeOllama) -> None:
    fake_ollama.responder = RuleResponder(
        [
            (system_contains("reader"), Reply({"relevant": False, "quotes": []})),
            (user_contains("weather"), "Sunny."),
        ]
    )
    talk = client(fake_ollama)
    reader = talk.chat(
        MODEL,
        [
            {"role": "system", "content": "You are a careful READER."},
            {"role": "user", "content": "x"},
        ],
        options={"num_ctx": 8192},
    )
    assert json.loads(reader.message.content or "") == {"relevant": False, "quotes": []}
    weather = talk.chat(
        MODEL, [{"role": "user", "content": "The weather?"}], options={"num_ctx": 8192}
    )
    assert weather.message.content == "Sunny."
    other = talk.chat(MODEL, [{"role": "user", "content": "Hello"}], options={"num_ctx": 8192})
    assert other.message.content == "You asked: Hello"


def test_default_reply_to_a_schema_is_valid_for_it() -> None:
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"enum": ["none", "relevant"]},
            "quotes": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": "number"},
            "done": {"type": "boolean"},
        },
    }
    assert example_for_schema(schema) == {
        "verdict": "none",
        "quotes": [],
        "confidence": 0,
        "done": False,
    }


def test_tool_calls_come_back_as_message_tool_calls(fake_ollama: FakeOllama) -> None:
    fake_ollama.responder = lambda request: Reply(
        "", ({"name": "read_documents", "arguments": {"question": "q"}},)
    )
    tool = {"type": "function", "function": {"name": "read_documents", "parameters": {}}}
    parts = list(
        client(fake_ollama).chat(
            MODEL,
            [{"role": "user", "content": "go"}],
            tools=[tool],
            stream=True,
            options={"num_ctx": 8192},
        )
    )
    calls = [c for p in parts for c in (p.message.tool_calls or [])]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("read_documents", {"question": "q"})
    ]


def test_prompt_over_num_ctx_is_rejected_and_recorded(fake_ollama: FakeOllama) -> None:
    messages = [Message("user", "alpha " * 100)]
    needed = count_prompt_tokens(messages, None, counter_for_model(MODEL))  # as the server counts
    body = [m.to_ollama() for m in messages]
    talk = client(fake_ollama)
    talk.chat(MODEL, body, options={"num_ctx": needed})  # exactly at the window: accepted
    with pytest.raises(ollama.ResponseError) as caught:
        talk.chat(MODEL, body, options={"num_ctx": needed - 1})
    assert caught.value.status_code == 400
    assert f"over num_ctx {needed - 1}" in caught.value.error
    assert len(fake_ollama.rejections) == 1
    assert fake_ollama.rejections[0].prompt_tokens == needed


def test_a_request_without_num_ctx_gets_ollamas_small_default(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ollama.ResponseError):
        client(fake_ollama).chat(MODEL, [{"role": "user", "content": "alpha " * 2100}])
    assert fake_ollama.rejections


def test_token_factor_scales_the_servers_counts(fake_ollama: FakeOllama) -> None:
    body = chat_body("alpha beta gamma " * 30)
    fake_ollama.token_factor = 1.5
    reply = client(fake_ollama).chat(MODEL, body["messages"], options={"num_ctx": 8192})
    assert reply.prompt_eval_count == round(count_request_tokens(body) * 1.5)


def test_injected_failure_happens_once(fake_ollama: FakeOllama) -> None:
    fake_ollama.fail_next(Failure(500, "boom"))
    talk = client(fake_ollama)
    with pytest.raises(ollama.ResponseError) as caught:
        talk.chat(MODEL, [{"role": "user", "content": "x"}], options={"num_ctx": 8192})
    assert caught.value.status_code == 500
    ok = talk.chat(MODEL, [{"role": "user", "content": "x"}], options={"num_ctx": 8192})
    assert ok.done


def test_pull_streams_progress_and_adds_the_model(fake_ollama: FakeOllama) -> None:
    lines = list(client(fake_ollama).pull("qwen2", stream=True))
    assert lines[0].status == "pulling manifest" and lines[-1].status == "success"
    assert any(line.total for line in lines)
    assert fake_ollama.find_model("qwen2:latest") == "qwen2:latest"


def test_requests_are_recorded(fake_ollama: FakeOllama) -> None:
    client(fake_ollama).chat(MODEL, [{"role": "user", "content": "hi"}], options={"num_ctx": 8192})
    (recorded,) = fake_ollama.chat_requests()
    assert recorded.body["messages"] == [{"role": "user", "content": "hi"}]
    assert recorded.status == 200


def test_script_rules_need_all_their_conditions() -> None:
    responder = responder_from_script(
        {
            "default": {"content": "default"},
            "rules": [
                {"user_contains": "paris", "format": True, "reply": {"content": {"city": "Paris"}}},
                {"user_contains": "paris", "reply": {"content": "Paris is in France."}},
            ],
        }
    )
    ask = {"messages": [{"role": "user", "content": "Where is Paris?"}]}
    assert Reply("Paris is in France.") == responder(ask)
    assert responder({**ask, "format": {"type": "object"}}) == Reply({"city": "Paris"})
    assert responder({"messages": [{"role": "user", "content": "x"}]}) == Reply("default")


def test_runs_as_a_standalone_process(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "models": ["qwen2.5-coder:0.5b"],
                "rules": [{"user_contains": "ping", "reply": {"content": "pong"}}],
            }
        ),
        "utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, str(FAKE_SCRIPT), "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        assert first_line.startswith("fake-ollama listening on http://127.0.0.1:")
        url = first_line.rsplit(" ", 1)[-1]
        talk = ollama.Client(host=url, timeout=10)
        reply = talk.chat(
            "qwen2.5-coder:0.5b", [{"role": "user", "content": "ping"}], options={"num_ctx": 8192}
        )
        assert reply.message.content == "pong"
    finally:
        process.terminate()
        process.wait(timeout=10)
