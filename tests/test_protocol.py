"""The protocol codec: what one end encodes, the other decodes to the same message."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.agent.events import Answer, Citation, event_from_dict
from engine.errors import NeedleError
from engine.service.protocol import (
    METHODS,
    PROTOCOL_VERSION,
    BadMessage,
    ErrorInfo,
    ErrorReply,
    EventReply,
    Method,
    Notification,
    ProgressReply,
    Request,
    ResultReply,
    decode_reply,
    decode_request,
    encode,
    handshake_params,
    to_jsonable,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)


@given(st.integers(min_value=0), st.sampled_from(sorted(METHODS)), json_objects)
def test_request_round_trip(request_id: int, method: str, params: dict[str, object]) -> None:
    request = Request(request_id, method, params)
    assert decode_request(encode(request)) == request


@given(st.integers(min_value=0), json_objects, json_values)
def test_reply_round_trip(request_id: int, data: dict[str, object], value: object) -> None:
    for reply in (
        EventReply(request_id, data),
        ProgressReply(request_id, data),
        ResultReply(request_id, value),
        ErrorReply(request_id, ErrorInfo("internal", "message", "hint")),
        ErrorReply(None, ErrorInfo("bad_request", "no id")),
        Notification("index_changed", data),
    ):
        assert decode_reply(encode(reply)) == reply


@given(json_objects)
def test_every_message_is_exactly_one_line(data: dict[str, object]) -> None:
    line = encode(EventReply(1, {**data, "text": "two\nlines\r\nand \u2028 more"}))
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1


def test_chinese_text_is_sent_as_utf8_not_escaped() -> None:
    line = encode(ResultReply(3, {"title": "中文笔记"}))
    assert "中文笔记".encode() in line
    assert decode_reply(line) == ResultReply(3, {"title": "中文笔记"})


def test_wire_format_matches_the_documented_shape() -> None:
    assert json.loads(
        encode(Request(1, "handshake", handshake_params("needle-desktop 0.1.0")))
    ) == {
        "id": 1,
        "method": "handshake",
        "params": {"protocol": PROTOCOL_VERSION, "client": "needle-desktop 0.1.0"},
    }
    assert json.loads(encode(ProgressReply(7, {"done": 1}))) == {
        "id": 7,
        "type": "progress",
        "progress": {"done": 1},
    }
    assert json.loads(encode(ErrorReply(7, ErrorInfo("cancelled", "Cancelled.")))) == {
        "id": 7,
        "type": "error",
        "error": {"kind": "cancelled", "message": "Cancelled.", "hint": ""},
    }
    assert json.loads(encode(Notification("ollama", {"running": True}))) == {
        "type": "notify",
        "topic": "ollama",
        "data": {"running": True},
    }


def test_agent_events_survive_the_trip() -> None:
    answer = Answer(
        text="It is 42 [1].",
        citations=(Citation(1, "c1", "/n/a.pdf", "A", "text", ((0, 4),), page=3),),
        level=2,
        llm_calls=4,
        prompt_tokens=900,
        completion_tokens=40,
        seconds=1.5,
    )
    reply = decode_reply(encode(EventReply(5, to_jsonable(answer))))
    assert isinstance(reply, EventReply)
    assert event_from_dict(reply.event) == answer


def test_engine_objects_are_converted_while_encoding() -> None:
    hit = {"path": Path("/a/b.md"), "score": math.inf, "answer": Citation(1, "c", "/p", "t", "x")}
    reply = decode_reply(encode(ResultReply(4, {"hits": [hit], "tags": frozenset({"x"})})))
    assert isinstance(reply, ResultReply)
    (sent,) = reply.result["hits"]
    assert sent["path"] == "/a/b.md"
    assert sent["score"] is None, "JSON has no infinity; it is sent as null"
    assert sent["answer"]["chunk_id"] == "c"
    assert reply.result["tags"] == ["x"]
    with pytest.raises(TypeError, match="cannot send a object"):
        encode(ResultReply(5, {"thing": object()}))


def test_results_are_made_jsonable() -> None:
    converted = to_jsonable({"path": Path("/a/b"), "pair": (1, 2), "score": math.nan})
    assert converted == {"path": "/a/b", "pair": [1, 2], "score": None}
    with pytest.raises(TypeError, match="object"):
        to_jsonable(object())


@pytest.mark.parametrize(
    ("line", "message", "request_id"),
    [
        (b"not json at all", "not JSON", None),
        (b"\xff\xfe garbage", "not valid UTF-8", None),
        (b"[1, 2]", "not an object", None),
        (b'{"method": "ping"}', "no usable 'id' (missing)", None),
        (b'{"id": "7", "method": "ping"}', "'7', not an integer", None),
        (b'{"id": true, "method": "ping"}', "not an integer", None),
        (b'{"id": 4}', "no 'method'", 4),
        (b'{"id": 4, "method": "search", "params": [1]}', "'params' must be an object", 4),
    ],
)
def test_malformed_requests_say_what_is_wrong(
    line: bytes, message: str, request_id: int | None
) -> None:
    with pytest.raises(BadMessage, match=re.escape(message)) as caught:
        decode_request(line)
    assert caught.value.kind == "bad_request"
    assert caught.value.request_id == request_id


def test_missing_params_mean_no_params() -> None:
    assert decode_request(b'{"id": 2, "method": "ping"}') == Request(2, Method.PING, {})
    assert decode_request(b'{"id": 2, "method": "ping", "params": null}').params == {}


def test_malformed_replies_are_refused() -> None:
    for line in (b'{"type": "result"}', b'{"id": 1, "type": "event"}', b'{"id": 1, "type": "x"}'):
        with pytest.raises(BadMessage):
            decode_reply(line)


def test_error_info_carries_needle_errors() -> None:
    error = NeedleError("model_missing", "qwen2 is not pulled.", "Run needle pull.")
    info = ErrorInfo.from_error(error)
    assert info.to_error().to_dict() == error.to_dict()
