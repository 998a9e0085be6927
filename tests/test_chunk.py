"""Chunking: about 512 tokens, cut where a reader pauses, nothing lost, pages never crossed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.chunk import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TARGET_TOKENS,
    chunk_document,
    chunk_id,
    content_hash,
)
from engine.ingest.extract import extract_file
from engine.models import Chunk, DocKind, ExtractedDocument, Section
from engine.tokens import estimate_tokens


def document(
    sections: Sequence[tuple[str, int | None, tuple[str, ...]]], kind: DocKind = "markdown"
) -> ExtractedDocument:
    """A document from (text, page, heading) sections."""
    built = []
    offset = 0
    for text, page, heading in sections:
        built.append(Section(text, offset, page, heading))
        offset += len(text)
    full = "".join(text for text, _, _ in sections)
    return ExtractedDocument(kind, "t", full, tuple(built))


def plain(text: str) -> ExtractedDocument:
    return document([(text, None, ())], kind="text")


def section_at(doc: ExtractedDocument, offset: int) -> Section:
    return next(s for s in reversed(doc.sections) if s.start <= offset)


def assert_valid(doc: ExtractedDocument, chunks: list[Chunk], max_tokens: int) -> None:
    """The promises every caller relies on."""
    assert "".join(c.text for c in chunks) == doc.text, "no text lost or duplicated"
    position = 0
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.start == position, "contiguous: no gap, no overlap"
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.end > chunk.start
        assert estimate_tokens(chunk.text) <= max_tokens
        assert abs(chunk.tokens - estimate_tokens(chunk.text)) <= max(8, chunk.tokens // 20)
        first, last = section_at(doc, chunk.start), section_at(doc, chunk.end - 1)
        assert first.page == last.page == chunk.page, "a chunk never crosses a page"
        assert chunk.heading == first.heading
        assert chunk.content_hash == hashlib.sha1(chunk.text.encode()).hexdigest()
        assert chunk.chunk_id == chunk_id(chunk.doc_id, ordinal, chunk.content_hash)
        position = chunk.end
    assert position == len(doc.text)


ENGLISH_SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank. "
CHINESE_SENTENCE = "这里记录过去一周我看到的值得分享的东西，每周五发布。"


def paragraphs(count: int, sentences_each: int, sentence: str = ENGLISH_SENTENCE) -> str:
    return "".join((sentence * sentences_each).strip() + "\n\n" for _ in range(count))


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document("d", plain("")) == []


def test_short_document_is_one_chunk() -> None:
    doc = plain("A short note.\n")
    [chunk] = chunk_document("doc-1", doc)
    assert (chunk.text, chunk.start, chunk.end, chunk.doc_id) == ("A short note.\n", 0, 14, "doc-1")


def test_long_text_is_cut_at_paragraph_ends_near_the_target() -> None:
    doc = plain(paragraphs(count=60, sentences_each=5))  # about 80 tokens a paragraph
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    for chunk in chunks[:-1]:
        assert chunk.text.endswith(".\n\n"), "cut between paragraphs"
        assert DEFAULT_TARGET_TOKENS // 2 <= chunk.tokens <= DEFAULT_TARGET_TOKENS


def test_one_long_paragraph_is_cut_at_sentence_ends() -> None:
    doc = plain(ENGLISH_SENTENCE * 200)
    chunks = chunk_document("d", doc)
    assert len(chunks) > 3
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert all(chunk.text.endswith("bank. ") for chunk in chunks)


def test_chinese_is_cut_after_sentence_punctuation_without_spaces() -> None:
    doc = plain(CHINESE_SENTENCE * 200)
    chunks = chunk_document("d", doc)
    assert len(chunks) > 3
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert all(chunk.text.endswith("发布。") for chunk in chunks)


def test_a_sentence_longer_than_the_limit_is_cut_at_spaces() -> None:
    words = " ".join(f"word{n}" for n in range(3000))  # one "sentence", no punctuation
    doc = plain(words)
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert all(chunk.text.endswith(" ") for chunk in chunks[:-1])


def test_text_without_any_boundary_is_still_cut_within_the_limit() -> None:
    doc = plain("x" * 50_000 + "中" * 5_000 + "7" * 3_000)
    chunks = chunk_document("d", doc, target_tokens=100, max_tokens=120)
    assert_valid(doc, chunks, 120)


def test_chunks_never_cross_pdf_pages_and_carry_their_page() -> None:
    pages = [(paragraphs(3, 4), n, ()) for n in (1, 2, 3)] + [("tiny last page\n\n", 5, ())]
    doc = document(pages, kind="pdf")
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert [c.page for c in chunks] == [1, 2, 3, 5]  # small pages are not merged across


def test_chunks_carry_the_heading_path_where_they_start_and_prefer_heading_cuts() -> None:
    intro = ("# Guide\n\n" + paragraphs(3, 5), None, ("Guide",))
    install = ("## Install\n\n" + paragraphs(4, 5), None, ("Guide", "Install"))
    use = ("## Use\n\n" + paragraphs(4, 5), None, ("Guide", "Use"))
    doc = document([intro, install, use])
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    starts = {c.start for c in chunks}
    assert doc.sections[1].start in starts and doc.sections[2].start in starts
    assert [c.heading for c in chunks][:2] == [("Guide",), ("Guide", "Install")]


def test_small_sections_share_a_chunk() -> None:
    sections = [
        (f"## Note {n}\n\nshort body {n}.\n\n", None, ("Notes", f"Note {n}")) for n in range(10)
    ]
    doc = document(sections)
    [chunk] = chunk_document("d", doc)
    assert chunk.heading == ("Notes", "Note 0")


def paragraphs_filling(tokens: int) -> str:
    """Paragraphs whose estimate is just under `tokens` (within one paragraph's worth), made of
    a paragraph whose estimate adds up exactly when repeated, so that the chunker's piece-wise
    counts and the whole-text estimate agree and the test controls where the limit falls."""
    candidates = ["Yes yes yes yes.\n\n", "One two three.\n\n", "Go on now, go.\n\n", "Yes.\n\n"]
    paragraph = next(p for p in candidates if estimate_tokens(p * 20) == 20 * estimate_tokens(p))
    return paragraph * (tokens // estimate_tokens(paragraph))


def test_a_tiny_tail_joins_the_chunk_before_it() -> None:
    text = paragraphs_filling(DEFAULT_TARGET_TOKENS) + "The end of it.\n"
    assert estimate_tokens(text) > DEFAULT_TARGET_TOKENS  # so the tail would be cut off alone
    doc = plain(text)
    [chunk] = chunk_document("d", doc)
    assert chunk.text == text
    assert_valid(doc, [chunk], DEFAULT_MAX_TOKENS)


def test_a_tail_that_would_break_the_limit_stays_separate() -> None:
    text = paragraphs_filling(DEFAULT_TARGET_TOKENS) + "The end of it.\n"
    doc = plain(text)
    chunks = chunk_document("d", doc, max_tokens=DEFAULT_TARGET_TOKENS)
    assert [c.text for c in chunks][-1] == "The end of it.\n"
    assert_valid(doc, chunks, DEFAULT_TARGET_TOKENS)


def test_a_heading_is_a_better_cut_than_a_later_paragraph_end() -> None:
    first = ("# One\n\n" + paragraphs_filling(300), None, ("One",))
    second = ("# Two\n\n" + paragraphs(8, 7), None, ("Two",))  # about 800 tokens
    doc = document([first, second])
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert chunks[0].text == first[0]
    assert chunks[1].heading == ("Two",)


def test_a_short_section_is_not_left_as_a_sliver_before_a_long_one() -> None:
    first = ("# One\n\nA short opening section.\n\n", None, ("One",))
    second = ("# Two\n\n" + paragraphs(8, 7), None, ("Two",))
    doc = document([first, second])
    chunks = chunk_document("d", doc)
    assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
    assert chunks[0].tokens >= DEFAULT_TARGET_TOKENS // 2
    assert chunks[0].heading == ("One",)


def test_ids_are_stable_and_depend_on_document_position_and_content() -> None:
    doc = plain(paragraphs(20, 5))
    first, again = chunk_document("doc", doc), chunk_document("doc", doc)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    other_doc = chunk_document("other", doc)
    assert not {c.chunk_id for c in first} & {c.chunk_id for c in other_doc}
    assert re.fullmatch(r"[0-9a-f]{16}", first[0].chunk_id)
    assert content_hash("abc") == hashlib.sha1(b"abc").hexdigest()
    assert chunk_id("d", 0, "h") != chunk_id("d", 1, "h") != chunk_id("d", 1, "h2")


def test_an_edit_changes_only_the_ids_of_chunks_it_touches() -> None:
    text = paragraphs(20, 5)
    before = chunk_document("doc", plain(text))
    edited = text[: before[-1].start] + text[before[-1].start :].replace("fox", "cat", 1)
    after = chunk_document("doc", plain(edited))
    assert [c.chunk_id for c in before[:-1]] == [c.chunk_id for c in after[:-1]]
    assert before[-1].chunk_id != after[-1].chunk_id


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="target_tokens"):
        chunk_document("d", plain("x"), target_tokens=600, max_tokens=500)
    with pytest.raises(ValueError):
        chunk_document("d", plain("x"), target_tokens=2, max_tokens=4)


# --- Properties -------------------------------------------------------------------------------

ATOMS = [
    "word ",
    "internationalization ",
    "Sentence ends. ",
    "Question? ",
    "中文",
    "句子。",
    "感叹！",
    "1234567890",
    "\n",
    "\n\n",
    "   ",
    "\t",
    "https://example.com/a/b?c=d ",
    "ﬁ",
    "—",
    "x" * 40,
]
section_texts = st.lists(st.sampled_from(ATOMS), min_size=1, max_size=120).map("".join)
sections_strategy = st.lists(
    st.tuples(
        section_texts,
        st.one_of(st.none(), st.integers(1, 4)),
        st.sampled_from([(), ("A",), ("A", "B"), ("C",)]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sections_strategy, st.integers(8, 80), st.integers(0, 40))
def test_chunking_properties(
    sections: list[tuple[str, int | None, tuple[str, ...]]], target: int, slack: int
) -> None:
    doc = document(sections)
    chunks = chunk_document("prop", doc, target_tokens=target, max_tokens=target + slack)
    assert_valid(doc, chunks, target + slack)
    assert chunk_document("prop", doc, target_tokens=target, max_tokens=target + slack) == chunks


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=3000))
def test_any_text_is_covered_exactly(text: str) -> None:
    doc = plain(text)
    chunks = chunk_document("any", doc, target_tokens=32, max_tokens=40)
    assert_valid(doc, chunks, 40)


# --- Corpus -----------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_samples_chunk_within_limits(corpora: Path) -> None:
    samples = [
        *sorted((corpora / "weekly").glob("*.md"))[:15],
        *sorted((corpora / "til").rglob("*.md"))[:30],
        *sorted((corpora / "pg-essays").glob("*.txt"))[:5],
        corpora / "novels-zh" / "journey_to_the_west.txt",
    ]
    sizes = []
    for path in samples:
        if not path.is_file():
            continue
        doc = extract_file(path, max_bytes=64 * 1024 * 1024)
        chunks = chunk_document(path.name, doc)
        assert_valid(doc, chunks, DEFAULT_MAX_TOKENS)
        sizes += [c.tokens for c in chunks[:-1]]
    assert sizes, "expected corpus files to produce chunks"
    # Most chunks come out near the target, not as slivers.
    assert sorted(sizes)[len(sizes) // 2] >= DEFAULT_TARGET_TOKENS * 0.6
