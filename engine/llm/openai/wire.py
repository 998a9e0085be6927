"""The OpenAI chat-completions wire format: our messages as its JSON, and its streamed reply
(server-sent events) read back into text, tool calls and usage."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.llm.tool_calls import recover_tool_calls
from engine.llm.types import Message, ToolCall

DONE = "[DONE]"


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """OpenAI wants an id on every tool call and the same id on the tool message that answers
    it; ours pair them by order, so the ids are made up here in that order."""
    converted: list[dict[str, Any]] = []
    pending: list[str] = []  # ids of calls not yet answered, oldest first
    for number, message in enumerate(messages):
        data: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            ids = [f"call_{number}_{i}" for i in range(len(message.tool_calls))]
            pending.extend(ids)
            data["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": json.dumps(call.arguments, ensure_ascii=False),
                    },
                }
                for call_id, call in zip(ids, message.tool_calls, strict=True)
            ]
        if message.role == "tool":
            data["tool_call_id"] = pending.pop(0) if pending else f"call_{number}"
            if message.tool_name:
                data["name"] = message.tool_name
        converted.append(data)
    return converted


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The `data` of each server-sent event, multi-line data joined with newlines (the SSE
    rules: fields per line, a blank line ends an event, lines starting with ':' are comments,
    which servers send as keep-alive pings)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


@dataclass
class _PartialCall:
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamState:
    """What the chunks of one reply said so far."""

    finish_reason: str = ""
    done: bool = False  # the [DONE] event arrived
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    calls: dict[int, _PartialCall] = field(default_factory=dict)

    def take(self, chunk: dict[str, Any]) -> str:
        """Fold one chunk in; returns its text (possibly empty)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            self.timings = chunk["timings"]  # llama.cpp's server
        text = ""
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                text += delta["content"]
            for call in delta.get("tool_calls") or ():
                self._take_call(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        return text

    def _take_call(self, call: dict[str, Any]) -> None:
        # The first delta of a call carries its name; its arguments arrive in pieces.
        partial = self.calls.setdefault(int(call.get("index", len(self.calls))), _PartialCall())
        function = call.get("function") or {}
        if function.get("name"):
            partial.name = str(function["name"])
        if isinstance(function.get("arguments"), str):
            partial.arguments.append(function["arguments"])
        elif isinstance(function.get("arguments"), dict):  # some servers send an object
            partial.arguments.append(json.dumps(function["arguments"]))

    @property
    def finished(self) -> bool:
        return self.done or bool(self.finish_reason)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        calls = []
        for index in sorted(self.calls):
            partial = self.calls[index]
            if partial.name:
                calls.append(ToolCall(partial.name, _arguments("".join(partial.arguments))))
        return tuple(calls)

    def prompt_tokens(self) -> int:
        return _int(self.usage.get("prompt_tokens"))

    def completion_tokens(self) -> int:
        return _int(self.usage.get("completion_tokens"))

    def cached_tokens(self) -> int:
        """OpenAI's usage.prompt_tokens_details.cached_tokens (vLLM, SGLang), else llama.cpp's
        timings.cache_n."""
        details = self.usage.get("prompt_tokens_details")
        if isinstance(details, dict) and _int(details.get("cached_tokens")):
            return _int(details.get("cached_tokens"))
        return _int(self.timings.get("cache_n"))


def _arguments(text: str) -> dict[str, Any]:
    """A call's arguments: JSON text, repaired like a call written as text when a small model
    left it unbalanced."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        value = _recovered(text)
    return value if isinstance(value, dict) else {}


def _recovered(text: str) -> Any:
    wrapped = '{"name": "_", "arguments": ' + text
    calls, _ = recover_tool_calls(wrapped, {"_"})
    return calls[0].arguments if calls else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
