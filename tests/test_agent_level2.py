"""Level 2 (chunk-by-chunk reading): paraphrased needles, scopes, prefiltering, the verdict
cache and cancellation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.agent.events import (
    Answer,
    ChunkVerdict,
    Event,
    EvidencePicked,
    Hits,
    LevelStarted,
    LlmCall,
    QueryExpanded,
    ScopeChosen,
    WaveStarted,
)
from engine.agent.level2 import verdict_from_reply
from engine.agent.runner import answer_question
from engine.agent.verdict_cache import (
    MemoryVerdictCache,
    SqliteVerdictCache,
    Verdict,
    normalize_question,
    verdict_key,
)
from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.settings import Settings
from tests.helpers.agent import FILLER_EN, Notes, Recorder, build_index
from tests.helpers.scripted_model import (
    Request,
    Rule,
    ScriptedModel,
    answer_from_document_containing,
    expansion,
    parse_json,
    pick_containing,
    verdict_quoting,
    verify_by_words,
)

NEEDLE = "My grandmother's red two-wheeler vanished from the railway platform in 1987."
QUESTION = "When was Granny's bike stolen?"

NOTES = {
    "family/bicycle.md": FILLER_EN * 2 + NEEDLE + " " + FILLER_EN,
    "family/recipes.md": "Soup needs onions, carrots and an hour of patience. " + FILLER_EN,
    "garden/plan.md": FILLER_EN * 3,
}


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return build_index(tmp_path, NOTES)


def reading_model(**options: object) -> ScriptedModel:
    return ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["granny", "bike", "stolen"])),
            Rule(lambda r: r.is_read, verdict_quoting("two-wheeler")),
            Rule(lambda r: r.is_answer, answer_from_document_containing("two-wheeler")),
            Rule(lambda r: r.is_verify, verify_by_words()),
            Rule(lambda r: r.is_expand, expansion("Grandma's bicycle was stolen in 1987.")),
        ],
        **options,  # type: ignore[arg-type]
    )


def test_auto_escalates_to_level2_for_a_paraphrased_needle(notes: Notes) -> None:
    model = reading_model()
    events = Recorder()
    answer = answer_question(
        QUESTION, index=notes.index, model=model, settings=Settings(), on_event=events
    )
    assert answer.level == 2 and answer.found
    assert "1987" in answer.text
    levels = events.of(LevelStarted)
    assert [e.level for e in levels] == [1, 2]
    assert levels[1].reason.startswith("Level 1's keyword search matched nothing")
    scope = events.of(ScopeChosen)[0]
    assert (scope.total_chunks, scope.read_chunks, scope.prefiltered) == (3, 3, False)
    verdicts = events.of(ChunkVerdict)
    assert [v.done for v in verdicts] == [1, 2, 3] and {v.total for v in verdicts} == {3}
    (relevant,) = [v for v in verdicts if v.relevant]
    assert relevant.quotes == (NEEDLE,)
    assert "requery" in [h.purpose for h in events.of(Hits)]
    (citation,) = answer.citations
    assert citation.path.endswith("bicycle.md")
    assert [citation.text[s:e] for s, e in citation.highlights] == [NEEDLE]
    # Each read prompt holds exactly one document; the answer prompt holds the quotes as evidence.
    assert all(len(r.documents) == 1 for r in model.calls_where(lambda r: r.is_read))
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    assert "<evidence>" in answer_call.user and NEEDLE in answer_call.user
    purposes = [c.purpose for c in events.of(LlmCall)]
    assert purposes.count("read") == 3 and answer.llm_calls == len(purposes)


def test_a_repeated_question_reuses_cached_verdicts(notes: Notes, tmp_path: Path) -> None:
    cache = SqliteVerdictCache(tmp_path / "cache" / "verdicts.sqlite3")
    first = reading_model()
    answer_question(
        QUESTION,
        index=notes.index,
        model=first,
        settings=Settings(),
        level="2",
        verdict_cache=cache,
    )
    assert len(first.calls_where(lambda r: r.is_read)) == 3
    second = reading_model()
    events = Recorder()
    answer = answer_question(
        "  when was granny's bike STOLEN ",
        index=notes.index,
        model=second,
        settings=Settings(),
        level="2",
        verdict_cache=cache,
        on_event=events,
    )
    assert second.calls_where(lambda r: r.is_read) == []
    assert all(v.cached for v in events.of(ChunkVerdict))
    assert answer.found and "1987" in answer.text
    other_model = reading_model(model_name="another:model")
    answer_question(
        QUESTION,
        index=notes.index,
        model=other_model,
        settings=Settings(),
        level="2",
        verdict_cache=cache,
    )
    assert len(other_model.calls_where(lambda r: r.is_read)) == 3


def test_scope_larger_than_read_budget_is_prefiltered(tmp_path: Path) -> None:
    notes = build_index(tmp_path, {f"n{i}.md": f"Note {i}. " + FILLER_EN for i in range(8)} | NOTES)
    model = reading_model()
    events = Recorder()
    answer_question(
        "When was grandmother's two-wheeler taken from the railway?",
        index=notes.index,
        model=model,
        settings=Settings(read_budget=2),
        level="2",
        on_event=events,
    )
    scope = events.of(ScopeChosen)[0]
    assert scope.prefiltered and scope.total_chunks == 11 and scope.read_chunks <= 2
    assert events.of(Hits)[0].purpose == "prefilter"
    assert len(model.calls_where(lambda r: r.is_read)) == scope.read_chunks
    assert any(v.relevant for v in events.of(ChunkVerdict))
    (expanded,) = events.of(QueryExpanded)
    assert expanded.sentence_en == "Grandma's bicycle was stolen in 1987."


def test_an_imagined_answer_sentence_brings_a_paraphrase_into_the_prefilter(
    tmp_path: Path,
) -> None:
    """The note says "kayak shed" and "hollow oak"; the question says neither. Only the model's
    imagined answer sentence ("the spare kayak shed key is in the hollow oak") finds it among
    forty notes that share the question's words."""
    question = "Where is the extra way into the hut for rowing craft kept?"
    needle = "The spare kayak shed key hangs inside the hollow oak."
    noise = {
        f"n{i}.md": f"Note {i}. The hut for rowing craft needs paint; the way in is muddy."
        for i in range(40)
    }
    notes = build_index(tmp_path, noise | {"needle.md": needle})

    def model(expanded: str) -> ScriptedModel:
        return ScriptedModel(
            [
                Rule(lambda r: r.is_parse, parse_json(keywords_en=["hut", "rowing", "way"])),
                Rule(lambda r: r.is_expand, expanded),
                Rule(lambda r: r.is_read, verdict_quoting("hollow oak")),
                Rule(lambda r: r.is_answer, answer_from_document_containing("hollow oak")),
                Rule(lambda r: r.is_verify, verify_by_words()),
            ]
        )

    settings = Settings(read_budget=10)
    plain = model("{}")  # an unusable expansion adds nothing: the needle stays out of reach
    assert not answer_question(
        question, index=notes.index, model=plain, settings=settings, level="2"
    ).found
    widened = model(expansion("The spare kayak shed key is kept in the hollow oak.", "", "key"))
    answer = answer_question(
        question, index=notes.index, model=widened, settings=settings, level="2"
    )
    assert answer.found and "hollow oak" in answer.text


