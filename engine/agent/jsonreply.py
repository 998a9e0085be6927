"""Getting one JSON object out of a small model's reply, however it was wrapped.

Structured output (`format` = schema) usually yields clean JSON, but weak models and servers
without grammar support add prose, code fences, trailing commas, Python-style quotes, raw
newlines inside strings, unquoted keys, missing commas, `//` comments, unescaped inner quotes,
or write the whole object in full-width punctuation. Each repair below is tried in turn, the
general-purpose `json_repair` last; `None` means the reply held no usable object."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")
_LITERAL_WORDS = {"true": "True", "false": "False", "null": "None"}
_LITERAL_RE = re.compile(r"\b(true|false|null)\b")
# A reply written in full-width punctuation (some models switch to it after Chinese text):
# its structure becomes ASCII when nothing else parses. String contents may change too (a
# full-width comma in a quote); quotes are located in their chunk width-insensitively.
_FULL_WIDTH_SYNTAX = str.maketrans(
    {
        "｛": "{",
        "｝": "}",
        "［": "[",
        "］": "]",
        "：": ":",
        "，": ",",
        "“": '"',
        "”": '"',
        "＂": '"',
    }
)


def extract_json_object(reply: str) -> dict[str, Any] | None:
    """The first JSON object found in `reply`, repaired if needed; None when there is none."""
    for candidate in _candidates(reply):
        parsed = _parse_leniently(candidate)
        if isinstance(parsed, dict):
            return parsed
    return None


def _candidates(reply: str) -> list[str]:
    """Texts that may hold the object: fenced blocks first, then balanced {...} spans, then the
    same in ASCII punctuation when the reply used full-width syntax."""
    texts = [m.group(1) for m in _FENCE_RE.finditer(reply)]
    texts.append(reply)
    if "{" not in reply and "｛" in reply:
        texts.append(reply.translate(_FULL_WIDTH_SYNTAX))
    found: list[str] = []
    for text in texts:
        found.extend(_balanced_objects(text))
    return found


def _balanced_objects(text: str) -> list[str]:
    """Every top-level {...} span of `text`, honouring quoted strings; an unclosed object at the
    end (a reply cut off by the token limit) is returned closed, so its finished keys survive."""
    spans: list[str] = []
    depth = 0
    start = -1
    quote = ""
    escaped = False
    for position, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'" and depth > 0:
            quote = char
        elif char == "{":
            if depth == 0:
                start = position
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : position + 1])
    if depth > 0 and start >= 0:
        spans.append(_close_truncated(text[start:], quote))
    return spans


def _close_truncated(text: str, open_quote: str) -> str:
    """Close a cut-off object: end the open string, drop a dangling key, close the brackets."""
    closed = text + open_quote if open_quote else text
    closed = re.sub(r",\s*(\"[^\"]*\"\s*:?\s*)?$", "", closed.rstrip())
    stack: list[str] = []
    quote = ""
    escaped = False
    for char in closed:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    return closed + "".join(reversed(stack))


def _parse_leniently(text: str) -> Any:
    try:
        return json.loads(text, strict=False)  # strict=False: raw newlines inside strings
    except ValueError:
        pass
    without_commas = _TRAILING_COMMA_RE.sub(r"\1", text)
    try:
        return json.loads(without_commas)
    except ValueError:
        pass
    # Single-quoted keys and strings are valid Python literals once JSON's words are renamed.
    pythonic = _LITERAL_RE.sub(lambda m: _LITERAL_WORDS[m.group(1)], without_commas)
    try:
        return ast.literal_eval(pythonic)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    return _repaired(text)


def _repaired(text: str) -> Any:
    """The last resort for unquoted keys, missing commas, comments and unescaped quotes."""
    import json_repair  # pure Python, only loaded for the rare reply that needs it

    try:
        repaired = json_repair.loads(text)
    except (ValueError, RecursionError):
        return None
    return repaired if isinstance(repaired, dict) and repaired else None


def string_list(value: Any) -> list[str]:
    """A list of non-empty strings from whatever the model put there: a list, a comma-separated
    string, or nothing."""
    if isinstance(value, str):
        items: list[Any] = re.split(r"[,;，、；\n]", value)
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return []
    cleaned: list[str] = []
    for item in items:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            text = " ".join(str(item).split()).strip(" \"'")
            if text and text not in cleaned:
                cleaned.append(text)
    return cleaned


def boolean(value: Any, default: bool = False) -> bool:
    """A model's idea of a boolean: true/"true"/"yes"/1 and their opposites."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "y", "1", "是", "对"):
            return True
        if lowered in ("false", "no", "n", "0", "否", "不"):
            return False
    return default
