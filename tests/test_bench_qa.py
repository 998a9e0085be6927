"""The question-answering benchmark's own rules: its cases, scoring, haystack and trial records.
A wrong expected string or a fact planted twice would silently turn every figure of
docs/benchmarks.md into noise, so they are checked here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.qa_bench import Library, is_settled, select_cases, tally
from bench.qa_cases import (
    CASES,
    CASES_BY_NAME,
    Case,
    build_haystack,
    check_cases,
    en,
    is_confabulation,
    is_correct,
    matches,
    normalize,
)


def test_the_cases_are_sound_and_cover_every_kind_in_both_languages() -> None:
    assert check_cases() == []
    for kind in ("keyword", "paraphrase", "two_hop", "multi", "instruction", "unanswerable"):
        assert {c.lang for c in CASES if c.kind == kind} == {"en", "zh"}, kind
    cross = [c for c in CASES if c.kind == "cross_lingual"]
    assert {(c.lang, c.facts[0].lang) for c in cross} == {("en", "zh"), ("zh", "en")}


def test_a_paraphrase_that_repeats_a_word_of_its_fact_is_reported() -> None:
    leaky = Case(
        "leaky",
        "paraphrase",
        "en",
        "Where is the spare key of the boats' shed?",
        (("oak",),),
        (en("The spare boathouse key is hidden inside the hollow oak."),),
    )
    assert any("spare" in problem for problem in check_cases((leaky,)))


def test_matching_folds_case_width_spaces_and_digit_groups() -> None:
    assert normalize("The Code is ４４１７") == "thecodeis4417"
    assert matches("He walked 1,240 km.", (("1240",),))
    assert matches("九 点开门", (("九点", "9点"),))
    assert matches("LISBON, Tallinn and Osaka", (("Lisbon",), ("Tallinn",), ("Osaka",)))
    assert not matches("Lisbon and Osaka", (("Lisbon",), ("Tallinn",), ("Osaka",)))


def test_scoring_of_answerable_and_unanswerable_cases() -> None:
    keyword = CASES_BY_NAME["en_keyword_code"]
    assert is_correct(keyword, "The code is 4417 [1].", found=True)
    assert not is_correct(keyword, "The code is 4417 [1].", found=False)
    assert is_confabulation(keyword, "The code is 1234 [1].", found=True)
    assert not is_confabulation(keyword, "Not in your documents.", found=False)
    unanswerable = CASES_BY_NAME["en_unanswerable_boathouse"]
    assert is_correct(unanswerable, "The documents do not say.", found=False)
    assert is_confabulation(unanswerable, "The code is 4417 [1].", found=True)


def test_cases_are_selected_in_the_order_given_and_by_kind() -> None:
    chosen = select_cases("zh_keyword_gate,unanswerable,en_keyword_code")
    assert isinstance(chosen, tuple)
    names = [c.name for c in chosen]
    assert names[0] == "zh_keyword_gate" and names[-1] == "en_keyword_code"
    assert len(names) == 8
    assert select_cases("no_such_case") == "unknown cases ['no_such_case']"


def test_a_resumed_run_repeats_errors_and_shorter_timeouts_only() -> None:
    assert not is_settled({"status": "error"}, 900)
    assert is_settled({"status": "answered"}, 900)
    assert is_settled({"status": "timeout", "timeout_cap": 900}, 900)
    assert not is_settled({"status": "timeout", "timeout_cap": 600}, 900)


def test_a_trial_counts_reads_relevance_and_needles_from_the_event_stream() -> None:
    case = CASES_BY_NAME["en_paraphrase_key"]
    library = Library(checkout=None, data_dir=Path("."))  # type: ignore[arg-type]
    library.fact_chunks = {case.facts[0].text: {"needle"}}

    def verdict(chunk_id: str, relevant: bool) -> dict[str, object]:
        return {"type": "chunk_verdict", "chunk": {"chunk_id": chunk_id}, "relevant": relevant}

    events = [
        {"type": "level", "level": 2, "reason": "Level 2 was chosen"},
        {"type": "llm_call", "purpose": "read", "prompt_tokens": 700, "completion_tokens": 20},
        verdict("a", True),
        verdict("b", True),
        verdict("needle", True),
        verdict("c", False),
        {"type": "answer_delta", "text": "In the hollow oak"},
        {
            "type": "answer",
            "text": "In the hollow oak [1].",
            "found": True,
            "level": 2,
            "citations": [{"number": 1, "chunk_id": "needle", "path": "x.md"}],
        },
    ]
    raw = {"events": events, "timed_out": False, "exit_code": 0, "seconds": 12.0, "stderr": ""}
    trial = tally(case, raw, library)
    assert trial["correct"] and not trial["confabulated"]
    assert (trial["chunks_read"], trial["chunks_relevant"], trial["needles_relevant"]) == (4, 3, 1)
    assert trial["needle_cited"] and trial["levels_run"] == [2]
    assert trial["first_needle_read_at"] == 3
    assert trial["model_calls"] == 1 and trial["prompt_tokens"] == 700

    stopped = tally(case, {**raw, "events": events[:4], "timed_out": True}, library)
    assert stopped["status"] == "timeout" and not stopped["correct"]
    assert not stopped["confabulated"] and stopped["chunks_read"] == 2


@pytest.mark.corpus
@pytest.mark.slow
def test_the_haystack_is_deterministic_and_holds_each_sentence_once(
    corpora: Path, tmp_path: Path
) -> None:
    first = build_haystack(tmp_path / "a", 32_000, seed=3)
    second = build_haystack(tmp_path / "b", 32_000, seed=3)
    other = build_haystack(tmp_path / "c", 32_000, seed=4)
    assert dataclasses.asdict(first) == dataclasses.asdict(second)
    assert first.fact_files != other.fact_files
    assert first.text_tokens >= 32_000
    texts = {f: (tmp_path / "a" / f).read_text("utf-8") for f in first.files}
    for sentence, host in first.fact_files.items():
        holders = [f for f, text in texts.items() if sentence in text]
        assert holders == [host], sentence
        before = texts[host].split(sentence)[0]
        assert before.count("```") % 2 == 0, "planted inside a code block"
    assert len(set(first.fact_files.values())) == len(first.fact_files)
