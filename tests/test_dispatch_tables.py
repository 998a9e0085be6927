"""Tables that dispatch on a name are complete: the service answers every protocol method, the
steps timeline shows every agent event type, docs/protocol.md documents every method and topic.
(Every error kind having a desktop title is tested in tests/test_errors.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.steps_timeline import StepsTimeline
from engine.agent.events import EVENT_TYPES, AnswerDelta
from engine.errors import ErrorKind
from engine.service.protocol import CONTROL_METHODS, PROTOCOL_VERSION, Method, Topic
from engine.service.server import Service
from tests.helpers.service import FakeEngine
from tests.test_service import Output, send

PROTOCOL_DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text("utf-8")


@pytest.mark.parametrize("method", sorted(set(Method) - CONTROL_METHODS))
def test_the_service_has_a_handler_for_every_method(method: Method) -> None:
    output = Output()
    service = Service(FakeEngine(), output, data_dir="/d", background=False)
    send(service, 1, Method.HANDSHAKE, protocol=PROTOCOL_VERSION)
    try:
        send(service, 2, method)  # no params: a handler may refuse them, but it must exist
        reply = output.final(2)
        assert reply.get("error", {}).get("kind") != ErrorKind.UNKNOWN_METHOD, json.dumps(reply)
    finally:
        service.close()


def test_the_steps_timeline_handles_every_agent_event() -> None:
    # Streamed answer text goes to the answer view, not the step list.
    shown_elsewhere = {AnswerDelta.type}
    assert set(StepsTimeline()._handlers()) == set(EVENT_TYPES) - shown_elsewhere


@pytest.mark.parametrize("method", sorted(Method))
def test_docs_protocol_documents_every_method(method: Method) -> None:
    if method in CONTROL_METHODS - {Method.PING, Method.SHUTDOWN}:
        assert f"`{method}`" in PROTOCOL_DOC  # handshake and cancel have sections of their own
    else:
        assert f"### `{method}`" in PROTOCOL_DOC


@pytest.mark.parametrize("topic", sorted(Topic))
def test_docs_protocol_documents_every_topic(topic: Topic) -> None:
    assert f"| `{topic}` |" in PROTOCOL_DOC
