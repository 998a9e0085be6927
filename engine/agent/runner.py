"""`answer_question`: the one entry point of the agent. It chooses and escalates levels, turns
failures into an ErrorEvent plus a raised NeedleError, and reports one final Answer whose usage is
summed over every level that ran.

An answer is accepted only when it is grounded (engine/agent/grounding.py): it answers what was
asked and its cited passages support it. Auto level:
1. The parse step flags multi-hop questions -> Level 3 directly.
2. Otherwise Level 1; unless its answer is grounded -> Level 2, which reads Level 1's own passages
   first, then widens in waves.
3. When Level 2 found evidence or related passages but no grounded answer -> Level 3.
4. Nothing grounded at the end: the answer says the documents do not support one, with the
   passages that came closest. At a forced level an ungrounded answer ends the same way.
Every level that starts emits LevelStarted with the reason."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from engine.agent import prompts
from engine.agent.events import Answer, AnswerDelta, Citation, ErrorEvent, Event, LevelStarted
from engine.agent.followup import PriorTurn, rewrite_followup
from engine.agent.keywords import is_chinese
from engine.agent.level1 import run_level1
from engine.agent.level2 import Question, run_level2
from engine.agent.level3 import run_level3
from engine.agent.outcome import CLOSEST_SHOWN, LevelOutcome
from engine.agent.parse import ParsedQuestion, check_question, parse_question
from engine.agent.scope import Scope, ScopeSpec, resolve_scope
from engine.agent.session import AgentIndex, AgentOptions, Session
from engine.agent.verdict_cache import MemoryVerdictCache, VerdictCache
from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, NeedleError
from engine.llm.budget import PromptBudget, counter_for_model
from engine.llm.types import ChatModel
from engine.models import SearchHit
from engine.settings import LEVELS, PARSE_MODES, Settings
from engine.tokens import estimate_tokens

FIRST_WAVE_FROM_LEVEL1 = (
    8  # auto's first Level-2 wave: Level 1's own best passages, read one by one
)


def _ignore(event: Event) -> None:
    """The default event sink."""


def answer_question(
    question: str,
    *,
    index: AgentIndex,
    model: ChatModel,
    settings: Settings,
    level: str | int = "auto",
    scope: ScopeSpec = None,
    on_event: Callable[[Event], None] = _ignore,
    cancel: CancelToken = NEVER,
    stop_reading: CancelToken = NEVER,
    verdict_cache: VerdictCache | None = None,
    parse_mode: str = "structured",
    compress_context: bool = False,
    score_gap: bool = True,
    reader: ChatModel | None = None,
    history: Sequence[PriorTurn] = (),
) -> Answer:
    """Answer `question` from the indexed documents. Raises NeedleError (after an ErrorEvent) on
    failure, Cancelled when `cancel` is set. Setting `stop_reading` ends Levels 2 and 3's reading
    early with an answer from what was found so far (Answer.partial). `reader`, when given,
    takes Level 2's reads (a smaller, faster model); the main `model` parses, plans and
    answers. `history`, the thread's earlier turns oldest first, makes `question` a follow-up:
    it is first rewritten into a question that stands alone (engine/agent/followup.py), and the
    chunks those turns cited are offered as context."""
    started = time.monotonic()
    problems = settings.problems()
    if problems:
        error = NeedleError(
            ErrorKind.BAD_SETTING, " ".join(problems), "Correct the value in Settings."
        )
        on_event(ErrorEvent(error.kind, error.message, error.hint))
        raise error
    session = Session(
        index=index,
        model=model,
        settings=settings,
        budget=budget_for(model, settings, reader),
        reader=reader,
        on_event=on_event,
        cancel=cancel,
        stop_reading=stop_reading,
        options=AgentOptions(
            parse_mode=parse_mode, compress_context=compress_context, score_gap=score_gap
        ),
    )
    try:
        chosen = _check_level(level)
        if parse_mode not in PARSE_MODES:
            raise NeedleError(
                ErrorKind.BAD_PARSE_MODE,
                f"Unknown query-parsing mode {parse_mode!r}.",
                f"Use one of: {', '.join(PARSE_MODES)}.",
            )
        # Without a persistent cache, one in memory still spares re-reads within this question.
        cache = verdict_cache if verdict_cache is not None else MemoryVerdictCache()
        asked = rewrite_followup(session, check_question(question), history)
        session.prior = _prior_hits(index, history)
        outcome = _run(session, asked, chosen, resolve_scope(scope, index), cache)
    except Cancelled:
        raise
    except NeedleError as error:
        session.emit(ErrorEvent(error.kind, error.message, error.hint))
        raise
    except Exception as error:  # a bug must still reach the user as a clear error
        wrapped = NeedleError(
            ErrorKind.AGENT_FAILED,
            f"The answer could not be produced: {type(error).__name__}: {error}",
            "This is a bug in Needle; please report it with the question you asked.",
        )
        session.emit(ErrorEvent(wrapped.kind, wrapped.message, wrapped.hint))
        raise wrapped from error
    answer = _final_event(session, outcome, time.monotonic() - started)
    if history and asked != question.strip():
        answer = replace(answer, rewritten=asked)
    session.emit(answer)
    return answer


def _prior_hits(index: AgentIndex, history: Sequence[PriorTurn]) -> tuple[SearchHit, ...]:
    """The chunks the earlier turns cited that the index still holds, the latest turn's first."""
    wanted: list[str] = []
    for turn in reversed(history):
        wanted += [chunk_id for chunk_id in turn.chunk_ids if chunk_id not in wanted]
    if not wanted:
        return ()
    found = {hit.chunk_id: hit for hit in index.get_chunks(wanted)}
    return tuple(found[chunk_id] for chunk_id in wanted if chunk_id in found)


