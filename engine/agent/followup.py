"""Follow-up questions: "and in 2021?", "who else was there?", "他后来去了哪里？" mean something
only beside the thread's earlier turns. One model call rewrites such a question into one that stands
alone, and the levels answer that; the FollowUp event shows the rewrite in Steps.

The earlier turns are fitted to the window newest first (an old turn is dropped before a recent
one is cut), so the thread never pushes the prompt over the window. A reply that is not a usable
question (no text, an answer instead of a question, far too long, another language) falls back
to the question as typed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.agent import prompts
from engine.agent.events import FollowUp
from engine.agent.jsonreply import extract_json_object
from engine.agent.keywords import is_chinese
from engine.agent.session import Session

REWRITE_REPLY_TOKENS = 200
MAX_TURNS = 6  # older turns rarely matter to what "he" or "there" refers to
ANSWER_CHARS = 600  # an earlier answer's head: what it said, without every detail
MIN_REWRITE_CHARS = 80  # a rewrite may be this long even for a very short follow-up
LENGTH_FACTOR = 6  # … or this many times the follow-up, whichever is longer


@dataclass(frozen=True)
class PriorTurn:
    """An earlier turn of the thread, as the agent sees it."""

    question: str  # the self-contained form when the turn was itself a follow-up
    answer: str
    chunk_ids: tuple[str, ...] = ()  # the chunks its answer cited


def rewrite_followup(session: Session, question: str, history: Sequence[PriorTurn]) -> str:
    """The self-contained question the levels should answer: `question` itself when there is no
    history or the reply is unusable. Emits FollowUp when there was a history."""
    if not history:
        return question
    started = time.monotonic()
    turns = _fitted_turns(session, question, history[-MAX_TURNS:])
    if not turns:
        session.emit(FollowUp(question, question, 0, "fallback", "no earlier turn fits the window"))
        return question
    reply = session.chat(
        prompts.rewrite_messages(turns, question),
        purpose="rewrite",
        json_schema=prompts.REWRITE_SCHEMA,
        max_tokens=REWRITE_REPLY_TOKENS,
    )
    session.add_time("rewrite", time.monotonic() - started)
    rewritten, problem = _usable_rewrite(reply.content, question)
    if problem:
        session.emit(FollowUp(question, question, len(turns), "fallback", problem))
        return question
    session.emit(FollowUp(question, rewritten, len(turns), "model"))
    return rewritten


def _fitted_turns(
    session: Session, question: str, history: Sequence[PriorTurn]
) -> list[tuple[str, str]]:
    """The most recent turns that fit beside the question, oldest first; answers shortened."""
    budget = session.budget
    room = budget.available_for_context(prompts.REWRITE_SYSTEM, "", question)
    newest_first = [
        (turn.question, _shortened(turn.answer)) for turn in reversed(history) if turn.question
    ]
    texts = [f"Q: {q}\nA: {a}" for q, a in newest_first]
    fitted = budget.fit(texts, room, per_item_overhead=4, allow_truncate=False)
    return [newest_first[i] for i in sorted(fitted.indices, reverse=True)]


def _shortened(answer: str) -> str:
    text = " ".join(answer.split())
    if text.startswith(prompts.NOT_FOUND_MARKER):
        text = text[len(prompts.NOT_FOUND_MARKER) :].strip()
    return text if len(text) <= ANSWER_CHARS else text[: ANSWER_CHARS - 1].rstrip() + "…"


def _usable_rewrite(reply: str, question: str) -> tuple[str, str]:
    """(the rewritten question, "") or ("", why it cannot be used)."""
    data = extract_json_object(reply)
    value = data.get("question") if data is not None else None
    if not isinstance(value, str):
        return "", "the model's reply held no rewritten question"
    rewritten = " ".join(value.split())
    if not rewritten:
        return "", "the model's rewritten question was empty"
    if prompts.NOT_FOUND_MARKER in rewritten:
        return "", "the model answered instead of rewriting the question"
    if len(rewritten) > max(MIN_REWRITE_CHARS, LENGTH_FACTOR * len(question)):
        return "", "the model's rewritten question was implausibly long"
    if is_chinese(question) != is_chinese(rewritten):
        return "", "the model's rewritten question changed the question's language"
    return rewritten, ""
