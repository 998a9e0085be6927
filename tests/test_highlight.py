"""Highlights and snippets: what a user sees marked in a result."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.models import Highlight
from engine.search.highlight import ELLIPSIS, highlight_spans, make_snippet


def _marked(text: str, spans: tuple[Highlight, ...]) -> list[str]:
    return [text[s.start : s.end] for s in spans]


def test_stemming_aware_highlights() -> None:
    text = "She runs daily; yesterday she run far, and running is fun."
    assert _marked(text, highlight_spans(text, ["running"])) == ["runs", "run", "running"]


def test_chinese_highlights_the_matched_words() -> None:
    text = "孙悟空大闹天宫，玉帝大惊。"
    assert _marked(text, highlight_spans(text, ["大闹天宫"])) == ["大闹天宫"]
    assert _marked(text, highlight_spans(text, ["天宫 玉帝"])) == ["天宫", "玉帝"]


def test_a_chinese_question_highlights_only_shared_words() -> None:
    text = "他把钥匙藏在地球仪里面。"
    marked = _marked(text, highlight_spans(text, ["钥匙放在哪里"]))
    assert marked == ["钥匙"]


def test_mixed_query_highlights_both_scripts() -> None:
    text = "我们用Python写了一个爬虫"
    assert _marked(text, highlight_spans(text, ["python 爬虫"])) == ["Python", "爬虫"]


def test_query_syntax_is_understood() -> None:
    text = "the pdf mentions tax and drafts"
    marked = _marked(text, highlight_spans(text, ["tax -draft ext:pdf"]))
    assert marked == ["tax"]


def test_spans_are_sorted_and_disjoint() -> None:
    text = "index indexing indexed"
    spans = highlight_spans(text, ["index", "indexing", "indexed"])
    assert list(spans) == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_snippet_centres_on_the_densest_matches() -> None:
    filler = "lorem ipsum dolor sit amet " * 30
    text = filler + "The needle is here. Another needle appears. " + filler
    spans = highlight_spans(text, ["needle"])
    snippet, inside = make_snippet(text, spans, max_chars=120)
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert len(snippet) <= 122
    assert _marked(snippet, inside) == ["needle", "needle"]


def test_short_text_is_its_own_snippet() -> None:
    text = "tiny note about tax"
    spans = highlight_spans(text, ["tax"])
    assert make_snippet(text, spans) == (text, spans)


def test_snippet_without_matches_is_the_opening() -> None:
    text = "word " * 200
    snippet, inside = make_snippet(text, (), max_chars=50)
    assert snippet.startswith("word") and snippet.endswith(ELLIPSIS)
    assert inside == ()


_TEXT = st.text(
    alphabet=st.sampled_from(list("abc runs running 北京大学孙悟空。.!\n  ")), max_size=400
)


@given(_TEXT, st.lists(st.text(max_size=12), max_size=4), st.integers(20, 300))
@settings(max_examples=150, deadline=None)
def test_spans_and_snippets_stay_consistent(text: str, keywords: list[str], width: int) -> None:
    spans = highlight_spans(text, keywords)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    snippet, inside = make_snippet(text, spans, max_chars=width)
    assert len(snippet) <= width + 2 * len(ELLIPSIS)
    marked_in_snippet = [snippet[s.start : s.end] for s in inside]
    assert all(piece and piece in text for piece in marked_in_snippet)
    assert all(0 <= s.start < s.end <= len(snippet) for s in inside)


def test_function_words_are_not_marked_beside_a_word_that_matters() -> None:
    text = "The notice period of the lease is three months."
    assert _marked(text, highlight_spans(text, ["the notice of lease"])) == ["notice", "lease"]
    # A query of nothing but function words still shows where they are.
    assert _marked(text, highlight_spans(text, ["the"])) == ["The", "the"]


def test_a_word_being_typed_marks_every_word_it_starts() -> None:
    text = "Sourdough needs a starter; sour cream does not. Sourdoughs rise slowly."
    marked = _marked(text, highlight_spans(text, ["sourd"], prefixes=["sourd"]))
    assert marked == ["Sourdough", "Sourdoughs"]
