"""The two forms of a document's text: the shown form and the matched form.

The shown form (engine/ingest/text.py `normalize`) is what the index stores and what snippets,
Sources and citations show: the file's own characters (Chinese "，" stays "，", "１２" stays
"１２"). The matched form is what the analyzers, the highlighter and the quote matchers compare:
NFKC, so "，" meets "," and "２" meets "2" whichever side wrote which. Matching works on the
matched form and maps what it found back to the shown form's offsets with `MatchedText`, so a
highlight covers the reader's own characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Hangul conjoining jamo compose with the letter before them although their combining class is 0.
_JAMO_VOWELS_AND_FINALS = range(0x1160, 0x1200)


def match_form(text: str) -> str:
    """`text` as the analyzers and matchers see it (NFKC)."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


class _FoldTable(dict[int, str]):
    """str.translate's table of each character's own NFKC, filled as characters are met."""

    def __missing__(self, code: int) -> str:
        folded = unicodedata.normalize("NFKC", chr(code))
        self[code] = folded
        return folded


_FOLDS = _FoldTable()


@dataclass(frozen=True)
class MatchedText:
    """A text's matched form with, for every character of it, where the original characters it
    came from start and end (a full-width "，" is one character either way; "²" too; "㎏" gives
    two matched characters that both come from the one original). `starts` is None when every
    character folded into exactly one: offsets are then the same in both."""

    original: str
    matched: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    @classmethod
    def of(cls, text: str) -> MatchedText:
        if text.isascii() or unicodedata.is_normalized("NFKC", text):
            return cls(text, text)
        matched = unicodedata.normalize("NFKC", text)
        # Usually every character folds on its own ("，" to ","), most often into one.
        if text.translate(_FOLDS) == matched:
            if len(matched) == len(text):
                return cls(text, matched)
            starts = tuple(i for i, char in enumerate(text) for _ in _FOLDS[ord(char)])
            return cls(text, matched, starts, tuple(i + 1 for i in starts))
        return cls._by_clusters(text)

    @classmethod
    def _by_clusters(cls, text: str) -> MatchedText:
        """Marks that compose with the letter before them: each cluster folds as a whole."""
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for start, end in _clusters(text):
            piece = unicodedata.normalize("NFKC", text[start:end])
            pieces.append(piece)
            starts.extend([start] * len(piece))
            ends.extend([end] * len(piece))
        return cls(text, "".join(pieces), tuple(starts), tuple(ends))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that the matched text's [start, end) came from."""
        if self.starts is None or self.ends is None or start >= end:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each base character with the marks that compose with it: NFKC never
    reaches across these, so normalizing them one by one gives the whole text's matched form."""
    bounds: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        joins = bounds and (
            unicodedata.combining(char) != 0 or ord(char) in _JAMO_VOWELS_AND_FINALS
        )
        if joins:
            bounds[-1] = (bounds[-1][0], index + 1)
        else:
            bounds.append((index, index + 1))
    return bounds
