"""Level 3 (step by step) and the auto escalation 1 -> 2 -> 3, on a two-hop question whose two
facts sit in different notes that share no keywords with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.agent import prompts
from engine.agent.events import (
    Event,
    Grounding,
    LevelStarted,
    LlmCall,
    SubAnswer,
    SubQuestion,
)
from engine.agent.runner import answer_question
from engine.cancel import CancelToken
from engine.llm.types import ToolCall
from engine.settings import Settings
from tests.helpers.agent import FILLER_EN, Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Reply,
    Request,
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    verdict_quoting,
    verdict_related,
    verify_by_words,
)

QUESTION = "What was invented in the century the Fifth Symphony was composed?"
FIRST_HOP = "When was the Fifth Symphony composed?"
SECOND_HOP = "What was invented in the 19th century?"
COMPOSED = "Beethoven wrote the Fifth Symphony between 1804 and 1808."
INVENTED = "The electric telegraph was invented in the 19th century."

NOTES = {
    "music/fifth.md": FILLER_EN + COMPOSED + " " + FILLER_EN,
    "history/inventions.md": FILLER_EN * 2 + INVENTED + " " + FILLER_EN,
    "garden/plan.md": FILLER_EN * 3,
}


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def asks(question: str) -> Reply:
    return Reply(tool_calls=(ToolCall(prompts.READ_TOOL_NAME, {"question": question}),))


def source_number(findings: str, file_name: str) -> int:
    match = re.search(r"\[(\d+)\] [^\n]*" + re.escape(file_name), findings)
    assert match, f"no source {file_name} in findings"
    return int(match.group(1))


def planner(request: Request) -> Reply:
    """A planner that asks the two hops in turn and then answers, citing the findings' sources."""
    findings = "\n".join(request.tool_results)
    if "1804" not in findings:
        return asks(FIRST_HOP)
    if "telegraph" not in findings:
        return asks(SECOND_HOP)
    telegraph = source_number(findings, "inventions.md")
    symphony = source_number(findings, "fifth.md")
    return Reply(
        f"The electric telegraph [{telegraph}]: it was invented in the 19th century, when the "
        f"Fifth Symphony was written [{symphony}]."
    )


def single_hop_rules() -> list[Rule]:
    """A reader and writer that only ever use one passage at a time, so the original two-hop
    question stays unanswerable at Levels 1 and 2."""

    def needs_both(request: Request) -> bool:
        return "Fifth" in request.question and "invented" in request.question

    return [
        Rule(lambda r: r.is_read and needs_both(r), verdict_related("Fifth Symphony")),
        Rule(lambda r: r.is_read and "Fifth" in r.question, verdict_quoting("Fifth Symphony")),
        Rule(lambda r: r.is_read and "19th" in r.question, verdict_quoting("invented")),
        Rule(
            lambda r: r.is_answer and needs_both(r),
            answer_from_document_containing("invented", "Fifth"),
        ),
        Rule(
            lambda r: r.is_answer and "Fifth" in r.question,
            answer_from_document_containing(
                "Fifth", template="Between 1804 and 1808, in the 19th century [{number}]."
            ),
        ),
        Rule(
            lambda r: r.is_answer and "19th" in r.question,
            answer_from_document_containing("telegraph"),
        ),
        Rule(lambda r: r.is_verify, verify_by_words()),
    ]


def two_hop_model(multi_hop: bool = False, **options: object) -> ScriptedModel:
    return ScriptedModel(
        [
            Rule(
                lambda r: r.is_parse,
                parse_json(
                    keywords_en=["invented", "century", "Fifth Symphony", "composed"],
                    multi_hop=multi_hop,
                ),
            ),
            Rule(lambda r: r.is_plan, planner),
            *single_hop_rules(),
        ],
        **options,  # type: ignore[arg-type]
    )


