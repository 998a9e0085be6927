"""The chunk index: one Tantivy document per chunk, BM25 over English and CJK fields.

Schema (see docs/index-schema.md): `text_en` (stemmed words) and `text_cjk` (segmented CJK) carry
the chunk text; `title`/`heading` (and their `_cjk` twins) are boosted; `path`, every ancestor
folder (`folders`) and folder name (`folder_names`), `extension`, `modified` filter; the raw text
and the chunk's location (page, heading, ordinal, offsets) are stored so a hit needs no file access.

One writer per index directory: only an index opened `writable=True` creates the IndexWriter, and
only on its first write. A schema file records the schema version and the CJK segmentation; when
either differs, a writable open empties the index and says so with `rebuilt = True`.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import tantivy

from engine.analysis import (
    CJK_TOKENIZER,
    DEFAULT_SEGMENTATION,
    EN_TOKENIZER,
    SEGMENTATIONS,
    Segmentation,
    cjk_field_text,
    cjk_runs,
    cjk_tokens,
    drop_question_words,
    english_tokens,
    is_cjk_run,
    register_analyzers,
    storable,
)
from engine.errors import NeedleError, WriterLocked
from engine.highlight import highlight_spans, make_snippet
from engine.models import Chunk, SearchFilters, SearchHit
from engine.query import ParsedQuery, parse_query

SCHEMA_VERSION = 2
SCHEMA_FILE = "needle-schema.json"
HEADING_SEPARATOR = "\u001f"  # between heading levels in the stored heading field
WRITER_HEAP_BYTES = 128_000_000
WRITER_THREADS = 2
TITLE_BOOST = 1.6
HEADING_BOOST = 1.3
PHRASE_BOOST = 2.0
# search_keywords turns whole sentences into terms; beyond this many distinct terms the extra
# ones add latency, not recall.
MAX_KEYWORD_TERMS = 256
LARGE_LIMIT = 1000

Occur = tantivy.Occur


@dataclass(frozen=True)
class IndexStats:
    num_chunks: int
    num_docs: int
    size_bytes: int
    segmentation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_chunks": self.num_chunks,
            "num_docs": self.num_docs,
            "size_bytes": self.size_bytes,
            "segmentation": self.segmentation,
        }


def _build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("text_en", tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("text_cjk", tokenizer_name=CJK_TOKENIZER)
    # Stored only: a bytes field is the one kind Tantivy keeps without indexing it.
    builder.add_bytes_field("text", stored=True)
    builder.add_text_field("path", stored=True, tokenizer_name="raw")
    builder.add_text_field("folders", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("folder_names", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", stored=True, tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("title_cjk", tokenizer_name=CJK_TOKENIZER)
    builder.add_text_field("heading", stored=True, tokenizer_name=EN_TOKENIZER)
    builder.add_text_field("heading_cjk", tokenizer_name=CJK_TOKENIZER)
    builder.add_unsigned_field("page", stored=True)
    builder.add_unsigned_field("ordinal", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("start", stored=True)
    builder.add_unsigned_field("end", stored=True)
    builder.add_unsigned_field("tokens", stored=True)
    builder.add_text_field("content_hash", stored=True, tokenizer_name="raw")
    builder.add_text_field("extension", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_float_field("modified", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("size", stored=True)
    return builder.build()


def normalize_folder(folder: str) -> str:
    """The form folders are indexed in: no trailing separator (the root stays itself)."""
    stripped = folder.rstrip("/\\")
    return stripped or folder


def ancestor_folders(path: str) -> list[str]:
    return [str(parent) for parent in PurePath(path).parents]


def _folder_names(path: str) -> list[str]:
    return sorted({part.lower() for part in PurePath(path).parent.parts if part.strip("/\\")})


def _extension_of(path: str) -> str:
    return PurePath(path).suffix.lstrip(".").lower()


def _dir_size(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total


@dataclass(frozen=True)
class _DocMeta:
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


class ChunkIndex:
    """A Tantivy index of chunks. Build with `ChunkIndex.open`."""

    def __init__(
        self,
        index: tantivy.Index,
        index_dir: Path,
        *,
        writable: bool,
        segmentation: Segmentation,
        rebuilt: bool,
    ) -> None:
        self._index = index
        self._schema = index.schema
        self.index_dir = index_dir
        self.writable = writable
        self.segmentation: Segmentation = segmentation
        self.rebuilt = rebuilt
        self._writer: tantivy.IndexWriter | None = None
        self._writer_lock = threading.Lock()

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(
        cls,
        index_dir: Path,
        *,
        writable: bool,
        segmentation: Segmentation = DEFAULT_SEGMENTATION,
    ) -> ChunkIndex:
        """Open (and when writable, create or rebuild) the index in `index_dir`.
        A read-only open never writes; it takes the segmentation the index was built with."""
        index_dir = Path(index_dir)
        if segmentation not in SEGMENTATIONS:
            raise NeedleError(
                "bad_setting",
                f"Unknown CJK segmentation '{segmentation}'.",
                f"Use one of: {', '.join(SEGMENTATIONS)}.",
            )
        recorded = _read_schema_file(index_dir)
        if not writable:
            return cls._open_read_only(index_dir, recorded)
        wanted = {"version": SCHEMA_VERSION, "segmentation": segmentation}
        exists = tantivy.Index.exists(str(index_dir)) if index_dir.is_dir() else False
        rebuilt = exists and recorded != wanted
        if rebuilt:
            _empty_folder(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        try:
            index = _create_or_open(index_dir, create=not exists or rebuilt)
        except NeedleError:
            if not exists or rebuilt:
                raise
            # An index that cannot be read is rebuilt from the files: the catalog re-extracts.
            _empty_folder(index_dir)
            index = _create_or_open(index_dir, create=True)
            rebuilt = True
        _write_schema_file(index_dir, wanted)
        return cls(index, index_dir, writable=True, segmentation=segmentation, rebuilt=rebuilt)

    @classmethod
    def _open_read_only(cls, index_dir: Path, recorded: dict[str, Any] | None) -> ChunkIndex:
        if not index_dir.is_dir() or not tantivy.Index.exists(str(index_dir)):
            raise NeedleError(
                "index_missing",
                f"There is no search index at {index_dir}.",
                "Add a folder and index it first (needle index FOLDER).",
            )
        version = recorded.get("version") if recorded else None
        segmentation = recorded.get("segmentation") if recorded else None
        if version != SCHEMA_VERSION or segmentation not in SEGMENTATIONS:
            raise NeedleError(
                "index_outdated",
                f"The search index at {index_dir} was built by another version of Needle.",
                "Run an index update (needle index) to rebuild it.",
            )
        index = _create_or_open(index_dir, create=False)
        return cls(index, index_dir, writable=False, segmentation=segmentation, rebuilt=False)

    # ----------------------------------------------------------------- writing

    def _require_writer(self) -> tantivy.IndexWriter:
        if not self.writable:
            raise NeedleError(
                "read_only",
                "This index was opened read-only.",
                "Only the engine process that owns the writer may change the index.",
            )
        with self._writer_lock:
            if self._writer is None:
                try:
                    self._writer = self._index.writer(
                        heap_size=WRITER_HEAP_BYTES, num_threads=WRITER_THREADS
                    )
                except ValueError as error:
                    raise WriterLocked(
                        "writer_locked",
                        f"Another process is writing the search index at {self.index_dir}.",
                        "Close the other Needle (or wait for its indexing to finish) and retry.",
                    ) from error
            return self._writer

    def add_document(
        self,
        doc_id: str,
        path: str,
        title: str,
        chunks: Sequence[Chunk],
        *,
        extension: str,
        modified: float,
        size: int,
        kind: str,
    ) -> int:
        """Replace every chunk of `doc_id` with `chunks`; returns how many were added.
        Visible to searches after `commit()`."""
        writer = self._require_writer()
        meta = self._doc_meta(doc_id, path, title, extension, modified, size, kind)
        writer.delete_documents_by_term("doc_id", doc_id)
        for chunk in chunks:
            writer.add_document(self._chunk_document(meta, chunk))
        return len(chunks)

    def _doc_meta(
        self,
        doc_id: str,
        path: str,
        title: str,
        extension: str,
        modified: float,
        size: int,
        kind: str,
    ) -> _DocMeta:
        """Everything a document's chunks share, worked out once per document."""
        path, title = storable(path), storable(title)
        return _DocMeta(
            doc_id=doc_id,
            path=path,
            title=title,
            extension=extension.lstrip(".").lower(),
            modified=float(modified),
            size=max(0, int(size)),
            kind=kind,
            folders=tuple(ancestor_folders(path)),
            folder_names=tuple(_folder_names(path)),
            title_cjk=cjk_field_text(title, self.segmentation),
        )

    def _chunk_document(self, meta: _DocMeta, chunk: Chunk) -> tantivy.Document:
        text = storable(chunk.text)
        doc = tantivy.Document()
        doc.add_text("chunk_id", chunk.chunk_id)
        doc.add_text("doc_id", meta.doc_id)
        doc.add_text("text_en", text)
        cjk = cjk_field_text(text, self.segmentation)
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
        heading_cjk = cjk_field_text(heading, self.segmentation)
        if heading_cjk:
            doc.add_text("heading_cjk", heading_cjk)
        if chunk.page is not None:
            doc.add_unsigned("page", chunk.page)
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

    def delete_document(self, doc_id: str) -> None:
        self._require_writer().delete_documents_by_term("doc_id", doc_id)

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        writer = self._require_writer()
        for doc_id in doc_ids:
            writer.delete_documents_by_term("doc_id", doc_id)

    def rename_document(
        self,
        doc_id: str,
        new_path: str,
        new_title: str,
        *,
        modified: float | None = None,
        size: int | None = None,
    ) -> int:
        """Move `doc_id`'s committed chunks to `new_path` (same chunk ids, no re-extraction);
        returns how many chunks moved (0 when the index has none for `doc_id`). The extension
        follows the new name; `modified`/`size` update the file's metadata when given."""
        hits = self.document_chunks(doc_id)
        if not hits:
            return 0
        first = hits[0]
        meta = self._doc_meta(
            doc_id,
            new_path,
            new_title,
            _extension_of(new_path) or first.extension,
            first.modified if modified is None else modified,
            first.size if size is None else size,
            first.kind,
        )
        writer = self._require_writer()
        writer.delete_documents_by_term("doc_id", doc_id)
        for hit in hits:
            writer.add_document(self._chunk_document(meta, _chunk_of(hit)))
        return len(hits)

    def delete_all(self) -> None:
        self._require_writer().delete_all_documents()

    def commit(self) -> None:
        """Make every change since the last commit durable and visible to searches."""
        if self._writer is None:
            return
        with self._writer_lock:
            self._writer.commit()
        self._index.reload()

    def rollback(self) -> None:
        if self._writer is not None:
            with self._writer_lock:
                self._writer.rollback()

    def reload(self) -> None:
        """See the latest commit (made by this object or, for a reader, by the writer)."""
        self._index.reload()

    def close(self) -> None:
        """Release the writer (and its lock file); uncommitted changes are dropped."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer.wait_merging_threads()
                self._writer = None

    def wait_merging(self) -> None:
        """Let background segment merges finish (then the writer is gone until the next write)."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None

    # ----------------------------------------------------------------- query building

    def _term(self, field: str, value: str | int) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, field, value)

    def _single_cjk_char(self, field: str, char: str) -> tantivy.Query:
        """Every occurrence of a character is either the start of a bigram or a unigram (alone
        or a run's tail), so with bigrams one character is a prefix search: fast on the
        term dictionary."""
        if self.segmentation != "bigram":
            return self._term(field, char)
        return tantivy.Query.regex_query(self._schema, field, f"{_re_escape(char)}.?")

    def _cjk_token(self, field: str, term: str) -> tantivy.Query:
        if len(term) == 1 and is_cjk_run(term):
            return self._single_cjk_char(field, term)
        return self._term(field, term)

    def _cjk_sequence(self, field: str, text: str, *, phrase: bool) -> tantivy.Query | None:
        """Tokens of `text` in a CJK field: as a phrase, or all required (a typed Chinese word)."""
        tokens = [t for t in cjk_tokens(text, self.segmentation) if not t.tail]
        if not tokens:
            return None
        if len(tokens) == 1:
            return self._cjk_token(field, tokens[0].term)
        if not phrase:
            subqueries = [(Occur.Must, self._cjk_token(field, t.term)) for t in tokens]
            return tantivy.Query.boolean_query(subqueries)
        words: list[str | tuple[int, str]] = [(t.position, t.term) for t in tokens]
        last = tokens[-1].term
        if self.segmentation == "bigram" and len(last) == 1 and is_cjk_run(last):
            # "用Python写": in the text 写 may begin a bigram ("写代"); any other lone
            # character is a unigram there too (a run's tail, or a run of one).
            patterns = [(t.position, _re_escape(t.term)) for t in tokens[:-1]]
            patterns.append((tokens[-1].position, _re_escape(last) + ".?"))
            return tantivy.Query.regex_phrase_query(self._schema, field, list(patterns))
        return tantivy.Query.phrase_query(self._schema, field, words)

    def _en_sequence(self, field: str, text: str) -> tantivy.Query | None:
        tokens = english_tokens(text)
        if not tokens:
            return None
        if len(tokens) == 1:
            return self._term(field, tokens[0].term)
        words: list[str | tuple[int, str]] = [
            (t.position - tokens[0].position, t.term) for t in tokens
        ]
        return tantivy.Query.phrase_query(self._schema, field, words)

    def _text_clause(self, text: str, *, phrase: bool) -> tantivy.Query | None:
        """One term or phrase of the user's query, matched in any text field."""
        options: list[tantivy.Query] = []
        cjk_present = bool(cjk_runs(text))
        # A term without CJK is an English word (possibly "don't" or "e-mail": a short phrase).
        # A term with CJK goes to the CJK fields, whose tokens also hold its Latin words.
        if not cjk_present:
            for field, boost in (
                ("text_en", 1.0),
                ("title", TITLE_BOOST),
                ("heading", HEADING_BOOST),
            ):
                query = self._en_sequence(field, text)
                if query is not None:
                    options.append(_boost(query, boost))
        else:
            for field, boost in (
                ("text_cjk", 1.0),
                ("title_cjk", TITLE_BOOST),
                ("heading_cjk", HEADING_BOOST),
            ):
                query = self._cjk_sequence(field, text, phrase=phrase)
                if query is not None:
                    options.append(_boost(query, boost))
        if not options:
            return None
        if len(options) == 1:
            return options[0]
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in options])

    def _filter_query(
        self, filters: SearchFilters | None, parsed: ParsedQuery | None
    ) -> list[tantivy.Query]:
        """Must-clauses for the filters from the caller and from the query text (both apply)."""
        clauses: list[tantivy.Query] = []
        if filters is not None:
            clauses.extend(self._filters_clauses(filters))
        if parsed is not None:
            clauses.extend(self._parsed_filter_clauses(parsed))
        # Filters select; they must not rank (a folder-name match is no sign of relevance).
        return [tantivy.Query.const_score_query(c, 0.0) for c in clauses]

    def _any_of(self, queries: list[tantivy.Query]) -> tantivy.Query:
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in queries])

    def _filters_clauses(self, filters: SearchFilters) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        places = [self._term("folders", storable(normalize_folder(f))) for f in filters.folders]
        places += [self._term("path", storable(p)) for p in filters.paths]
        if places:
            clauses.append(self._any_of(places))
        if filters.extensions:
            exts = [self._term("extension", e.lstrip(".").lower()) for e in filters.extensions]
            clauses.append(self._any_of(exts))
        modified = self._modified_range(filters.modified_after, filters.modified_before)
        if modified is not None:
            clauses.append(modified)
        return clauses

    def _parsed_filter_clauses(self, parsed: ParsedQuery) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        if parsed.folders:
            clauses.append(self._any_of([self._folder_clause(f) for f in parsed.folders]))
        if parsed.extensions:
            clauses.append(self._any_of([self._term("extension", e) for e in parsed.extensions]))
        modified = self._modified_range(parsed.modified_after, parsed.modified_before)
        if modified is not None:
            clauses.append(modified)
        return clauses

    def _folder_clause(self, folder: str) -> tantivy.Query:
        """`in:` with an absolute path is that folder; otherwise names of folders on the path."""
        if PurePath(folder).is_absolute() or folder.startswith("~"):
            expanded = os.path.expanduser(folder) if folder.startswith("~") else folder
            return self._term("folders", normalize_folder(expanded))
        names = [part.lower() for part in PurePath(folder).parts if part.strip("/\\.")]
        if not names:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query(
            [(Occur.Must, self._term("folder_names", name)) for name in names]
        )

    def _modified_range(self, after: float | None, before: float | None) -> tantivy.Query | None:
        if after is None and before is None:
            return None
        return tantivy.Query.range_query(
            self._schema,
            "modified",
            tantivy.FieldType.Float,
            float(after) if after is not None else None,
            float(before) if before is not None else None,
            include_lower=True,
            # Tantivy insists that an unbounded side be inclusive.
            include_upper=before is None,
        )

    def _scope_query(self, filters: SearchFilters | None) -> tantivy.Query:
        clauses = self._filter_query(filters, None)
        if not clauses:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query([(Occur.Must, c) for c in clauses])

    # ----------------------------------------------------------------- searching

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        filters: SearchFilters | None = None,
    ) -> list[SearchHit]:
        """Search-box syntax (engine/query.py). Every term is required; when no chunk has them
        all, any term will do (ranked by BM25, so chunks with more of them come first)."""
        # Indexed text is NFKC-normalized; so is what the user types (full-width letters, ﬁ).
        parsed = parse_query(unicodedata.normalize("NFKC", storable(query)))
        if parsed.errors:
            raise NeedleError("bad_query", " ".join(parsed.errors), "Fix or remove that filter.")
        if limit <= 0:
            return []
        positives = [c for c in (self._text_clause(t, phrase=False) for t in parsed.terms) if c]
        phrases = [c for c in (self._text_clause(p, phrase=True) for p in parsed.phrases) if c]
        excluded = [c for c in (self._text_clause(x, phrase=True) for x in parsed.excluded) if c]
        base = [(Occur.Must, c) for c in self._filter_query(filters, parsed)]
        base += [(Occur.Must, p) for p in phrases] + [(Occur.MustNot, x) for x in excluded]
        if not positives and not phrases:
            if not parsed.has_filters and not excluded and not _restricts(filters):
                return []
            # Only filters or exclusions: list the matching chunks (all score alike).
            base.append((Occur.Must, tantivy.Query.all_query()))
            return self._run(tantivy.Query.boolean_query(base), limit, offset, parsed.positive)
        strict = tantivy.Query.boolean_query(base + [(Occur.Must, c) for c in positives])
        hits = self._run(strict, limit, offset, parsed.positive)
        if hits or not positives or (offset > 0 and self._count(strict) > 0):
            return hits
        # Nothing has every term: rank chunks by BM25 over any word of any term, so a Chinese
        # question typed as one run still finds the chunks sharing its rarer words.
        loose_terms = [(Occur.Should, q) for q in self._keyword_clauses(parsed.terms)]
        if not loose_terms:
            return []
        needed = None if phrases else 1
        loose = tantivy.Query.boolean_query(base + loose_terms, minimum_number_should_match=needed)
        return self._run(loose, limit, offset, parsed.positive)

    def search_keywords(
        self,
        keywords: Sequence[str],
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
    ) -> list[SearchHit]:
        """For the agent: any keyword or sentence in any language, no syntax, OR semantics."""
        if limit <= 0:
            return []
        keywords = [unicodedata.normalize("NFKC", storable(k)) for k in keywords]
        should = self._keyword_clauses(keywords)
        if not should:
            return []
        clauses = [(Occur.Should, q) for q in should]
        clauses += [(Occur.Must, c) for c in self._filter_query(filters, None)]
        query = tantivy.Query.boolean_query(clauses, minimum_number_should_match=1)
        return self._run(query, limit, 0, list(keywords))

    def _keyword_clauses(self, texts: Sequence[str]) -> list[tantivy.Query]:
        """One optional clause per distinct word of `texts` (English stems and CJK segments),
        in the body and the title."""
        en_terms: dict[str, None] = {}
        cjk_terms: dict[str, None] = {}
        for text in texts:
            for token in english_tokens(text):
                en_terms[token.term] = None
            for token in cjk_tokens(drop_question_words(text), self.segmentation):
                if is_cjk_run(token.term) and not token.tail:
                    cjk_terms[token.term] = None
        should: list[tantivy.Query] = []
        for term in list(en_terms)[:MAX_KEYWORD_TERMS]:
            should.append(self._term("text_en", term))
            should.append(_boost(self._term("title", term), TITLE_BOOST))
        for term in list(cjk_terms)[:MAX_KEYWORD_TERMS]:
            if len(term) == 1:
                should.append(self._single_cjk_char("text_cjk", term))
            else:
                should.append(self._term("text_cjk", term))
                should.append(_boost(self._term("title_cjk", term), TITLE_BOOST))
        should.extend(self._keyword_phrases(texts))
        return should

    def _keyword_phrases(self, texts: Sequence[str]) -> list[tantivy.Query]:
        """A keyword of several words also scores as a phrase, so a sentence quoted from a
        document ranks the chunk that holds it first."""
        phrases: list[tantivy.Query] = []
        for text in texts:
            if cjk_runs(text):
                query = self._cjk_sequence("text_cjk", text, phrase=True)
                several = len(cjk_tokens(text, self.segmentation)) > 1
            else:
                query = self._en_sequence("text_en", text)
                several = len(english_tokens(text)) > 1
            if query is not None and several:
                phrases.append(_boost(query, PHRASE_BOOST))
        return phrases

    def _run(
        self, query: tantivy.Query, limit: int, offset: int, highlight_terms: Sequence[str]
    ) -> list[SearchHit]:
        searcher = self._index.searcher()
        if limit > LARGE_LIMIT:
            # Tantivy reserves room for `limit` hits up front: never more than there are.
            limit = max(1, min(limit, searcher.num_docs))
        result = searcher.search(query, limit, count=False, offset=offset)
        return [
            self._hit(searcher.doc(address), score, highlight_terms)
            for score, address in result.hits
        ]

    def _count(self, query: tantivy.Query) -> int:
        result: Any = self._index.searcher().search(query, 1, count=True)
        return int(result.count)

    def _hit(
        self, doc: tantivy.Document, score: float, highlight_terms: Sequence[str]
    ) -> SearchHit:
        text = bytes(doc.get_first("text") or b"").decode("utf-8")
        spans = highlight_spans(text, highlight_terms) if highlight_terms else ()
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
            extension=str(doc.get_first("extension") or ""),
            modified=float(doc.get_first("modified") or 0.0),
            content_hash=str(doc.get_first("content_hash") or ""),
            kind=str(doc.get_first("kind") or ""),
            tokens=int(doc.get_first("tokens") or 0),
            size=int(doc.get_first("size") or 0),
        )

    # ----------------------------------------------------------------- listing

    def _all_hits(self, query: tantivy.Query, limit: int | None = None) -> list[SearchHit]:
        searcher = self._index.searcher()
        total = self._count(query)
        if total == 0:
            return []
        result = searcher.search(query, min(total, limit or total), count=False)
        return [self._hit(searcher.doc(address), 0.0, ()) for _, address in result.hits]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[SearchHit]:
        """The stored chunks with these ids, in the order asked; unknown ids are skipped."""
        if not chunk_ids:
            return []
        query = tantivy.Query.term_set_query(
            self._schema, "chunk_id", list(dict.fromkeys(chunk_ids))
        )
        by_id = {hit.chunk_id: hit for hit in self._all_hits(query)}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def document_chunks(self, doc_id: str) -> list[SearchHit]:
        """Every chunk of one document, in document order."""
        hits = self._all_hits(self._term("doc_id", doc_id))
        return sorted(hits, key=lambda hit: hit.ordinal)

    def scope_chunks(
        self, filters: SearchFilters | None, *, limit: int | None = None
    ) -> list[SearchHit]:
        """The chunks the filters select, in document order (by path, then position); at most
        `limit` of them, taken from the start of that order."""
        hits = self._all_hits(self._scope_query(filters))
        hits.sort(key=lambda hit: (hit.path, hit.ordinal))
        return hits[:limit] if limit is not None else hits

    def count(self, filters: SearchFilters | None = None) -> int:
        return self._count(self._scope_query(filters))

    def doc_ids(self, filters: SearchFilters | None = None) -> set[str]:
        """The ids of the documents with a chunk the filters select."""
        query = tantivy.Query.boolean_query(
            [(Occur.Must, self._scope_query(filters)), (Occur.Must, self._term("ordinal", 0))]
        )
        searcher = self._index.searcher()
        total = self._count(query)
        if total == 0:
            return set()
        hits = searcher.search(query, total, count=False).hits
        return {str(searcher.doc(address).get_first("doc_id")) for _, address in hits}

    def doc_ids_for_path_prefix(self, prefix: str) -> set[str]:
        """Documents at `prefix` itself or anywhere under it (for removing a folder)."""
        prefix = normalize_folder(prefix)
        return self.doc_ids(SearchFilters(folders=(prefix,))) | self.doc_ids(
            SearchFilters(paths=(prefix,))
        )

    def stats(self) -> IndexStats:
        return IndexStats(
            num_chunks=self._index.searcher().num_docs,
            num_docs=self._count(self._term("ordinal", 0)),
            size_bytes=_dir_size(self.index_dir),
            segmentation=self.segmentation,
        )