def test_a_folder_scope_reads_only_that_folder(notes: Notes) -> None:
    model = reading_model()
    events = Recorder()
    answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        scope=notes.folder / "garden",
        on_event=events,
    )
    scope = events.of(ScopeChosen)[0]
    assert scope.total_chunks == 1 and "garden" in scope.description
    answer = events.of(Answer)[0]
    assert not answer.found


def _read_reply(quotes: list[str], answer: str = "", verdict: str = "answers") -> str:
    return json.dumps({"quotes": quotes, "answer": answer, "verdict": verdict})


def test_invented_quotes_are_dropped() -> None:
    chunk = "The lease ends in June.\nRent is   paid on the first day of each month."
    verdict = verdict_from_reply(
        _read_reply(["Rent is paid on the first day of each month."], "the first day"), chunk
    )
    assert verdict == Verdict(
        True, ("Rent is   paid on the first day of each month.",), "answers", "the first day"
    )
    # A passage graded "answers" on an invented quote is at best about the subject.
    invented = verdict_from_reply(_read_reply(["The rent is 900 euros."], "900 euros"), chunk)
    assert invented == Verdict(False, (), "related", "")
    assert verdict_from_reply("none", chunk) == Verdict(False)
    unbacked = verdict_from_reply('Answer: {"verdict": "answers", "quotes": []}', chunk)
    assert not unbacked.relevant and unbacked.grade == "related"
    slip = verdict_from_reply(_read_reply(["The lease ends in july."], "June"), chunk)
    assert slip.relevant and slip.quotes == ("The lease ends in June.",)


def test_a_short_answer_with_a_number_its_quote_lacks_is_not_trusted() -> None:
    chunk = "The boiler was serviced in spring. The invoice came later."
    verdict = verdict_from_reply(_read_reply(["The boiler was serviced in spring."], "1998"), chunk)
    assert not verdict.relevant and verdict.grade == "related"


