"""A passage as people read it: the chunk text of a note or PDF with its hard line wraps joined and
its Markdown syntax gone (`# `, `**`, backticks, `![](…)`, link targets), while the highlights
keep pointing at the same words.

The engine keeps a chunk exactly as the file has it (citations quote it, offsets index it); this
is only how the desktop shows it. Every character of the result comes from one place in the
source, or stands for the markup it replaces (a list bullet), so a highlight span of the source
maps to the span of the result covering the same words. Pure Python, no Qt: tested on strings.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.lang import CJK_LETTERS

# Lines that stand on their own: a list item, a quote, a table row, a heading, an indented
# block. A line wrapped into the next one is none of these.
_LIST_RE = re.compile(r"^(\s*)([-*+•]|\d{1,3}[.)])\s+")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+")
_QUOTE_RE = re.compile(r"^\s{0,3}((?:>\s?)+)")
_FENCE_RE = re.compile(r"^\s{0,3}(```|~~~)")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK_DEFINITION_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_HEADING_CLOSE_RE = re.compile(r"\s+#+\s*$")

# Inline markup, in the order it is undone.
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]*)\)")
_LINK_RE = re.compile(r"(?<!!)\[([^\]\n]+)\]\(([^)\n]*)\)")
_REF_LINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_FOOTNOTE_RE = re.compile(r"\[\^[^\]\n]+\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_CODE_RE = re.compile(r"(`+)([^`\n]+?)\1")
_STRONG_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_EMPHASIS_UNDER_RE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>")
_CJK_END_RE = re.compile(f"[{CJK_LETTERS}\u3000-\u303f\uff00-\uffef]$")
_CJK_START_RE = re.compile(f"^[{CJK_LETTERS}\u3000-\u303f\uff00-\uffef]")

BULLET = "• "


@dataclass(frozen=True)
class Readable:
    """The text to show and the highlight spans within it."""

    text: str
    spans: tuple[tuple[int, int], ...]


class _Builder:
    """Output text with, for every character, the source offset it stands for."""

    def __init__(self, compact: bool) -> None:
        self.compact = compact  # line breaks become spaces (one line of a result list)
        self.parts: list[str] = []
        self.origins: list[int] = []
        self.last = ""

    def keep(self, source: str, start: int, end: int) -> None:
        if end > start:
            self.parts.append(source[start:end])
            self.origins.extend(range(start, end))
            self.last = source[end - 1]

    def put(self, text: str, at: int) -> None:
        """Text that is not in the source (a bullet, a joining space) standing at `at`."""
        if text:
            self.parts.append(text)
            self.origins.extend([at] * len(text))
            self.last = text[-1]

    def space(self, at: int) -> None:
        if self.parts and not self.last.isspace():
            self.put(" ", at)

    def line_break(self, at: int, paragraph: bool = False) -> None:
        if not self.parts:
            return
        if self.compact:
            self.space(at)
        elif self.last != "\n":
            self.put("\n\n" if paragraph else "\n", at)
        elif paragraph and not "".join(self.parts[-2:]).endswith("\n\n"):
            self.put("\n", at)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _inline_edits(line: str) -> list[tuple[int, int, int, int]]:
    """(start, end, keep_start, keep_end) for each piece of inline markup in `line`: the
    characters start..end are replaced by the ones keep_start..keep_end (the visible part)."""
    edits: list[tuple[int, int, int, int]] = []
    taken = [False] * (len(line) + 1)

    def free(start: int, end: int) -> bool:
        return not any(taken[start:end])

    def claim(start: int, end: int, keep_start: int, keep_end: int) -> None:
        edits.append((start, end, keep_start, keep_end))
        for i in range(start, end):
            taken[i] = True

    for regex, group in (
        (_CODE_RE, 2),
        (_IMAGE_RE, 1),
        (_LINK_RE, 1),
        (_REF_LINK_RE, 1),
        (_AUTOLINK_RE, 1),
    ):
        for match in regex.finditer(line):
            if free(match.start(), match.end()):
                claim(match.start(), match.end(), match.start(group), match.end(group))
    for match in _FOOTNOTE_RE.finditer(line):
        if free(match.start(), match.end()):
            claim(match.start(), match.end(), match.start(), match.start())
    for match in _HTML_TAG_RE.finditer(line):
        if free(match.start(), match.end()):
            claim(match.start(), match.end(), match.start(), match.start())
    # Emphasis may wrap a link or code, so it only needs its own delimiters free.
    for regex in (_STRONG_RE, _STRIKE_RE, _EMPHASIS_STAR_RE, _EMPHASIS_UNDER_RE):
        for match in regex.finditer(line):
            body_start, body_end = (
                match.start(match.lastindex or 1),
                match.end(match.lastindex or 1),
            )
            if free(match.start(), body_start) and free(body_end, match.end()):
                claim(match.start(), body_start, body_start, body_start)
                claim(body_end, match.end(), body_end, body_end)
    return sorted(edits)


def _emit_inline(out: _Builder, source: str, start: int, end: int) -> None:
    """source[start:end] (one line's content) with its inline markup undone."""
    line = source[start:end]
    cursor = 0
    for edit_start, edit_end, keep_start, keep_end in _inline_edits(line):
        if edit_start < cursor:
            continue
        out.keep(source, start + cursor, start + edit_start)
        out.keep(source, start + keep_start, start + keep_end)
        cursor = edit_end
    out.keep(source, start + cursor, end)


def _joiner(previous: str, following: str) -> str:
    """What joins two lines of one paragraph: nothing between Chinese characters (a line break
    there was never a space), a space otherwise."""
    if _CJK_END_RE.search(previous) and _CJK_START_RE.search(following):
        return ""
    return " "


def readable(text: str, spans: Iterable[Sequence[int]] = (), *, compact: bool = False) -> Readable:
    """`text` reflowed and without Markdown syntax, and `spans` moved onto the same words.
    `compact`: one run of text (a result snippet), every line break a space."""
    out = _Builder(compact)
    offset = 0
    in_fence = False
    previous = "blank"  # blank | para | list | quote | block
    previous_text = ""
    for raw in text.split("\n"):
        start = offset
        offset += len(raw) + 1
        line = raw.rstrip("\r")
        end = start + len(line)
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            out.line_break(start, paragraph=not in_fence)
            previous = "blank" if not in_fence else "block"
            continue
        if in_fence:
            out.line_break(start)
            out.keep(text, start, end)
            continue
        stripped = line.strip()
        if _TABLE_SEPARATOR_RE.match(line) and previous == "block":
            continue  # |---|---| under a table's header row
        if not stripped or _RULE_RE.match(line):
            if previous != "blank":
                out.line_break(start, paragraph=True)
            previous = "blank"
            continue
        if _LINK_DEFINITION_RE.match(line):
            continue
        kind, content_start, end, prefix = _line_kind(line, start, end)
        if kind == "para" and previous in ("para", "list", "quote"):
            # A hard wrap inside a paragraph, list item or quote: one line of text.
            if _joiner(previous_text, stripped):
                out.space(start)
            kind = previous
        elif kind == "quote" and previous == "quote":
            if _joiner(previous_text, stripped):
                out.space(start)
        else:
            out.line_break(start, paragraph=previous == "blank")
        if prefix:
            if out.compact and out.parts:
                out.space(content_start)
            out.put(prefix, content_start)
        _emit_inline(out, text, content_start, end)
        previous, previous_text = kind, stripped
    result = out.text.rstrip()
    return Readable(result, _map_spans(spans, out.origins[: len(result)], len(text)))


def _line_kind(line: str, start: int, end: int) -> tuple[str, int, int, str]:
    """(kind, where its text starts, where it ends, the prefix to show) of one source line."""
    content_start = start + (len(line) - len(line.lstrip()))
    heading = _HEADING_RE.match(line)
    if heading:
        closing = _HEADING_CLOSE_RE.search(line)
        if closing and closing.start() > heading.end():
            end = start + closing.start()
        return "block", start + heading.end(), end, ""
    quote = _QUOTE_RE.match(line)
    if quote:
        return "quote", start + quote.end(), end, ""
    listed = _LIST_RE.match(line)
    if listed:
        marker = listed.group(2)
        return "list", start + listed.end(), end, (marker + " " if marker[0].isdigit() else BULLET)
    if line.lstrip().startswith("|"):
        # A table row: its outer pipes are frame, the inner ones separate the cells.
        inner = line.strip()
        inner = inner[1:-1] if len(inner) > 1 and inner.endswith("|") else inner[1:]
        first = line.index(inner.strip()) if inner.strip() else len(line)
        return "block", start + first, start + first + len(inner.strip()), ""
    if line.startswith(("    ", "\t")):
        return "block", content_start, end, ""
    return "para", content_start, end, ""


def _map_spans(
    spans: Iterable[Sequence[int]], origins: list[int], source_length: int
) -> tuple[tuple[int, int], ...]:
    """Source spans as spans of the output: every output character whose origin lies in the
    span. `origins` never decreases, so each end is a binary search."""
    mapped: list[tuple[int, int]] = []
    for span in spans:
        if len(span) < 2:
            continue
        start, end = max(0, int(span[0])), min(source_length, int(span[1]))
        if end <= start:
            continue
        first = bisect.bisect_left(origins, start)
        last = bisect.bisect_left(origins, end)
        if last > first:
            if mapped and first <= mapped[-1][1]:
                mapped[-1] = (mapped[-1][0], max(mapped[-1][1], last))
            else:
                mapped.append((first, last))
    return tuple(sorted(mapped))


def excerpt(item: Readable, max_chars: int) -> Readable:
    """At most about `max_chars` of `item`, around its first highlight, cut at spaces, with "…"
    where text was left out; the spans that fall inside, moved."""
    text = item.text
    if len(text) <= max_chars:
        return item
    first = item.spans[0][0] if item.spans else 0
    start = max(0, first - max_chars // 4)
    if start:
        space = text.rfind(" ", 0, start)
        newline = text.rfind("\n", 0, start)
        start = max(space, newline) + 1 if max(space, newline) > start - 40 else start
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start + max_chars // 2, end)
        end = space if space != -1 else end
    lead = "…" if start else ""
    tail = "…" if end < len(text) else ""
    shift = len(lead) - start
    spans = tuple(
        (max(s, start) + shift, min(e, end) + shift) for s, e in item.spans if e > start and s < end
    )
    return Readable(lead + text[start:end] + tail, spans)
