"""Office documents to blocks: Word (.docx) and OpenDocument text (.odt) with their headings,
tables (one line per row, cells separated by " | ") and footnotes (placed after the paragraph
that cites them, so they share its section); PowerPoint (.pptx) and OpenDocument presentations
(.odp) slide by slide, each slide a page whose title is its heading, speaker notes included.

Elements are matched by local name, so OOXML's transitional and strict namespaces read alike.
Deleted tracked changes, comments, field codes and the fallback copies of drawings are left out;
headers and footers too (they repeat on every page). Legacy binary .doc/.ppt files are reported
as unsupported with a hint to save them in the current format."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ErrorKind, NeedleError
from engine.ingest.document import Block, assemble, is_sane_title
from engine.ingest.package import OLE_MAGIC, Package, ole_problem
from engine.ingest.text import normalize
from engine.models import DocKind, ExtractedDocument

MAX_HEADING_LEVEL = 9
_WHAT: dict[str, str] = {
    "docx": "Word document",
    "odt": "OpenDocument text",
    "pptx": "PowerPoint presentation",
    "odp": "OpenDocument presentation",
}
_HEADING_STYLE_RE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_CELL_SEPARATOR = " | "


def local(tag: object) -> str:
    """The local part of an ElementTree tag ("{ns}p" -> "p"); "" for comments and the like."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _relation_id(element: ET.Element) -> str:
    """The r:id of an element: its `id` attribute in the relationships namespace (a plain `id`
    beside it is something else, such as a slide's number)."""
    for key, value in element.attrib.items():
        if key.startswith("{") and key.endswith("}id") and "relationships" in key:
            return value
    return ""


def attribute(element: ET.Element, name: str) -> str:
    """An attribute by local name, whatever its namespace."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return ""


def extract_office(path: Path, data: bytes, kind: DocKind) -> ExtractedDocument:
    """Raises NeedleError with kind corrupt | encrypted | unsafe | unsupported | no_text."""
    package = Package(path, data, _WHAT[kind])
    readers: dict[str, Callable[[Package], tuple[list[Block], str]]] = {
        "docx": _docx,
        "odt": _odt,
        "pptx": _pptx,
        "odp": _odp,
    }
    blocks, metadata_title = readers[kind](package)
    assembled = assemble(blocks)
    if not assembled.text.strip():
        raise NeedleError(
            ErrorKind.NO_TEXT,
            f"{path} is a {_WHAT[kind]} with no text.",
            "Nothing to index: it holds only images, drawings or empty pages.",
        )
    pages = max((block.page or 0 for block in blocks), default=0)
    title = metadata_title or assembled.first_heading or path.stem
    return ExtractedDocument(
        kind, title, assembled.text, assembled.sections, pages or None, encoding=""
    )


def extract_legacy(path: Path, data: bytes, description: str, modern: str) -> ExtractedDocument:
    """A .doc or .ppt: read when it is really a modern file under an old name, else refused
    with the fix."""
    if data.startswith(b"PK\x03\x04"):
        kind: DocKind = "docx" if modern == ".docx" else "pptx"
        return extract_office(path, data, kind)
    if data.startswith(OLE_MAGIC):
        problem = ole_problem(path, data, description.removeprefix("a ").removeprefix("an "))
        if problem.kind == ErrorKind.ENCRYPTED:
            raise problem
    raise NeedleError(
        ErrorKind.UNSUPPORTED,
        f"{path.name} is {description}, an old format Needle cannot read.",
        f"Open it in Word, PowerPoint or LibreOffice and save it as {modern}: "
        "the new file is indexed automatically.",
    )


def _core_title(package: Package, part: str) -> str:
    """dc:title from the package's metadata part, when it is a real title."""
    if not package.has(part):
        return ""
    try:
        root = package.xml(part)
    except NeedleError:
        return ""  # metadata is optional; a broken part just means no title
    for element in root.iter():
        if local(element.tag) == "title" and element.text:
            title = " ".join(normalize(element.text).split())
            return title if is_sane_title(title) else ""
    return ""


# ---------------------------------------------------------------------------------------------
# Word (.docx)

