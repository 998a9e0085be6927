"""The desktop's panels fed with recorded engine streams: what a user would see in each of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import QUrl

from desktop.answer_view import RENDER_INTERVAL_MS, AnswerView
from desktop.errors import plain_error, show_error
from desktop.results_view import ResultsView
from desktop.rich_text import citation_numbers, highlight_html, linkify_citations, merge_spans
from desktop.sources_panel import SourcesPanel
from desktop.steps_panel import StepsPanel
from desktop.steps_timeline import StepsTimeline
from desktop.theme import LIGHT_COLORS
from engine.agent.events import event_from_dict
from engine.models import SearchHit, SearchResult
from tests.helpers.gui import RECORDED, final_answer, load_stream, streamed_text


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDED.glob("ask_*.jsonl")))
def test_recorded_streams_match_the_engine_event_contract(name: str) -> None:
    """If the engine's events change shape, the recordings (and so these tests) must follow."""
    for data in load_stream(name):
        roundtrip = json.loads(json.dumps(event_from_dict(data).to_dict()))
        # Fields added to events later take their defaults; every recorded field must survive.
        assert {key: roundtrip[key] for key in data} == data


def test_steps_timeline_tells_the_level2_story() -> None:
    timeline = StepsTimeline(clock=lambda: 0.0)
    timeline.add_all(load_stream("ask_en_level2.jsonl"))
    titles = [step.title for step in timeline.steps]
    assert titles[0] == "Level 1"
    assert "Keywords" in titles
    assert "3 of 37 hits (retrieval) in 12 ms" in titles
    assert "Reading passages 24/24" in titles
    assert titles[-1] == "Answer ready"
    reading = next(s for s in timeline.steps if s.title.startswith("Reading passages"))
    # 24 read calls fold into the reading step instead of 24 rows.
    assert reading.details[0] == (
        "4 state the answer, 4 verdicts from cache · 24 model calls, 25,620 prompt tokens"
    )
    assert any("two (2) full calendar months" in line for line in reading.details)
    assert sum(1 for s in timeline.steps if s.title.startswith("Model call")) == 3
    level2 = next(s for s in timeline.steps if s.title == "Level 2")
    assert "escalated" in level2.details[0]


def test_steps_panel_shows_sub_questions_in_chinese(qtbot: Any) -> None:
    panel = StepsPanel(clock=lambda: 0.0)
    qtbot.addWidget(panel)
    panel.add_events(load_stream("ask_zh_level3.jsonl"))
    text = panel.toPlainText()
    assert "Step 1: 林黛玉进贾府时见到了哪些人？" in text
    assert "Step 2 answered" in text
    assert "第三回属于前八十回，一般认为是曹雪芹所写。" in text
    assert "Reading passages 4/4" in text
    assert "Chinese: 黛玉、贾母、王熙凤、拜见" in text


def test_errors_in_the_steps_are_words_not_kinds_and_a_stop_is_not_an_error() -> None:
    timeline = StepsTimeline(clock=lambda: 0.0)
    error = load_stream("ask_error_ollama.jsonl")[-1]
    timeline.add(error)
    timeline.add(dict(error))  # the same failure again, as the request's reply: shown once
    titles = [step.title for step in timeline.steps]
    assert titles == ["The model server is not running"]
    assert all("ollama_unreachable" not in line for line in timeline.steps[0].details)
    assert all("`" not in line and "ollama serve" not in line for line in timeline.steps[0].details)
    timeline.add({"type": "error", "kind": "cancelled", "message": "Cancelled."})
    assert timeline.steps[-1].title == "Stopped by you"
    assert timeline.steps[-1].tone == "muted"
    assert not any(step.title.startswith("Error:") for step in timeline.steps)


def test_answer_view_streams_then_takes_the_final_text(qtbot: Any) -> None:
    events = load_stream("ask_en_level2.jsonl")
    view = AnswerView()
    qtbot.addWidget(view)
    view.start("How much notice?")
    for event in events:
        if event["type"] == "answer_delta":
            view.append_delta(event["text"])
    assert view.text == streamed_text(events)
    qtbot.waitUntil(lambda: "two full calendar months" in view.browser.toPlainText(), timeout=2000)
    view.finish(final_answer(events))
    assert not view.running and view.stop_button.isHidden()
    plain = view.browser.toPlainText()
    assert "[1]" in plain and "**" not in plain  # Markdown rendered, not shown raw
    assert "Level 2 · 29 model calls" in view.summary_label.text()


