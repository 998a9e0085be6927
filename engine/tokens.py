"""Token counts without the model's tokenizer (none ships offline in a package).

Qwen2's byte-level BPE spends roughly one token per common English word, more for long or rare
words and numbers, and a little under one token per CJK character. The estimate counts those
classes separately; the constants were calibrated against the real Qwen2 tokenizer (see
docs/benchmarks.md) and lean high, because a budget that overflows the window is worse than one
that leaves a few tokens unused. The model layer further corrects them with the prompt_eval_count
Ollama returns."""

from __future__ import annotations

import re

from engine.lang import CJK_CHAR

_CJK_RE = re.compile(f"[{CJK_CHAR}]")
_WORD_RE = re.compile(r"[A-Za-z]+")
_DIGITS_RE = re.compile(r"[0-9]+")
_OTHER_RE = re.compile(rf"[^\sA-Za-z0-9{CJK_CHAR}]")

CJK_TOKENS_PER_CHAR = 0.9
WORD_BASE_TOKENS = 1.15
LONG_WORD_EXTRA_PER_CHAR = 0.2  # letters past the sixth: rare long words split into pieces
DIGIT_TOKENS_PER_CHAR = 1.0  # Qwen2 splits numbers into single digits
OTHER_TOKENS_PER_CHAR = 0.5  # punctuation and symbols merge with neighbours only sometimes
NEWLINE_RUN_TOKENS = 0.45


def estimate_tokens(text: str) -> int:
    """Estimated Qwen2 token count of `text`; 0 only for the empty string."""
    if not text:
        return 0
    cjk = len(_CJK_RE.findall(text))
    words = _WORD_RE.findall(text)
    word_tokens = sum(
        WORD_BASE_TOKENS + max(0, len(w) - 6) * LONG_WORD_EXTRA_PER_CHAR for w in words
    )
    digits = sum(len(d) for d in _DIGITS_RE.findall(text))
    other = len(_OTHER_RE.findall(text))
    newlines = text.count("\n")
    total = (
        cjk * CJK_TOKENS_PER_CHAR
        + word_tokens
        + digits * DIGIT_TOKENS_PER_CHAR
        + other * OTHER_TOKENS_PER_CHAR
        + newlines * NEWLINE_RUN_TOKENS
    )
    return max(1, round(total))
