"""Which parts of a text matched a query, and the short snippet a result list shows.

English words match by stem, exactly as the index matches them ("running" lights up "runs" and
"run"). Chinese matches by text: the longest pieces (two characters or more) of the query's CJK runs
that occur in the text, so the highlight covers what the reader recognises as the matched words
whichever segmentation the index uses. A one-character CJK query matches that character.

Function words ("the", "of", "is") are not marked when the query has other words: a passage
sprinkled with highlighted "the"s hides the words that matched. A word still being typed (a
prefix) lights up every word that starts with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from engine.lang import SENTENCE_ENDS
from engine.models import Highlight
from engine.search.analysis import cjk_runs, english_terms, english_tokens, fold_word, has_cjk
from engine.search.query import parse_query
from engine.textforms import MatchedText, match_form

DEFAULT_SNIPPET_CHARS = 240
# Words that carry no meaning of their own: never highlighted beside a word that does.
_FUNCTION_WORD_TEXT = """
    a an the of to in on at by for from with about as into onto over under than then and or
    nor but so if is am are was were be been being do does did has have had it its this that
    these those there here i me my we us our you your he him his she her they them their what
    which who whom whose when where why how not no
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())
ELLIPSIS = "…"
# Longer CJK runs in a query are sentences; matching their pieces up to this length is plenty.
_MAX_CJK_PIECE = 16
_SENTENCE_END_RE = re.compile(rf"[{re.escape(SENTENCE_ENDS)}\n]\s*")


@dataclass(frozen=True)
class HighlightTerms:
    """What to mark: the query (search-box syntax) or the agent's keywords, and the words still
    being typed, whose every completion is marked."""

    query: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _QueryMatcher:
    stems: frozenset[str]
    prefixes: tuple[str, ...]
    cjk_pieces: frozenset[str]  # substrings (2+ chars) of the query's CJK runs
    cjk_singles: frozenset[str]  # one-character CJK runs of the query
    longest_piece: int


def _query_texts(keywords_or_query: Sequence[str]) -> list[str]:
    """The positive words and phrases of each entry: search-box syntax is understood, so a raw
    query highlights its terms, not its filters or exclusions."""
    texts: list[str] = []
    for entry in keywords_or_query:
        parsed = parse_query(match_form(entry))
        texts.extend(parsed.positive)
    return texts


@lru_cache(maxsize=1)
def _function_stems() -> frozenset[str]:
    """FUNCTION_WORDS as the stemmer leaves them ("does" is indexed as "doe")."""
    return frozenset(stem for word in FUNCTION_WORDS for stem in english_terms(word))


def _meaningful(stems: set[str]) -> set[str]:
    """The stems without function words, unless function words are all there is."""
    kept = stems - _function_stems()
    return kept or stems


def _matcher(keywords_or_query: Sequence[str], prefixes: Sequence[str] = ()) -> _QueryMatcher:
    stems: set[str] = set()
    pieces: set[str] = set()
    singles: set[str] = set()
    for text in _query_texts(keywords_or_query):
        stems.update(english_terms(text))
        for run in cjk_runs(text):
            if len(run) == 1:
                singles.add(run)
                continue
            for i in range(len(run) - 1):
                for j in range(i + 2, min(len(run), i + _MAX_CJK_PIECE) + 1):
                    pieces.add(run[i:j])
    longest = max((len(p) for p in pieces), default=0)
    folded = tuple(fold_word(p) for p in prefixes if p)
    return _QueryMatcher(
        frozenset(_meaningful(stems)), folded, frozenset(pieces), frozenset(singles), longest
    )


def _english_spans(text: str, matcher: _QueryMatcher) -> list[tuple[int, int]]:
    if not matcher.stems and not matcher.prefixes:
        return []
    spans = []
    for token in english_tokens(text):
        if token.term in matcher.stems or (
            matcher.prefixes
            and fold_word(text[token.start : token.end]).startswith(matcher.prefixes)
        ):
            spans.append((token.start, token.end))
    return spans


def _cjk_spans(text: str, matcher: _QueryMatcher) -> list[tuple[int, int]]:
    """Greedy longest matches of query pieces, scanning left to right."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        matched = 0
        if text[i : i + 2] in matcher.cjk_pieces:
            matched = 2
            for j in range(min(n, i + matcher.longest_piece), i + 2, -1):
                if text[i:j] in matcher.cjk_pieces:
                    matched = j - i
                    break
        elif text[i] in matcher.cjk_singles:
            matched = 1
        if matched:
            spans.append((i, i + matched))
            i += matched
        else:
            i += 1
    return spans


def _merge(spans: list[tuple[int, int]]) -> tuple[Highlight, ...]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(Highlight(start, end) for start, end in merged)


def highlight_spans(
    text: str, keywords_or_query: Sequence[str], prefixes: Sequence[str] = ()
) -> tuple[Highlight, ...]:
    """Sorted, non-overlapping spans of `text` that match any of the keywords (or query), or
    begin with one of `prefixes`. Matching compares matched forms ("收入,主要" finds "收入，主要");
    the spans are offsets into `text` itself."""
    matcher = _matcher(keywords_or_query, prefixes)
    form = MatchedText.of(text)
    spans = _english_spans(form.matched, matcher)
    if (matcher.cjk_pieces or matcher.cjk_singles) and has_cjk(form.matched):
        spans.extend(_cjk_spans(form.matched, matcher))
    return _merge([form.original_span(start, end) for start, end in spans])


def _best_window(spans: Sequence[Highlight], max_chars: int) -> int:
    """Start offset of the `max_chars` window holding the most highlights (earliest on ties)."""
    best_start, best_count = spans[0].start, 0
    right = 0
    for left, span in enumerate(spans):
        right = max(right, left)
        while right < len(spans) and spans[right].end <= span.start + max_chars:
            right += 1
        if right - left > best_count:
            best_start, best_count = span.start, right - left
    return best_start


def _snap_start(text: str, first_hit: int, max_chars: int) -> int:
    """Move the window start back to a sentence start (or a word start) near the first hit, so
    the snippet reads naturally, keeping the hit inside the window."""
    lookback = max(0, first_hit - max_chars // 3)
    sentence_start = lookback
    for match in _SENTENCE_END_RE.finditer(text, lookback, first_hit):
        sentence_start = match.end()
    if sentence_start == lookback and lookback > 0:
        space = text.find(" ", lookback, first_hit)
        sentence_start = space + 1 if space != -1 else lookback
    return min(first_hit, sentence_start)


def make_snippet(
    text: str, spans: Sequence[Highlight], max_chars: int = DEFAULT_SNIPPET_CHARS
) -> tuple[str, tuple[Highlight, ...]]:
    """A window of at most about `max_chars` characters around the densest highlights, with
    "…" where text was cut, and the highlights that fall inside it (offsets into the snippet)."""
    if len(text) <= max_chars:
        return text, tuple(spans)
    if spans:
        first_hit = _best_window(spans, max_chars)
        start = _snap_start(text, first_hit, max_chars)
    else:
        start = 0
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start + max_chars // 2, end)
        end = space if space != -1 else end
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    body = text[start:end].strip()
    lead = len(text[start:end]) - len(text[start:end].lstrip())
    shift = len(prefix) - start - lead
    inside = tuple(
        Highlight(max(s.start, start + lead) + shift, min(s.end, start + lead + len(body)) + shift)
        for s in spans
        if s.end > start + lead and s.start < start + lead + len(body)
    )
    return prefix + body + suffix, inside
