"""Text analysis shared by indexing, querying and highlighting.

Two analyses exist side by side, one per index field:
- English (`text_en`): words of letters and digits outside the CJK scripts, lower-cased,
  ASCII-folded ("café" == "cafe") and stemmed with the Snowball English stemmer, so "indexing"
  meets "indexed". It runs inside Tantivy (a registered analyzer), and the same analyzer object
  analyzes queries and finds highlight offsets, so the three can never disagree.
- CJK (`text_cjk`): runs of Han/kana/hangul characters are segmented in Python, either into jieba
  words or into overlapping character bigrams (a lone character stays a unigram). Latin words
  inside Chinese text are kept in this field too (lower-cased, unstemmed), so a mixed phrase such
  as "用Python写" keeps its word positions. In bigram mode each run of two or more characters
  also ends with its last character as a unigram (see AnalyzedToken.tail). Text with no CJK
  character produces no CJK tokens at all: English text is not indexed twice.
The segmentation is a property of an index (it is recorded in the index's schema file): the same
mode must segment the documents and the queries.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import tantivy

from engine.lang import CJK_LETTERS

Segmentation = Literal["jieba", "bigram"]
SEGMENTATIONS: tuple[Segmentation, ...] = ("jieba", "bigram")
# Chosen with bench/cjk_bench.py; the figures are in docs/index-schema.md.
DEFAULT_SEGMENTATION: Segmentation = "bigram"

EN_TOKENIZER = "needle_en"
CJK_TOKENIZER = "needle_cjk"
# Longer "words" are base64 blobs, hashes or minified code: noise that bloats the term dictionary.
MAX_WORD_BYTES = 40

_EN_WORD_PATTERN = r"[[\p{L}\p{N}]--[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]]+"

_jieba_lock = threading.Lock()
_jieba_ready = False


# Character classes this wide take milliseconds to compile, as much as the rest of `needle
# search`'s start-up: they are compiled on first use, and ASCII text (an English search) never
# needs them.
@lru_cache(maxsize=1)
def _cjk_run_re() -> re.Pattern[str]:
    return re.compile(f"[{CJK_LETTERS}]+")


# A CJK run or a word of other letters/digits; everything else separates tokens.
@lru_cache(maxsize=1)
def _cjk_field_token_re() -> re.Pattern[str]:
    return re.compile(f"[{CJK_LETTERS}]+|[^\\W_{CJK_LETTERS}]+")


@lru_cache(maxsize=1)
def _cjk_or_word_re() -> re.Pattern[str]:
    return re.compile(f"([{CJK_LETTERS}]+)|([^\\W_{CJK_LETTERS}]+)")


@dataclass(frozen=True)
class AnalyzedToken:
    """One indexed term and where it came from: `text[start:end]` (code-point offsets)."""

    term: str
    position: int
    start: int
    end: int
    # A bigram run's last character, repeated as a unigram so that a one-character query is a
    # prefix search ("天" finds "天X" bigrams and run-final "天"). Queries leave it out: in the
    # text the run may go on.
    tail: bool = False


@lru_cache(maxsize=1)
def english_analyzer() -> tantivy.TextAnalyzer:
    """The analyzer of `text_en`, `title` and `heading` (registered as EN_TOKENIZER)."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_EN_WORD_PATTERN))
    builder = builder.filter(tantivy.Filter.remove_long(MAX_WORD_BYTES))
    builder = builder.filter(tantivy.Filter.lowercase())
    builder = builder.filter(tantivy.Filter.ascii_fold())
    return builder.filter(tantivy.Filter.stemmer("english")).build()


@lru_cache(maxsize=1)
def cjk_analyzer() -> tantivy.TextAnalyzer:
    """The analyzer of `text_cjk`: the text arrives pre-segmented, one token per space."""
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
    builder = builder.filter(tantivy.Filter.remove_long(MAX_WORD_BYTES))
    return builder.filter(tantivy.Filter.lowercase()).build()


def register_analyzers(index: tantivy.Index) -> None:
    """Tantivy does not persist custom analyzers: every opened Index needs them registered."""
    index.register_tokenizer(EN_TOKENIZER, english_analyzer())
    index.register_tokenizer(CJK_TOKENIZER, cjk_analyzer())


def storable(text: str) -> str:
    """`text` with lone surrogates (undecodable file names, broken extractions) replaced by
    U+FFFD: Tantivy takes only valid UTF-8. Same length, so offsets stay right."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def english_terms(text: str) -> list[str]:
    """The stemmed terms of `text` as `text_en` indexes them, in order."""
    return list(english_analyzer().analyze(storable(text)))


def english_tokens(text: str) -> list[AnalyzedToken]:
    """Stemmed terms of `text` with their positions and offsets, for phrases and highlights."""
    tokens = english_analyzer().pre_tokenize(storable(text)).tokens
    return [AnalyzedToken(t.text, t.position, t.char_offset_from, t.char_offset_to) for t in tokens]


def fold_word(word: str) -> str:
    """A word as the English fields hold it before stemming: lower case, accents folded
    ("Café" -> "cafe"), as the analyzer's lowercase and ascii_fold filters leave it."""
    tokens = _folding_analyzer().analyze(storable(word))
    return "".join(tokens) if tokens else word.lower()