def budget_for(
    model: ChatModel, settings: Settings, reader: ChatModel | None = None
) -> PromptBudget:
    """The one budget of a question: the model's window capped by the settings' window, and by
    the reader's when a reader model takes Level 2's reads. Prompts are counted the models' way:
    exactly for Qwen models (engine/llm/qwen), whichever backend serves them. When the reader
    counts differently from the main model (one Qwen, one not), both are sized by the calibrated
    estimate of the one that is not Qwen: an exact Qwen count would misjudge the other's."""
    window = settings.context_window
    sizer = model
    if reader is not None:
        window = min(window, model.context_window, reader.context_window)
        if counter_for_model(reader.name) is not counter_for_model(model.name):
            sizer = model if counter_for_model(model.name) is estimate_tokens else reader
    return PromptBudget.for_model(sizer, settings.answer_reserve, context_window=window)


def _check_level(level: str | int) -> str:
    chosen = str(level).strip().lower()
    if chosen not in LEVELS:
        raise NeedleError(
            ErrorKind.BAD_LEVEL,
            f"Unknown level {level!r}.",
            f"Use one of: {', '.join(LEVELS)}.",
        )
    return chosen


def _run(
    session: Session, question: str, level: str, scope: Scope, cache: VerdictCache
) -> LevelOutcome:
    if level == "auto":
        return _auto(session, question, scope, cache)
    if level == "1":
        session.emit(LevelStarted(1, "Level 1 was chosen"))
        outcome = run_level1(session, _parse(session, question), scope.filters)
    elif level == "2":
        session.emit(LevelStarted(2, f"Level 2 was chosen: reading {scope.description}"))
        outcome = _level2(session, _parse(session, question), scope, cache, first=session.prior)
    else:
        session.emit(LevelStarted(3, "Level 3 was chosen"))
        outcome = run_level3(session, _parse(session, question), scope, cache)
    return _settled(session, question, [outcome])


