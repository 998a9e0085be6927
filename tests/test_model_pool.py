"""PooledChatModel and the plan that builds it: Level 2's reads spread over several servers, a
failed call moving to another, a failed server health-checked before it gets work again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from engine.endpoints import Endpoint, backend_for_url, parse_endpoint
from engine.errors import ErrorKind, NeedleError, OllamaError
from engine.llm.connect import ModelPlan, check_endpoints, open_chat_model, probe_endpoint
from engine.llm.openai.chat import OpenAIChatModel
from engine.llm.pool import Member, PooledChatModel
from engine.llm.types import Message
from engine.settings import Settings
from tests.helpers.fake_ollama import FakeOllama, Reply
from tests.helpers.fake_openai import Failure, FakeOpenAI

MODEL = "qwen2.5-7b-instruct"


def ask(text: str = "capital?") -> list[Message]:
    return [Message("system", "Answer."), Message("user", text)]


@pytest.fixture
def servers() -> Iterator[list[FakeOpenAI]]:
    fakes = [FakeOpenAI(lambda r: Reply("Paris.")) for _ in range(3)]
    for fake in fakes:
        fake.start()
    yield fakes
    for fake in fakes:
        fake.stop()


def pool_of(fakes: list[FakeOpenAI], slots: int = 2, **kwargs: object) -> PooledChatModel:
    members = [
        Member(
            Endpoint(f.url, "openai", slots),
            OpenAIChatModel(f.url, MODEL, max_concurrency=slots, retries=0, backoff=0.01),
        )
        for f in fakes
    ]
    return PooledChatModel(
        members,
        probe=lambda e: probe_endpoint(e, MODEL),
        **kwargs,  # type: ignore[arg-type]
    )


def run_in_threads(pool: PooledChatModel, calls: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def one() -> None:
        try:
            pool.chat(ask())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_calls_spread_over_every_server_within_each_ones_slots(
    servers: list[FakeOpenAI],
) -> None:
    for fake in servers:
        fake.latency = 0.3
    pool = pool_of(servers, slots=2)
    assert pool.max_concurrency == 6
    started = time.monotonic()
    assert run_in_threads(pool, 12) == []
    elapsed = time.monotonic() - started
    assert [len(f.chat_requests()) for f in servers] == [4, 4, 4]
    assert all(f.max_active <= 2 for f in servers)
    assert elapsed < 12 * 0.3 / 2  # far faster than one server with two slots


def test_a_server_that_is_down_loses_its_calls_to_the_others(servers: list[FakeOpenAI]) -> None:
    pool = pool_of(servers)
    servers[0].stop()
    assert run_in_threads(pool, 6) == []
    assert sum(m.calls for m in pool.members) == 6
    assert pool.members[0].calls == 0 and pool.members[0].down_until > 0


def test_a_failed_call_moves_to_another_server(servers: list[FakeOpenAI]) -> None:
    pool = pool_of(servers[:2])
    servers[0].fail_next(Failure(500, "out of memory"))
    result = pool.chat(ask())
    assert result.content == "Paris."
    assert result.endpoint == servers[1].url
    assert pool.members[0].failures == 1


def test_a_call_that_already_showed_text_is_not_moved(servers: list[FakeOpenAI]) -> None:
    pool = pool_of(servers[:2])
    servers[0].responder = lambda r: Reply("Paris is the capital.")
    servers[0].fail_next(Failure(mode="cut"))
    shown: list[str] = []
    with pytest.raises(OllamaError):
        pool.chat(ask(), on_delta=shown.append)
    assert shown == ["Paris"]
    assert servers[1].chat_requests() == []


def test_a_request_error_is_not_moved(servers: list[FakeOpenAI]) -> None:
    for fake in servers:
        fake.window = 32
    pool = pool_of(servers)
    with pytest.raises(OllamaError) as caught:
        pool.chat(ask("capital? " * 50))
    assert caught.value.kind == ErrorKind.PROMPT_TOO_LARGE
    assert sum(len(f.chat_requests()) for f in servers) == 1


def test_when_every_server_fails_the_last_error_is_raised(servers: list[FakeOpenAI]) -> None:
    pool = pool_of(servers[:2])
    for fake in servers[:2]:
        fake.fail_next(Failure(500, "disk full"))
    with pytest.raises(OllamaError) as caught:
        pool.chat(ask())
    assert caught.value.kind == ErrorKind.OLLAMA_ERROR
    assert "None of the 2 model servers could answer" in caught.value.message
    assert "disk full" in caught.value.message


def test_a_rested_server_is_health_checked_before_it_gets_work(
    servers: list[FakeOpenAI],
) -> None:
    pool = pool_of(servers[:2], cooldown=0.05)
    pool.take_down(pool.members[0], OllamaError(ErrorKind.OLLAMA_UNREACHABLE, "down"))
    time.sleep(0.1)
    pool.chat(ask())
    checks = [r for r in servers[0].requests if r.path == "/v1/models"]
    assert len(checks) == 1  # probed once, then used again
    assert pool.members[0].down_until == 0.0


def test_cancel_while_waiting_for_a_slot(servers: list[FakeOpenAI]) -> None:
    from engine.cancel import CancelToken
    from engine.errors import Cancelled

    servers[0].latency = 2.0
    pool = pool_of(servers[:1], slots=1)
    busy = threading.Thread(target=pool.chat, args=(ask(),))
    busy.start()
    time.sleep(0.2)
    token = CancelToken()
    threading.Timer(0.2, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        pool.chat(ask(), cancel=token)
    assert time.monotonic() - started < 1.5
    busy.join()


# ---------------------------------------------------------------------------------------------
# Endpoints and the plan


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://127.0.0.1:11434", Endpoint("http://127.0.0.1:11434", "ollama", 4)),
        ("http://gpu:8000/v1 x8", Endpoint("http://gpu:8000/v1", "openai", 8)),
        ("http://gpu:8000/v1/ ×2", Endpoint("http://gpu:8000/v1", "openai", 2)),
        ("https://lm.example/v1", Endpoint("https://lm.example/v1", "openai", 4)),
    ],
)
def test_endpoint_lines(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text, 4) == expected


@pytest.mark.parametrize("text", ["gpu:8000", "http://gpu x0", "http://a x2 x3", "ftp://a/v1"])
def test_bad_endpoint_lines_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text, 4)


def test_a_url_ending_in_v1_is_openai_compatible() -> None:
    assert backend_for_url("http://127.0.0.1:8000/v1") == "openai"
    assert backend_for_url("http://127.0.0.1:11434") == "ollama"


def test_the_plan_follows_the_settings() -> None:
    settings = Settings(
        backend="openai",
        openai_url="http://a:8000/v1",
        endpoints=["http://b:8000/v1 x8", "http://c:11434"],
        parallel_requests=3,
        reader_model="small",
    )
    plan = ModelPlan.from_settings(settings)
    assert plan.endpoints == (
        Endpoint("http://a:8000/v1", "openai", 3),
        Endpoint("http://b:8000/v1", "openai", 8),
        Endpoint("http://c:11434", "ollama", 3),
    )
    assert plan.reader_model == "small" and plan.reader_endpoints == plan.endpoints
    assert plan.uses_openai


def test_command_line_hosts_replace_the_settings_servers() -> None:
    plan = ModelPlan.from_settings(
        Settings(endpoints=["http://b:8000/v1"]),
        hosts=["http://127.0.0.1:8000/v1", "localhost:11434 x2"],
        model="m",
        reader_model="r",
        reader_hosts=["http://r:8001/v1"],
    )
    assert [(e.url, e.backend, e.slots) for e in plan.endpoints] == [
        ("http://127.0.0.1:8000/v1", "openai", 4),
        ("http://localhost:11434", "ollama", 2),
    ]
    assert plan.model == "m" and plan.reader_endpoints == (
        Endpoint("http://r:8001/v1", "openai", 4),
    )


def test_a_host_that_is_not_a_url_is_a_user_error() -> None:
    with pytest.raises(NeedleError) as caught:
        ModelPlan.from_settings(Settings(), hosts=["http:// x9"])
    assert caught.value.kind == ErrorKind.INVALID_ARGUMENT


def test_mixed_servers_make_one_pool_and_a_down_one_rests(servers: list[FakeOpenAI]) -> None:
    with FakeOllama(lambda r: Reply("Lima.")) as ollama:
        endpoints = [
            Endpoint(servers[0].url, "openai", 2),
            Endpoint(ollama.url, "ollama", 2),
            Endpoint("http://127.0.0.1:9/v1", "openai", 2),
        ]
        statuses = check_endpoints(endpoints, "qwen2:7b-instruct")
        servers[0].models = ["qwen2:7b-instruct"]
        statuses = check_endpoints(endpoints, "qwen2:7b-instruct")
        model = open_chat_model("qwen2:7b-instruct", endpoints, statuses, settings=Settings())
        assert isinstance(model, PooledChatModel)
        assert [s.state for s in statuses] == ["ready", "ready", "not_running"]
        assert model.members[2].down_until > 0
        assert model.max_concurrency == 6
        servers[0].latency = ollama.first_token_delay = 0.3
        assert run_in_threads(model, 4) == []
        assert len(servers[0].chat_requests()) == 2 and len(ollama.chat_requests()) == 2
        model.close()


def test_no_ready_server_raises_the_first_ones_error() -> None:
    endpoints = [Endpoint("http://127.0.0.1:9/v1", "openai", 2)]
    statuses = check_endpoints(endpoints, MODEL)
    with pytest.raises(OllamaError) as caught:
        open_chat_model(MODEL, endpoints, statuses, settings=Settings())
    assert caught.value.kind == ErrorKind.OLLAMA_UNREACHABLE