def test_the_old_reply_shape_is_still_understood() -> None:
    chunk = "Soup needs onions. Carrots go in later. Salt at the end. Serve hot."
    old = json.dumps({"quotes": ["Salt at the end."], "relevant": True})
    assert verdict_from_reply(old, chunk) == Verdict(True, ("Salt at the end.",), "answers", "")


def test_cancelling_mid_reading_stops_quickly_with_no_further_calls(tmp_path: Path) -> None:
    notes = build_index(
        tmp_path, {"long.md": (FILLER_EN * 40) + NEEDLE}, target_tokens=30, max_tokens=40
    )
    total_chunks = notes.index.count()
    assert total_chunks >= 20
    model = reading_model(delay=0.3)
    token = CancelToken()
    calls_at_cancel: list[int] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ChunkVerdict) and event.done == 3:
            calls_at_cancel.append(len(model.calls))
            token.cancel()

    started = time.monotonic()
    with pytest.raises(Cancelled):
        answer_question(
            QUESTION,
            index=notes.index,
            model=model,
            settings=Settings(parallel_requests=2),
            level="2",
            on_event=on_event,
            cancel=token,
        )
    assert time.monotonic() - started < 3.0
    assert calls_at_cancel and len(model.calls) == calls_at_cancel[0]
    assert len(model.calls_where(lambda r: r.is_read)) < total_chunks
    assert not any(t.name.startswith("needle-read") for t in threading.enumerate())


def test_verdict_keys_ignore_trivial_question_differences() -> None:
    assert normalize_question("  When was it?? ") == normalize_question("when   was it")
    key = verdict_key("chunk text", "When was it?", "m")
    assert key == verdict_key("chunk text", "when was it", "m")
    assert key != verdict_key("chunk text!", "when was it", "m")
    assert key != verdict_key("chunk text", "when was it", "other")
    cache = MemoryVerdictCache()
    cache.put(key, Verdict(True, ("q",)))
    assert cache.get(key) == Verdict(True, ("q",))


def test_sqlite_cache_survives_reopening_and_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "verdicts.sqlite3"
    cache = SqliteVerdictCache(path)
    cache.put("k", Verdict(True, ("a quote", "另一句")))
    cache.close()
    assert SqliteVerdictCache(path).get("k") == Verdict(True, ("a quote", "另一句"))
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"this is not a database" * 100)
    fresh = SqliteVerdictCache(damaged)
    assert fresh.get("k") is None
    fresh.put("k", Verdict(False))
    assert fresh.get("k") == Verdict(False)


def test_reads_run_in_parallel_up_to_the_setting(notes: Notes) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow_verdict(request: Request) -> str:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return '{"relevant": false, "quotes": []}'

    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["bike"])),
            Rule(lambda r: r.is_read, slow_verdict),
        ]
    )
    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(parallel_requests=2),
        level="2",
    )
    assert peak == 2
    assert not answer.found


def test_everything_relevant_still_fits_the_window(tmp_path: Path) -> None:
    """Every chunk relevant with five long quotes: the quotes are capped, whole chunks and quote
    blocks share the room, and no prompt passes 8k (the scripted model asserts it)."""
    sentence = "The quarterly boiler report lists pressure readings for valve {} in detail. "
    notes = build_index(
        tmp_path,
        {f"r{n}.md": "".join(sentence.format(f"{n}-{i}") for i in range(40)) for n in range(12)},
    )

    def everything_relevant(request: Request) -> str:
        sentences = request.documents[0].text.split(". ")
        return _read_reply([s + "." for s in sentences[:2]], "pressure readings")

    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["boiler", "valve"])),
            Rule(lambda r: r.is_read, everything_relevant),
            Rule(lambda r: r.is_pick, pick_containing("valve")),
            Rule(lambda r: r.is_answer, "Valve readings are listed [1][2]."),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "What does the boiler report list?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        on_event=events,
    )
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    assert answer_call.prompt_tokens <= 8192 - 1024
    assert answer_call.prompt_tokens > 5000  # the room was used, not wasted
    assert len(events.of(ChunkVerdict)) == notes.index.count() > 12
    assert answer.found and len(answer.citations) == 2


def test_a_quote_of_the_whole_passage_is_no_evidence() -> None:
    chunk = "Soup needs onions. Carrots go in later. Salt at the end. Serve hot."
    lazy = verdict_from_reply(_read_reply([chunk], "onions"), chunk)
    assert not lazy.relevant and lazy.grade == "related"
    lazy_no = verdict_from_reply(_read_reply([chunk], "", "no"), chunk)
    assert lazy_no == Verdict(False)
    precise = verdict_from_reply(_read_reply(["Salt at the end."], "salt"), chunk)
    assert precise == Verdict(True, ("Salt at the end.",), "answers", "salt")