def _auto(session: Session, question: str, scope: Scope, cache: VerdictCache) -> LevelOutcome:
    session.emit(LevelStarted(1, "Auto: a keyword search answers most questions"))
    parsed = _parse(session, question)
    if parsed.multi_hop:
        session.emit(
            LevelStarted(3, "The question needs facts looked up one after another (multi-hop)")
        )
        return _settled(session, question, [run_level3(session, parsed, scope, cache)])
    first = run_level1(session, parsed, scope.filters)
    if _accepted(first):
        return first
    session.emit(
        LevelStarted(
            2,
            f"{_why_not(first)}; reading {scope.description} chunk by chunk, "
            "Level 1's passages first",
        )
    )
    second = _level2(session, parsed, scope, cache, first=first.context)
    if _accepted(second):
        return second
    if session.stop_reading.cancelled:
        return _settled(session, question, [first, second])
    if second.nothing_matched and not second.candidates:
        return _settled(session, question, [first, second])
    session.emit(LevelStarted(3, f"{_why_not(second)}; breaking the question into sub-questions"))
    third = run_level3(session, parsed, scope, cache)
    return _settled(session, question, [first, second, third])


def _accepted(outcome: LevelOutcome) -> bool:
    return outcome.found and outcome.grounded


def _why_not(outcome: LevelOutcome) -> str:
    """Why a level's answer was not accepted, for the next level's LevelStarted reason."""
    name = f"Level {outcome.level}"
    if outcome.found:
        return f"{name}'s answer is not grounded: {outcome.grounding}"
    if outcome.nothing_matched and outcome.level == 1:
        return f"{name}'s keyword search matched nothing"
    if outcome.nothing_matched and outcome.candidates:
        return f"{name} found passages about the question's subject, but none states the answer"
    if outcome.nothing_matched:
        return f"{name} found no passage that states the answer"
    return f"{name}'s answer said the passages do not contain the answer"


def _settled(session: Session, question: str, outcomes: list[LevelOutcome]) -> LevelOutcome:
    """The last outcome when it is a grounded answer or an honest "not found"; an ungrounded
    answer becomes "not supported by your documents" with the closest passages of every level.
    The steps keep the rejected draft (Grounding event)."""
    last = outcomes[-1]
    if _accepted(last):
        return last
    candidates = _merged_candidates(outcomes)
    if not last.found:
        return replace(last, candidates=candidates)
    text = prompts.unsupported_reply(is_chinese(question), last.grounding)
    session.emit(AnswerDelta(text))
    return LevelOutcome(
        last.level,
        text,
        (),
        found=False,
        grounding=last.grounding,
        candidates=candidates,
        partial=last.partial,
    )


def _merged_candidates(outcomes: list[LevelOutcome]) -> tuple[Citation, ...]:
    """Closest passages, the deepest level's first, each chunk once, numbered 1.."""
    seen: set[str] = set()
    merged: list[Citation] = []
    for outcome in reversed(outcomes):
        for candidate in outcome.candidates:
            if candidate.chunk_id not in seen:
                seen.add(candidate.chunk_id)
                merged.append(replace(candidate, number=len(merged) + 1))
    return tuple(merged[:CLOSEST_SHOWN])


def _parse(session: Session, question: str) -> ParsedQuestion:
    return parse_question(session, question, session.options.parse_mode)


def _level2(
    session: Session,
    parsed: ParsedQuestion,
    scope: Scope,
    cache: VerdictCache,
    first: tuple[SearchHit, ...] = (),
) -> LevelOutcome:
    question = Question(parsed.information, parsed.instruction, parsed.keywords, parsed.kind)
    return run_level2(session, question, scope, cache, first=first[:FIRST_WAVE_FROM_LEVEL1])


def _final_event(session: Session, outcome: LevelOutcome, seconds: float) -> Answer:
    usage = session.usage
    timings = {name: round(value, 4) for name, value in session.timings.items()}
    timings["total"] = round(seconds, 4)
    return Answer(
        text=outcome.text,
        citations=outcome.citations,
        level=outcome.level,
        llm_calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        seconds=round(seconds, 4),
        timings=timings,
        found=outcome.found,
        citations_inferred=outcome.citations_inferred,
        grounded=outcome.found and outcome.grounded,
        chunks_read=session.reads,
        grounding=outcome.grounding,
        candidates=outcome.candidates,
        partial=outcome.partial,
    )
