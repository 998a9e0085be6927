"""Pure text-to-rich-text helpers shared by the views: highlighted spans, citation links, labels.
No widgets here, so every rule can be tested on plain strings."""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from desktop.i18n import tr
from desktop.theme import colors

CITATION_SCHEME = "cite"
MATCH_ANCHOR = "match"  # the first highlight of a passage: Sources scrolls to it

# [3] or [1, 2] or [1][2], but not a Markdown link text "[3](...)" and not inside code.
_CITATION_RE = re.compile(r"\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\](?!\()")
_FENCE_RE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)


def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[tuple[int, int]]:
    """Clamp spans to [0, length), drop empty ones and merge overlaps, so rendering never nests."""
    clean = sorted((max(0, int(s[0])), min(length, int(s[1]))) for s in spans if len(s) >= 2)
    merged: list[tuple[int, int]] = []
    for start, end in clean:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _escape(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def highlight_html(
    text: str,
    spans: Iterable[Sequence[int]],
    *,
    color: str | None = None,
    anchor: str = "",
) -> str:
    """`text` as HTML with each span wrapped in a coloured mark; everything else escaped.
    `anchor` names the first mark, so a view can scroll to it."""
    mark = color or colors().mark
    pieces: list[str] = []
    cursor = 0
    for number, (start, end) in enumerate(merge_spans(spans, len(text))):
        pieces.append(_escape(text[cursor:start]))
        if number == 0 and anchor:
            pieces.append(f'<a name="{anchor}"></a>')
        pieces.append(
            f'<span style="background-color:{mark}; font-weight:600;">'
            f"{_escape(text[start:end])}</span>"
        )
        cursor = end
    pieces.append(_escape(text[cursor:]))
    return "".join(pieces)


def linkify_citations(markdown: str, known: Collection[int] | None = None) -> str:
    """Turn citation marks [n] into Markdown links cite:n that the answer view can catch.
    Code spans and fenced blocks are left alone: a `[0]` in code is an index, not a citation.
    With `known`, only those numbers become links: a mark with no source behind it stays plain
    text, never a link that leads nowhere."""
    parts = _FENCE_RE.split(markdown)
    for i in range(0, len(parts), 2):
        parts[i] = _CITATION_RE.sub(lambda match: _citation_links(match, known), parts[i])
    return "".join(parts)


def _citation_links(match: re.Match[str], known: Collection[int] | None) -> str:
    numbers = re.split(r"\s*[,，]\s*", match.group(1))
    pieces = []
    for number in numbers:
        if known is None or int(number) in known:
            pieces.append(f"[\\[{number}\\]]({CITATION_SCHEME}:{number})")
        else:
            pieces.append(f"\\[{number}\\]")
    return "".join(pieces)


def citation_numbers(text: str) -> list[int]:
    """Every citation number used in an answer, in first-use order, without repeats."""
    seen: list[int] = []
    prose = "".join(_FENCE_RE.split(text)[0::2])
    for match in _CITATION_RE.finditer(prose):
        for number in re.split(r"\s*[,，]\s*", match.group(1)):
            value = int(number)
            if value not in seen:
                seen.append(value)
    return seen


def location_label(
    page: int | None, heading: str | Sequence[str] | None, ocr: object = False
) -> str:
    """Where in its file a chunk sits: "page 3", "Setup › Linux", or both; "page 3 (OCR)" when
    its text was recognised in a scanned page or an image (it may hold misread characters)."""
    parts: list[str] = []
    if page:
        parts.append(
            tr("page {page} (OCR)").format(page=page)
            if ocr
            else tr("page {page}").format(page=page)
        )
    elif ocr:
        parts.append(tr("OCR"))
    heading_text = heading if isinstance(heading, str) else " › ".join(heading or ())
    if heading_text:
        parts.append(heading_text.replace(" > ", " › "))
    return " · ".join(parts)


def short_path(path: str, home: str | None = None) -> str:
    """The path as people read it: the home folder shown as ~."""
    home_dir = home if home is not None else str(Path.home())
    if home_dir and (path == home_dir or path.startswith(home_dir.rstrip("/\\") + "/")):
        return "~" + path[len(home_dir.rstrip("/\\")) :]
    return path


def file_name(path: str) -> str:
    return Path(path).name or path


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return tr("{ms} ms").format(ms=f"{seconds * 1000:.0f}")
    if seconds < 60:
        return tr("{s} s").format(s=f"{seconds:.1f}")
    minutes, rest = divmod(round(seconds), 60)
    return tr("{m} min {s} s").format(m=minutes, s=f"{rest:02d}")


def format_time_left(seconds: float) -> str:
    """A remaining time as people say it: "about 40 s left", "about 2 min left"."""
    if seconds < 55:
        return tr("about {s} s left").format(s=max(5, round(seconds / 5.0) * 5))
    minutes = round(seconds / 60.0)
    if minutes < 60:
        return tr("about {m} min left").format(m=max(1, minutes))
    hours, rest = divmod(minutes, 60)
    return tr("about {h} h {m} min left").format(h=hours, m=rest)


def format_count(value: int) -> str:
    return f"{value:,}"


def escape(text: str) -> str:
    return _escape(text)
