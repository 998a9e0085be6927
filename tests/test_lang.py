"""The shared language rules: what counts as CJK and where a sentence ends, in both languages."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from engine.lang import CJK_CHAR, CJK_LETTERS, han_count, has_han, sentence_breaks, split_sentences
from engine.search.analysis import has_cjk
from engine.tokens import estimate_tokens


def test_sentences_end_at_english_and_chinese_marks() -> None:
    text = "Tantivy is fast. Is it? 它很快。真的吗？是的；很快\nNext line"
    assert split_sentences(text) == [
        "Tantivy is fast.",
        "Is it?",
        "它很快。",
        "真的吗？",
        "是的；",
        "很快",
        "Next line",
    ]


def test_a_decimal_point_or_an_abbreviation_without_space_is_no_break() -> None:
    assert split_sentences("Version 3.11 ships e.g.soon") == ["Version 3.11 ships e.g.soon"]


@given(st.text())
def test_breaks_cut_the_text_into_its_sentences(text: str) -> None:
    breaks = sentence_breaks(text)
    assert breaks == sorted(set(breaks))
    assert all(0 < b < len(text) for b in breaks)
    pieces = [text[a:b] for a, b in zip([0, *breaks], [*breaks, len(text)], strict=True)]
    assert "".join(pieces) == text


def test_han_japanese_and_korean_are_cjk_letters_punctuation_is_only_cjk_text() -> None:
    letters = re.compile(f"[{CJK_LETTERS}]")
    chars = re.compile(f"[{CJK_CHAR}]")
    for char in "中文かなカナ한국" + "\uf900":
        assert letters.match(char) and chars.match(char)
    for char in "。、「」！":
        assert chars.match(char)
    assert not letters.match("。")
    assert has_cjk("笔记") and not has_cjk("。") and not has_cjk("notes")


def test_han_counts_only_chinese_characters() -> None:
    assert han_count("用Python写代码") == 4
    assert has_han("漢字") and not has_han("かな한국")
    # Every class the token estimate counts as CJK costs under one token per character.
    assert estimate_tokens("中文" * 50) < 100
