"""OllamaChatModel, probe and pull_model against the fake server through the real ollama client."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, ErrorKind, OllamaError
from engine.llm.budget import PromptBudget
from engine.llm.calibration import TokenCalibration
from engine.llm.ollama.chat import OllamaChatModel
from engine.llm.ollama.server import PullProgress, canonical_model_name, probe, pull_model
from engine.llm.tool_calls import recover_tool_calls
from engine.llm.types import Message
from tests.helpers.fake_ollama import Failure, FakeOllama, Reply, RuleResponder, user_contains

MODEL = "qwen2:7b-instruct"
LONG_REPLY = " ".join(f"token{i}" for i in range(60))
READ_TOOL = {
    "type": "function",
    "function": {
        "name": "read_documents",
        "description": "Answer a sub-question from the documents.",
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string", "description": "The sub-question."}},
            "required": ["question"],
        },
    },
}


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
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
    with FakeOllama(responder) as server:
        yield server


def make_model(fake: FakeOllama, **kwargs: object) -> OllamaChatModel:
    options: dict[str, object] = {"backoff": 0.05, **kwargs}
    return OllamaChatModel(fake.url, MODEL, **options)  # type: ignore[arg-type]


def ask(text: str) -> list[Message]:
    return [Message("system", "Answer from the documents."), Message("user", text)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cancel_after(seconds: float) -> CancelToken:
    token = CancelToken()
    timer = threading.Timer(seconds, token.cancel)
    timer.daemon = True
    timer.start()
    return token


# ---------------------------------------------------------------------------------------------
# Chat


def test_streamed_text_arrives_in_order_and_matches_the_result(fake: FakeOllama) -> None:
    deltas: list[str] = []
    result = make_model(fake).chat(ask("What is the capital?"), on_delta=deltas.append)
    assert result.content == "The capital is Paris."
    assert len(deltas) > 3
    assert "".join(deltas) == result.content
    assert result.prompt_tokens == fake.chat_requests()[0].prompt_tokens
    assert result.completion_tokens > 0
    assert result.done_reason == "stop"


def test_every_call_sends_window_temperature_and_reply_cap(fake: FakeOllama) -> None:
    model = make_model(fake, context_window=4096, temperature=0.3)
    model.chat(ask("capital?"), max_tokens=200)
    model.chat(ask("capital?"))
    first, second = (r.body for r in fake.chat_requests())
    assert first["options"] == {"num_ctx": 4096, "temperature": 0.3, "num_predict": 200}
    assert second["options"]["num_ctx"] == 4096
    assert first["stream"] is True


def test_max_tokens_cuts_the_reply(fake: FakeOllama) -> None:
    result = make_model(fake).chat(ask("a long one"), max_tokens=5)
    assert result.done_reason == "length"
    assert len(result.content.split()) == 5


def test_structured_output_request_carries_the_schema(fake: FakeOllama) -> None:
    schema = {
        "type": "object",
        "properties": {"information": {"type": "string"}, "keywords": {"type": "array"}},
        "required": ["information", "keywords"],
    }
    result = make_model(fake).chat(ask("Split this question"), json_schema=schema)
    assert fake.chat_requests()[0].body["format"] == schema
    assert result.content == '{"information": "", "keywords": []}'


def test_tool_calls_are_parsed(fake: FakeOllama) -> None:
    result = make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert fake.chat_requests()[0].body["tools"][0]["function"]["name"] == "read_documents"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("read_documents", {"question": "who?"})
    ]


def test_tool_call_markup_streamed_as_text_is_dropped_once_parsed(fake: FakeOllama) -> None:
    call = {"name": "read_documents", "arguments": {"question": "who?"}}
    markup = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
    fake.responder = lambda request: Reply(f"Let me look. {markup}", (call,))
    result = make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert result.content == "Let me look."
    assert [c.name for c in result.tool_calls] == ["read_documents"]


def test_a_tool_call_written_as_text_is_recovered(fake: FakeOllama) -> None:
    # What qwen2.5-coder:0.5b really wrote when told to call the tool: JSON, last brace missing.
    written = '{"name": "read_documents", "arguments": {"question": "Who built the lighthouse?"}'
    fake.responder = lambda request: Reply(written)
    result = make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("read_documents", {"question": "Who built the lighthouse?"})
    ]
    assert result.content == ""


def test_json_text_is_left_alone_when_no_tools_were_offered(fake: FakeOllama) -> None:
    written = '{"name": "read_documents", "arguments": {}}'
    fake.responder = lambda request: Reply(written)
    result = make_model(fake).chat(ask("anything"))
    assert result.tool_calls == ()
    assert result.content == written


@pytest.mark.parametrize(
    ("text", "calls", "rest"),
    [
        (
            'Checking. <tool_call>{"name": "read_documents", "arguments": {"question": "a \\" b"}}'
            "</tool_call>",
            [("read_documents", {"question": 'a " b'})],
            "Checking.",
        ),
        (
            '```json\n{"name": "read_documents", "arguments": "{\\"question\\": \\"x\\"}"}\n```',
            [("read_documents", {"question": "x"})],
            "",
        ),
        ('{"name": "delete_everything", "arguments": {}}', [], None),
        ("The lighthouse was built in 1850 [1].", [], None),
        (
            '{"name": "read_documents", "arguments": {}} Then more.',
            [("read_documents", {})],
            "Then more.",
        ),
    ],
)
def test_recover_tool_calls(
    text: str, calls: list[tuple[str, dict[str, str]]], rest: str | None
) -> None:
    recovered, remaining = recover_tool_calls(text, {"read_documents"})
    assert [(c.name, c.arguments) for c in recovered] == calls
    assert remaining == (text if rest is None else rest)


def test_a_missing_model_says_how_to_pull_it(fake: FakeOllama) -> None:
    model = OllamaChatModel(fake.url, "qwen2:72b")
    with pytest.raises(OllamaError) as caught:
        model.chat(ask("capital?"))
    assert caught.value.kind == "model_missing"
    assert caught.value.message == "Model qwen2:72b is not pulled."
    assert caught.value.hint == "Run `ollama pull qwen2:72b` or pull it from the app."


def test_nothing_listening_is_ollama_unreachable_without_retrying() -> None:
    host = f"http://127.0.0.1:{closed_port()}"
    model = OllamaChatModel(host, MODEL, backoff=1.0)
    started = time.monotonic()
    with pytest.raises(OllamaError) as caught:
        model.chat(ask("capital?"))
    assert time.monotonic() - started < 1.0
    assert caught.value.kind == "ollama_unreachable"
    assert caught.value.message == f"Ollama is not running at {host}."
    assert "ollama serve" in caught.value.hint


def test_a_single_server_error_is_retried(fake: FakeOllama) -> None:
    fake.fail_next(Failure(500, "model runner crashed"))
    result = make_model(fake).chat(ask("capital?"))
    assert result.content == "The capital is Paris."
    assert len(fake.chat_requests()) == 2


def test_a_persistent_server_error_gives_up_after_the_retries(fake: FakeOllama) -> None:
    fake.fail_next(Failure(503, "busy"), times=10)
    with pytest.raises(OllamaError) as caught:
        make_model(fake, retries=2).chat(ask("capital?"))
    assert "HTTP 503" in caught.value.message and "busy" in caught.value.message
    assert len(fake.chat_requests()) == 3


def test_a_client_error_is_not_retried(fake: FakeOllama) -> None:
    fake.fail_next(Failure(400, "invalid format"))
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"))
    assert caught.value.kind == "ollama_error"
    assert "invalid format" in caught.value.message
    assert len(fake.chat_requests()) == 1


def test_a_model_without_tools_is_told_apart_by_its_kind_not_its_words(fake: FakeOllama) -> None:
    fake.fail_next(Failure(400, f"registry.ollama.ai/library/{MODEL} does not support tools"))
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("needs two hops"), tools=[READ_TOOL])
    assert caught.value.kind is ErrorKind.TOOLS_UNSUPPORTED
    assert len(fake.chat_requests()) == 1


def test_a_dropped_connection_is_retried(fake: FakeOllama) -> None:
    fake.fail_next(Failure(mode="hang_up"))
    assert make_model(fake).chat(ask("capital?")).content == "The capital is Paris."


@pytest.mark.parametrize("mode", ["broken_json", "empty_stream"])
def test_a_broken_stream_is_a_bad_reply(fake: FakeOllama, mode: str) -> None:
    fake.fail_next(Failure(mode=mode))
    with pytest.raises(OllamaError) as caught:
        make_model(fake).chat(ask("capital?"))
    assert caught.value.kind == "bad_reply"


def test_cancel_from_another_thread_stops_a_slow_stream(fake: FakeOllama) -> None:
    fake.token_delay = 0.2  # 60 pieces would take 12 s
    deltas: list[str] = []
    started = time.monotonic()
    with pytest.raises(Cancelled):
        make_model(fake).chat(ask("a long one"), on_delta=deltas.append, cancel=cancel_after(0.5))
    assert time.monotonic() - started < 1.0
    assert 0 < len(deltas) < 10
    assert fake.wait_for_disconnects(1, timeout=2.0)


def test_cancel_while_the_server_is_still_reading_the_prompt(fake: FakeOllama) -> None:
    fake.first_token_delay = 5.0
    started = time.monotonic()
    with pytest.raises(Cancelled):
        make_model(fake).chat(ask("capital?"), cancel=cancel_after(0.3))
    assert time.monotonic() - started < 1.0


def test_an_already_cancelled_call_sends_nothing(fake: FakeOllama) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        make_model(fake).chat(ask("capital?"), cancel=token)
    assert fake.chat_requests() == []


def test_a_silent_server_times_out(fake: FakeOllama) -> None:
    fake.first_token_delay = 3.0
    started = time.monotonic()
    with pytest.raises(OllamaError) as caught:
        make_model(fake, timeout=0.5).chat(ask("capital?"))
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 1.5


def test_a_reply_still_streaming_at_the_deadline_times_out(fake: FakeOllama) -> None:
    fake.token_delay = 0.1  # each gap is short, the whole reply is 6 s
    with pytest.raises(OllamaError) as caught:
        make_model(fake, timeout=0.6).chat(ask("a long one"))
    assert caught.value.kind == "timeout"
    assert "0.6 s" in caught.value.message


def test_a_server_trickling_bytes_without_a_newline_still_times_out(fake: FakeOllama) -> None:
    """Bytes keep arriving (no read ever times out) but no NDJSON line completes: the whole-call
    deadline must hold however the bytes arrive (issue 9, item 7)."""
    fake.fail_next(Failure(mode="trickle", seconds=8.0))
    started = time.monotonic()
    with pytest.raises(OllamaError) as caught:
        make_model(fake, timeout=1.0).chat(ask("capital?"))
    assert caught.value.kind == "timeout" and "1 s" in caught.value.message
    assert time.monotonic() - started < 3.0


def test_an_over_budget_prompt_is_rejected_by_the_fake_and_caught_by_the_budget(
    fake: FakeOllama,
) -> None:
    messages = ask("capital? " + "alpha " * 3000)
    with pytest.raises(OllamaError) as caught:
        make_model(fake, context_window=2048).chat(messages)
    assert "over num_ctx 2048" in caught.value.message
    assert len(fake.rejections) == 1
    with pytest.raises(Exception, match="prompt needs about"):
        PromptBudget(2048, 512).check(messages)


def test_calibration_follows_the_servers_token_counts(fake: FakeOllama, tmp_path: Path) -> None:
    """For a model whose tokenizer Needle does not have (a Qwen model is counted exactly, and
    the fake counts it so too), the estimate learns the server's counts."""
    other = "llama3.1:8b"
    fake.models.append(other)
    fake.token_factor = 1.4
    path = tmp_path / "calibration.json"
    model = OllamaChatModel(fake.url, other, calibration=TokenCalibration(path), backoff=0.05)
    for _ in range(6):
        model.chat(ask("capital? " + "alpha beta gamma " * 40))
    assert model.token_ratio == pytest.approx(1.4, abs=0.03)
    assert TokenCalibration(path).ratio(other) == pytest.approx(1.4, abs=0.03)


