"""Chinese questions over Chinese notes, at Level 1 and Level 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.agent.events import ChunkVerdict, Keywords, LevelStarted, QueryParsed
from engine.agent.runner import answer_question
from engine.settings import Settings
from tests.helpers.agent import Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    parse_json,
    verdict_quoting,
    verify_by_words,
)

FILLER_ZH = "今天的会议讨论了花园的预算和种子的订单。有人建议在雨季开始前把栅栏漆成蓝色。"
TEA = "我们在杭州买了龙井茶，价格是每斤八百元。"
BICYCLE = "奶奶的红色自行车在一九八七年从火车站被偷走了。"

NOTES = {
    "生活/茶.md": FILLER_ZH * 2 + TEA + FILLER_ZH,
    "生活/家事.md": FILLER_ZH + BICYCLE + FILLER_ZH,
    "花园/计划.md": FILLER_ZH * 3,
}


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def test_chinese_question_at_level1_cites_the_chinese_note(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(
                lambda r: r.is_parse,
                parse_json(keywords_en=["Longjing tea", "price"], keywords_zh=["龙井茶", "价格"]),
            ),
            Rule(
                lambda r: r.is_answer,
                answer_from_document_containing("龙井", template="每斤八百元[{number}]。"),
            ),
        ]
    )
    answer = answer_question(
        "龙井茶多少钱？", index=notes.index, model=model, settings=Settings(), level="1"
    )
    assert answer.found and answer.text == "每斤八百元[1]。"
    (citation,) = answer.citations
    assert Path(citation.path).name == "茶.md"
    highlighted = "".join(citation.text[s:e] for s, e in citation.highlights)
    assert "龙井茶" in highlighted


def test_junk_parse_reply_falls_back_to_chinese_words_of_the_question(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, "好的，我来分析一下这个问题。"),
            Rule(lambda r: r.is_answer, answer_from_document_containing("龙井")),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "龙井茶的价格是多少？",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="1",
        on_event=events,
    )
    assert events.of(QueryParsed)[0].method == "fallback"
    chinese = events.of(Keywords)[0].chinese
    assert any("龙井" in word for word in chinese)
    assert "是" not in chinese and "多少" not in chinese
    assert answer.found and "八百元" in answer.text


def test_unmarked_chinese_not_found_escalates_to_level2_paraphrase(notes: Notes) -> None:
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_zh=["外婆", "单车", "花园"])),
            # Level 1's writer (no <evidence> yet) misses the paraphrase and says so, unmarked.
            Rule(lambda r: r.is_answer and "<evidence>" not in r.user, "文档中没有提到这个信息。"),
            Rule(lambda r: r.is_read, verdict_quoting("自行车")),
            Rule(
                lambda r: r.is_answer,
                answer_from_document_containing("自行车", template="一九八七年[{number}]。"),
            ),
            # The note says 奶奶/自行车 where the question says 外婆/单车: a verification read.
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "外婆的单车什么时候丢的？",
        index=notes.index,
        model=model,
        settings=Settings(),
        on_event=events,
    )
    assert [e.level for e in events.of(LevelStarted)] == [1, 2]
    # Level 1 did write an answer (so the phrase, not an empty retrieval, caused the escalation).
    assert len(model.calls_where(lambda r: r.is_answer and "<evidence>" not in r.user)) == 1
    assert answer.level == 2 and answer.found and answer.text == "一九八七年[1]。"
    (relevant,) = [v for v in events.of(ChunkVerdict) if v.relevant]
    assert relevant.quotes == (BICYCLE,)
    (citation,) = answer.citations
    assert [citation.text[s:e] for s, e in citation.highlights] == [BICYCLE]
