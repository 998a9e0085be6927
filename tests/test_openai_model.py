"""OpenAIChatModel and its probe against the fake OpenAI-compatible server, through httpx: the
same client code a real llama.cpp, LM Studio or vLLM server gets."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.openai.chat import OpenAIChatModel
from engine.llm.openai.errors import START_HINT, URL_HINT
from engine.llm.openai.server import probe
from engine.llm.types import Message, ToolCall
from tests.helpers.fake_ollama import Reply, RuleResponder, user_contains
from tests.helpers.fake_openai import Failure, FakeOpenAI

MODEL = "qwen2.5-7b-instruct"
LONG_REPLY = " ".join(f"token{i}" for i in range(60))
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_documents",
        "description": "Answer a sub-question from the documents.",
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string"}},
            "required": ["question"],
        },
    },
}
SCHEMA = {
    "type": "object",
    "properties": {"relevant": {"type": "boolean"}, "quotes": {"type": "array"}},
    "required": ["relevant", "quotes"],
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    responder = RuleResponder(
        [
            (user_contains("capital"), Reply("The capital is Paris.")),
            (user_contains("long"), Reply(LONG_REPLY)),
            (
                user_contains("two hops"),
                Reply("", ({"name": "read_documents", "arguments": {"question": "who?"}},)),
            ),
        ]
    )
    with FakeOpenAI(responder) as server:
        yield server


def make_model(fake: FakeOpenAI, **kwargs: object) -> OpenAIChatModel:
    options: dict[str, object] = {"backoff": 0.05, **kwargs}
    return OpenAIChatModel(fake.url, MODEL, **options)  # type: ignore[arg-type]


def ask(text: str) -> list[Message]:
    return [Message("system", "Answer from the documents."), Message("user", text)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# Chat


def test_streamed_text_arrives_in_order_with_the_servers_usage(fake: FakeOpenAI) -> None:
    deltas: list[str] = []
    result = make_model(fake).chat(ask("What is the capital?"), on_delta=deltas.append)
    assert result.content == "The capital is Paris."
    assert len(deltas) > 3 and "".join(deltas) == result.content
    assert result.prompt_tokens == fake.chat_requests()[0].prompt_tokens
    assert result.completion_tokens > 0
    assert result.done_reason == "stop"
    assert result.endpoint == fake.url
    body = fake.chat_requests()[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.0


def test_max_tokens_cuts_the_reply(fake: FakeOpenAI) -> None:
    result = make_model(fake).chat(ask("a long one"), max_tokens=5)
    assert fake.chat_requests()[0].body["max_tokens"] == 5
    assert result.done_reason == "length"
    assert len(result.content.split()) == 5


def test_a_schema_is_asked_for_as_json_schema(fake: FakeOpenAI) -> None:
    result = make_model(fake).chat(ask("Is this relevant?"), json_schema=SCHEMA)
    sent = fake.chat_requests()[0].body["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": SCHEMA, "strict": False},
    }
    assert json.loads(result.content) == {"relevant": False, "quotes": []}


@pytest.mark.parametrize("status", [422, 500])  # 500: what llama-cpp-python's server says
def test_a_server_without_json_schema_gets_json_object_with_the_schema_from_then_on(
    fake: FakeOpenAI, status: int
) -> None:
    fake.schema_forms = {"json_object"}  # llama-cpp-python's server
    fake.refusal_status = status
    model = make_model(fake)
    first = model.chat(ask("Is this relevant?"), json_schema=SCHEMA)
    model.chat(ask("And this?"), json_schema=SCHEMA)
    forms = [r.body["response_format"]["type"] for r in fake.chat_requests()]
    assert forms == ["json_schema", "json_object", "json_object"]  # one refusal, remembered
    assert fake.chat_requests()[1].body["response_format"]["schema"] == SCHEMA
    assert json.loads(first.content) == {"relevant": False, "quotes": []}
    assert model.structured_form == "json_object_schema"


def test_a_server_without_any_json_mode_is_asked_by_the_prompt_alone(fake: FakeOpenAI) -> None:
    fake.schema_forms = set()
    model = make_model(fake)
    model.chat(ask("Is this relevant?"), json_schema=SCHEMA)
    assert "response_format" not in fake.chat_requests()[-1].body
    assert model.structured_form == "prompt"


def test_an_old_server_refusing_stream_options_is_asked_without_them(fake: FakeOpenAI) -> None:
    fake.strict_options = True
    model = make_model(fake)
    result = model.chat(ask("capital?"))
    model.chat(ask("capital?"))
    assert result.content == "The capital is Paris."
    assert ["stream_options" in r.body for r in fake.chat_requests()] == [True, False, False]


def test_a_server_without_usage_gets_our_own_count(fake: FakeOpenAI) -> None:
    fake.report_usage = False
    result = make_model(fake).chat(ask("What is the capital?"))
    assert result.prompt_tokens == fake.chat_requests()[0].prompt_tokens  # the same count
    assert result.completion_tokens > 0


def test_a_cached_prompt_prefix_is_reported(fake: FakeOpenAI) -> None:
    fake.cache_prefix = True
    model = make_model(fake)
    first = model.chat(ask("What is the capital of France?"))
    second = model.chat(ask("What is the capital of Peru?"))
    assert first.cached_tokens == 0
    assert 0 < second.cached_tokens < second.prompt_tokens


def test_streamed_tool_calls_are_joined_and_parsed(fake: FakeOpenAI) -> None:
    result = make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert fake.chat_requests()[0].body["tools"] == [READ_TOOL]
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("read_documents", {"question": "who?"})
    ]
    assert result.done_reason == "tool_calls"


def test_a_tool_call_written_as_text_is_recovered(fake: FakeOpenAI) -> None:
    written = '{"name": "read_documents", "arguments": {"question": "Who built the lighthouse?"}'
    fake.responder = lambda request: Reply(written)
    result = make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("read_documents", {"question": "Who built the lighthouse?"})
    ]


def test_tool_calls_and_results_go_out_with_matching_ids(fake: FakeOpenAI) -> None:
    history = [
        *ask("needs two hops"),
        Message("assistant", "", (ToolCall("read_documents", {"question": "who?"}),)),
        Message("tool", "Ada [1]", tool_name="read_documents"),
    ]
    make_model(fake).chat(history, tools=[READ_TOOL])
    sent = fake.chat_requests()[0].body["messages"]
    call = sent[2]["tool_calls"][0]
    assert call["type"] == "function"
    assert json.loads(call["function"]["arguments"]) == {"question": "who?"}
    assert sent[3] == {
        "role": "tool",
        "content": "Ada [1]",
        "tool_call_id": call["id"],
        "name": "read_documents",
    }


def test_the_api_key_is_sent_as_a_bearer_token(fake: FakeOpenAI) -> None:
    fake.api_key = "sk-local-123"
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.AUTH_FAILED
    assert "HTTP 401" in caught.value.message and "api_key" in caught.value.hint
    result = make_model(fake, api_key="sk-local-123").chat(ask("capital?"))
    assert result.content == "The capital is Paris."


# ---------------------------------------------------------------------------------------------
# Errors


def test_nothing_listening_is_unreachable_at_once() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()
    with pytest.raises(OllamaError) as caught:
        OpenAIChatModel(url, MODEL, backoff=1.0).chat(ask("capital?"))
    assert time.monotonic() - started < 1.0  # refused: not retried
    assert caught.value.kind == ErrorKind.OLLAMA_UNREACHABLE
    assert caught.value.message == f"No model server is answering at {url}."
    assert caught.value.hint == START_HINT


def test_a_model_the_server_lacks_is_model_missing(fake: FakeOpenAI) -> None:
    with pytest.raises(OllamaError) as caught:
        OpenAIChatModel(fake.url, "llama-70b").chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.MODEL_MISSING
    assert caught.value.message == f"Model llama-70b is not served at {fake.url}."


def test_a_url_without_v1_says_where_the_api_lives(fake: FakeOpenAI) -> None:
    root = fake.url.removesuffix("/v1")
    with pytest.raises(OllamaError) as caught:
        OpenAIChatModel(root, MODEL).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.OLLAMA_ERROR
    assert caught.value.hint == URL_HINT


def test_a_prompt_over_the_servers_window_is_prompt_too_large(fake: FakeOpenAI) -> None:
    fake.window = 64
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital? " * 200))
    assert caught.value.kind == ErrorKind.PROMPT_TOO_LARGE
    assert "maximum context length is 64 tokens" in caught.value.message


def test_a_server_error_is_retried_and_then_succeeds(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(503, "loading model"), times=2)
    result = make_model(fake).chat(ask("capital?"))
    assert result.content == "The capital is Paris."
    assert len(fake.chat_requests()) == 3


def test_a_server_error_that_persists_is_reported_with_the_servers_words(
    fake: FakeOpenAI,
) -> None:
    fake.fail_next(Failure(500, "CUDA out of memory"), times=4)
    with pytest.raises(OllamaError) as caught:
        make_model(fake, retries=3).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.OLLAMA_ERROR
    assert "HTTP 500" in caught.value.message and "CUDA out of memory" in caught.value.message
    assert len(fake.chat_requests()) == 4


def test_a_connection_cut_before_any_text_is_retried(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(mode="hang_up"))
    result = make_model(fake).chat(ask("capital?"))
    assert result.content == "The capital is Paris."


def test_a_reply_cut_after_text_was_shown_is_not_repeated(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(mode="cut"))
    shown: list[str] = []
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"), on_delta=shown.append)
    assert caught.value.kind in (ErrorKind.CONNECTION_LOST, ErrorKind.BAD_REPLY)
    assert len(fake.chat_requests()) == 1
    assert "".join(shown) == "The"


def test_an_event_that_is_not_json_is_bad_reply(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(mode="broken_json"))
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.BAD_REPLY


def test_an_error_event_mid_reply_is_reported(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure(mode="error_event", message="the slot was evicted"))
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.OLLAMA_ERROR
    assert "the slot was evicted" in caught.value.message


# ---------------------------------------------------------------------------------------------
# Cancellation and concurrency


def test_cancel_closes_the_stream_and_the_server_sees_it(fake: FakeOpenAI) -> None:
    fake.token_delay = 0.2  # 60 tokens would take 12 s
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        make_model(fake).chat(ask("a long one"), cancel=token)
    assert time.monotonic() - started < 5.0
    assert fake.wait_for_disconnects(1)


def test_cancel_while_the_server_is_still_reading_the_prompt(fake: FakeOpenAI) -> None:
    fake.latency = 10.0
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        make_model(fake).chat(ask("capital?"), cancel=token)
    assert time.monotonic() - started < 5.0


def test_at_most_max_concurrency_calls_reach_the_server(fake: FakeOpenAI) -> None:
    fake.latency = 0.2
    model = make_model(fake, max_concurrency=2)
    threads = [threading.Thread(target=model.chat, args=(ask("capital?"),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.max_active == 2
    assert model.max_concurrency == 2


# ---------------------------------------------------------------------------------------------
# probe


def test_probe_reports_ready_with_the_servers_window(fake: FakeOpenAI) -> None:
    fake.window = 16384
    status = probe(fake.url, MODEL)
    assert status.ready
    assert status.context_window == 16384
    assert status.models == [MODEL]
    assert "16384-token window" in status.message


def test_probe_of_a_model_not_served_names_the_ones_that_are(fake: FakeOpenAI) -> None:
    status = probe(fake.url, "qwen2:7b-instruct")
    assert status.state == "model_missing"
    assert MODEL in status.hint and f"needle settings model={MODEL}" in status.hint


def test_probe_of_nothing_listening_is_not_running() -> None:
    status = probe(f"http://127.0.0.1:{closed_port()}/v1", MODEL)
    assert status.state == "not_running"
    assert status.hint == START_HINT


def test_probe_of_a_url_without_v1_points_at_it(fake: FakeOpenAI) -> None:
    status = probe(fake.url.removesuffix("/v1"), MODEL)
    assert status.state == "error"
    assert status.hint == URL_HINT


def test_probe_with_a_wrong_key_says_so(fake: FakeOpenAI) -> None:
    fake.api_key = "right"
    status = probe(fake.url, MODEL, api_key="wrong")
    assert status.state == "error" and "HTTP 401" in status.message
    assert probe(fake.url, MODEL, api_key="right").ready


def test_a_server_trickling_bytes_without_finishing_an_event_still_times_out(
    fake: FakeOpenAI,
) -> None:
    """Bytes keep arriving (no read ever times out) but no server-sent event completes: the
    whole-call deadline holds on this backend too (issue 9, item 7)."""
    fake.fail_next(Failure(mode="trickle", seconds=8.0))
    started = time.monotonic()
    with pytest.raises(OllamaError) as caught:
        make_model(fake, timeout=1.0, retries=0).chat(ask("capital?"))
    assert caught.value.kind == ErrorKind.TIMEOUT
    assert time.monotonic() - started < 3.0