def test_concurrency_is_bounded_per_model(fake: FakeOllama) -> None:
    fake.token_delay = 0.02
    model = make_model(fake, max_concurrency=2)
    errors: list[BaseException] = []

    def one_call() -> None:
        try:
            model.chat(ask("capital?"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert len(fake.chat_requests()) == 6
    assert fake.max_active == 2


def test_waiting_for_a_free_slot_can_be_cancelled(fake: FakeOllama) -> None:
    fake.token_delay = 0.2
    model = make_model(fake, max_concurrency=1)

    def occupy_the_slot() -> None:
        with contextlib.suppress(Cancelled):
            model.chat(ask("a long one"), cancel=cancel_after(1.0))

    busy = threading.Thread(target=occupy_the_slot)
    busy.start()
    time.sleep(0.2)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        model.chat(ask("capital?"), cancel=cancel_after(0.2))
    assert time.monotonic() - started < 0.6
    busy.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# Probe and pull


def test_probe_reports_ready_with_models_and_version(fake: FakeOllama) -> None:
    status = probe(fake.url, MODEL)
    assert status.state == "ready"
    assert MODEL in status.models
    assert status.version == "0.6.0-fake"


def test_probe_follows_ollamas_name_rules(fake: FakeOllama) -> None:
    assert probe(fake.url, "qwen2").state == "model_missing"  # qwen2 means qwen2:latest
    fake.models.append("qwen2:latest")
    assert probe(fake.url, "qwen2").state == "ready"
    assert probe(fake.url, "library/QWEN2:latest").state == "ready"
    assert canonical_model_name("registry.ollama.ai/library/qwen2") == "qwen2:latest"
    assert canonical_model_name("me/custom") == "me/custom:latest"


def test_probe_says_what_to_do_when_the_model_is_missing(fake: FakeOllama) -> None:
    status = probe(fake.url, "llama3:8b")
    assert status.state == "model_missing"
    assert status.hint == "Run `ollama pull llama3:8b` or pull it from the app."


def test_probe_of_a_closed_port_is_not_running() -> None:
    status = probe(f"http://127.0.0.1:{closed_port()}", MODEL)
    assert status.state == "not_running"
    assert "ollama serve" in status.hint


def test_pull_reports_progress_and_the_model_becomes_ready(fake: FakeOllama) -> None:
    progress: list[PullProgress] = []
    pull_model(fake.url, "qwen2", on_progress=progress.append)
    assert progress[0].status == "pulling manifest"
    fractions = [p.fraction for p in progress if p.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert progress[-1].status == "success"
    assert probe(fake.url, "qwen2").state == "ready"


def test_pulling_an_unknown_model_fails_with_the_servers_reason(fake: FakeOllama) -> None:
    with pytest.raises(OllamaError) as caught:
        pull_model(fake.url, "no-such-model:1b", on_progress=lambda p: None)
    assert caught.value.kind == "pull_failed"
    assert "file does not exist" in caught.value.message


def test_a_pull_can_be_cancelled(fake: FakeOllama) -> None:
    fake.pull_step_delay = 0.3
    started = time.monotonic()
    with pytest.raises(Cancelled):
        pull_model(fake.url, "qwen2", on_progress=lambda p: None, cancel=cancel_after(0.5))
    assert time.monotonic() - started < 1.0
    assert probe(fake.url, "qwen2").state == "model_missing"