def test_two_hop_question_needs_level3(notes: Notes) -> None:
    model = two_hop_model()
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), on_event=events
    )
    levels = events.of(LevelStarted)
    assert [e.level for e in levels] == [1, 2, 3]
    assert levels[1].reason.startswith("Level 1's answer said")
    assert levels[2].reason.startswith("Level 2 found passages about the question's subject")
    assert answer.level == 3 and answer.found
    assert "telegraph" in answer.text
    assert answer.text.count("[1]") == 1 and answer.text.count("[2]") == 1
    assert [Path(c.path).name for c in answer.citations] == ["inventions.md", "fifth.md"]
    assert [c.text[s:e] for c in answer.citations for s, e in c.highlights] == [INVENTED, COMPOSED]
    assert [e.question for e in events.of(SubQuestion)] == [FIRST_HOP, SECOND_HOP]
    sub_answers = events.of(SubAnswer)
    assert "1804" in sub_answers[0].answer and len(sub_answers[0].chunk_ids) == 1
    assert answer.llm_calls == len(events.of(LlmCall)) == len(model.calls)


def test_levels_1_and_2_alone_cannot_answer_the_two_hop_question(notes: Notes) -> None:
    for level in ("1", "2"):
        answer = answer_question(
            QUESTION, index=notes.index, model=two_hop_model(), settings=Settings(), level=level
        )
        assert not answer.found and answer.citations == ()


def test_multi_hop_flag_goes_straight_to_level3(notes: Notes) -> None:
    model = two_hop_model(multi_hop=True)
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), on_event=events
    )
    levels = events.of(LevelStarted)
    assert [e.level for e in levels] == [1, 3] and "multi-hop" in levels[1].reason
    assert answer.level == 3 and answer.found
    assert model.calls_where(lambda r: r.is_answer and "century the Fifth" in r.question) == []


def test_repeated_sub_questions_are_not_read_again(notes: Notes) -> None:
    model = two_hop_model()
    model.rules[1] = Rule(lambda r: r.is_plan and bool(r.tools), lambda r: asks(FIRST_HOP))
    model.rules.insert(
        2,
        Rule(
            lambda r: r.is_plan and not r.tools,
            "Written between 1804 and 1808 [1].",
        ),
    )
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), level="3", on_event=events
    )
    assert [e.question for e in events.of(SubQuestion)] == [FIRST_HOP]
    assert len(model.calls_where(lambda r: r.is_read)) == 3  # one reading of the 3 chunks
    plan_calls = model.calls_where(lambda r: r.is_plan and bool(r.tools))
    assert len(plan_calls) == 3  # asked, repeated, repeated again -> stop
    assert prompts.REPEATED_STEP_NOTE in "\n".join(plan_calls[-1].tool_results)
    final_call = model.calls_where(lambda r: r.is_plan and not r.tools)[0]
    assert final_call.user == prompts.FINAL_STEP_PROMPT
    assert answer.found and Path(answer.citations[0].path).name == "fifth.md"


def test_text_fallback_when_the_server_rejects_tools(notes: Notes) -> None:
    def text_planner(request: Request) -> str:
        transcript = request.text
        if "1804" not in transcript:
            return f"ASK: {FIRST_HOP}"
        if "telegraph" not in transcript:
            return f"Thinking...\nASK: {SECOND_HOP}"
        return "ANSWER: The telegraph [2]; the symphony dates from 1804 [1]."

    model = two_hop_model(supports_tools=False)
    model.rules[1] = Rule(lambda r: r.is_plan, text_planner)
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), level="3"
    )
    plan_calls = model.calls_where(lambda r: r.is_plan)
    assert all(c.tools is None and c.system == prompts.PLAN_SYSTEM_TEXT for c in plan_calls)
    assert answer.found and answer.text.startswith("The telegraph [1]")
    assert [Path(c.path).name for c in answer.citations] == ["inventions.md", "fifth.md"]


