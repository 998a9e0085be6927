"""Files to normalized text with locations: Markdown, plain text, HTML and PDF.

`extract_file` is the one entry point. It is a top-level function with plain arguments so the
indexer can run it in a process pool; every failure is a NeedleError whose message names the file
and whose kind the catalog records (see docs/index-schema.md, "Ingestion and chunking")."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import signal
import stat
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import FrameType
from typing import Final

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError

from engine.errors import ErrorKind, FileProblem, NeedleError
from engine.ingest.text import decode_bytes, normalize
from engine.models import DocKind, ExtractedDocument, Section

SUPPORTED_EXTENSIONS: Final[dict[str, DocKind]] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".org": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

# A single PDF page whose text takes longer than this is skipped (recorded, not fatal).
PDF_PAGE_SECONDS: float = 15.0
# Past this much time on one PDF the remaining pages are skipped, so one pathological file
# cannot hold a worker for minutes while the rest of the corpus waits.
PDF_DOCUMENT_SECONDS: float = 120.0
# Content streams this large are drawings or scans rendered as vector paths, not prose; reading
# them costs seconds and yields nothing.
PDF_MAX_CONTENT_BYTES: int = 16 * 1024 * 1024

TITLE_MAX_CHARS = 120


def kind_for_path(path: Path) -> DocKind | None:
    """The document kind for a file name, or None when Needle does not read that extension."""
    return SUPPORTED_EXTENSIONS.get(path.suffix.lower())


@dataclass(frozen=True)
class PartialDocument(ExtractedDocument):
    """A document that was extracted only in part (some PDF pages failed or timed out). It is
    still an ExtractedDocument; `extraction_problem` turns it into a catalog-ready note."""

    failed_pages: tuple[int, ...] = ()
    reason: str = ""


def extraction_problem(document: ExtractedDocument) -> FileProblem | None:
    """What was lost while extracting `document`, or None when nothing was."""
    if isinstance(document, PartialDocument) and document.failed_pages:
        return FileProblem(ErrorKind.PARTIAL, document.reason)
    return None


def extract_file(path: Path, *, max_bytes: int) -> ExtractedDocument:
    """Read `path` and return its normalized text split into located sections.

    Raises NeedleError with kind unsupported | vanished | unreadable | too_large | not_text |
    encrypted | corrupt | no_text."""
    path = Path(path)
    kind = kind_for_path(path)
    if kind is None:
        raise NeedleError(
            ErrorKind.UNSUPPORTED,
            f"{path.name}: Needle does not read '{path.suffix or 'extensionless'}' files.",
            "Supported: " + ", ".join(sorted(SUPPORTED_EXTENSIONS)) + ".",
        )
    data = _read_bytes(path, max_bytes)
    if kind == "pdf":
        return _extract_pdf(path, data)
    text, encoding = _decode(path, data, kind)
    if kind == "markdown":
        return _extract_markdown(path, text, encoding)
    if kind == "html":
        return _extract_html(path, text, encoding)
    return _extract_plain(path, text, encoding)


# ---------------------------------------------------------------------------------------------
# Reading


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        status = path.stat()
        size = status.st_size
        if not stat.S_ISREG(status.st_mode):
            raise NeedleError(
                ErrorKind.UNREADABLE,
                f"{path} is not a regular file.",
                "Only regular files are indexed; check what this path points to.",
            )
        if size > max_bytes:
            raise _too_large(path, size, max_bytes)
        with path.open("rb") as handle:
            # Read one byte past the limit: a file that grew since stat() is still caught.
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise NeedleError(
            ErrorKind.VANISHED,
            f"{path} disappeared before it could be read (deleted or moved).",
            "Nothing to do: it is dropped from the index; if it was moved, its new place is "
            "indexed when found.",
        ) from exc
    except PermissionError as exc:
        raise NeedleError(
            ErrorKind.UNREADABLE,
            f"{path} cannot be read: permission denied.",
            "Give your user read permission on the file, or add it to the ignore patterns.",
        ) from exc
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise NeedleError(
            ErrorKind.UNREADABLE,
            f"{path} cannot be read: {reason}.",
            "Check the disk or network share it lives on, then index again.",
        ) from exc
    if len(data) > max_bytes:
        raise _too_large(path, len(data), max_bytes)
    return data


def _too_large(path: Path, size: int, max_bytes: int) -> NeedleError:
    return NeedleError(
        ErrorKind.TOO_LARGE,
        f"{path} is {_megabytes(size)}, over the {_megabytes(max_bytes)} size limit.",
        "Raise the file size limit in Settings if you want it indexed.",
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _decode(path: Path, data: bytes, kind: DocKind) -> tuple[str, str]:
    text, encoding = decode_bytes(data, name=str(path))
    if kind == "html" and encoding not in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):
        declared = _declared_html_charset(data)
        if declared:
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                text, encoding = data.decode(declared), declared
    return normalize(text), encoding


# ---------------------------------------------------------------------------------------------
# Plain text


_ORG_TITLE_RE = re.compile(r"^#\+title:[ \t]*(.+)$", re.IGNORECASE | re.MULTILINE)
_ORG_HEADING_RE = re.compile(r"^(\*+)[ \t]+(.+)$", re.MULTILINE)


def _extract_plain(path: Path, text: str, encoding: str) -> ExtractedDocument:
    if path.suffix.lower() == ".org":
        return _extract_org(path, text, encoding)
    if path.suffix.lower() == ".rst":
        return _extract_rst(path, text, encoding)
    sections = (Section(text, 0),) if text else ()
    return ExtractedDocument("text", path.stem, text, sections, encoding=encoding)


def _extract_org(path: Path, text: str, encoding: str) -> ExtractedDocument:
    """Org-mode outlines: `*`, `**`, ... headings give heading paths, `#+TITLE:` the title."""
    boundaries: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    stack: list[tuple[int, str]] = []
    for match in _ORG_HEADING_RE.finditer(text):
        level, title = len(match.group(1)), match.group(2).strip()
        stack = [entry for entry in stack if entry[0] < level] + [(level, title)]
        _add_boundary(boundaries, match.start(), tuple(t for _, t in stack))
    title_match = _ORG_TITLE_RE.search(text)
    title = _clean_title(title_match.group(1)) if title_match else ""
    sections = _sections_from_boundaries(text, boundaries)
    return ExtractedDocument("text", title or path.stem, text, sections, encoding=encoding)


_RST_ADORNMENT_RE = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")


def _extract_rst(path: Path, text: str, encoding: str) -> ExtractedDocument:
    """reStructuredText section titles: a line underlined (optionally also overlined) with a
    punctuation character at least as long as the title. Levels follow the order in which
    adornment styles first appear, as docutils does; the first title is the document title."""
    boundaries: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    styles: list[tuple[str, bool]] = []  # (character, overlined), in order of first use
    stack: list[tuple[int, str]] = []
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    for index in range(1, len(lines)):
        title_line, underline = lines[index - 1], lines[index]
        adornment = _RST_ADORNMENT_RE.match(underline)
        title = title_line.strip()
        if not adornment or not title or len(underline.rstrip()) < len(title):
            continue
        overlined = index >= 2 and lines[index - 2].rstrip() == underline.rstrip()
        if not overlined and (title_line[0].isspace() or _RST_ADORNMENT_RE.match(title_line)):
            continue
        style = (adornment.group(1), overlined)
        if style not in styles:
            styles.append(style)
        level = styles.index(style) + 1
        stack = [entry for entry in stack if entry[0] < level] + [(level, title)]
        start = starts[index - 2] if overlined else starts[index - 1]
        _add_boundary(boundaries, start, tuple(t for _, t in stack))
    sections = _sections_from_boundaries(text, boundaries)
    title = next((s.heading[0] for s in sections if s.heading), "") or path.stem
    return ExtractedDocument("text", title, text, sections, encoding=encoding)


def _add_boundary(
    boundaries: list[tuple[int, tuple[str, ...]]], offset: int, heading: tuple[str, ...]
) -> None:
    """Append a section start; a start at the same offset as the previous one replaces it."""
    if boundaries and boundaries[-1][0] == offset:
        boundaries[-1] = (offset, heading)
    else:
        boundaries.append((offset, heading))


def _sections_from_boundaries(
    text: str, boundaries: list[tuple[int, tuple[str, ...]]]
) -> tuple[Section, ...]:
    sections = []
    for index, (start, heading) in enumerate(boundaries):
        end = boundaries[index + 1][0] if index + 1 < len(boundaries) else len(text)
        if end > start:
            sections.append(Section(text[start:end], start, None, heading))
    return tuple(sections)


# ---------------------------------------------------------------------------------------------
# Markdown


_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_FRONT_MATTER_TITLE_RE = re.compile(r"^title[ \t]*[:=][ \t]*(.+?)[ \t]*$", re.MULTILINE)
# Pandoc/kramdown attributes after a heading: "## Install {#install .unnumbered}".
_HEADING_ATTRIBUTES_RE = re.compile(r"[ \t]*\{[#.][^}]*\}[ \t]*$")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_RE = re.compile(r"\*\*|__|`")
# Characters that can start a line with block structure; other lines skip the regexes.
_BLOCK_START_CHARS = frozenset(" #=-`~")


@dataclass
class _MarkdownScan:
    boundaries: list[tuple[int, tuple[str, ...]]]
    first_h1: str = ""
    front_matter_title: str = ""


def _extract_markdown(path: Path, text: str, encoding: str) -> ExtractedDocument:
    scan = _scan_markdown(text)
    sections = _sections_from_boundaries(text, scan.boundaries)
    title = scan.first_h1 or scan.front_matter_title or path.stem
    return ExtractedDocument("markdown", title, text, sections, encoding=encoding)


def _scan_markdown(text: str) -> _MarkdownScan:
    """Find ATX and setext headings outside fenced code and front matter."""
    scan = _MarkdownScan(boundaries=[(0, ())])
    lines = text.split("\n")
    offset, first_line = _skip_front_matter(text, lines, scan)
    stack: list[tuple[int, str]] = []
    fence: str | None = None  # the opening fence while inside a code block
    previous_start, previous_text = -1, None  # the line above, when it was paragraph text
    for line in lines[first_line:]:
        start = offset
        offset += len(line) + 1
        if fence is not None:
            if _closes_fence(line, fence):
                fence = None
            previous_text = None
            continue
        if not line or line[0] not in _BLOCK_START_CHARS:
            previous_start, previous_text = start, _text_or_none(line)
            continue
        heading = _heading_at(line, previous_text)
        if heading is not None:
            level, title = heading
            # A setext heading is the text line above its underline.
            heading_start = start if line.lstrip().startswith("#") else previous_start
            stack = [entry for entry in stack if entry[0] < level] + [(level, title)]
            _add_boundary(scan.boundaries, heading_start, tuple(t for _, t in stack))
            if level == 1 and not scan.first_h1 and title:
                scan.first_h1 = title
            previous_text = None
            continue
        fence_match = _FENCE_RE.match(line)
        if fence_match and not (fence_match.group(1)[0] == "`" and "`" in fence_match.group(2)):
            fence = fence_match.group(1)
            previous_text = None
            continue
        previous_start, previous_text = start, _text_or_none(line)
    return scan


def _heading_at(line: str, previous_text: str | None) -> tuple[int, str] | None:
    """(level, title) when `line` is an ATX heading, or a setext underline below `previous_text`
    (the line above, None when that line was not paragraph text)."""
    atx = _ATX_RE.match(line)
    if atx:
        return len(atx.group(1)), _clean_title(atx.group(2) or "")
    if previous_text is not None:
        setext = _SETEXT_RE.match(line)
        if setext:
            return (1 if setext.group(1)[0] == "=" else 2), _clean_title(previous_text)
    return None


def _closes_fence(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(fence)
        and stripped == fence[0] * len(stripped)
    )


def _text_or_none(line: str) -> str | None:
    """The line when it can be the text of a setext heading; None for blank lines."""
    return line if line.strip() else None


def _skip_front_matter(text: str, lines: list[str], scan: _MarkdownScan) -> tuple[int, int]:
    """(offset, line index) after a leading front-matter block (YAML between `---` lines, or
    TOML between `+++` lines as Hugo writes it); its title is kept."""
    fence = lines[0].rstrip() if lines else ""
    if fence not in ("---", "+++"):
        return 0, 0
    closers = ("---", "...") if fence == "---" else ("+++",)
    offset = len(lines[0]) + 1
    for index in range(1, len(lines)):
        if lines[index].rstrip() in closers:
            block = text[len(lines[0]) + 1 : offset]
            match = _FRONT_MATTER_TITLE_RE.search(block)
            if match:
                scan.front_matter_title = _clean_title(match.group(1).strip("'\""))
            return offset + len(lines[index]) + 1, index + 1
        offset += len(lines[index]) + 1
    return 0, 0  # no closing line: it was a thematic break, not front matter


def _clean_title(raw: str) -> str:
    """Heading text without Markdown decoration, trimmed to a displayable length."""
    title = _HEADING_ATTRIBUTES_RE.sub("", raw)
    title = _EMPHASIS_RE.sub("", _LINK_RE.sub(r"\1", title)).strip()
    return title[:TITLE_MAX_CHARS].strip()


# ---------------------------------------------------------------------------------------------
# HTML


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
        elif tag in _BLOCK_TAGS:
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


def _extract_html(path: Path, text: str, encoding: str) -> ExtractedDocument:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    # Normalizing each block keeps character data from entities (&nbsp;, &#xFB01;) consistent
    # with every other format.
    pieces: list[str] = []
    boundaries: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    stack: list[tuple[int, str]] = []
    offset = 0
    first_h1 = ""
    for block in parser.blocks:
        block_text = normalize(block.text) + "\n\n"
        if block.heading_level:
            heading = " ".join(block_text.split())[:TITLE_MAX_CHARS]
            stack = [entry for entry in stack if entry[0] < block.heading_level]
            stack.append((block.heading_level, heading))
            _add_boundary(boundaries, offset, tuple(t for _, t in stack))
            if block.heading_level == 1 and not first_h1:
                first_h1 = heading
        pieces.append(block_text)
        offset += len(block_text)
    document_text = "".join(pieces)
    page_title = " ".join(normalize("".join(parser.title_parts)).split())[:TITLE_MAX_CHARS]
    title = page_title or first_h1 or path.stem
    sections = _sections_from_boundaries(document_text, boundaries)
    return ExtractedDocument("html", title, document_text, sections, encoding=encoding)


# ---------------------------------------------------------------------------------------------
# PDF


_JUNK_TITLES = frozenset({"untitled", "title", "document", "no title", "none", "null", "unknown"})
_FILENAME_TITLE_RE = re.compile(r"\.(docx?|pdf|tex|dvi|ps|odt|rtf|pptx?|xlsx?|txt|indd|qxd)$", re.I)


class _PageTimeout(Exception):
    """Raised inside a page's text extraction when it exceeds PDF_PAGE_SECONDS."""


