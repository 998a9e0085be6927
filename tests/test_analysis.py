"""English and CJK analysis: what the index and the queries see of a text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.search.analysis import (
    cjk_field_text,
    cjk_terms,
    cjk_tokens,
    drop_question_words,
    english_terms,
    english_tokens,
    has_cjk,
)


def test_english_words_are_stemmed_lowercased_and_folded() -> None:
    assert english_terms("Indexing INDEXED indexes") == ["index", "index", "index"]
    assert english_terms("Café naïve") == english_terms("cafe naive")


def test_english_field_ignores_chinese_but_keeps_embedded_words() -> None:
    assert english_terms("我用Python写代码") == ["python"]


def test_english_offsets_point_at_the_original_words() -> None:
    text = "Über running"
    spans = [text[t.start : t.end] for t in english_tokens(text)]
    assert spans == ["Über", "running"]


def test_bigrams_overlap_and_lone_characters_stay_unigrams() -> None:
    assert cjk_terms("北京大学", "bigram") == ["北京", "京大", "大学", "学"]
    assert cjk_terms("人 北京", "bigram") == ["人", "北京", "京"]
    tails = [t.term for t in cjk_tokens("人 北京", "bigram") if t.tail]
    assert tails == ["京"]


def test_jieba_segments_words() -> None:
    terms = cjk_terms("我们在北京大学学习", "jieba")
    assert "学习" in terms
    assert "".join(terms) == "我们在北京大学学习"


@pytest.mark.parametrize("mode", ["bigram", "jieba"])
def test_mixed_text_keeps_latin_words_in_the_cjk_field(mode: str) -> None:
    text = "我用Python写代码"
    terms = cjk_terms(text, mode)  # type: ignore[arg-type]
    assert "python" in terms
    tokens = cjk_tokens(text, mode)  # type: ignore[arg-type]
    assert [t.term for t in tokens] == terms
    assert all(text[t.start : t.end].lower() == t.term for t in tokens)


def test_text_without_cjk_is_not_indexed_twice() -> None:
    assert cjk_field_text("Plain English text.", "bigram") == ""
    assert not has_cjk("Plain English text.")
    assert has_cjk("English 和中文")


def test_jieba_is_quiet() -> None:
    # A fresh interpreter: in this one another test may have loaded jieba already.
    script = "from engine.search.analysis import cjk_terms; cjk_terms('安静地加载词典', 'jieba')"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ""
    assert done.stderr == ""


def test_question_words_split_the_query() -> None:
    assert drop_question_words("船长喝什么茶") == "船长喝 茶"
    assert drop_question_words("为什么下雨") == " 下雨"
