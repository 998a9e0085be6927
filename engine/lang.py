"""Language rules every layer shares: which characters are Chinese, Japanese or Korean, and which
marks end a sentence. Indexing, chunking, token estimates, highlighting and the agent build their
patterns from these, so a character counts as CJK (or a sentence as ended) everywhere alike."""

from __future__ import annotations

import re
from functools import cache

# Character classes, as the insides of a regex `[...]`.
KANA = r"\u3040-\u30ff"
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # ideographs, extension A, compatibility forms
HANGUL = r"\uac00-\ud7af"
CJK_PUNCTUATION = r"\u3000-\u303f"
FULLWIDTH_FORMS = r"\uff00-\uffef"
# Scripts written without spaces between words. Text is NFKC-normalized before analysis, which
# turns full-width letters into ASCII, so the analyzers need only these.
CJK_LETTERS = KANA + HAN + HANGUL
# Everything a token estimate counts as a CJK character: letters, CJK punctuation, full width.
CJK_CHAR = CJK_PUNCTUATION + CJK_LETTERS + FULLWIDTH_FORMS

# Marks that end a sentence. CJK ones need no space after them.
LATIN_SENTENCE_ENDS = ".!?"
CJK_SENTENCE_ENDS = "。！？"
SENTENCE_ENDS = LATIN_SENTENCE_ENDS + CJK_SENTENCE_ENDS
# Semicolons end a clause: a good place to cut a long sentence.
CLAUSE_ENDS = ";；"

# A break between sentences: after an end mark and white space, right after a CJK end mark, or
# at a run of newlines.
_SENTENCE_BREAK_RE = re.compile(
    rf"(?<=[{re.escape(SENTENCE_ENDS + CLAUSE_ENDS)}])\s+"
    rf"|(?<=[{CJK_SENTENCE_ENDS}；])"
    r"|\n+"
)


@cache
def _han_re() -> re.Pattern[str]:
    # Wide classes take milliseconds to compile: only when text that is not ASCII needs it.
    return re.compile(f"[{HAN}]")


def han_count(text: str) -> int:
    """How many Han characters `text` holds."""
    return 0 if text.isascii() else len(_han_re().findall(text))


def has_han(text: str) -> bool:
    return not text.isascii() and _han_re().search(text) is not None


def split_sentences(text: str) -> list[str]:
    """The sentences (and clauses) of `text`, stripped, empty ones left out."""
    return [s.strip() for s in _SENTENCE_BREAK_RE.split(text) if s and s.strip()]


def sentence_breaks(text: str) -> list[int]:
    """Offsets inside `text` where a sentence (or clause) break begins, ascending."""
    return sorted(
        {m.start() for m in _SENTENCE_BREAK_RE.finditer(text) if 0 < m.start() < len(text)}
    )