# ---------------------------------------------------------------- reading in waves


def _many_notes(tmp_path: Path, needles: dict[int, str], count: int = 60) -> Notes:
    """`count` one-chunk notes of filler (each its own text, so no verdict is shared through
    the cache); note i holds needles[i] when given."""
    return build_index(
        tmp_path,
        {f"n{i:03}.md": f"Note {i}. " + FILLER_EN + needles.get(i, "") for i in range(count)},
        target_tokens=60,
        max_tokens=80,
    )


def _wave_model(*needles: str) -> ScriptedModel:
    return ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["garden", "fence"])),
            Rule(lambda r: r.is_read, verdict_quoting(*needles)),
            Rule(lambda r: r.is_answer, answer_from_document_containing(needles[0])),
            Rule(lambda r: r.is_verify, verify_by_words()),
            Rule(lambda r: r.is_expand, expansion()),
        ]
    )


def test_reading_stops_at_the_first_wave_with_a_grounded_answer(tmp_path: Path) -> None:
    needle = "The spare key to the shed hangs behind the fence gate."
    notes = _many_notes(tmp_path, {3: needle})
    model = _wave_model("spare key")
    events = Recorder()
    answer = answer_question(
        "Where is the spare key to the shed?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        on_event=events,
    )
    assert answer.found and answer.grounded and "fence gate" in answer.text
    waves = events.of(WaveStarted)
    assert len(waves) == 1 and waves[0].chunks == 8
    assert answer.chunks_read == 8 < notes.index.count()


def test_waves_widen_until_the_evidence_is_found(tmp_path: Path) -> None:
    """A needle that shares no word with the question ranks last: waves of 8, 24, 72 … reach
    it, each wave saying why it runs."""
    needle = "Mirela hid it inside the hollow oak beside the jetty."
    notes = _many_notes(tmp_path, {59: needle})
    model = _wave_model("hollow oak")
    events = Recorder()
    answer = answer_question(
        "Where is the spare boathouse key?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        on_event=events,
    )
    waves = events.of(WaveStarted)
    assert [w.chunks for w in waves] == [8, 24, 28]
    assert waves[1].reason == "no passage read so far states the answer"
    assert answer.found and "hollow oak" in answer.text
    assert answer.chunks_read == 60


def test_a_reading_that_finds_nothing_gives_up_after_three_waves(tmp_path: Path) -> None:
    notes = _many_notes(tmp_path, {}, count=150)
    answer = answer_question(
        "Where is the spare boathouse key?",
        index=notes.index,
        model=_wave_model("oak"),
        settings=Settings(),
        level="2",
    )
    assert not answer.found and not answer.citations
    assert answer.chunks_read == 8 + 24 + 72 < 150


def test_a_list_question_reads_until_a_wave_adds_nothing_new(tmp_path: Path) -> None:
    cities = {2: "The tour opens in Lisbon.", 20: "Then it plays Tallinn.", 45: "It ends in Osaka."}
    notes = _many_notes(tmp_path, cities, count=120)
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["tour", "garden"])),
            Rule(lambda r: r.is_read, verdict_quoting("Lisbon", "Tallinn", "Osaka")),
            Rule(lambda r: r.is_answer, "The tour plays Lisbon [1], Tallinn [2] and Osaka [3]."),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "Which cities are on the tour?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        on_event=events,
    )
    assert answer.found and all(c in answer.text for c in ("Lisbon", "Tallinn", "Osaka"))
    # 8 + 24 found more, 72 found Osaka, the next wave (from 104) found nothing: one answer.
    assert [w.chunks for w in events.of(WaveStarted)] == [8, 24, 72, 16]
    assert len(model.calls_where(lambda r: r.is_answer)) == 1


def test_a_question_asking_for_everything_reads_the_whole_scope(tmp_path: Path) -> None:
    notes = _many_notes(tmp_path, {1: "Fence paint: blue.", 50: "Fence paint: green."})
    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["fence", "paint"])),
            Rule(lambda r: r.is_read, verdict_quoting("Fence paint")),
            Rule(lambda r: r.is_pick, pick_containing("Fence paint")),
            Rule(lambda r: r.is_answer, "Blue [1] and green [2]."),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    answer = answer_question(
        "Summarize everything my notes say about fence paint.",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
    )
    assert answer.chunks_read == 60 and answer.found
    assert len(model.calls_where(lambda r: r.is_answer)) == 1


