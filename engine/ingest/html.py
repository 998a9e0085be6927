"""HTML (and the XHTML chapters of EPUB books) to blocks of visible text with heading levels.

The standard library's HTMLParser reads it: it knows the named character references but has no
entity declarations to expand, so hostile markup cannot make it blow up."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from engine.ingest.document import TITLE_MAX_CHARS, Block, assemble
from engine.ingest.text import decode_bytes, normalize
from engine.models import ExtractedDocument

_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "caption", "dd", "details", "dialog"),
        *("div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "legend", "li", "main", "nav", "ol", "p"),
        *("pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr"),
        "ul",
    }
)
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "iframe", "object", "head"}
)
# Cells are separated within their row's line rather than each becoming a paragraph.
_TABLE_CELLS = frozenset({"td", "th"})
# Where a table's line ends; paragraphs and lists inside a cell are joined into the row.
_ROW_TAGS = frozenset({"tr", "table", "tbody", "thead", "tfoot", "caption"})
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_WHITESPACE_RE = re.compile(r"\s+")


def _declared_html_charset(data: bytes) -> str | None:
    match = _META_CHARSET_RE.search(data[:4096])
    return match.group(1).decode("ascii").lower() if match else None


@dataclass
class _HtmlBlock:
    text: str
    heading_level: int = 0  # 1..6 for <h1>..<h6>


class _HtmlText(HTMLParser):
    """Collects visible text as paragraphs (one per block element) and the page title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_HtmlBlock] = []
        self.title_parts: list[str] = []
        self._parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._in_head = False
        self._pre_depth = 0
        self._heading_level = 0
        self._in_cell = False  # inside <td>/<th>: paragraphs there stay on the row's line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and self._in_head:
            # </head> is optional in HTML: the body starting ends the head.
            self._in_head = False
            self._skip_depth = max(0, self._skip_depth - 1)
        if tag == "head":
            self._in_head = True
        if tag == "title":
            # Only the document's own title: not an <svg><title> tooltip, not a second title.
            outer_skips = self._skip_depth - (1 if self._in_head else 0)
            self._in_title = outer_skips == 0 and not self.title_parts
        elif tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._parts.append("\n")
        elif tag in _TABLE_CELLS:
            if "".join(self._parts).strip():
                self._parts.append(" | ")
            self._in_cell = True
        elif tag in _ROW_TAGS:
            self._in_cell = False
            self._flush()
        elif tag in _BLOCK_TAGS and self._in_cell:
            self._parts.append(" ")
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "pre":
                self._pre_depth += 1
            self._heading_level = _HEADING_LEVELS.get(tag, self._heading_level)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _TABLE_CELLS:
            self._in_cell = False
        elif tag in _BLOCK_TAGS and self._in_cell:
            self._parts.append(" ")
        elif tag in _BLOCK_TAGS:
            if tag in _ROW_TAGS:
                self._in_cell = False
            self._flush()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            if tag in _HEADING_LEVELS:
                self._heading_level = 0

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif self._skip_depth == 0:
            self._parts.append(data if self._pre_depth else _WHITESPACE_RE.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if not self._parts:
            return
        raw = "".join(self._parts)
        self._parts = []
        if self._pre_depth:
            text = raw.strip("\n")
        else:
            text = "\n".join(" ".join(line.split()) for line in raw.split("\n")).strip()
        if text.strip():
            self.blocks.append(_HtmlBlock(text, self._heading_level))


def decode_html(path: Path, data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM or UTF-8 decides, else the charset the page declares."""
    text, encoding = decode_bytes(data, name=str(path))
    if encoding not in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        declared = _declared_html_charset(data)
        if declared:
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                text, encoding = data.decode(declared), declared
    return normalize(text), encoding


@dataclass(frozen=True)
class HtmlContent:
    blocks: list[Block]
    title: str  # the <title>, normalized; "" when absent


def html_content(markup: str, *, heading_offset: int = 0) -> HtmlContent:
    """The visible text of `markup` as blocks. `heading_offset` pushes heading levels down
    (an EPUB chapter's <h1> sits below the book's table-of-contents entry)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    blocks = [
        Block(block.text, block.heading_level + heading_offset if block.heading_level else 0)
        for block in parser.blocks
    ]
    title = " ".join(normalize("".join(parser.title_parts)).split())[:TITLE_MAX_CHARS]
    return HtmlContent(blocks, title)


def extract_html(path: Path, data: bytes) -> ExtractedDocument:
    text, encoding = decode_html(path, data)
    content = html_content(text)
    # Normalizing each block keeps character data from entities (&nbsp;, &#xFB01;) consistent
    # with every other format.
    assembled = assemble(content.blocks)
    title = content.title or assembled.first_heading or path.stem
    return ExtractedDocument("html", title, assembled.text, assembled.sections, encoding=encoding)
