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

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from engine.errors import ErrorKind, NeedleError, WriterLocked
from engine.models import Chunk, SearchFilters, SearchHit
from engine.search.analysis import (
    DEFAULT_SEGMENTATION,
    SEGMENTATIONS,
    Segmentation,
    storable,
)
from engine.search.documents import (
    chunk_document,
    chunk_of,
    doc_meta,
    extension_of,
    hit_from_document,
    normalize_folder,
)
from engine.search.highlight import HighlightTerms
from engine.search.queries import QueryBuilder
from engine.search.query import check_query_size, parse_query, typed_prefix
from engine.search.schema import (
    SCHEMA_VERSION,
    create_or_open,
    empty_folder,
    read_schema_file,
    write_schema_file,
)
from engine.textforms import match_form

WRITER_HEAP_BYTES = 128_000_000
WRITER_THREADS = 2
LARGE_LIMIT = 1000

Occur = tantivy.Occur


@dataclass(frozen=True)
class SearchPage:
    """The hits of one search (best first) and how many chunks matched in all."""

    hits: list[SearchHit]
    total: int


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


def _dir_size(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
    return total


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
        self._queries = QueryBuilder(index.schema, segmentation)

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
                ErrorKind.BAD_SETTING,
                f"Unknown CJK segmentation '{segmentation}'.",
                f"Use one of: {', '.join(SEGMENTATIONS)}.",
            )
        recorded = read_schema_file(index_dir)
        if not writable:
            return cls._open_read_only(index_dir, recorded)
        wanted = {"version": SCHEMA_VERSION, "segmentation": segmentation}
        exists = tantivy.Index.exists(str(index_dir)) if index_dir.is_dir() else False
        rebuilt = exists and recorded != wanted
        if rebuilt:
            empty_folder(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        try:
            index = create_or_open(index_dir, create=not exists or rebuilt)
        except NeedleError:
            if not exists or rebuilt:
                raise
            # An index that cannot be read is rebuilt from the files: the catalog re-extracts.
            empty_folder(index_dir)
            index = create_or_open(index_dir, create=True)
            rebuilt = True
        write_schema_file(index_dir, wanted)
        return cls(index, index_dir, writable=True, segmentation=segmentation, rebuilt=rebuilt)

    @classmethod
    def _open_read_only(cls, index_dir: Path, recorded: dict[str, Any] | None) -> ChunkIndex:
        if not index_dir.is_dir() or not tantivy.Index.exists(str(index_dir)):
            raise NeedleError(
                ErrorKind.INDEX_MISSING,
                f"There is no search index at {index_dir}.",
                "Add a folder and index it first (needle index FOLDER).",
            )
        version = recorded.get("version") if recorded else None
        segmentation = recorded.get("segmentation") if recorded else None
        if version != SCHEMA_VERSION or segmentation not in SEGMENTATIONS:
            raise NeedleError(
                ErrorKind.INDEX_OUTDATED,
                f"The search index at {index_dir} was built by another version of Needle.",
                "Run an index update (needle index) to rebuild it.",
            )
        index = create_or_open(index_dir, create=False)
        return cls(index, index_dir, writable=False, segmentation=segmentation, rebuilt=False)

    # ----------------------------------------------------------------- writing

    def _require_writer(self) -> tantivy.IndexWriter:
        if not self.writable:
            raise NeedleError(
                ErrorKind.READ_ONLY,
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
                        ErrorKind.WRITER_LOCKED,
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
        meta = doc_meta(doc_id, path, title, extension, modified, size, kind, self.segmentation)
        writer.delete_documents_by_term("doc_id", doc_id)
        for chunk in chunks:
            writer.add_document(chunk_document(meta, chunk, self.segmentation))
        return len(chunks)

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
        meta = doc_meta(
            doc_id,
            new_path,
            new_title,
            extension_of(new_path) or first.extension,
            first.modified if modified is None else modified,
            first.size if size is None else size,
            first.kind,
            self.segmentation,
        )
        writer = self._require_writer()
        writer.delete_documents_by_term("doc_id", doc_id)
        for hit in hits:
            writer.add_document(chunk_document(meta, chunk_of(hit), self.segmentation))
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

    # ----------------------------------------------------------------- searching

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        filters: SearchFilters | None = None,
        prefix: bool = False,
    ) -> list[SearchHit]:
        """Search-box syntax (engine/search/query.py). Every term is required; when no chunk has
        them all, any term will do (ranked by BM25, so chunks with more of them come first).
        `prefix`: the query is still being typed, so its last word also matches as the start of
        a longer word ("sourd" finds "sourdough")."""
        return self.search_counted(
            query, limit=limit, offset=offset, filters=filters, prefix=prefix
        ).hits

    def search_counted(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        filters: SearchFilters | None = None,
        prefix: bool = False,
    ) -> SearchPage:
        """`search`, with how many chunks matched in all (the hits are the best `limit`)."""
        check_query_size(query)
        # The index holds the matched form of the text; so must the query (full-width letters, ﬁ).
        parsed = parse_query(match_form(storable(query)))
        if parsed.errors:
            raise NeedleError(
                ErrorKind.BAD_QUERY, " ".join(parsed.errors), "Fix or remove that filter."
            )
        if limit <= 0:
            return SearchPage([], 0)
        typed = typed_prefix(query, parsed) if prefix else None
        last = len(parsed.terms) - 1
        clauses = (
            self._term_clause(term, typed if i == last else None)
            for i, term in enumerate(parsed.terms)
        )
        positives = [c for c in clauses if c]
        phrases = [
            c for c in (self._queries.text_clause(p, phrase=True) for p in parsed.phrases) if c
        ]
        excluded = [
            c for c in (self._queries.text_clause(x, phrase=True) for x in parsed.excluded) if c
        ]
        highlight = HighlightTerms(parsed.positive, (typed,) if typed else ())
        base = [(Occur.Must, c) for c in self._queries.filter_query(filters, parsed)]
        base += [(Occur.Must, p) for p in phrases] + [(Occur.MustNot, x) for x in excluded]
        if not positives and not phrases:
            if not parsed.has_filters and not excluded and not _restricts(filters):
                return SearchPage([], 0)
            # Only filters or exclusions: list the matching chunks (all score alike).
            base.append((Occur.Must, tantivy.Query.all_query()))
            return self._run(tantivy.Query.boolean_query(base), limit, offset, highlight)
        strict = tantivy.Query.boolean_query(base + [(Occur.Must, c) for c in positives])
        page = self._run(strict, limit, offset, highlight)
        if page.total or not positives:
            return page
        # Nothing has every term: rank chunks by BM25 over any word of any term, so a Chinese
        # question typed as one run still finds the chunks sharing its rarer words.
        loose_terms = [(Occur.Should, q) for q in self._queries.keyword_clauses(parsed.terms)]
        if typed:
            loose_terms.append((Occur.Should, self._queries.prefix_clause(typed)))
        if not loose_terms:
            return SearchPage([], 0)
        needed = None if phrases else 1
        loose = tantivy.Query.boolean_query(base + loose_terms, minimum_number_should_match=needed)
        return self._run(loose, limit, offset, highlight)

    def _term_clause(self, term: str, typed: str | None) -> tantivy.Query | None:
        """One bare term; the word being typed also matches as a prefix."""
        exact = self._queries.text_clause(term, phrase=False)
        if typed is None:
            return exact
        started = self._queries.prefix_clause(typed)
        if exact is None:
            return started
        return tantivy.Query.boolean_query([(Occur.Should, exact), (Occur.Should, started)])

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
        keywords = [match_form(storable(k)) for k in keywords]
        should = self._queries.keyword_clauses(keywords)
        if not should:
            return []
        clauses = [(Occur.Should, q) for q in should]
        clauses += [(Occur.Must, c) for c in self._queries.filter_query(filters, None)]
        query = tantivy.Query.boolean_query(clauses, minimum_number_should_match=1)
        return self._run(query, limit, 0, HighlightTerms(tuple(keywords)), count=False).hits

    def _run(
        self,
        query: tantivy.Query,
        limit: int,
        offset: int,
        highlight: HighlightTerms,
        *,
        count: bool = True,
    ) -> SearchPage:
        searcher = self._index.searcher()
        if limit > LARGE_LIMIT:
            # Tantivy reserves room for `limit` hits up front: never more than there are.
            limit = max(1, min(limit, searcher.num_docs))
        result: Any = searcher.search(query, limit, count=count, offset=offset)
        hits = [
            hit_from_document(searcher.doc(address), score, highlight)
            for score, address in result.hits
        ]
        total = int(result.count) if count and result.count is not None else len(hits)
        return SearchPage(hits, max(total, offset + len(hits)))

    def _count(self, query: tantivy.Query) -> int:
        result: Any = self._index.searcher().search(query, 1, count=True)
        return int(result.count)

    # ----------------------------------------------------------------- listing

    def _all_hits(self, query: tantivy.Query, limit: int | None = None) -> list[SearchHit]:
        searcher = self._index.searcher()
        total = self._count(query)
        if total == 0:
            return []
        result = searcher.search(query, min(total, limit or total), count=False)
        return [hit_from_document(searcher.doc(address), 0.0, ()) for _, address in result.hits]

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
        hits = self._all_hits(self._queries.term("doc_id", doc_id))
        return sorted(hits, key=lambda hit: hit.ordinal)

    def scope_chunks(
        self, filters: SearchFilters | None, *, limit: int | None = None
    ) -> list[SearchHit]:
        """The chunks the filters select, in document order (by path, then position); at most
        `limit` of them, taken from the start of that order."""
        hits = self._all_hits(self._queries.scope_query(filters))
        hits.sort(key=lambda hit: (hit.path, hit.ordinal))
        return hits[:limit] if limit is not None else hits

    def count(self, filters: SearchFilters | None = None) -> int:
        return self._count(self._queries.scope_query(filters))

    def doc_ids(self, filters: SearchFilters | None = None) -> set[str]:
        """The ids of the documents with a chunk the filters select."""
        query = tantivy.Query.boolean_query(
            [
                (Occur.Must, self._queries.scope_query(filters)),
                (Occur.Must, self._queries.term("ordinal", 0)),
            ]
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
            num_docs=self._count(self._queries.term("ordinal", 0)),
            size_bytes=_dir_size(self.index_dir),
            segmentation=self.segmentation,
        )


def _restricts(filters: SearchFilters | None) -> bool:
    return filters is not None and filters != SearchFilters()
