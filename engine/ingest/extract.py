"""Files to normalized text with locations: notes (Markdown, plain text, Org, reStructuredText),
web pages, PDFs, Office documents, EPUB books and images.

`extract_file` is the one entry point. It is a top-level function with plain arguments so the
indexer can run it in a process pool; every failure is a NeedleError whose message names the file
and whose kind the catalog records (see docs/index-schema.md, "Ingestion and chunking")."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from engine.errors import ErrorKind, NeedleError
from engine.ingest.document import (
    TITLE_MAX_CHARS,
    Boundaries,
    add_boundary,
    heading_path,
    sections_from_boundaries,
)
from engine.ingest.ocr import OcrSession
from engine.ingest.text import decode_bytes, normalize
from engine.models import DocKind, ExtractedDocument, Section

# Read by every installation.
DOCUMENT_EXTENSIONS: Final[dict[str, DocKind]] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".org": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".pptx": "pptx",
    ".odp": "odp",
    ".epub": "epub",
}
# Read only when OCR is installed (engine/ingest/ocr.py): an image's only text is what OCR sees.
IMAGE_EXTENSIONS: Final[dict[str, DocKind]] = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".webp": "image",
}
SUPPORTED_EXTENSIONS: Final[dict[str, DocKind]] = {**DOCUMENT_EXTENSIONS, **IMAGE_EXTENSIONS}
# Found and listed with a hint instead of being passed over in silence: people expect Needle to
# read them, and saving them in the current format is all it takes.
LEGACY_EXTENSIONS: Final[dict[str, tuple[str, str]]] = {
    ".doc": ("a Word 97-2003 document", ".docx"),
    ".ppt": ("a PowerPoint 97-2003 presentation", ".pptx"),
}


def kind_for_path(path: Path) -> DocKind | None:
    """The document kind for a file name, or None when Needle does not read that extension."""
    return SUPPORTED_EXTENSIONS.get(path.suffix.lower())


def scanned_extensions(*, ocr: bool) -> frozenset[str]:
    """The extensions a scan picks up: what Needle reads (images only with OCR), plus the legacy
    formats it reports as unsupported."""
    read = DOCUMENT_EXTENSIONS.keys() | (IMAGE_EXTENSIONS.keys() if ocr else set())
    return frozenset(read | LEGACY_EXTENSIONS.keys())


PageCallback = Callable[[], None]


def extract_file(
    path: Path,
    *,
    max_bytes: int,
    ocr: OcrSession | None = None,
    on_page: PageCallback | None = None,
) -> ExtractedDocument:
    """Read `path` and return its normalized text split into located sections.

    `ocr` recognises text in images and scanned PDF pages; without it they are reported as
    `ocr_unavailable`. `on_page` is called before each page of a paged format (the indexer's
    watchdog hears from the worker). Raises NeedleError with kind unsupported | vanished |
    unreadable | too_large | not_text | encrypted | corrupt | no_text | ocr_unavailable."""
    path = Path(path)
    legacy = LEGACY_EXTENSIONS.get(path.suffix.lower())
    kind = kind_for_path(path)
    if kind is None and legacy is None:
        raise NeedleError(
            ErrorKind.UNSUPPORTED,
            f"{path.name}: Needle does not read '{path.suffix or 'extensionless'}' files.",
            "Supported: " + ", ".join(sorted(SUPPORTED_EXTENSIONS)) + ".",
        )
    data = _read_bytes(path, max_bytes)
    if legacy is not None:
        from engine.ingest.office import extract_legacy

        return extract_legacy(path, data, *legacy)
    if kind == "pdf":
        from engine.ingest.pdf import extract_pdf

        return extract_pdf(path, data, ocr=ocr, on_page=on_page)
    if kind == "image":
        from engine.ingest.images import extract_image

        return extract_image(path, data, ocr=ocr, on_page=on_page)
    if kind in ("docx", "odt", "pptx", "odp"):
        from engine.ingest.office import extract_office

        return extract_office(path, data, kind)
    if kind == "epub":
        from engine.ingest.epub import extract_epub

        return extract_epub(path, data)
    if kind == "html":
        from engine.ingest.html import extract_html

        return extract_html(path, data)
    text, encoding = decode_bytes(data, name=str(path))
    text = normalize(text)
    if kind == "markdown":
        return _extract_markdown(path, text, encoding)
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
    boundaries: Boundaries = [(0, ())]
    stack: list[tuple[int, str]] = []
    for match in _ORG_HEADING_RE.finditer(text):
        level, title = len(match.group(1)), match.group(2).strip()
        stack = heading_path(stack, level, title)
        add_boundary(boundaries, match.start(), tuple(t for _, t in stack))
    title_match = _ORG_TITLE_RE.search(text)
    title = _clean_title(title_match.group(1)) if title_match else ""
    sections = sections_from_boundaries(text, boundaries)
    return ExtractedDocument("text", title or path.stem, text, sections, encoding=encoding)


_RST_ADORNMENT_RE = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}[ \t]*$")


def _extract_rst(path: Path, text: str, encoding: str) -> ExtractedDocument:
    """reStructuredText section titles: a line underlined (optionally also overlined) with a
    punctuation character at least as long as the title. Levels follow the order in which
    adornment styles first appear, as docutils does; the first title is the document title."""
    boundaries: Boundaries = [(0, ())]
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
        stack = heading_path(stack, level, title)
        start = starts[index - 2] if overlined else starts[index - 1]
        add_boundary(boundaries, start, tuple(t for _, t in stack))
    sections = sections_from_boundaries(text, boundaries)
    title = next((s.heading[0] for s in sections if s.heading), "") or path.stem
    return ExtractedDocument("text", title, text, sections, encoding=encoding)


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
    boundaries: Boundaries
    first_h1: str = ""
    front_matter_title: str = ""


def _extract_markdown(path: Path, text: str, encoding: str) -> ExtractedDocument:
    scan = _scan_markdown(text)
    sections = sections_from_boundaries(text, scan.boundaries)
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
            stack = heading_path(stack, level, title)
            add_boundary(scan.boundaries, heading_start, tuple(t for _, t in stack))
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