def test_every_reading_of_one_question_shares_the_read_budget(tmp_path: Path) -> None:
    notes = _many_notes(tmp_path, {}, count=150)
    answer = answer_question(
        "Where is the spare boathouse key?",
        index=notes.index,
        model=_wave_model("oak"),
        settings=Settings(read_budget=20),
        level="2",
    )
    assert answer.chunks_read == 20 and not answer.found


def test_of_many_claims_only_the_picked_ones_are_evidence(tmp_path: Path) -> None:
    """A weak reader claims every passage answers; shown the claims side by side, the model
    picks the real one, and only that one reaches the answer as evidence."""
    needle = "Mirela hid the spare boathouse key inside the hollow oak beside the jetty."
    notes = _many_notes(tmp_path, {5: needle}, count=8)

    def claims_everything(request: Request) -> str:
        sentence = request.documents[0].text.split(". ")[-1].strip()
        return _read_reply([sentence], "somewhere")

    model = ScriptedModel(
        [
            Rule(lambda r: r.is_parse, parse_json(keywords_en=["Mirela", "shed"])),
            Rule(lambda r: r.is_read, claims_everything),
            Rule(lambda r: r.is_pick, pick_containing("Mirela")),
            Rule(lambda r: r.is_answer, answer_from_document_containing("hollow oak")),
            Rule(lambda r: r.is_verify, verify_by_words()),
        ]
    )
    events = Recorder()
    answer = answer_question(
        "Where did Mirela put the extra way into the shed for rowing boats?",
        index=notes.index,
        model=model,
        settings=Settings(),
        level="2",
        on_event=events,
    )
    (picked,) = events.of(EvidencePicked)
    assert picked.claimed == 8 and [ref.path.endswith("n005.md") for ref in picked.kept] == [True]
    (answer_call,) = model.calls_where(lambda r: r.is_answer)
    evidence = answer_call.user.split("<evidence>")[1]
    assert "Mirela" in evidence and evidence.count("“") == 1
    assert answer.found and "hollow oak" in answer.text


def _stopped_reading(
    tmp_path: Path, stop_at: Callable[[ChunkVerdict], bool], *, needle: str = "two-wheeler"
) -> tuple[Answer, ScriptedModel, Recorder, int]:
    """An auto run over a long note (the needle in its first passage) that the user stops with
    "answer from what was found so far" at the first verdict `stop_at` accepts. The readers
    find passages containing `needle`."""
    note = NEEDLE + " " + (FILLER_EN * 40)
    notes = build_index(tmp_path, {"long.md": note}, target_tokens=30, max_tokens=40)
    model = reading_model(delay=0.2)
    model.rules[1] = Rule(lambda r: r.is_read, verdict_quoting(needle))
    stop = CancelToken()
    events = Recorder()

    def on_event(event: Event) -> None:
        events(event)
        if isinstance(event, ChunkVerdict) and stop_at(event):
            stop.cancel()

    answer = answer_question(
        QUESTION,
        index=notes.index,
        model=model,
        settings=Settings(parallel_requests=2),
        on_event=on_event,
        stop_reading=stop,
    )
    return answer, model, events, notes.index.count()


def test_stop_reading_answers_from_the_quotes_found_so_far(tmp_path: Path) -> None:
    answer, model, events, total = _stopped_reading(tmp_path, lambda verdict: verdict.relevant)
    assert answer.partial and answer.found and answer.grounded and answer.level == 2
    assert "1987" in answer.text
    (citation,) = answer.citations
    assert [citation.text[s:e] for s, e in citation.highlights] == [NEEDLE]
    # The reads still in flight were aborted and no further wave started: one answer call from
    # the kept quote, no pick, no Level 3.
    assert len(model.calls_where(lambda r: r.is_read)) < total // 2
    assert len(model.calls_where(lambda r: r.is_answer)) == 1
    assert not model.calls_where(lambda r: r.is_pick)
    assert [e.level for e in events.of(LevelStarted)] == [1, 2]
    assert not any(t.name.startswith("needle-read") for t in threading.enumerate())


def test_stop_reading_before_anything_answers_says_so(tmp_path: Path) -> None:
    # The readers recognise nothing: no passage states the answer when the user stops.
    answer, model, events, total = _stopped_reading(
        tmp_path, lambda verdict: verdict.done == 3, needle="zeppelin"
    )
    assert answer.partial and not answer.found and answer.chunks_read < total
    assert "stopped" in answer.grounding
    assert not model.calls_where(lambda r: r.is_answer and "<evidence>" in r.user)
    assert [e.level for e in events.of(LevelStarted)] == [1, 2]
