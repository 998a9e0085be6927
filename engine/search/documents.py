"""How a chunk becomes a Tantivy document and a stored document becomes a `SearchHit` again,
and the path-derived fields (ancestor folders, folder names, extension) both sides use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

import tantivy

from engine.models import Chunk, SearchHit
from engine.search.analysis import (
    Segmentation,
    cjk_field_text,
    storable,
)
from engine.search.highlight import HighlightTerms, highlight_spans, make_snippet
from engine.textforms import match_form

HEADING_SEPARATOR = "\u001f"  # between heading levels in the stored heading field


def normalize_folder(folder: str) -> str:
    """The form folders are indexed in: no trailing separator (the root stays itself)."""
    stripped = folder.rstrip("/\\")
    return stripped or folder


def ancestor_folders(path: str) -> list[str]:
    return [str(parent) for parent in PurePath(path).parents]


def folder_names(path: str) -> list[str]:
    return sorted({part.lower() for part in PurePath(path).parent.parts if part.strip("/\\")})


def extension_of(path: str) -> str:
    return PurePath(path).suffix.lstrip(".").lower()


@dataclass(frozen=True)
class DocMeta:
    """What every chunk of one file shares."""

    doc_id: str
    path: str
    title: str
    extension: str
    modified: float
    size: int
    kind: str
    folders: tuple[str, ...]
    folder_names: tuple[str, ...]
    title_cjk: str


def doc_meta(
    doc_id: str,
    path: str,
    title: str,
    extension: str,
    modified: float,
    size: int,
    kind: str,
    segmentation: Segmentation,
) -> DocMeta:
    """Everything a document's chunks share, worked out once per document."""
    path, title = storable(path), storable(title)
    return DocMeta(
        doc_id=doc_id,
        path=path,
        title=title,
        extension=extension.lstrip(".").lower(),
        modified=float(modified),
        size=max(0, int(size)),
        kind=kind,
        folders=tuple(ancestor_folders(path)),
        folder_names=tuple(folder_names(path)),
        title_cjk=cjk_field_text(match_form(title), segmentation),
    )


def chunk_document(meta: DocMeta, chunk: Chunk, segmentation: Segmentation) -> tantivy.Document:
    """The Tantivy document of one chunk (docs/index-schema.md lists the fields). The analyzed
    fields take the text's matched form, the stored one its shown form (engine/textforms.py)."""
    text = storable(chunk.text)
    matched = match_form(text)
    doc = tantivy.Document()
    doc.add_text("chunk_id", chunk.chunk_id)
    doc.add_text("doc_id", meta.doc_id)
    doc.add_text("text_en", matched)
    cjk = cjk_field_text(matched, segmentation)
    if cjk:
        doc.add_text("text_cjk", cjk)
    doc.add_bytes("text", text.encode("utf-8"))
    doc.add_text("path", meta.path)
    for folder in meta.folders:
        doc.add_text("folders", folder)
    for name in meta.folder_names:
        doc.add_text("folder_names", name)
    doc.add_text("title", meta.title)
    if meta.title_cjk:
        doc.add_text("title_cjk", meta.title_cjk)
    heading = storable(HEADING_SEPARATOR.join(chunk.heading))
    doc.add_text("heading", heading)
    heading_cjk = cjk_field_text(match_form(heading), segmentation)
    if heading_cjk:
        doc.add_text("heading_cjk", heading_cjk)
    if chunk.page is not None:
        doc.add_unsigned("page", chunk.page)
    if chunk.ocr:
        doc.add_unsigned("ocr", 1)
    doc.add_unsigned("ordinal", chunk.ordinal)
    doc.add_unsigned("start", chunk.start)
    doc.add_unsigned("end", chunk.end)
    doc.add_unsigned("tokens", chunk.tokens)
    doc.add_text("content_hash", chunk.content_hash)
    doc.add_text("extension", meta.extension)
    doc.add_text("kind", meta.kind)
    doc.add_float("modified", meta.modified)
    doc.add_unsigned("size", meta.size)
    return doc


def hit_from_document(
    doc: tantivy.Document, score: float, highlight: HighlightTerms | Sequence[str]
) -> SearchHit:
    """A stored chunk as a hit, highlighted for `highlight` (a query or keywords, and maybe
    the word being typed)."""
    text = bytes(doc.get_first("text") or b"").decode("utf-8")
    terms = highlight if isinstance(highlight, HighlightTerms) else HighlightTerms(tuple(highlight))
    spans = (
        highlight_spans(text, terms.query, terms.prefixes) if terms.query or terms.prefixes else ()
    )
    snippet, snippet_spans = make_snippet(text, spans)
    heading = str(doc.get_first("heading") or "")
    page = doc.get_first("page")
    return SearchHit(
        chunk_id=str(doc.get_first("chunk_id")),
        doc_id=str(doc.get_first("doc_id")),
        path=str(doc.get_first("path")),
        title=str(doc.get_first("title") or ""),
        score=float(score),
        text=text,
        snippet=snippet,
        snippet_highlights=snippet_spans,
        highlights=spans,
        ordinal=int(doc.get_first("ordinal") or 0),
        start=int(doc.get_first("start") or 0),
        end=int(doc.get_first("end") or 0),
        page=int(page) if page is not None else None,
        heading=tuple(heading.split(HEADING_SEPARATOR)) if heading else (),
        ocr=bool(doc.get_first("ocr")),
        extension=str(doc.get_first("extension") or ""),
        modified=float(doc.get_first("modified") or 0.0),
        content_hash=str(doc.get_first("content_hash") or ""),
        kind=str(doc.get_first("kind") or ""),
        tokens=int(doc.get_first("tokens") or 0),
        size=int(doc.get_first("size") or 0),
    )


def chunk_of(hit: SearchHit) -> Chunk:
    return Chunk(
        chunk_id=hit.chunk_id,
        doc_id=hit.doc_id,
        ordinal=hit.ordinal,
        text=hit.text,
        start=hit.start,
        end=hit.end,
        tokens=hit.tokens,
        content_hash=hit.content_hash,
        page=hit.page,
        heading=hit.heading,
        ocr=hit.ocr,
    )