# --------------------------------------------------------------------- helpers


def _restricts(filters: SearchFilters | None) -> bool:
    return filters is not None and filters != SearchFilters()


def _boost(query: tantivy.Query, boost: float) -> tantivy.Query:
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _re_escape(text: str) -> str:
    """Escape for Tantivy's regex syntax (Rust regex): letters and digits, CJK included, stand
    for themselves; anything else is escaped."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)


def _chunk_of(hit: SearchHit) -> Chunk:
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
    )


def _read_schema_file(index_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((index_dir / SCHEMA_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_schema_file(index_dir: Path, data: dict[str, Any]) -> None:
    target = index_dir / SCHEMA_FILE
    temporary = index_dir / (SCHEMA_FILE + ".tmp")
    temporary.write_text(json.dumps(data), "utf-8")
    os.replace(temporary, target)


def _empty_folder(folder: Path) -> None:
    if not folder.exists():
        return
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _create_or_open(index_dir: Path, *, create: bool) -> tantivy.Index:
    try:
        if create:
            index = tantivy.Index(_build_schema(), path=str(index_dir), reuse=False)
        else:
            index = tantivy.Index.open(str(index_dir))
    except ValueError as error:
        raise NeedleError(
            "index_corrupt",
            f"The search index at {index_dir} cannot be opened: {error}",
            "Delete that folder and index again.",
        ) from error
    register_analyzers(index)
    index.config_reader(reload_policy="manual")
    return index