@lru_cache(maxsize=1)
def _folding_analyzer() -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_EN_WORD_PATTERN))
    builder = builder.filter(tantivy.Filter.lowercase())
    return builder.filter(tantivy.Filter.ascii_fold()).build()


def has_cjk(text: str) -> bool:
    return not text.isascii() and _cjk_run_re().search(text) is not None


def cjk_runs(text: str) -> list[str]:
    """The maximal runs of CJK characters in `text`, in order."""
    return [] if text.isascii() else _cjk_run_re().findall(text)


def is_cjk_run(token: str) -> bool:
    return not token.isascii() and _cjk_run_re().fullmatch(token) is not None


def _jieba_cache_dir() -> Path:
    import tempfile  # only jieba needs it; searches with bigrams start faster without

    return Path(tempfile.gettempdir())


def _ensure_jieba() -> None:
    """Load jieba's dictionary once, quietly, with its cache file in the temp folder."""
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if _jieba_ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = str(_jieba_cache_dir())
        jieba.initialize()
        _jieba_ready = True


def _segment_run(run: str, segmentation: Segmentation) -> Iterator[tuple[str, int, int]]:
    """(word, start, end) pieces of one CJK run; offsets relative to the run. In bigram mode
    the last piece of a longer run is its tail unigram."""
    if segmentation == "bigram":
        if len(run) == 1:
            yield run, 0, 1
            return
        for i in range(len(run) - 1):
            yield run[i : i + 2], i, i + 2
        yield run[-1], len(run) - 1, len(run)
        return
    _ensure_jieba()
    import jieba

    yield from jieba.tokenize(run, HMM=False)


def cjk_tokens(text: str, segmentation: Segmentation) -> list[AnalyzedToken]:
    """The tokens `text_cjk` indexes for `text`: CJK runs segmented, other words lower-cased.
    Empty when `text` has no CJK character."""
    if not has_cjk(text):
        return []
    tokens: list[AnalyzedToken] = []
    for match in _cjk_field_token_re().finditer(text):
        piece, base = match.group(), match.start()
        if not is_cjk_run(piece):
            tokens.append(AnalyzedToken(piece.lower(), len(tokens), base, match.end()))
            continue
        pieces = list(_segment_run(piece, segmentation))
        tail_index = len(pieces) - 1 if segmentation == "bigram" and len(piece) > 1 else -1
        for number, (word, start, end) in enumerate(pieces):
            tokens.append(
                AnalyzedToken(word, len(tokens), base + start, base + end, number == tail_index)
            )
    return tokens


def _bigram_field_piece(run: str) -> str:
    """A CJK run's bigrams and tail as space-separated text, without a list per bigram."""
    if len(run) == 1:
        return run
    return " ".join(map(str.__add__, run[:-1], run[1:])) + " " + run[-1]


def _field_pieces(text: str, segmentation: Segmentation) -> list[str]:
    """Space-separated terms of each CJK run or other word of `text`, in order."""
    pieces: list[str] = []
    for run, word in _cjk_or_word_re().findall(text):
        if word:
            pieces.append(word.lower())
        elif segmentation == "bigram":
            pieces.append(_bigram_field_piece(run))
        else:
            _ensure_jieba()
            import jieba

            pieces.append(" ".join(jieba.lcut(run, HMM=False)))
    return pieces


# Chinese question words: a question's "什么" or "哪里" never occurs in the sentence that answers
# it, yet as a common bigram it pulls in every chunk that asks something. Longest first.
_QUESTION_WORDS = (
    "为什么",
    "是不是",
    "有没有",
    "什么",
    "哪里",
    "哪儿",
    "哪个",
    "哪些",
    "多少",
    "怎么",
    "怎样",
    "如何",
    "是否",
    "吗",
    "呢",
    "谁",
)
_QUESTION_WORD_RE = re.compile("|".join(_QUESTION_WORDS))


def drop_question_words(text: str) -> str:
    """`text` with Chinese question words replaced by spaces (queries only, never documents),
    so the words around them stay separate runs instead of forming new bigrams."""
    return _QUESTION_WORD_RE.sub(" ", text)


def cjk_terms(text: str, segmentation: Segmentation) -> list[str]:
    """The terms of `cjk_tokens` without offsets (empty when `text` has no CJK)."""
    if not has_cjk(text):
        return []
    return " ".join(_field_pieces(text, segmentation)).split(" ")


def cjk_field_text(text: str, segmentation: Segmentation) -> str:
    """`text` pre-segmented for the whitespace analyzer of `text_cjk` ("" without CJK): the
    fast path indexing takes."""
    if not has_cjk(text):
        return ""
    return " ".join(_field_pieces(text, segmentation))
