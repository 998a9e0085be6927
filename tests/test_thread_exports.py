"""Markdown, JSON and trace records of stored threads, for any text a thread may hold."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.library.exports import (
    file_link,
    long_context,
    selected_traces,
    thread_markdown,
    trace_record,
)
from engine.threads import ReadPassage, StoredCitation, Thread, Turn

words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(str.strip)


def turn_with(position: int, question: str, answer: str, quote: str) -> Turn:
    return Turn(
        "t",
        position,
        question,
        answer,
        level=2,
        found=True,
        grounded=True,
        citations=(StoredCitation(1, f"c{position}", "/notes/a b.pdf", "A", 3, "", quote),),
        read=(ReadPassage(f"c{position}", "/notes/a b.pdf", f"Before. {quote} After.", 10),),
    )


@settings(max_examples=40, deadline=None)
@given(questions=st.lists(st.tuples(words, words, words), min_size=1, max_size=4))
def test_markdown_holds_every_question_answer_and_numbered_source(
    questions: list[tuple[str, str, str]],
) -> None:
    turns = tuple(turn_with(n, q, a, quote) for n, (q, a, quote) in enumerate(questions, 1))
    thread = Thread("t", "Title", 0.0, 0.0, turns)
    markdown = thread_markdown(thread)
    for turn in turns:
        assert f"## {' '.join(turn.question.split())}" in markdown
        assert turn.answer.strip() in markdown
        assert f"“{' '.join(turn.citations[0].quote.split())}”" in markdown
    assert markdown.count("1. [a b.pdf](file:///notes/a%20b.pdf#page=3), page 3") == len(turns)
    assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


@settings(max_examples=40, deadline=None)
@given(question=words, answer=words, quote=words)
def test_a_trace_record_holds_the_question_the_read_text_and_the_answer(
    question: str, answer: str, quote: str
) -> None:
    turn = turn_with(1, question, answer, quote)
    record = trace_record(turn, "chatml")
    user = record["messages"][1]["content"]
    assert f"{quote} After." in user and user.endswith(f"Question: {question}")
    assert record["messages"][2]["content"].startswith(answer.strip())
    shared = trace_record(turn, "sharegpt")
    assert [m["value"] for m in shared["conversations"]] == [
        m["content"] for m in record["messages"]
    ]
    assert shared["metadata"] == record["metadata"]


def test_the_long_context_keeps_each_document_once_in_order_and_marks_gaps() -> None:
    read = (
        ReadPassage("b2", "/n/b.md", "Third part.", 200),
        ReadPassage("a1", "/n/a.md", "First part.", 0),
        ReadPassage("b1", "/n/b.md", "Second part.", 0),
        ReadPassage("b0", "/n/b.md", "Follows on.", 13),
    )
    context = long_context(read)
    assert context.count("<document") == 2
    b = context[context.index('source="/n/b.md"') :]
    assert b.index("Second part.") < b.index("Follows on.") < b.index("[…]") < b.index("Third")
    assert "[…]" not in context[: context.index("Follows on.")]


def test_filtering_drops_answers_without_reading_and_repeats() -> None:
    kept = turn_with(1, "Q?", "A [1].", "q")
    again = Turn.from_dict({**kept.to_dict(), "position": 2, "asked_at": 5.0})
    unread = Turn("t", 3, "Hi?", "Hello.")
    chosen, stats = selected_traces([kept, again, unread])
    assert chosen == [again]
    assert (stats.skipped_duplicates, stats.skipped_without_reading) == (1, 1)


def test_a_relative_path_gets_no_link() -> None:
    assert file_link("notes/a.md") == ""
    assert file_link(str(Path("/n/a.md"))) == "file:///n/a.md"