_DOCX_SKIPPED = frozenset(
    {
        *("del", "delText", "instrText", "moveFrom", "pPr", "rPr", "sectPr", "fldChar"),
        *("Fallback", "commentReference", "annotationRef", "footnoteRef", "endnoteRef"),
        *("proofErr", "bookmarkStart", "bookmarkEnd", "lastRenderedPageBreak"),
    }
)


@dataclass
class _DocxNotes:
    """Footnotes and endnotes by id, and the ones cited in the current paragraph."""

    texts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    cited: list[tuple[str, list[str]]] = field(default_factory=list)
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def cite(self, kind: str, note_id: str) -> str:
        key = (kind, note_id)
        if key not in self.texts:
            return ""
        number = self.numbers.setdefault(key, len(self.numbers) + 1)
        self.cited.append((f"[{number}]", self.texts[key]))
        return f"[{number}]"


def _docx(package: Package) -> tuple[list[Block], str]:
    main = _docx_main_part(package)
    styles = _docx_heading_styles(package)
    notes = _DocxNotes()
    folder = posixpath.dirname(main)
    for kind in ("footnotes", "endnotes"):
        part = posixpath.join(folder, f"{kind}.xml")
        if package.has(part):
            notes.texts.update(_docx_notes(package.xml(part), kind[:-1]))
    root = package.xml(main)
    body = next((e for e in root.iter() if local(e.tag) == "body"), None)
    if body is None:
        raise package.corrupt("the document has no body")
    blocks: list[Block] = []
    _docx_blocks(body, styles, notes, blocks)
    return blocks, _core_title(package, "docProps/core.xml")


def _docx_main_part(package: Package) -> str:
    """The main document part, as the package relationships name it (word/document.xml)."""
    if package.has("_rels/.rels"):
        for relation in package.xml("_rels/.rels").iter():
            if attribute(relation, "Type").endswith("/officeDocument"):
                target = attribute(relation, "Target").lstrip("/")
                if package.has(target):
                    return target
    return "word/document.xml"


def _docx_heading_styles(package: Package) -> dict[str, int]:
    """Paragraph style id -> heading level, from the style's name or outline level."""
    if not package.has("word/styles.xml"):
        return {}
    names: dict[str, str] = {}
    outline: dict[str, int] = {}
    based_on: dict[str, str] = {}
    for style in package.xml("word/styles.xml").iter():
        if local(style.tag) != "style" or attribute(style, "type") != "paragraph":
            continue
        style_id = attribute(style, "styleId")
        for child in style.iter():
            name = local(child.tag)
            if name == "name":
                names[style_id] = attribute(child, "val")
            elif name == "outlineLvl" and attribute(child, "val").isdigit():
                outline[style_id] = int(attribute(child, "val")) + 1
            elif name == "basedOn":
                based_on[style_id] = attribute(child, "val")
    levels: dict[str, int] = {}
    for style_id, name in names.items():
        match = _HEADING_STYLE_RE.match(name.strip())
        if match:
            levels[style_id] = int(match.group(1))
        elif name.strip().lower() == "title":
            levels[style_id] = 1
        else:
            level = _inherited(style_id, outline, based_on)
            if level and level <= MAX_HEADING_LEVEL:
                levels[style_id] = level
    return levels


def _inherited(style_id: str, outline: dict[str, int], based_on: dict[str, str]) -> int:
    seen: set[str] = set()
    while style_id and style_id not in seen:
        if style_id in outline:
            return outline[style_id]
        seen.add(style_id)
        style_id = based_on.get(style_id, "")
    return 0


def _docx_notes(root: ET.Element, kind: str) -> dict[tuple[str, str], list[str]]:
    notes: dict[tuple[str, str], list[str]] = {}
    for note in root:
        if local(note.tag) != kind or attribute(note, "type") in (
            "separator",
            "continuationSeparator",
            "continuationNotice",
        ):
            continue
        paragraphs = [_docx_text(p, _DocxNotes()) for p in note.iter() if local(p.tag) == "p"]
        # The note's own number comes first, then a tab: the marker replaces both.
        notes[(kind, attribute(note, "id"))] = [p.strip() for p in paragraphs if p.strip()]
    return notes


