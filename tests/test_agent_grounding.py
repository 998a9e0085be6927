"""Grounded answers: the text checks, the verification read, and what auto and forced levels do
with an answer whose cited passages do not support it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.agent.events import Answer, Grounding, LevelStarted
from engine.agent.grounding import (
    AnswerForm,
    TextVerdict,
    expected_form,
    gives_form,
    normalize_digits,
    text_check,
    verification_from_reply,
    verify_messages,
)
from engine.agent.runner import answer_question
from engine.settings import Settings
from tests.helpers.agent import FILLER_EN, Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Request,
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    verdict_quoting,
    verify_by_words,
)

GREENHOUSE = "The Halvorsen greenhouse was finished in 1931 after two wet summers."
OTHER = "The Miller barn was rebuilt in 1985 by the village."


# ---------------------------------------------------------------- the text checks


def test_the_form_a_question_asks_for() -> None:
    assert expected_form("In what year was the greenhouse finished?") is AnswerForm.YEAR
    assert expected_form("温室是哪一年建成的？") is AnswerForm.YEAR
    assert expected_form("How many cats does Ana have?") is AnswerForm.NUMBER
    assert expected_form("她养了几只猫？") is AnswerForm.NUMBER
    assert expected_form("When did the boiler break?") is AnswerForm.TIME
    assert expected_form("Who repaired the boiler?") is AnswerForm.ANY
    assert gives_form("It was finished in 1931 [1].", AnswerForm.YEAR)
    assert gives_form("一九三一年建成。", AnswerForm.YEAR)
    assert not gives_form("The greenhouse was built by Ola Halvorsen [1].", AnswerForm.YEAR)
    assert gives_form("three", AnswerForm.NUMBER) and gives_form("三只", AnswerForm.NUMBER)
    assert gives_form("last spring", AnswerForm.TIME)


def test_a_year_no_cited_passage_holds_is_not_grounded() -> None:
    check = text_check("When was the greenhouse finished?", "In 1902 [1].", [GREENHOUSE])
    assert check.verdict is TextVerdict.NOT_GROUNDED
    assert check.reason == "the answer's year 1902 occurs in none of the cited passages"


def test_an_answer_restating_the_first_hop_instead_of_the_year_is_not_grounded() -> None:
    check = text_check(
        "In what year was the greenhouse of Ola's grandfather finished?",
        "Ola's grandfather was Per Halvorsen [1].",
        [GREENHOUSE],
    )
    assert check.verdict is TextVerdict.NOT_GROUNDED
    assert "asks for a year" in check.reason


def test_an_answer_whose_facts_are_in_its_passage_is_grounded() -> None:
    check = text_check("When was the Halvorsen greenhouse finished?", "In 1931 [1].", [GREENHOUSE])
    assert check.verdict is TextVerdict.GROUNDED
    chinese = text_check(
        "温室是哪一年建成的？", "温室于一九三一年建成[1]。", ["这座温室在1931年建成。"]
    )
    assert chinese.verdict is TextVerdict.GROUNDED


def test_the_undecidable_cases_go_to_a_verification_read() -> None:
    # An answer in English about a Chinese passage: its words cannot be compared.
    cross = text_check(
        "What colour is Li's bicycle?", "It is red [1].", ["李伟买了一辆红色的自行车。"]
    )
    assert cross.verdict is TextVerdict.UNDECIDED
    # A passage that never names what the question is about may be about something else.
    other = text_check("When was the Halvorsen greenhouse finished?", "In 1985 [1].", [OTHER])
    assert other.verdict is TextVerdict.UNDECIDED
    # A bare "yes" shows nothing by itself.
    bare = text_check("Did the Halvorsen greenhouse get finished?", "Yes [1].", [GREENHOUSE])
    assert bare.verdict is TextVerdict.UNDECIDED


def test_a_passage_about_a_similar_thing_is_not_taken_on_trust() -> None:
    """Asked for the boathouse's code, the model answers the greenhouse's: every word of the
    answer is in its passage, but the passage never names the boathouse."""
    passage = "The access code for the Halvorsen greenhouse is 4417."
    check = text_check(
        "What is the access code for the Halvorsen boathouse?", "4417 [1]", [passage]
    )
    assert check.verdict is TextVerdict.UNDECIDED and check.missing == ("boathouse",)
    assert check.reason == "the cited passages do not mention “boathouse”"
    messages = verify_messages("What is the code?", "4417", [passage], check.missing)
    assert 'the passages never mention "boathouse"' in messages[-1].content


def test_the_verification_read_must_quote_a_real_sentence_holding_the_answer() -> None:
    question, answer = "When was the Halvorsen greenhouse finished?", "In 1931 [1]."
    real = json.dumps({"quote": GREENHOUSE, "supported": True})
    verified = verification_from_reply(real, question, answer, [OTHER, GREENHOUSE])
    assert verified.grounded and verified.passage == 1 and verified.quote == GREENHOUSE
    invented = json.dumps({"quote": "It was finished in 1931.", "supported": True})
    assert not verification_from_reply(invented, question, answer, [GREENHOUSE]).grounded
    refused = json.dumps({"quote": GREENHOUSE, "supported": False})
    assert not verification_from_reply(refused, question, answer, [GREENHOUSE]).grounded
    wrong_number = verification_from_reply(
        json.dumps({"quote": OTHER, "supported": True}), question, answer, [OTHER]
    )
    assert not wrong_number.grounded and "1931" in wrong_number.reason
    assert not verification_from_reply("junk", question, answer, [GREENHOUSE]).grounded


@settings(max_examples=80, deadline=None)
@given(year=st.integers(min_value=1000, max_value=2099))
def test_any_year_is_found_however_either_side_writes_it(year: int) -> None:
    chinese = "".join("〇一二三四五六七八九"[int(d)] for d in str(year))
    assert str(year) in normalize_digits(f"建于{chinese}年")
    check = text_check("哪一年建成的？", f"{chinese}年[1]", [f"It was built in {year}."])
    assert check.verdict is not TextVerdict.NOT_GROUNDED


@settings(max_examples=60, deadline=None)
@given(
    invented=st.integers(min_value=100, max_value=99_999),
    stated=st.integers(min_value=100, max_value=99_999),
)
def test_a_long_number_absent_from_every_passage_is_never_grounded(
    invented: int, stated: int
) -> None:
    if str(stated).find(str(invented)) >= 0 or str(invented) == str(stated):
        return
    passage = f"The greenhouse holds {stated} plants."
    check = text_check("How many plants are there?", f"There are {invented} plants [1].", [passage])
    assert check.verdict is TextVerdict.NOT_GROUNDED


# ---------------------------------------------------------------- the agent with the checks

NOTES = {
    "garden/greenhouse.md": FILLER_EN * 2 + GREENHOUSE + " " + FILLER_EN,
    "village/barn.md": FILLER_EN + OTHER + " " + FILLER_EN,
    "garden/plan.md": FILLER_EN * 3,
}
QUESTION = "When was the Halvorsen greenhouse finished?"


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def confabulating_model() -> ScriptedModel:
    """Level 1 invents a year; a careful reader then finds the real one."""

    def invent(request: Request) -> str:
        return "It was finished in 1902 [1]." if request.documents else "NOT_FOUND"

    return ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["Halvorsen", "greenhouse"])),
            Rule(lambda r: r.is_answer and "<evidence>" not in r.user, invent),
            Rule(lambda r: r.is_read, verdict_quoting("finished in 1931", answer="1931")),
            Rule(lambda r: r.is_answer, answer_from_document_containing("finished in 1931")),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )


def test_auto_escalates_when_the_level1_answer_is_not_grounded(notes: Notes) -> None:
    events = Recorder()
    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=confabulating_model(),
        settings=Settings(),
        on_event=events,
    )
    assert answer.found and answer.grounded and answer.level == 2
    assert "1931" in answer.text and "1902" not in answer.text
    first, second = events.of(Grounding)[:2]
    assert not first.grounded and first.level == 1 and "1902" in first.answer
    assert first.reason == "the answer's year 1902 occurs in none of the cited passages"
    assert second.grounded
    escalation = events.of(LevelStarted)[1]
    assert (
        escalation.level == 2 and "1902 occurs in none of the cited passages" in escalation.reason
    )
    assert answer.chunks_read >= 1


def test_a_forced_level_says_not_supported_with_the_closest_passages(notes: Notes) -> None:
    events = Recorder()
    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=confabulating_model(),
        settings=Settings(),
        level="1",
        on_event=events,
    )
    assert not answer.found and not answer.grounded and not answer.citations
    assert answer.text.startswith("Not supported by your documents")
    assert "1902" in answer.grounding
    assert any(ref.path.endswith("greenhouse.md") for ref in answer.candidates)
    assert events.of(Answer)[0] == answer


def test_an_unanswerable_question_ends_not_found_without_citations(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["Halvorsen", "architect"])),
            Rule(lambda r: r.is_answer, "It was designed by Ola Brenna [1]."),
            Rule(lambda r: r.is_read, verdict_quoting("architect")),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    answer = answer_question(
        "Who was the architect of the Halvorsen greenhouse?",
        index=notes.index,
        model=model,
        settings=Settings(),
    )
    assert not answer.found and not answer.citations
    assert not answer.grounded


def test_an_answer_citing_the_wrong_passage_is_grounded_by_the_one_that_states_it(
    notes: Notes,
) -> None:
    """Small models often cite the wrong one of the passages they read. The year is in another
    passage of the answer's context: the verification read finds the sentence there, the answer
    stands, and that passage is cited too, so the reader sees what the answer rests on."""

    def cite_the_barn(request: Request) -> str:
        barn = next(doc.number for doc in request.documents if "Miller barn" in doc.text)
        return f"It was finished in 1931 [{barn}]."

    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["Halvorsen", "greenhouse", "barn"])),
            Rule(lambda r: r.is_answer, cite_the_barn),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    events = Recorder()
    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        score_gap=False,
        on_event=events,
    )
    (grounding,) = events.of(Grounding)
    assert grounding.grounded and grounding.method == "verify" and grounding.support_chunk_id
    assert answer.found and answer.grounded
    assert [Path(c.path).name for c in answer.citations] == ["barn.md", "greenhouse.md"]
    assert answer.text == "It was finished in 1931 [1]. [2]"
    assert GREENHOUSE in answer.citations[1].text