def test_a_tool_call_written_as_text_is_understood(notes: Notes) -> None:
    def json_planner(request: Request) -> Reply:
        reply = planner(request)
        if reply.tool_calls:
            call = reply.tool_calls[0]
            text = json.dumps({"name": call.name, "arguments": call.arguments})
            return Reply(f"<tool_call>\n{text}\n</tool_call>")
        return reply

    model = two_hop_model()
    model.rules[1] = Rule(lambda r: r.is_plan, json_planner)
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), level="3"
    )
    assert answer.found and "telegraph" in answer.text


def test_step_limit_answers_with_the_findings_so_far(notes: Notes) -> None:
    counter = iter(range(100))
    model = two_hop_model()
    model.rules[1] = Rule(
        lambda r: r.is_plan and bool(r.tools),
        lambda r: asks(f"{FIRST_HOP} (variant {next(counter)})"),
    )
    model.rules.insert(2, Rule(lambda r: r.is_plan and not r.tools, "It was 1804 to 1808."))
    events = Recorder()
    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(max_steps=2),
        level="3",
        on_event=events,
    )
    assert len(events.of(SubQuestion)) == 2
    assert answer.found and answer.citations_inferred
    assert Path(answer.citations[0].path).name == "fifth.md"


def test_long_findings_are_compacted_to_fit_the_window(notes: Notes) -> None:
    long_answer = "Between 1804 and 1808 [{number}]. " + "It is a long story. " * 160
    counter = iter(range(100))
    model = two_hop_model()
    model.rules[1] = Rule(
        lambda r: r.is_plan and bool(r.tools),
        lambda r: asks(f"{FIRST_HOP} (variant {next(counter)})"),
    )
    model.rules.insert(2, Rule(lambda r: r.is_plan and not r.tools, "1804 [1]."))
    model.rules.insert(
        3,
        Rule(
            lambda r: r.is_answer and "variant" in r.question,
            answer_from_document_containing("Fifth", template=long_answer),
        ),
    )
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(max_steps=6), level="3"
    )
    # The scripted model asserts every prompt fits 8k; six long findings would not, uncompacted.
    plan_calls = model.calls_where(lambda r: r.is_plan)
    assert len(plan_calls) == 7
    assert max(c.prompt_tokens for c in plan_calls) <= 8192 - 1024
    assert answer.found


def test_a_planner_that_ignores_the_tool_is_nudged_into_the_text_protocol(notes: Notes) -> None:
    def stubborn_planner(request: Request) -> Reply:
        if request.tools:
            return Reply("The telegraph, surely.")  # a guess, without reading anything
        if "1804" not in request.text:
            return Reply(f"ASK: {FIRST_HOP}")
        if "telegraph" not in request.text:
            return Reply(f"ASK: {SECOND_HOP}")
        return Reply("ANSWER: The telegraph [2], invented when the symphony was new [1].")

    model = two_hop_model()
    model.rules[1] = Rule(lambda r: r.is_plan, stubborn_planner)
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), level="3"
    )
    assert len(model.calls_where(lambda r: r.is_plan and bool(r.tools))) == 1
    assert answer.found and [Path(c.path).name for c in answer.citations] == [
        "inventions.md",
        "fifth.md",
    ]


def test_a_tool_call_with_a_misnamed_argument_still_asks(notes: Notes) -> None:
    def sloppy_planner(request: Request) -> Reply:
        reply = planner(request)
        if reply.tool_calls:
            question = reply.tool_calls[0].arguments["question"]
            return Reply(tool_calls=(ToolCall(prompts.READ_TOOL_NAME, {"query": question}),))
        return reply

    model = two_hop_model()
    model.rules[1] = Rule(lambda r: r.is_plan, sloppy_planner)
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), level="3", on_event=events
    )
    assert [e.question for e in events.of(SubQuestion)] == [FIRST_HOP, SECOND_HOP]
    assert answer.found


def test_a_findings_source_shows_the_whole_sentence_around_a_keyword() -> None:
    from engine.agent.events import Citation
    from engine.agent.level3 import _source_line

    text = "Filler here. " + INVENTED + " More filler."
    start = text.index("invented")
    citation = Citation(
        1, "c1", "/n/history/inventions.md", "inventions", text, ((start, start + 8),), page=3
    )
    assert _source_line(citation, 200) == f"history/inventions.md, page 3: “{INVENTED}”"
    assert _source_line(citation, 0) == "history/inventions.md, page 3"


