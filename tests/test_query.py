"""The search box's syntax: what a user types becomes terms, phrases, exclusions and filters."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from engine.search.query import parse_query


def test_bare_words_phrases_and_exclusions() -> None:
    parsed = parse_query('budget "quarterly report" -draft -"old plan"')
    assert parsed.terms == ("budget",)
    assert parsed.phrases == ("quarterly report",)
    assert parsed.excluded == ("draft", "old plan")


def test_inline_filters_are_not_search_words() -> None:
    parsed = parse_query('tax ext:pdf,.MD in:notes/ in:"/home/me/My Docs" after:2024-01-01')
    assert parsed.terms == ("tax",)
    assert parsed.extensions == ("pdf", "md")
    assert parsed.folders == ("notes", "/home/me/My Docs")
    assert parsed.modified_after == datetime(2024, 1, 1).timestamp()


def test_dates_accept_year_and_month_and_keep_the_tightest_bound() -> None:
    parsed = parse_query("before:2025 before:2024-06 after:2023 after:2023-03-15")
    assert parsed.modified_before == datetime(2024, 6, 1).timestamp()
    assert parsed.modified_after == datetime(2023, 3, 15).timestamp()


def test_bad_filters_are_reported_not_raised() -> None:
    parsed = parse_query("after:2024-13-40 ext: -in:notes")
    assert len(parsed.errors) == 3
    assert "after:2024-13-40" in parsed.errors[0]
    assert parsed.modified_after is None


def test_unknown_prefixes_and_urls_are_text() -> None:
    parsed = parse_query("note:todo https://example.com")
    assert parsed.terms == ("note:todo", "https://example.com")
    assert not parsed.has_filters


def test_half_typed_phrase_is_still_a_phrase() -> None:
    assert parse_query('"machine learn').phrases == ("machine learn",)


def test_chinese_and_english_in_one_query() -> None:
    parsed = parse_query('孙悟空 Python "大闹天宫"')
    assert parsed.terms == ("孙悟空", "Python")
    assert parsed.phrases == ("大闹天宫",)


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    parse_query(text)


_WORD = st.text(
    alphabet=st.characters(categories=["L", "N"], max_codepoint=0x9FFF), min_size=1, max_size=8
)


@given(st.lists(_WORD, min_size=1, max_size=6))
def test_every_bare_word_is_a_term(words: list[str]) -> None:
    assert parse_query(" ".join(words)).terms == tuple(words)


@given(st.lists(_WORD, min_size=1, max_size=4), st.lists(_WORD, min_size=1, max_size=4))
def test_quoted_words_round_trip_as_one_phrase(before: list[str], phrase: list[str]) -> None:
    text = " ".join(before) + ' "' + " ".join(phrase) + '"'
    parsed = parse_query(text)
    assert parsed.phrases == (" ".join(phrase),)
    assert parsed.terms == tuple(before)


@given(st.lists(_WORD, min_size=1, max_size=5))
def test_negated_words_are_excluded_and_never_searched(words: list[str]) -> None:
    parsed = parse_query(" ".join("-" + w for w in words))
    assert parsed.excluded == tuple(words)
    assert parsed.terms == ()