def _extract_pdf(path: Path, data: bytes) -> ExtractedDocument:
    with _quiet_pypdf():
        reader = _open_pdf(path, data)
        page_count = _page_count(path, reader)
        try:
            pages = _read_pages(reader, page_count)
        except DependencyError as exc:
            # AES-128 files often open with the empty password (its check needs no AES), and
            # then every stream fails to decrypt without the optional 'cryptography' package.
            raise _aes_unsupported(path) from exc
        metadata_title = _metadata_title(reader)
    sections = []
    offset = 0
    for number, page_text in enumerate(pages.texts, start=1):
        if not page_text.strip():
            continue
        section_text = page_text.rstrip() + "\n\n"
        sections.append(Section(section_text, offset, page=number))
        offset += len(section_text)
    if not sections:
        raise _nothing_extracted(path, page_count, pages)
    text = "".join(section.text for section in sections)
    title = metadata_title or _first_line_title(text) or path.stem
    if pages.failed:
        why = "took too long to read" if pages.out_of_time else "could not be read"
        reason = (
            f"{path}: {_describe_pages(pages.failed)} {why} and are not searchable; "
            f"the other {page_count - len(pages.failed)} page(s) are indexed."
        )
        failed = tuple(pages.failed)
        return PartialDocument("pdf", title, text, tuple(sections), page_count, "", failed, reason)
    return ExtractedDocument("pdf", title, text, tuple(sections), page_count, encoding="")


