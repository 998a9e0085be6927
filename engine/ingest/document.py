"""What every extractor shares: building heading sections, choosing a title, and describing what
was lost when a file could be read only in part."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.errors import ErrorKind, FileProblem
from engine.ingest.text import normalize
from engine.models import ExtractedDocument, Section

TITLE_MAX_CHARS = 120

Boundaries = list[tuple[int, tuple[str, ...]]]  # (offset, heading path) where a section starts


@dataclass(frozen=True)
class PartialDocument(ExtractedDocument):
    """A document that was extracted only in part (some pages failed, timed out or could not be
    recognised). It is still an ExtractedDocument; `extraction_problem` turns it into a
    catalog-ready note of kind `problem_kind`."""

    failed_pages: tuple[int, ...] = ()
    reason: str = ""
    problem_kind: ErrorKind = ErrorKind.PARTIAL


def extraction_problem(document: ExtractedDocument) -> FileProblem | None:
    """What was lost while extracting `document`, or None when nothing was."""
    if isinstance(document, PartialDocument) and document.failed_pages:
        return FileProblem(document.problem_kind, document.reason)
    return None


def add_boundary(boundaries: Boundaries, offset: int, heading: tuple[str, ...]) -> None:
    """Append a section start; a start at the same offset as the previous one replaces it."""
    if boundaries and boundaries[-1][0] == offset:
        boundaries[-1] = (offset, heading)
    else:
        boundaries.append((offset, heading))


def sections_from_boundaries(text: str, boundaries: Boundaries) -> tuple[Section, ...]:
    sections = []
    for index, (start, heading) in enumerate(boundaries):
        end = boundaries[index + 1][0] if index + 1 < len(boundaries) else len(text)
        if end > start:
            sections.append(Section(text[start:end], start, None, heading))
    return tuple(sections)


def heading_path(stack: list[tuple[int, str]], level: int, title: str) -> list[tuple[int, str]]:
    """The heading stack after a heading of `level`: deeper and equal levels close."""
    return [entry for entry in stack if entry[0] < level] + [(level, title)]


_JUNK_TITLES = frozenset({"untitled", "title", "document", "no title", "none", "null", "unknown"})
_FILENAME_TITLE_RE = re.compile(
    r"\.(docx?|pdf|tex|dvi|ps|odt|odp|rtf|pptx?|xlsx?|txt|indd|qxd|epub)$", re.I
)


def is_sane_title(title: str) -> bool:
    """False for the titles tools write by themselves ("Untitled", "Microsoft Word - x.doc")."""
    if not 2 <= len(title) <= 200 or title.lower() in _JUNK_TITLES:
        return False
    if title.lower().startswith("microsoft word - ") or _FILENAME_TITLE_RE.search(title):
        return False
    return any(ch.isalpha() for ch in title) and "\ufffd" not in title


def first_line_title(text: str) -> str:
    for line in text.split("\n"):
        candidate = " ".join(line.split())
        if sum(ch.isalpha() for ch in candidate) >= 3:
            return candidate[:TITLE_MAX_CHARS].strip()
    return ""


def describe_pages(pages: Sequence[int], noun: str = "page") -> str:
    shown = ", ".join(str(page) for page in pages[:10])
    more = f" and {len(pages) - 10} more" if len(pages) > 10 else ""
    return f"{noun}{'s' if len(pages) > 1 else ''} {shown}{more}"


@dataclass
class Block:
    """A paragraph-like run of text in reading order, as structured formats (HTML, Office,
    EPUB) yield them. `heading_level` 1..9 makes it a heading; `page` is a slide number."""

    text: str
    heading_level: int = 0
    page: int | None = None


@dataclass(frozen=True)
class Assembled:
    text: str
    sections: tuple[Section, ...]
    first_heading: str  # the first level-1 heading, a candidate title


def assemble(blocks: Sequence[Block]) -> Assembled:
    """Blocks to one normalized text (blocks separated by blank lines) with a section wherever
    the heading path or the page changes."""
    pieces: list[str] = []
    starts: list[tuple[int, tuple[str, ...], int | None]] = []
    stack: list[tuple[int, str]] = []
    offset = 0
    first_heading = ""
    page: int | None = None
    for block in blocks:
        text = normalize(block.text)
        if not text.strip():
            continue
        if block.page != page:
            page, stack = block.page, []
        if block.heading_level:
            heading = " ".join(text.split())[:TITLE_MAX_CHARS]
            stack = heading_path(stack, block.heading_level, heading)
            if block.heading_level == 1 and not first_heading:
                first_heading = heading
        path = tuple(title for _, title in stack)
        if not starts or starts[-1][1:] != (path, page):
            if starts and starts[-1][0] == offset:
                starts[-1] = (offset, path, page)
            else:
                starts.append((offset, path, page))
        pieces.append(text + "\n\n")
        offset += len(text) + 2
    document_text = "".join(pieces)
    sections = []
    for index, (start, path, section_page) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(document_text)
        if end > start:
            sections.append(Section(document_text[start:end], start, section_page, path))
    return Assembled(document_text, tuple(sections), first_heading)