def _docx_blocks(
    container: ET.Element, styles: dict[str, int], notes: _DocxNotes, blocks: list[Block]
) -> None:
    """Paragraphs and tables of `container` in order (content controls are looked into)."""
    for child in container:
        name = local(child.tag)
        if name == "p":
            _docx_paragraph(child, styles, notes, blocks)
        elif name == "tbl":
            for row in _table_rows(child, "tr", "tc", lambda cell: _docx_cell(cell, notes)):
                blocks.append(Block(row))
            _flush_notes(notes.cited, blocks)
        elif name in ("sdt", "sdtContent", "customXml", "ins", "moveTo", "smartTag"):
            _docx_blocks(child, styles, notes, blocks)


def _docx_paragraph(
    paragraph: ET.Element, styles: dict[str, int], notes: _DocxNotes, blocks: list[Block]
) -> None:
    text_boxes: list[ET.Element] = []
    text = _docx_text(paragraph, notes, text_boxes)
    blocks.append(Block(text, _docx_level(paragraph, styles)))
    _flush_notes(notes.cited, blocks)
    for box in text_boxes:
        _docx_blocks(box, styles, notes, blocks)


def _docx_level(paragraph: ET.Element, styles: dict[str, int]) -> int:
    properties = next((c for c in paragraph if local(c.tag) == "pPr"), None)
    if properties is None:
        return 0
    for child in properties:
        name = local(child.tag)
        if name == "pStyle" and attribute(child, "val") in styles:
            return styles[attribute(child, "val")]
        if name == "outlineLvl" and attribute(child, "val").isdigit():
            level = int(attribute(child, "val")) + 1
            return level if level <= MAX_HEADING_LEVEL else 0
    return 0


def _docx_text(
    element: ET.Element, notes: _DocxNotes, text_boxes: list[ET.Element] | None = None
) -> str:
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        for child in node:
            name = local(child.tag)
            if name in _DOCX_SKIPPED:
                continue
            if name == "t":
                parts.append(child.text or "")
            elif name == "tab":
                parts.append("\t")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name == "noBreakHyphen":
                parts.append("-")
            elif name in ("footnoteReference", "endnoteReference"):
                parts.append(notes.cite(name[: -len("Reference")], attribute(child, "id")))
            elif name == "txbxContent":
                if text_boxes is not None:
                    text_boxes.append(child)
            else:
                walk(child)

    walk(element)
    return "".join(parts)


def _docx_cell(cell: ET.Element, notes: _DocxNotes) -> str:
    texts = [_docx_text(p, notes) for p in cell.iter() if local(p.tag) == "p"]
    return " ".join(" ".join(text.split()) for text in texts if text.strip())


def _flush_notes(cited: list[tuple[str, list[str]]], blocks: list[Block]) -> None:
    for marker, paragraphs in cited:
        if paragraphs:
            blocks.append(Block(f"{marker} " + "\n".join(paragraphs)))
    cited.clear()


def _table_rows(
    table: ET.Element, row_name: str, cell_name: str, cell_text: Callable[[ET.Element], str]
) -> Iterator[str]:
    """One line per row of `table` (not of tables nested in its cells): cell texts joined."""
    for row in _children_named(table, row_name):
        cells = [cell_text(cell) for cell in _children_named(row, cell_name)]
        line = _CELL_SEPARATOR.join(cell for cell in cells if cell)
        if line.strip():
            yield line


def _children_named(element: ET.Element, name: str) -> Iterator[ET.Element]:
    """Descendants called `name`, not looking inside those found (nested tables stay whole)."""
    for child in element:
        if local(child.tag) == name:
            yield child
        elif local(child.tag) not in ("tbl", "table"):
            yield from _children_named(child, name)


# ---------------------------------------------------------------------------------------------
# OpenDocument text (.odt)

_ODF_SKIPPED = frozenset(
    {
        *("annotation", "annotation-end", "tracked-changes", "bookmark", "bookmark-start"),
        *("bookmark-end", "soft-page-break", "note-citation", "desc", "title"),
        *("sequence-decls", "variable-decls", "user-field-decls", "table-columns"),
        "table-column",
    }
)


