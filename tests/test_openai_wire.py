"""The OpenAI wire format on its own: server-sent events read back, streamed tool calls joined,
endpoint lines."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from engine.endpoints import Endpoint, parse_endpoint
from engine.llm.openai.wire import StreamState, sse_data

payloads = st.lists(
    st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=20), max_size=3),
    max_size=6,
)


@given(payloads, st.lists(st.booleans(), max_size=12), st.sampled_from(["data: ", "data:"]))
def test_events_come_back_whatever_comments_and_spacing_surround_them(
    events: list[dict[str, str]], pings: list[bool], prefix: str
) -> None:
    lines: list[str] = []
    for index, event in enumerate(events):
        if index < len(pings) and pings[index]:
            lines += [": ping", ""]  # keep-alive comments between events
        lines += [prefix + json.dumps(event), ""]
    assert [json.loads(data) for data in sse_data(lines)] == events


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert list(sse_data(["data: a", "data: b", "", "data: c"])) == ["a\nb", "c"]


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=4), st.integers(1, 9))
def test_tool_call_arguments_split_anywhere_are_joined(arguments: dict[str, str], cut: int) -> None:
    text = json.dumps(arguments)
    pieces = [text[i : i + cut] for i in range(0, len(text), cut)] or [""]
    state = StreamState()
    first = {"index": 0, "id": "call_0", "function": {"name": "read", "arguments": pieces[0]}}
    state.take({"choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
    for piece in pieces[1:]:
        rest = {"index": 0, "function": {"arguments": piece}}
        state.take({"choices": [{"index": 0, "delta": {"tool_calls": [rest]}}]})
    (call,) = state.tool_calls()
    assert call.name == "read" and call.arguments == arguments


def test_unbalanced_tool_arguments_from_a_small_model_are_repaired() -> None:
    state = StreamState()
    call = {"index": 0, "function": {"name": "read", "arguments": '{"question": "who?"'}}
    state.take({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    assert state.tool_calls()[0].arguments == {"question": "who?"}


@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
    st.integers(1, 65535),
    st.booleans(),
    st.integers(1, 256),
)
def test_an_endpoint_line_round_trips(
    scheme: str, host: str, port: int, openai: bool, slots: int
) -> None:
    url = f"{scheme}://{host}:{port}" + ("/v1" if openai else "")
    endpoint = parse_endpoint(f"{url} x{slots}", 4)
    assert endpoint == Endpoint(url, "openai" if openai else "ollama", slots)
    assert parse_endpoint(endpoint.spec(), 4) == endpoint
