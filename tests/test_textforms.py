"""The shown and matched forms of text: matching folds widths and ligatures, and what it finds
maps back onto the reader's own characters."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from engine.search.highlight import highlight_spans
from engine.textforms import MatchedText, match_form

# Words written the ways files write them: ASCII, full-width, ligatures, decomposed accents,
# superscripts and circled digits, Chinese.
_WORDS = (
    "file", "ﬁle", "ｆｉｌｅ", "FILE", "report", "ｒｅｐｏｒｔ", "cafe\u0301", "café",
    "2023", "２０２３", "m²", "①", "收入", "主要由", "收入，主要由", "收入,主要由",
)  # fmt: skip
_SEPARATORS = (" ", "，", ",", "\n", "　", "。", "（", "）", " (", ") ")


@given(st.text(alphabet="aé中，ＡＢ１ﬁ²①\u0301\u1161 .\n", max_size=40))
def test_matched_form_is_nfkc_and_maps_inside_the_original(text: str) -> None:
    form = MatchedText.of(text)
    assert form.matched == unicodedata.normalize("NFKC", text) == match_form(text)
    for index in range(len(form.matched)):
        start, end = form.original_span(index, index + 1)
        assert 0 <= start < end <= len(text)
        assert form.matched[index] in unicodedata.normalize("NFKC", text[start:end])


@given(
    st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)), max_size=12),
    st.sampled_from(_WORDS),
)
def test_highlights_cover_the_same_words_in_the_original_as_in_the_matched_text(
    parts: list[tuple[str, str]], query: str
) -> None:
    text = "".join(word + separator for word, separator in parts)
    matched = match_form(text)
    shown = [match_form(text[h.start : h.end]) for h in highlight_spans(text, [query])]
    folded = [matched[h.start : h.end] for h in highlight_spans(matched, [query])]
    assert shown == folded


def test_full_width_words_are_highlighted_as_written() -> None:
    text = "本公司的收入，主要由 ＣＥＯ 在２０２３年决定。"
    spans = highlight_spans(text, ["收入,主要由 ceo 2023"])
    assert [text[h.start : h.end] for h in spans] == ["收入", "主要由", "ＣＥＯ", "２０２３"]


def test_a_ligature_is_highlighted_whole() -> None:
    text = "the ﬁle is here"
    assert [text[h.start : h.end] for h in highlight_spans(text, ["file"])] == ["ﬁle"]
