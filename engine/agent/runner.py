"""`answer_question`: the one entry point of the agent. It chooses and escalates levels, turns
failures into an ErrorEvent plus a raised NeedleError, and reports one final Answer whose usage is
summed over every level that ran.

Auto level:
1. The parse step flags multi-hop questions -> Level 3 directly.
2. Otherwise Level 1; when its answer says the documents do not contain the answer (NOT_FOUND
   marker, or an uncited "not found" statement in English or Chinese) -> Level 2.
3. When Level 2 finds nothing relevant or still cannot answer -> Level 3.
Every level that starts emits LevelStarted with the reason."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.agent.events import Answer, ErrorEvent, Event, LevelStarted
from engine.agent.level1 import run_level1
from engine.agent.level2 import run_level2
from engine.agent.level3 import run_level3
from engine.agent.outcome import LevelOutcome
from engine.agent.parse import ParsedQuestion, check_question, parse_question
from engine.agent.scope import Scope, ScopeSpec, resolve_scope
from engine.agent.session import AgentIndex, AgentOptions, Session
from engine.agent.verdict_cache import MemoryVerdictCache, VerdictCache
from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, ErrorKind, NeedleError
from engine.llm.budget import PromptBudget
from engine.llm.types import ChatModel
from engine.settings import LEVELS, PARSE_MODES, Settings


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
    verdict_cache: VerdictCache | None = None,
    parse_mode: str = "structured",
    compress_context: bool = False,
    reader: ChatModel | None = None,
) -> Answer:
    """Answer `question` from the indexed documents. Raises NeedleError (after an ErrorEvent) on
    failure, Cancelled when `cancel` is set. `reader`, when given, takes Level 2's reads (a
    smaller, faster model); the main `model` parses, plans and answers."""
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
        options=AgentOptions(parse_mode=parse_mode, compress_context=compress_context),
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
        outcome = _run(
            session, check_question(question), chosen, resolve_scope(scope, index), cache
        )
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
    session.emit(answer)
    return answer


def budget_for(
    model: ChatModel, settings: Settings, reader: ChatModel | None = None
) -> PromptBudget:
    """The one budget of a question: the model's window capped by the settings' window, and by
    the reader's when a reader model takes Level 2's reads."""
    window = settings.context_window
    if reader is not None:
        window = min(window, reader.context_window)
    return PromptBudget.for_model(model, settings.answer_reserve, context_window=window)


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
    if level == "1":
        session.emit(LevelStarted(1, "Level 1 was chosen"))
        return run_level1(session, _parse(session, question), scope.filters)
    if level == "2":
        session.emit(LevelStarted(2, f"Level 2 was chosen: reading {scope.description}"))
        parsed = _parse(session, question)
        return _level2(session, parsed, scope, cache)
    if level == "3":
        session.emit(LevelStarted(3, "Level 3 was chosen"))
        return run_level3(session, _parse(session, question), scope, cache)
    return _auto(session, question, scope, cache)


def _auto(session: Session, question: str, scope: Scope, cache: VerdictCache) -> LevelOutcome:
    session.emit(LevelStarted(1, "Auto: a keyword search answers most questions"))
    parsed = _parse(session, question)
    if parsed.multi_hop:
        session.emit(
            LevelStarted(3, "The question needs facts looked up one after another (multi-hop)")
        )
        return run_level3(session, parsed, scope, cache)
    first = run_level1(session, parsed, scope.filters)
    if first.found:
        return first
    why = (
        "Level 1's keyword search matched nothing"
        if first.nothing_matched
        else "Level 1's answer said the retrieved passages do not contain the answer"
    )
    session.emit(LevelStarted(2, f"{why}; reading {scope.description} chunk by chunk"))
    second = _level2(session, parsed, scope, cache)
    if second.found:
        return second
    why = (
        "Level 2 found no relevant passage"
        if second.nothing_matched
        else "Level 2's answer said the relevant passages do not answer the question"
    )
    session.emit(LevelStarted(3, f"{why}; breaking the question into sub-questions"))
    return run_level3(session, parsed, scope, cache)


def _parse(session: Session, question: str) -> ParsedQuestion:
    return parse_question(session, question, session.options.parse_mode)


def _level2(
    session: Session, parsed: ParsedQuestion, scope: Scope, cache: VerdictCache
) -> LevelOutcome:
    return run_level2(
        session, parsed.information, parsed.instruction, parsed.keywords, scope, cache
    )


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
    )