def _nothing_extracted(path: Path, page_count: int, pages: _PageTexts) -> NeedleError:
    if page_count == 0:
        return NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} has no pages, so there is no extractable text.",
            "Nothing to index; open it in a PDF viewer to check it is complete.",
        )
    if pages.out_of_time:
        return NeedleError(
            ErrorKind.CORRUPT,
            f"{path} took too long to read (over {PDF_DOCUMENT_SECONDS:g} s) and was skipped.",
            "It may be damaged or extremely complex; re-export it (for example print to PDF).",
        )
    if pages.failed:
        return NeedleError(
            ErrorKind.CORRUPT,
            f"{path}: no page could be read ({_describe_pages(pages.failed)} failed).",
            "The file is probably damaged; re-download or re-export it.",
        )
    return NeedleError(
        ErrorKind.NO_TEXT,
        f"{path} has {page_count} page(s) but no extractable text (scanned or image-only).",
        "Run it through OCR (for example ocrmypdf) to make its text searchable.",
    )


def _open_pdf(path: Path, data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if not reader.is_encrypted:
            return reader
        # Many "encrypted" PDFs only restrict printing and open with the empty user password.
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError as exc:
        # AES-256 needs the optional 'cryptography' package even to try the empty password.
        raise _aes_unsupported(path) from exc
    except Exception as exc:  # pypdf raises many types on malformed files; all mean "corrupt"
        raise _corrupt(path, exc) from exc
    if not opened:
        raise _encrypted(path)
    return reader


def _encrypted(path: Path) -> NeedleError:
    return NeedleError(
        ErrorKind.ENCRYPTED,
        f"{path} is encrypted with a password, so its text cannot be read.",
        "Save an unprotected copy (print to PDF or remove the password) to make it searchable.",
    )


def _aes_unsupported(path: Path) -> NeedleError:
    return NeedleError(
        ErrorKind.ENCRYPTED,
        f"{path} is AES-encrypted, and this installation cannot decrypt AES "
        "(the optional 'cryptography' package is missing).",
        "Install 'cryptography' into Needle's environment, or save an unprotected copy.",
    )


def _corrupt(path: Path, exc: BaseException) -> NeedleError:
    detail = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return NeedleError(
        ErrorKind.CORRUPT,
        f"{path} is not a readable PDF ({detail}).",
        "The file is probably damaged or incomplete; re-download or re-export it.",
    )


def _page_count(path: Path, reader: PdfReader) -> int:
    try:
        return len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise _corrupt(path, exc) from exc


@dataclass
class _PageTexts:
    texts: list[str]  # normalized text per page, "" for pages that failed
    failed: list[int]  # 1-based numbers of pages that could not be read
    out_of_time: bool = False  # the document's time budget ran out before the last page


def _read_pages(reader: PdfReader, page_count: int) -> _PageTexts:
    result = _PageTexts([], [])
    deadline = time.monotonic() + PDF_DOCUMENT_SECONDS
    for index in range(page_count):
        if time.monotonic() > deadline:
            result.failed.extend(range(index + 1, page_count + 1))
            result.texts.extend("" for _ in range(index, page_count))
            result.out_of_time = True
            break
        text = _page_text(reader, index)
        if text is None:
            result.failed.append(index + 1)
            result.texts.append("")
        else:
            result.texts.append(normalize(text))
    return result


def _page_text(reader: PdfReader, index: int) -> str | None:
    """One page's raw text; None when it cannot be read (broken, too heavy or too slow)."""
    try:
        page = reader.pages[index]
        if _content_size(page) > PDF_MAX_CONTENT_BYTES:
            return None
        with _time_limit(PDF_PAGE_SECONDS):
            text = page.extract_text()
        return text if isinstance(text, str) else ""
    except DependencyError:
        raise  # AES content: no page of this file will read either (see _extract_pdf)
    except (_PageTimeout, RecursionError):
        return None
    except Exception:  # one bad page must not lose the others
        return None


def _content_size(page: PageObject) -> int:
    contents = page.get_contents()
    if contents is None:
        return 0
    return len(contents.get_data())


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the body after `seconds` with _PageTimeout, where the OS allows it: on Unix, in
    the main thread (where process-pool workers run their tasks), when no other real-time timer
    is pending (we must not steal someone else's alarm). Elsewhere the body runs unguarded and
    only the per-document budget applies."""
    usable = (
        hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise _PageTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _metadata_title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        raw = metadata.title if metadata is not None else None
    except Exception:  # metadata is optional; a broken info dictionary just means no title
        return ""
    if not isinstance(raw, str):
        return ""
    title = " ".join(normalize(raw).split())
    return title if _is_sane_title(title) else ""


def _is_sane_title(title: str) -> bool:
    if not 2 <= len(title) <= 200 or title.lower() in _JUNK_TITLES:
        return False
    if title.lower().startswith("microsoft word - ") or _FILENAME_TITLE_RE.search(title):
        return False
    return any(ch.isalpha() for ch in title) and "\ufffd" not in title


def _first_line_title(text: str) -> str:
    for line in text.split("\n"):
        candidate = " ".join(line.split())
        if sum(ch.isalpha() for ch in candidate) >= 3:
            return candidate[:TITLE_MAX_CHARS].strip()
    return ""


def _describe_pages(pages: list[int]) -> str:
    shown = ", ".join(str(page) for page in pages[:10])
    more = f" and {len(pages) - 10} more" if len(pages) > 10 else ""
    return f"page{'s' if len(pages) > 1 else ''} {shown}{more}"


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every small defect it repairs; on a real corpus that floods the
    terminal. Problems that matter reach the user as NeedleErrors instead."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)