@dataclass
class _OdfNotes:
    cited: list[tuple[str, list[str]]] = field(default_factory=list)
    count: int = 0


def _odt(package: Package) -> tuple[list[Block], str]:
    root = package.xml("content.xml")
    body = next((e for e in root.iter() if local(e.tag) == "text"), None)
    if body is None:
        raise package.corrupt("the document has no text body")
    blocks: list[Block] = []
    _odf_blocks(body, _OdfNotes(), blocks)
    return blocks, _core_title(package, "meta.xml")


def _odf_blocks(
    container: ET.Element, notes: _OdfNotes, blocks: list[Block], page: int | None = None
) -> None:
    for child in container:
        name = local(child.tag)
        if name in ("p", "h"):
            frames: list[ET.Element] = []
            text = _odf_text(child, notes, frames)
            level = 0
            if name == "h":
                outline = attribute(child, "outline-level")
                level = min(int(outline), MAX_HEADING_LEVEL) if outline.isdigit() else 1
            blocks.append(Block(text, level, page))
            _flush_notes(notes.cited, blocks)
            for frame in frames:
                _odf_blocks(frame, notes, blocks, page)
        elif name == "table":
            for row in _table_rows(child, "table-row", "table-cell", lambda c: _odf_cell(c, notes)):
                blocks.append(Block(row, 0, page))
            _flush_notes(notes.cited, blocks)
        elif name not in _ODF_SKIPPED:
            # list, list-item, section, index bodies, frames and text boxes, table of contents
            _odf_blocks(child, notes, blocks, page)


def _odf_text(element: ET.Element, notes: _OdfNotes, frames: list[ET.Element] | None = None) -> str:
    parts: list[str] = [element.text or ""]
    for child in element:
        name = local(child.tag)
        if name == "s":
            count = attribute(child, "c")
            parts.append(" " * (int(count) if count.isdigit() else 1))
        elif name == "tab":
            parts.append("\t")
        elif name == "line-break":
            parts.append("\n")
        elif name == "note":
            notes.count += 1
            citation = next((c for c in child.iter() if local(c.tag) == "note-citation"), None)
            cited = (citation.text or "").strip() if citation is not None else ""
            marker = f"[{cited or notes.count}]"
            body = next((c for c in child.iter() if local(c.tag) == "note-body"), None)
            paragraphs = [] if body is None else _odf_paragraphs(body, notes)
            notes.cited.append((marker, paragraphs))
            parts.append(marker)
        elif name in ("frame", "text-box"):
            if frames is not None:
                frames.append(child)
        elif name not in _ODF_SKIPPED:
            parts.append(_odf_text(child, notes, frames))
        parts.append(child.tail or "")
    return "".join(parts)


def _odf_paragraphs(container: ET.Element, notes: _OdfNotes) -> list[str]:
    texts = [_odf_text(p, notes) for p in container.iter() if local(p.tag) in ("p", "h")]
    return [text for text in texts if text.strip()]


def _odf_cell(cell: ET.Element, notes: _OdfNotes) -> str:
    return " ".join(" ".join(text.split()) for text in _odf_paragraphs(cell, notes))


# ---------------------------------------------------------------------------------------------
# PowerPoint (.pptx)


def _pptx(package: Package) -> tuple[list[Block], str]:
    blocks: list[Block] = []
    for number, slide_part in enumerate(_pptx_slides(package), start=1):
        slide = package.xml(slide_part)
        title, texts = _pptx_shapes(slide)
        if title:
            blocks.append(Block(title, 1, number))
        blocks.extend(Block(text, 0, number) for text in texts)
        notes = _pptx_notes(package, slide_part)
        if notes:
            blocks.append(Block("Notes: " + notes, 0, number))
    return blocks, _core_title(package, "docProps/core.xml")


def _relations(package: Package, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, target part path)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if not package.has(rels):
        return {}
    found = {}
    for relation in package.xml(rels).iter():
        if local(relation.tag) != "Relationship":
            continue
        target = attribute(relation, "Target")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[attribute(relation, "Id")] = (
            attribute(relation, "Type"),
            posixpath.normpath(resolved),
        )
    return found


