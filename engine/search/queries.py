"""Tantivy queries from the user's search-box syntax and from the agent's keywords.

`QueryBuilder` knows the schema's fields and the CJK segmentation the index was built with: a
term of the query is matched in the English fields or the CJK ones, titles and headings boosted,
filters as constant-score clauses that select without ranking.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath

import tantivy

from engine.models import SearchFilters
from engine.search.analysis import (
    Segmentation,
    cjk_runs,
    cjk_tokens,
    drop_question_words,
    english_tokens,
    fold_word,
    is_cjk_run,
    storable,
)
from engine.search.documents import normalize_folder
from engine.search.query import ParsedQuery

TITLE_BOOST = 1.6
HEADING_BOOST = 1.3
PHRASE_BOOST = 2.0
# search_keywords turns whole sentences into terms; beyond this many distinct terms the extra
# ones add latency, not recall.
MAX_KEYWORD_TERMS = 256

Occur = tantivy.Occur


class QueryBuilder:
    """Builds queries for one index (its schema and segmentation)."""

    def __init__(self, schema: tantivy.Schema, segmentation: Segmentation) -> None:
        self.schema = schema
        self.segmentation: Segmentation = segmentation

    def term(self, field: str, value: str | int) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value)

    def single_cjk_char(self, field: str, char: str) -> tantivy.Query:
        """Every occurrence of a character is either the start of a bigram or a unigram (alone
        or a run's tail), so with bigrams one character is a prefix search: fast on the
        term dictionary."""
        if self.segmentation != "bigram":
            return self.term(field, char)
        return tantivy.Query.regex_query(self.schema, field, f"{_re_escape(char)}.?")

    def cjk_token(self, field: str, term: str) -> tantivy.Query:
        if len(term) == 1 and is_cjk_run(term):
            return self.single_cjk_char(field, term)
        return self.term(field, term)

    def cjk_sequence(self, field: str, text: str, *, phrase: bool) -> tantivy.Query | None:
        """Tokens of `text` in a CJK field: as a phrase, or all required (a typed Chinese word)."""
        tokens = [t for t in cjk_tokens(text, self.segmentation) if not t.tail]
        if not tokens:
            return None
        if len(tokens) == 1:
            return self.cjk_token(field, tokens[0].term)
        if not phrase:
            subqueries = [(Occur.Must, self.cjk_token(field, t.term)) for t in tokens]
            return tantivy.Query.boolean_query(subqueries)
        words: list[str | tuple[int, str]] = [(t.position, t.term) for t in tokens]
        last = tokens[-1].term
        if self.segmentation == "bigram" and len(last) == 1 and is_cjk_run(last):
            # "用Python写": in the text 写 may begin a bigram ("写代"); any other lone
            # character is a unigram there too (a run's tail, or a run of one).
            patterns = [(t.position, _re_escape(t.term)) for t in tokens[:-1]]
            patterns.append((tokens[-1].position, _re_escape(last) + ".?"))
            return tantivy.Query.regex_phrase_query(self.schema, field, list(patterns))
        return tantivy.Query.phrase_query(self.schema, field, words)

    def en_sequence(self, field: str, text: str) -> tantivy.Query | None:
        tokens = english_tokens(text)
        if not tokens:
            return None
        if len(tokens) == 1:
            return self.term(field, tokens[0].term)
        words: list[str | tuple[int, str]] = [
            (t.position - tokens[0].position, t.term) for t in tokens
        ]
        return tantivy.Query.phrase_query(self.schema, field, words)

    def text_clause(self, text: str, *, phrase: bool) -> tantivy.Query | None:
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
                query = self.en_sequence(field, text)
                if query is not None:
                    options.append(_boost(query, boost))
        else:
            for field, boost in (
                ("text_cjk", 1.0),
                ("title_cjk", TITLE_BOOST),
                ("heading_cjk", HEADING_BOOST),
            ):
                query = self.cjk_sequence(field, text, phrase=phrase)
                if query is not None:
                    options.append(_boost(query, boost))
        if not options:
            return None
        if len(options) == 1:
            return options[0]
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in options])

    def prefix_clause(self, word: str) -> tantivy.Query:
        """Words that start with `word` (as the English fields store them: lower case, accents
        folded), in the body, the title and the headings."""
        pattern = _re_escape(fold_word(word)) + ".*"
        return tantivy.Query.boolean_query(
            [
                (Occur.Should, _boost(tantivy.Query.regex_query(self.schema, field, pattern), b))
                for field, b in (
                    ("text_en", 1.0),
                    ("title", TITLE_BOOST),
                    ("heading", HEADING_BOOST),
                )
            ]
        )

    def filter_query(
        self, filters: SearchFilters | None, parsed: ParsedQuery | None
    ) -> list[tantivy.Query]:
        """Must-clauses for the filters from the caller and from the query text (both apply)."""
        clauses: list[tantivy.Query] = []
        if filters is not None:
            clauses.extend(self.filters_clauses(filters))
        if parsed is not None:
            clauses.extend(self.parsed_filter_clauses(parsed))
        # Filters select; they must not rank (a folder-name match is no sign of relevance).
        return [tantivy.Query.const_score_query(c, 0.0) for c in clauses]

    def any_of(self, queries: list[tantivy.Query]) -> tantivy.Query:
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in queries])

    def filters_clauses(self, filters: SearchFilters) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        places = [self.term("folders", storable(normalize_folder(f))) for f in filters.folders]
        places += [self.term("path", storable(p)) for p in filters.paths]
        if places:
            clauses.append(self.any_of(places))
        if filters.extensions:
            exts = [self.term("extension", e.lstrip(".").lower()) for e in filters.extensions]
            clauses.append(self.any_of(exts))
        modified = self.modified_range(filters.modified_after, filters.modified_before)
        if modified is not None:
            clauses.append(modified)
        return clauses

    def parsed_filter_clauses(self, parsed: ParsedQuery) -> list[tantivy.Query]:
        clauses: list[tantivy.Query] = []
        if parsed.folders:
            clauses.append(self.any_of([self.folder_clause(f) for f in parsed.folders]))
        if parsed.extensions:
            clauses.append(self.any_of([self.term("extension", e) for e in parsed.extensions]))
        modified = self.modified_range(parsed.modified_after, parsed.modified_before)
        if modified is not None:
            clauses.append(modified)
        return clauses

    def folder_clause(self, folder: str) -> tantivy.Query:
        """`in:` with an absolute path is that folder; otherwise names of folders on the path."""
        if PurePath(folder).is_absolute() or folder.startswith("~"):
            expanded = os.path.expanduser(folder) if folder.startswith("~") else folder
            return self.term("folders", normalize_folder(expanded))
        names = [part.lower() for part in PurePath(folder).parts if part.strip("/\\.")]
        if not names:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query(
            [(Occur.Must, self.term("folder_names", name)) for name in names]
        )

    def modified_range(self, after: float | None, before: float | None) -> tantivy.Query | None:
        if after is None and before is None:
            return None
        return tantivy.Query.range_query(
            self.schema,
            "modified",
            tantivy.FieldType.Float,
            float(after) if after is not None else None,
            float(before) if before is not None else None,
            include_lower=True,
            # Tantivy insists that an unbounded side be inclusive.
            include_upper=before is None,
        )

    def scope_query(self, filters: SearchFilters | None) -> tantivy.Query:
        clauses = self.filter_query(filters, None)
        if not clauses:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query([(Occur.Must, c) for c in clauses])

    def keyword_clauses(self, texts: Sequence[str]) -> list[tantivy.Query]:
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
            should.append(self.term("text_en", term))
            should.append(_boost(self.term("title", term), TITLE_BOOST))
        for term in list(cjk_terms)[:MAX_KEYWORD_TERMS]:
            if len(term) == 1:
                should.append(self.single_cjk_char("text_cjk", term))
            else:
                should.append(self.term("text_cjk", term))
                should.append(_boost(self.term("title_cjk", term), TITLE_BOOST))
        should.extend(self.keyword_phrases(texts))
        return should

    def keyword_phrases(self, texts: Sequence[str]) -> list[tantivy.Query]:
        """A keyword of several words also scores as a phrase, so a sentence quoted from a
        document ranks the chunk that holds it first."""
        phrases: list[tantivy.Query] = []
        for text in texts:
            if cjk_runs(text):
                query = self.cjk_sequence("text_cjk", text, phrase=True)
                several = len(cjk_tokens(text, self.segmentation)) > 1
            else:
                query = self.en_sequence("text_en", text)
                several = len(english_tokens(text)) > 1
            if query is not None and several:
                phrases.append(_boost(query, PHRASE_BOOST))
        return phrases


def _boost(query: tantivy.Query, boost: float) -> tantivy.Query:
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _re_escape(text: str) -> str:
    """Escape for Tantivy's regex syntax (Rust regex): letters and digits, CJK included, stand
    for themselves; anything else is escaped."""
    return "".join(c if c.isalnum() else "\\" + c for c in text)
