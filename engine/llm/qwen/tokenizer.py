"""Exact Qwen token counts with `tiktoken` and the vendored Qwen vocabulary (see NOTICE).

Qwen1, Qwen2 and Qwen2.5 share one byte-level BPE vocabulary and one pre-tokenizer pattern; with
them `tiktoken` reproduces the real tokenizer's counts exactly (checked against llama.cpp's
tokenizer of the Qwen2.5 GGUF on corpus samples, see docs/benchmarks.md). Loading the 2.5 MB
vocabulary takes a few hundred milliseconds, so it happens once, on first use, never at import."""

from __future__ import annotations

import base64
import threading
from functools import cache
from pathlib import Path
from typing import Protocol

VOCABULARY = Path(__file__).with_name("qwen.tiktoken")

# The pre-tokenizer of Qwen's tokenizer (tokenization_qwen.py, and tokenizer.json of Qwen2):
# contractions, letters with one leading non-letter, single digits, punctuation runs, newlines.
_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+"
)
_SPECIAL_START = 151643
_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_lock = threading.Lock()


class _Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


def count_qwen_tokens(text: str) -> int:
    """The number of tokens a Qwen model's tokenizer makes of `text` (special tokens written in
    the text count as ordinary text, as in a chat template's content)."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


@cache
def _encoding() -> _Encoding:
    import tiktoken  # a compiled extension: loaded only when exact counts are needed

    with _lock:
        ranks = _load_ranks(VOCABULARY)
        specials = {token: _SPECIAL_START + i for i, token in enumerate(_SPECIAL)}
        encoding: _Encoding = tiktoken.Encoding(
            "qwen", pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=specials
        )
    return encoding


def _load_ranks(path: Path) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def is_qwen_model(name: str) -> bool:
    """True for model names of the Qwen family (qwen2:7b-instruct, qwen2.5-coder:1.5b, …)."""
    return "qwen" in name.lower()