def _pptx_slides(package: Package) -> list[str]:
    """Slide parts in presentation order (hidden slides included: they are the author's text)."""
    presentation = "ppt/presentation.xml"
    relations = _relations(package, presentation)
    order = [
        relations[relation][1]
        for slide_id in package.xml(presentation).iter()
        if local(slide_id.tag) == "sldId" and (relation := _relation_id(slide_id)) in relations
    ]
    return [part for part in order if package.has(part)]


def _pptx_shapes(slide: ET.Element) -> tuple[str, list[str]]:
    """The slide's title and its other texts (one per paragraph or table row), in shape order."""
    title = ""
    texts: list[str] = []
    for shape in _shapes(slide):
        if local(shape.tag) == "graphicFrame":
            texts.extend(_table_rows(shape, "tr", "tc", _drawing_cell))
            continue
        paragraphs = [_drawing_text(p) for p in shape.iter() if local(p.tag) == "p"]
        paragraphs = [p for p in paragraphs if p.strip()]
        placeholder = next((e for e in shape.iter() if local(e.tag) == "ph"), None)
        is_title = placeholder is not None and attribute(placeholder, "type") in (
            "title",
            "ctrTitle",
        )
        if is_title and not title and paragraphs:
            title = " ".join(" ".join(p.split()) for p in paragraphs)
        else:
            texts.extend(paragraphs)
    return title, texts


def _shapes(slide: ET.Element) -> Iterator[ET.Element]:
    """Text shapes and table frames, looking into groups and picking one branch of each
    alternate-content choice."""

    def walk(node: ET.Element) -> Iterator[ET.Element]:
        for child in node:
            name = local(child.tag)
            if name in ("sp", "graphicFrame"):
                yield child
            elif name in ("spTree", "grpSp", "cSld", "AlternateContent", "Choice"):
                yield from walk(child)

    return walk(slide)


def _drawing_text(paragraph: ET.Element) -> str:
    parts = []
    for element in paragraph.iter():
        name = local(element.tag)
        if name == "t":
            parts.append(element.text or "")
        elif name == "br":
            parts.append("\n")
    return "".join(parts)


def _drawing_cell(cell: ET.Element) -> str:
    texts = [_drawing_text(p) for p in cell.iter() if local(p.tag) == "p"]
    return " ".join(" ".join(text.split()) for text in texts if text.strip())


def _pptx_notes(package: Package, slide_part: str) -> str:
    for kind, target in _relations(package, slide_part).values():
        if kind.endswith("/notesSlide") and package.has(target):
            notes = package.xml(target)
            texts = []
            for shape in _shapes(notes):
                placeholder = next((e for e in shape.iter() if local(e.tag) == "ph"), None)
                if placeholder is not None and attribute(placeholder, "type") != "body":
                    continue  # the slide image and the slide number
                texts += [_drawing_text(p) for p in shape.iter() if local(p.tag) == "p"]
            return "\n".join(text for text in texts if text.strip())
    return ""


# ---------------------------------------------------------------------------------------------
# OpenDocument presentation (.odp)


def _odp(package: Package) -> tuple[list[Block], str]:
    root = package.xml("content.xml")
    blocks: list[Block] = []
    pages = [e for e in root.iter() if local(e.tag) == "page"]
    for number, page in enumerate(pages, start=1):
        title = ""
        content: list[Block] = []
        for child in page:
            name = local(child.tag)
            if name == "frame" and attribute(child, "class") == "title" and not title:
                title = " ".join(" ".join(p.split()) for p in _odf_paragraphs(child, _OdfNotes()))
            elif name == "notes":
                notes = _odf_paragraphs(child, _OdfNotes())
                if notes:
                    content.append(Block("Notes: " + "\n".join(notes), 0, number))
            elif name not in ("desc", "title"):
                _odf_blocks(child, _OdfNotes(), content, number)
        if title:
            blocks.append(Block(title, 1, number))
        blocks.extend(content)
    return blocks, _core_title(package, "meta.xml")
