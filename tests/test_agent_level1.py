"""Level 1 (keyword RAG) through answer_question with a scripted model and a real index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.agent import prompts
from engine.agent.events import (
    Answer,
    AnswerDelta,
    Hits,
    Keywords,
    LevelStarted,
    LlmCall,
    QueryParsed,
)
from engine.agent.runner import answer_question
from engine.errors import NeedleError
from engine.settings import Settings
from tests.helpers.agent import FILLER_EN, Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Reply,
    ReplySource,
    Request,
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    verify_by_words,
)

NOTES = {
    "garden/seeds.md": FILLER_EN * 3
    + "The tomato seeds were ordered from Greenhill Farm in March. "
    + FILLER_EN,
    "garden/tools.md": "The new spade cost forty euros. " + FILLER_EN * 2,
    "music/fifth.md": "Beethoven wrote the Fifth Symphony between 1804 and 1808. " + FILLER_EN,
}


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def seed_model(parse_reply: ReplySource | None = None) -> ScriptedModel:
    parse = parse_reply or parse_json(keywords_en=["tomato", "seeds", "ordered"])
    return ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse),
            Rule(lambda r: r.is_answer, answer_from_document_containing("tomato")),
            # A Chinese question about an English note is checked by a verification read.
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )


def ask_level1(notes: Notes, model: ScriptedModel, question: str, **options: Any) -> Answer:
    """Level 1 over the seed notes with default settings; `options` go to answer_question."""
    return answer_question(
        question, index=notes.index, model=model, settings=Settings(), level="1", **options
    )


def test_level1_answers_with_a_citation_to_the_right_chunk(notes: Notes) -> None:
    model = seed_model()
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    assert "Greenhill Farm" in answer.text
    assert answer.text.endswith("[1]")
    assert answer.found and answer.level == 1
    (citation,) = answer.citations
    assert citation.path == str(notes.paths["garden/seeds.md"])
    assert "Greenhill Farm" in citation.text
    highlighted = [citation.text[s:e].lower() for s, e in citation.highlights]
    assert "tomato" in highlighted
    assert answer.llm_calls == 2 == len(events.of(LlmCall))
    assert answer.prompt_tokens == sum(c.prompt_tokens for c in model.calls)
    assert isinstance(events.events[0], LevelStarted)
    parsed = events.of(QueryParsed)[0]
    assert parsed.method == "structured"
    assert events.of(Keywords)[0].english == ("tomato", "seeds", "ordered")
    purposes = [h.purpose for h in events.of(Hits)]
    assert purposes == ["retrieval", "context"]
    streamed = "".join(d.text for d in events.of(AnswerDelta))
    assert streamed.strip() == answer.text
    assert events.events[-1] == answer
    assert set(answer.timings) >= {"parse", "search", "answer", "total"}


def test_context_holds_the_retrieved_chunk_inside_a_document_block(notes: Notes) -> None:
    model = seed_model()
    ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
    )
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    sources = [d.attributes for d in answer_call.documents]
    assert any("seeds.md" in s for s in sources)
    assert answer_call.user.index("</documents>") < answer_call.user.index("<question>")


def test_invalid_json_falls_back_to_the_questions_words_and_says_so(notes: Notes) -> None:
    model = seed_model(parse_reply="Sure! Here are keywords: tomato, seeds (sorry, no JSON)")
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    parsed = events.of(QueryParsed)[0]
    assert parsed.method == "fallback"
    assert "no JSON" in parsed.note
    keywords = events.of(Keywords)[0]
    assert "tomato" in keywords.english and "where" not in keywords.english
    assert "Greenhill Farm" in answer.text


def test_empty_keyword_lists_use_the_question_words(notes: Notes) -> None:
    model = seed_model(parse_reply=parse_json(keywords_en=[], keywords_zh=[]))
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    parsed = events.of(QueryParsed)[0]
    assert "no keywords" in parsed.note
    assert "tomato" in events.of(Keywords)[0].english
    assert answer.found and "Greenhill" in answer.text


def test_json_wrapped_in_prose_and_fences_is_understood(notes: Notes) -> None:
    wrapped = (
        "Here is the analysis:\n```json\n{'information': 'where were the seeds ordered', "
        "'instruction': '', 'keywords_en': ['tomato', 'seeds',], 'keywords_zh': [],}\n```\nDone."
    )
    model = seed_model(parse_reply=wrapped)
    events = Recorder()
    ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    assert events.of(QueryParsed)[0].method == "structured"
    assert events.of(Keywords)[0].english == ("tomato", "seeds")


def test_two_call_parse_mode_makes_two_calls_before_retrieval(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(
                lambda r: r.is_parse,
                '{"information": "Where were the tomato seeds ordered from?", '
                '"instruction": "one sentence", "multi_hop": false}',
            ),
            Rule(lambda r: r.is_keywords, '{"keywords_en": ["tomato"], "keywords_zh": ["番茄"]}'),
            Rule(lambda r: r.is_answer, answer_from_document_containing("tomato")),
        ]
    )
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from? One sentence.",
        on_event=events,
        parse_mode="two_call",
    )
    assert [c.purpose for c in events.of(LlmCall)] == ["parse", "keywords", "answer"]
    assert events.of(QueryParsed)[0].instruction == "one sentence"
    assert events.of(Keywords)[0].chinese == ("番茄",)
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    assert "one sentence" in answer_call.user
    assert answer.found


def test_not_found_marker_is_stripped_and_reported(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["spade"])),
            Rule(
                lambda r: r.is_answer,
                f"{prompts.NOT_FOUND_MARKER}\nThe notes do not say who sold the spade.",
            ),
        ]
    )
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Who sold the spade?",
        on_event=events,
    )
    assert not answer.found
    assert answer.citations == ()
    assert prompts.NOT_FOUND_MARKER not in answer.text
    streamed = "".join(d.text for d in events.of(AnswerDelta))
    assert prompts.NOT_FOUND_MARKER not in streamed and "spade" in streamed


def test_uncited_answer_gets_inferred_sources(notes: Notes) -> None:
    model = seed_model()
    model.rules[1] = Rule(
        lambda r: r.is_answer, Reply("They were ordered from Greenhill Farm, in March.")
    )
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
    )
    assert answer.citations_inferred
    assert answer.citations[0].path.endswith("seeds.md")


def test_citations_are_renumbered_by_first_use_and_unknown_numbers_dropped(notes: Notes) -> None:
    def reply(request: Request) -> str:
        numbers = {d.number: d for d in request.documents}
        spade = next(n for n, d in numbers.items() if "spade" in d.text)
        seeds = next(n for n, d in numbers.items() if "tomato" in d.text)
        return f"The spade cost forty euros [{spade}] and seeds came from Greenhill [{seeds}, 99]."

    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["spade", "tomato"])),
            Rule(lambda r: r.is_answer, reply),
        ]
    )
    answer = ask_level1(
        notes,
        model,
        "What did the spade cost, and where did the seeds come from?",
    )
    assert answer.text == "The spade cost forty euros [1] and seeds came from Greenhill [2]."
    assert [c.number for c in answer.citations] == [1, 2]
    assert answer.citations[0].path.endswith("tools.md")
    assert answer.citations[1].path.endswith("seeds.md")


def test_nothing_matching_answers_without_an_answer_call(notes: Notes) -> None:
    model = ScriptedModel([Rule(lambda r: r.is_parse, parse_json(keywords_en=["zeppelin"]))])
    answer = ask_level1(
        notes,
        model,
        "Who flew the zeppelin?",
    )
    assert not answer.found
    assert answer.llm_calls == 1


def test_bad_inputs_are_clear_errors(notes: Notes) -> None:
    model = seed_model()
    events = Recorder()
    with pytest.raises(NeedleError) as empty:
        answer_question("   ", index=notes.index, model=model, settings=Settings(), on_event=events)
    assert empty.value.kind == "empty_question"
    assert events.events[-1].type == "error"
    with pytest.raises(NeedleError) as level:
        answer_question("q?", index=notes.index, model=model, settings=Settings(), level="7")
    assert level.value.kind == "bad_level"
    with pytest.raises(NeedleError) as scope:
        answer_question(
            "q?", index=notes.index, model=model, settings=Settings(), scope="/no/such/place"
        )
    assert scope.value.kind == "scope_empty"
    with pytest.raises(NeedleError) as setting:
        answer_question(
            "q?", index=notes.index, model=model, settings=Settings(answer_reserve=9000)
        )
    assert setting.value.kind == "bad_setting" and "answer reserve" in setting.value.message
    assert model.calls == []
    assert isinstance(events.events[-1], type(events.events[-1])) and not any(
        isinstance(e, Answer) for e in events
    )


def test_a_rambling_instruction_from_a_weak_model_is_ignored(notes: Notes) -> None:
    rambling = "What is the type of seed? What is the date of the seed's last inspection? " * 6
    model = seed_model(parse_reply=parse_json(instruction=rambling, keywords_en=["tomato"]))
    events = Recorder()
    ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    parsed = events.of(QueryParsed)[0]
    assert parsed.instruction == "" and "implausibly long" in parsed.note
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    assert "inspection" not in answer_call.user


@pytest.mark.parametrize(
    ("question", "information", "instruction", "kept_information", "kept_instruction"),
    [
        # A weak model's restatement in the instruction slot is not the user's instruction.
        (
            "When was the tomato seed order placed?",
            "When was the tomato seed order placed?",
            "What is the seed order's date?",
            "When was the tomato seed order placed?",
            "",
        ),
        # With no instruction to strip, the question itself is what is searched and answered.
        (
            "Where were the tomato seeds ordered from?",
            "The seeds came from Greenhill Farm.",
            "",
            "Where were the tomato seeds ordered from?",
            "",
        ),
        # Real instructions survive, also when the model translated them.
        (
            "Where were the tomato seeds ordered from? One sentence.",
            "Where were the tomato seeds ordered from?",
            "One sentence.",
            "Where were the tomato seeds ordered from?",
            "One sentence.",
        ),
        (
            "番茄种子是从哪里订的？用英文回答。",
            "番茄种子是从哪里订的？",
            "Answer in English.",
            "番茄种子是从哪里订的？",
            "Answer in English.",
        ),
        # …but a form the user never asked for is the model's invention.
        (
            "Where were the tomato seeds ordered from?",
            "Where were the tomato seeds ordered from?",
            "中文",
            "Where were the tomato seeds ordered from?",
            "",
        ),
    ],
)
def test_parse_parts_a_weak_model_made_up_are_overruled(
    notes: Notes,
    question: str,
    information: str,
    instruction: str,
    kept_information: str,
    kept_instruction: str,
) -> None:
    model = seed_model(
        parse_reply=parse_json(information, instruction, keywords_en=["tomato", "seeds"])
    )
    events = Recorder()
    answer_question(
        question, index=notes.index, model=model, settings=Settings(), level="1", on_event=events
    )
    parsed = events.of(QueryParsed)[0]
    assert (parsed.information, parsed.instruction) == (kept_information, kept_instruction)
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    assert answer_call.question == kept_information


@pytest.mark.parametrize("bare_reply", [prompts.NOT_FOUND_MARKER, "[1] [2][3]"])
def test_a_bare_marker_reply_is_not_found_and_still_gets_a_sentence(
    notes: Notes, bare_reply: str
) -> None:
    model = seed_model()
    model.rules[1] = Rule(lambda r: r.is_answer, bare_reply)
    events = Recorder()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        on_event=events,
    )
    assert not answer.found and "do not contain" in answer.text
    assert answer.citations == ()
    assert "".join(d.text for d in events.of(AnswerDelta)).endswith(answer.text)


def test_compressed_context_keeps_only_sentences_about_the_question(notes: Notes) -> None:
    model = seed_model()
    answer = ask_level1(
        notes,
        model,
        "Where were the tomato seeds ordered from?",
        compress_context=True,
    )
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    seeds_block = next(d for d in answer_call.documents if "seeds.md" in d.attributes)
    assert "Greenhill Farm" in seeds_block.text and "fence" not in seeds_block.text
    assert answer.found and answer.citations[0].text.count("fence") >= 1  # the chunk, uncut


def test_an_unknown_parse_mode_is_a_clear_error(notes: Notes) -> None:
    with pytest.raises(NeedleError) as raised:
        answer_question(
            "q?", index=notes.index, model=seed_model(), settings=Settings(), parse_mode="magic"
        )
    assert raised.value.kind == "bad_parse_mode" and "two_call" in raised.value.hint