def test_citation_link_in_answer_emits_its_number(qtbot: Any) -> None:
    view = AnswerView()
    qtbot.addWidget(view)
    view.start("q")
    view.finish(final_answer(load_stream("ask_en_level2.jsonl")))
    html = view.browser.toHtml()
    assert 'href="cite:2"' in html
    with qtbot.waitSignal(view.citation_clicked) as blocker:
        view.browser.anchorClicked.emit(QUrl("cite:2"))
    assert blocker.args == [2]


def test_sources_panel_selects_and_highlights_the_cited_chunk(qtbot: Any) -> None:
    panel = SourcesPanel()
    qtbot.addWidget(panel)
    panel.set_citations(final_answer(load_stream("ask_en_level2.jsonl"))["citations"])
    assert [item.number for item in panel.items] == [1, 2, 3]
    assert panel.select_citation(2)
    selected = panel.selected_item
    assert selected is not None and selected.title == "landlord-emails"
    assert "14 March" in selected.location
    assert not panel.select_citation(9)
    html = panel.toHtml()
    assert "send a receipt within two working days" in panel.toPlainText()
    assert f"background-color:{LIGHT_COLORS.mark}" in html.replace(" ", "")


def test_sources_open_link_requests_the_cited_page(qtbot: Any) -> None:
    panel = SourcesPanel()
    qtbot.addWidget(panel)
    panel.set_citations(final_answer(load_stream("ask_en_level2.jsonl"))["citations"])
    with qtbot.waitSignal(panel.open_requested) as blocker:
        panel.anchorClicked.emit(QUrl("open:2"))
    assert blocker.args == ["/home/ada/Documents/contracts/flat-lease-2023.pdf", 4]


def test_search_results_highlight_the_matched_terms(qtbot: Any) -> None:
    from desktop.results_view import row_html

    hits = tuple(SearchHit.from_dict(hit) for hit in load_stream("search_zh.jsonl"))
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.show_results(SearchResult("王熙凤 贾母", hits, 0.008))
    text = view.plain_text()
    assert "3 matching passages in 3 files · 8 ms" in text
    assert "红楼梦人物关系研究" in text and "page 12" in text
    mark = f"background-color:{LIGHT_COLORS.mark}"
    assert all(mark in row_html(row, hits) for row in view.model.rows if hits[row.hit].highlights)
    with qtbot.waitSignal(view.hit_selected) as blocker:
        view.select_hit(1)
    assert blocker.args[0]["title"] == "人物表"


def test_no_results_says_what_to_try(qtbot: Any) -> None:
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_results(SearchResult("zebra <b>", ()))
    assert "No matches for zebra <b>" in view.plain_text()


def test_highlight_html_escapes_and_merges_overlaps() -> None:
    assert merge_spans([(5, 9), (0, 3), (2, 4), (8, 50)], 10) == [(0, 4), (5, 10)]
    html = highlight_html("a<b> & c", [(0, 4)])
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.endswith(" &amp; c")


def test_citations_become_links_except_in_code() -> None:
    text = "Two months [1], by e-mail [2, 3]. See `arr[0]` and [site](http://x)."
    linked = linkify_citations(text)
    assert "[\\[1\\]](cite:1)" in linked
    assert "[\\[2\\]](cite:2)[\\[3\\]](cite:3)" in linked
    assert "`arr[0]`" in linked and "[site](http://x)" in linked
    assert citation_numbers(text + " Again [2].") == [1, 2, 3]


def test_plain_error_reads_like_a_person_wrote_it() -> None:
    plain = plain_error(
        {
            "kind": "ollama_unreachable",
            "message": "No answer at 127.0.0.1:11434.",
            "hint": "Run `ollama serve`.",
        }
    )
    assert plain.title == "The model server is not running"
    # The app's own advice, not the command line's.
    assert "What to do: Start Ollama" in plain.as_text()
    assert "`" not in plain.as_text() and "ollama serve" not in plain.as_text()
    odd = plain_error({"kind": "disk_quota_exceeded", "message": ""})
    assert odd.title == "Disk quota exceeded"
    assert odd.message  # never an empty box
    assert plain_error(ValueError("boom")).message == "boom"


