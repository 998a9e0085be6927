"""Passages shown the way they read: hard wraps joined, Markdown syntax gone, Chinese kept as
written, and the highlights still on the same words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.passage import BULLET, excerpt, readable


def marked(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[start:end] for start, end in spans]


def test_hard_wrapped_lines_become_one_paragraph() -> None:
    text = "The notice period is two\nfull calendar months, ending\non the last day of a month.\n"
    assert readable(text).text == (
        "The notice period is two full calendar months, ending on the last day of a month."
    )


def test_paragraphs_stay_apart_and_lists_keep_their_lines() -> None:
    text = "Intro line\ngoes on.\n\n- first item\n  wraps here\n- second item\n\nAfter."
    assert readable(text).text == (
        f"Intro line goes on.\n\n{BULLET}first item wraps here\n{BULLET}second item\n\nAfter."
    )


def test_markdown_syntax_is_gone_but_its_words_stay() -> None:
    text = (
        "## Costs\n"
        "See **the lease** and _clause 4_, [the letter](letters/2023-03.md#notice) and "
        "`notice.txt`. ![floor plan](img/plan.png) <https://example.com/x> [^1] ~~old~~\n"
        "> quoted\n> more\n"
        "[1]: https://example.com/ref\n"
    )
    shown = readable(text).text
    assert shown == (
        "Costs\nSee the lease and clause 4, the letter and notice.txt. floor plan "
        "https://example.com/x  old\nquoted more"
    )


def test_snake_case_and_maths_are_not_emphasis() -> None:
    text = "Set max_file_mb and 2*3*4 or a_b_c."
    assert readable(text).text == text


def test_chinese_lines_join_without_a_space_and_keep_full_width_punctuation() -> None:
    text = "今年的收入，主要由\n投资构成；其次是工资。\n"
    assert readable(text).text == "今年的收入，主要由投资构成；其次是工资。"


def test_highlights_follow_their_words() -> None:
    text = "# Lease\n\nThe **notice** period\nis two months."
    start = text.index("notice")
    months = text.index("months")
    shown = readable(text, [(start, start + 6), (months, months + 6)])
    assert marked(shown.text, shown.spans) == ["notice", "months"]


def test_a_highlight_across_a_joined_line_break_covers_the_joined_words() -> None:
    text = "two\nmonths"
    shown = readable(text, [(0, len(text))])
    assert marked(shown.text, shown.spans) == ["two months"]


def test_compact_is_one_line() -> None:
    text = "# Title\n\nFirst para\nwraps.\n\n- item"
    assert readable(text, compact=True).text == f"Title First para wraps. {BULLET}item"


def test_excerpt_cuts_around_the_first_highlight() -> None:
    text = "lead " * 200 + "the sourdough starter " + "tail " * 200
    start = text.index("sourdough")
    cut = excerpt(readable(text, [(start, start + 9)], compact=True), 120)
    assert cut.text.startswith("…") and cut.text.endswith("…")
    assert len(cut.text) <= 122
    assert marked(cut.text, cut.spans) == ["sourdough"]


words = st.text(alphabet="ab *_`#>[]()!-\n今天，。", min_size=0, max_size=120)


@settings(max_examples=300, deadline=None)
@given(text=words, data=st.data())
def test_spans_always_land_on_the_same_characters(text: str, data: st.DataObject) -> None:
    """Whatever the markup, a highlighted word is highlighted where it is shown: every shown
    character inside a mapped span comes from inside the original span (or is a joining space),
    and spans stay in bounds, sorted and apart."""
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    shown = readable(text, [(start, end)])
    previous = 0
    for span_start, span_end in shown.spans:
        assert 0 <= previous <= span_start < span_end <= len(shown.text)
        previous = span_end
    source_chars = set(text[start:end])
    for span_start, span_end in shown.spans:
        for char in shown.text[span_start:span_end]:
            assert char in source_chars or char.isspace() or char in "•0123456789."
