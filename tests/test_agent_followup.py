"""Follow-up questions in a thread: rewritten from the earlier turns into a question that stands
alone (shown as a FollowUp step), within the window, in the question's language, and never worse
than the question as typed when the model's reply is junk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.agent.events import Answer, FollowUp, QueryParsed
from engine.agent.followup import PriorTurn
from engine.agent.runner import answer_question
from engine.settings import Settings
from tests.helpers.agent import FILLER_EN, Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
)

NOTES = {
    "travel/2019.md": FILLER_EN * 2 + "In 2019 Marta went to the Lisbon conference. " + FILLER_EN,
    "travel/2021.md": FILLER_EN + "In 2021 Marta went to the Kyoto workshop. " + FILLER_EN,
    "人物/李雷.md": "会议记录很长。" * 20 + "李雷后来去了成都工作。" + "会议记录很长。" * 5,
}


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def rewrite_to(question: str) -> str:
    return json.dumps({"question": question}, ensure_ascii=False)


def model_with(rewrite: object, *needles: str) -> ScriptedModel:
    return ScriptedModel(
        [
            Rule(lambda r: r.is_rewrite, rewrite),  # type: ignore[arg-type]
            Rule(lambda r: r.is_parse, parse_json()),
            Rule(lambda r: r.is_answer, answer_from_document_containing(*needles)),
        ]
    )


FIRST = PriorTurn(
    "Where did Marta go in 2019?", "In 2019 Marta went to the Lisbon conference [1].", ()
)


def test_a_follow_up_is_rewritten_and_the_rewrite_is_what_the_levels_answer(notes: Notes) -> None:
    model = model_with(rewrite_to("Where did Marta go in 2021?"), "2021")
    events = Recorder()
    answer = answer_question(
        "and in 2021?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        history=[FIRST],
        on_event=events,
    )
    (step,) = events.of(FollowUp)
    assert (step.original, step.question, step.turns, step.method) == (
        "and in 2021?",
        "Where did Marta go in 2021?",
        1,
        "model",
    )
    # The rewrite prompt showed the earlier turn; the parse step got the rewritten question.
    (rewrite,) = model.calls_where(lambda r: r.is_rewrite)
    assert "Lisbon conference" in rewrite.conversation and rewrite.question == "and in 2021?"
    (parse,) = model.calls_where(lambda r: r.is_parse)
    assert parse.question == "Where did Marta go in 2021?"
    assert events.types().index("follow_up") < events.types().index("query_parsed")
    assert answer.found and "Kyoto" in answer.text
    assert answer.rewritten == "Where did Marta go in 2021?"


def test_a_chinese_follow_up_is_rewritten_in_chinese(notes: Notes) -> None:
    model = model_with(rewrite_to("李雷后来去了哪里？"), "成都")
    history = [PriorTurn("李雷是谁？", "李雷是会议记录里的人。", ())]
    events = Recorder()
    answer = answer_question(
        "他后来去了哪里？",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        history=history,
        on_event=events,
    )
    assert events.of(FollowUp)[0].question == "李雷后来去了哪里？"
    assert events.of(QueryParsed)[0].information == "李雷后来去了哪里？"
    assert answer.found and "成都" in answer.text


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think he went somewhere.", "no rewritten question"),
        (rewrite_to(""), "empty"),
        (rewrite_to("Where did Marta go? " * 20), "implausibly long"),
        (rewrite_to("李雷去了哪里？"), "language"),
        (rewrite_to("NOT_FOUND the notes do not say"), "answered"),
    ],
)
def test_a_junk_rewrite_falls_back_to_the_question_as_typed(
    notes: Notes, reply: str, why: str
) -> None:
    model = model_with(reply, "2021")
    events = Recorder()
    answer = answer_question(
        "and in 2021?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        history=[FIRST],
        on_event=events,
    )
    (step,) = events.of(FollowUp)
    assert step.method == "fallback" and why in step.note
    assert step.question == "and in 2021?"
    assert model.calls_where(lambda r: r.is_parse)[0].question == "and in 2021?"
    assert answer.rewritten == ""


def test_without_history_there_is_no_rewrite_call(notes: Notes) -> None:
    model = model_with(rewrite_to("never asked"), "2019")
    events = Recorder()
    answer_question(
        "Where did Marta go in 2019?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        on_event=events,
    )
    assert model.calls_where(lambda r: r.is_rewrite) == []
    assert events.of(FollowUp) == []


def test_a_long_thread_never_pushes_the_rewrite_over_the_window(notes: Notes) -> None:
    """The scripted model asserts every prompt fits its window; the newest turns are kept."""
    long_answer = "Marta travelled a lot that year, and the notes say so at length. " * 40
    history = [PriorTurn(f"Question number {n}?", long_answer, ()) for n in range(30)]
    history.append(PriorTurn("Where did Marta go in 2019?", "To Lisbon [1].", ()))
    model = model_with(rewrite_to("Where did Marta go in 2021?"), "2021")
    model.window = 2048
    events = Recorder()
    answer_question(
        "and in 2021?",
        index=notes.index,
        model=model,
        settings=Settings(context_window=2048, answer_reserve=512),
        level="1",
        history=history,
        on_event=events,
    )
    (step,) = events.of(FollowUp)
    (rewrite,) = model.calls_where(lambda r: r.is_rewrite)
    assert 1 <= step.turns < len(history)
    assert "To Lisbon" in rewrite.conversation  # the newest turn is never the one dropped
    assert "Question number 0?" not in rewrite.conversation


def test_an_earlier_turns_source_is_offered_and_may_be_cited(notes: Notes) -> None:
    """ "Who organised it?" finds nothing by its own keywords; the chunk the first answer cited
    is in the context, and the answer cites it."""
    (lisbon,) = [
        hit for hit in notes.index.search_keywords(["Lisbon"], limit=5) if "Lisbon" in hit.text
    ]
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_rewrite, rewrite_to("What was the Lisbon conference?")),
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["zzzunmatched"])),
            Rule(lambda r: r.is_answer, answer_from_document_containing("Lisbon")),
        ]
    )
    history = [PriorTurn(FIRST.question, FIRST.answer, (lisbon.chunk_id,))]
    answer = answer_question(
        "what was it?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        history=history,
    )
    assert isinstance(answer, Answer) and answer.found
    assert [c.chunk_id for c in answer.citations] == [lisbon.chunk_id]