@pytest.mark.expect_log("engine error (pull_failed|cancelled)")
def test_show_error_opens_one_box_and_skips_cancellation(qtbot: Any) -> None:
    box = show_error(
        {"kind": "pull_failed", "message": "The disk is full.", "hint": "Free some space."}
    )
    assert box is not None
    qtbot.addWidget(box)
    assert box.text() == "The model could not be downloaded"
    assert "What to do: Free some space." in box.informativeText()
    assert show_error({"kind": "cancelled", "message": "Cancelled."}) is None


def test_answer_view_shows_an_error_inline(qtbot: Any) -> None:
    view = AnswerView()
    qtbot.addWidget(view)
    view.start("q")
    error = load_stream("ask_error_ollama.jsonl")[-1]
    view.fail(error)
    text = view.browser.toPlainText()
    assert "Ollama is not running" in text and "Start Ollama" in text
    assert "ollama serve" not in text and "`" not in text and "ollama_unreachable" not in text
    assert view.retry_button.isVisible() or not view.isVisible()
    assert not view.retry_button.isHidden()


def test_inferred_citations_are_marked_probable(qtbot: Any) -> None:
    answer = final_answer(load_stream("ask_en_escalation.jsonl"))
    assert answer["citations_inferred"] is True
    panel = SourcesPanel()
    qtbot.addWidget(panel)
    panel.set_citations(answer["citations"], inferred=True)
    assert panel.toPlainText().startswith("Probable sources: the model did not cite these")
    view = AnswerView()
    qtbot.addWidget(view)
    view.start("q")
    view.finish(answer)
    assert "did not cite any explicitly" in view.status_label.text()
    assert view.summary_label.text().endswith("2 probable sources, not cited by the model")
    # Sources the model did cite are plain sources.
    view.finish({**answer, "citations_inferred": False})
    assert view.summary_label.text().endswith(" · 2 sources")
    panel.set_citations(answer["citations"])
    assert "Probable" not in panel.toPlainText()


def test_a_new_level_drops_text_the_previous_level_streamed(qtbot: Any) -> None:
    events = load_stream("ask_en_escalation.jsonl")
    view = AnswerView()
    qtbot.addWidget(view)
    view.start("Can I end the lease by e-mail?")
    assert not view.drop_streamed_text("Level 1 …")  # nothing streamed yet: nothing to drop
    level1_text = ""
    for event in events:
        if event["type"] == "level" and event["level"] == 2:
            break
        if event["type"] == "answer_delta":
            view.append_delta(event["text"])
            level1_text += event["text"]
    # The render is still pending: dropping must cancel it, not let it draw Level 1's text later.
    assert view.drop_streamed_text("Level 2 is looking further…")
    assert view.text == ""
    qtbot.wait(3 * RENDER_INTERVAL_MS)
    assert level1_text[:20] not in view.browser.toPlainText()
    view.append_delta("Yes.")
    qtbot.waitUntil(lambda: view.browser.toPlainText().strip() == "Yes.", timeout=2000)
    view.finish(final_answer(events))
    assert view.text == final_answer(events)["text"]
    assert not view.drop_streamed_text("Level 3 …")  # a finished answer is never dropped
    assert view.text == final_answer(events)["text"]


def test_the_server_panel_for_an_openai_server_gives_its_fix_and_offers_no_pull(
    qtbot: Any,
) -> None:
    from desktop.onboarding import OllamaPanel

    panel = OllamaPanel()
    qtbot.addWidget(panel)
    status = {
        "state": "model_missing",
        "backend": "openai",
        "message": "Model qwen2:7b is not served at http://gpu:8000/v1.",
        "hint": "It serves qwen2.5-7b. Choose one with `needle settings model=qwen2.5-7b`.",
    }
    assert panel.set_status(status, "qwen2:7b", "http://gpu:8000/v1")
    assert panel.title.text() == "The server does not serve qwen2:7b"
    assert "needle settings model=qwen2.5-7b" in panel.body.text()
    assert not panel.pull_button.isVisibleTo(panel)
    ollama = {**status, "backend": "ollama"}
    panel.set_status(ollama, "qwen2:7b", "http://127.0.0.1:11434")
    assert panel.pull_button.isVisibleTo(panel)
