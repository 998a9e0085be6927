"""Tool calls a model wrote as text instead of native calls (Qwen2's `<tool_call>` markup, a JSON
block), recovered into `ToolCall`s."""

from __future__ import annotations

import json
import re
from typing import Any

from engine.llm.types import ToolCall

# Qwen2 writes tool calls as <tool_call>{json}</tool_call>. Ollama parses them into
# message.tool_calls and drops the markup; servers that stream the raw text as well (ollama-compat)
# would leave it in the content, so it is dropped here too once the calls were parsed.
TOOL_CALL_MARKUP = re.compile(r"<tool_call>.*?(?:</tool_call>|$)", re.S)


_FENCED_JSON = re.compile(r"```(?:json)?\s*(\{.*?)(?:```|$)", re.S)
_CLOSERS = {"{": "}", "[": "]"}


def settle_tool_calls(
    content: str, native: tuple[ToolCall, ...], tools: list[dict[str, Any]] | None
) -> tuple[tuple[ToolCall, ...], str]:
    """The calls and text of a finished reply: native calls with any `<tool_call>` markup the
    server also streamed as text dropped, else the calls the model wrote as text (when tools were
    offered)."""
    if native:
        return native, TOOL_CALL_MARKUP.sub("", content).strip()
    if tools:
        return recover_tool_calls(content, tool_names(tools))
    return (), content


def recover_tool_calls(text: str, tool_names: set[str]) -> tuple[tuple[ToolCall, ...], str]:
    """Tool calls a model wrote as text instead of native calls — `<tool_call>{…}</tool_call>`
    blocks, a ```json block, or a reply that starts with a JSON object — whose "name" is one of
    the offered tools. Small models often drop the last closing brace, so unbalanced JSON is
    closed before parsing. Returns the calls and the text that remains; no calls and `text`
    unchanged when nothing qualifies."""
    spans = [(*m.span(0), m.group(0)) for m in TOOL_CALL_MARKUP.finditer(text)]
    spans += [(*m.span(0), m.group(1)) for m in _FENCED_JSON.finditer(text)]
    stripped = text.lstrip()
    if not spans and stripped.startswith("{"):
        start = len(text) - len(stripped)
        spans = [(start, start + len(_balanced(stripped)[1]), stripped)]
    calls: list[ToolCall] = []
    remaining = text
    for start, end, candidate in sorted(spans, reverse=True):
        call = _parse_call(candidate.replace("<tool_call>", "").replace("</tool_call>", ""))
        if call is not None and call.name in tool_names:
            calls.insert(0, call)
            remaining = remaining[:start] + remaining[end:]
    return (tuple(calls), remaining.strip()) if calls else ((), text)


def _parse_call(candidate: str) -> ToolCall | None:
    start = candidate.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(_balanced(candidate[start:].strip())[0])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):  # some models send the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    return ToolCall(data["name"], arguments) if isinstance(arguments, dict) else None


def _balanced(fragment: str) -> tuple[str, str]:
    """The first JSON value of `fragment` with unclosed strings, objects and arrays closed, and
    the part of `fragment` it was made from (text after a complete value is left out)."""
    stack: list[str] = []
    in_string = escaped = False
    for index, char in enumerate(fragment):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in _CLOSERS:
            stack.append(_CLOSERS[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return fragment[: index + 1], fragment[: index + 1]
    closed = fragment + ('"' if in_string else "") + "".join(reversed(stack))
    return closed, fragment


def tool_names(tools: list[dict[str, Any]]) -> set[str]:
    return {str(tool.get("function", {}).get("name", "")) for tool in tools}