def test_an_ungrounded_sub_answer_is_not_a_finding(notes: Notes) -> None:
    """The reader invents a year for the first hop; the planner is told the hop found nothing,
    so the invention never reaches the next sub-question or the final answer."""
    model = two_hop_model(multi_hop=True)
    # The first hop's writer invents a year its passage does not hold.
    model.rules.insert(
        0,
        Rule(
            lambda r: r.is_answer and "Fifth" in r.question and "invented" not in r.question,
            "It was composed in 1790 [1].",
        ),
    )
    tool_results: list[str] = []

    def planner_seeing(request: Request) -> Reply:
        tool_results[:] = request.tool_results
        if not request.tool_results:
            return asks(FIRST_HOP)
        return Reply(f"{prompts.NOT_FOUND_MARKER}\nThe composition date was not found.")

    model.rules.insert(0, Rule(lambda r: r.is_plan, planner_seeing))
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), on_event=events
    )
    (finding,) = tool_results
    assert "1790" not in finding and prompts.NOT_FOUND_MARKER in finding
    rejected = [g for g in events.of(Grounding) if not g.grounded]
    assert rejected and "1790 occurs in none of the cited passages" in rejected[0].reason
    assert not answer.found and "1790" not in answer.text


def test_an_english_sub_question_reaches_a_fact_written_only_in_chinese(tmp_path: Path) -> None:
    """Nothing translates a sub-question's words; the question's Chinese keywords from the parse
    go with it, so the reading finds the Chinese note."""
    pump = "宋嘉禾温室里灌溉水泵的启动密码是7391。"
    notes = build_index(
        tmp_path,
        {
            "温室/水泵.md": "温室的日常记录。" * 20 + pump + "其他事项。" * 20,
            # More passages than a sub-question's two waves read when its words match nothing.
            **{f"garden/plan{n}.md": FILLER_EN * 3 for n in range(60)},
        },
    )
    asked = "What is the start-up password of the irrigation pump?"

    def plan(request: Request) -> Reply:
        if not request.tool_results:
            return asks(asked)
        return Reply("灌溉水泵的启动密码是7391 [1]。")

    model = ScriptedModel(
        [
            Rule(
                lambda r: r.is_parse,
                parse_json(
                    keywords_en=["irrigation", "pump"], keywords_zh=["灌溉", "水泵", "密码"]
                ),
            ),
            Rule(lambda r: r.is_plan, plan),
            Rule(lambda r: r.is_read, verdict_quoting("7391", answer="7391")),
            Rule(lambda r: r.is_answer, answer_from_document_containing("7391")),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "What is the start-up password of the irrigation pump in Song Jiahe's greenhouse?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="3",
        on_event=events,
    )
    (sub_answer,) = events.of(SubAnswer)
    assert "7391" in sub_answer.answer and sub_answer.chunk_ids
    assert answer.found and "7391" in answer.text


def test_stop_reading_answers_from_the_findings_so_far(notes: Notes) -> None:
    model = two_hop_model()
    events = Recorder()
    stop = CancelToken()

    def on_event(event: Event) -> None:
        events(event)
        if isinstance(event, SubAnswer):
            stop.cancel()  # the user wants the answer after the first hop

    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(),
        level="3",
        on_event=on_event,
        stop_reading=stop,
    )
    assert answer.partial and answer.level == 3
    assert [e.question for e in events.of(SubQuestion)] == [FIRST_HOP]
    # No further step: one last call writes the answer from the first hop's finding (this
    # scripted writer cannot answer the whole question from it, and says so).
    assert not model.calls_where(lambda r: r.is_read and "19th" in r.question)
    assert "1804" in model.calls[-1].text and "telegraph" not in answer.text
