"""Writing the final answer from numbered context blocks, and telling whether it was found.

The "not found" signal: the answer prompt asks the model to put NOT_FOUND alone on the first line
when the documents do not hold the answer. The marker is ASCII and language-independent, and it is
stripped before the user sees the text (also while streaming). Small models sometimes forget it,
so an answer that cites nothing AND says, in English or Chinese, that the documents lack the
answer is also taken as "not found"; phrases alone never override an answer that cites sources."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.agent import prompts
from engine.agent.citations import cited_numbers
from engine.agent.context import ContextBlock
from engine.agent.events import AnswerDelta
from engine.agent.keywords import is_chinese
from engine.agent.session import Session, Stopwatch

_MARKER_RE = re.compile(r"^[\s*#>\[\]`_\"'“”:：-]*not[_ ]?found\b[\s*\]`_:：.。-]*", re.IGNORECASE)

_CITATION_MARKS_RE = re.compile(r"[\[【［][\d\s,，、;]*[\]】］]")

_NOT_FOUND_PHRASES = re.compile(
    "|".join(
        (
            r"\b(?:do|does|did)\s+not\s+(?:contain|mention|say|include|provide|state|specify|cover)",
            r"\b(?:don't|doesn't|didn't)\s+(?:contain|mention|say|include|provide|state|cover)",
            r"\bno\s+(?:relevant\s+|such\s+)?(?:information|mention|details?)\b",
            r"\bnot\s+(?:mentioned|found|stated|specified|provided|covered)\b",
            r"\b(?:cannot|can't|could\s+not|unable\s+to)\s+(?:find|determine|answer|tell)\b",
            r"没有提到|未提及|没有提及|没有相关|未找到|没有找到|找不到|无法找到|无法确定|无法回答",
            r"不包含|没有包含|并未提|未包含|没有说明|没有信息|没有涉及|未涉及",
        )
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Draft:
    text: str  # the answer as the user sees it (marker removed)
    found: bool


def strip_marker(text: str) -> tuple[str, bool]:
    """(`text` without a leading NOT_FOUND marker, whether it had one)."""
    match = _MARKER_RE.match(text)
    if not match:
        return text, False
    return text[match.end() :].lstrip(), True


def says_not_found(text: str) -> bool:
    """True for an answer that states the documents lack the answer: the marker anywhere in the
    first line, or (only when nothing is cited) a not-found phrase in English or Chinese."""
    _, marked = strip_marker(text)
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    if marked or prompts.NOT_FOUND_MARKER.lower() in first_line.lower():
        return True
    if not _has_words(text):
        return True  # empty, or nothing but citation marks: no answer was given
    return not cited_numbers(text) and bool(_NOT_FOUND_PHRASES.search(text))


def _has_words(text: str) -> bool:
    """True when `text` says something besides citation marks and punctuation."""
    return any(char.isalnum() for char in _CITATION_MARKS_RE.sub("", text))


class MarkerGate:
    """Streams deltas to `emit`, holding back the first characters until it is clear whether the
    reply opens with the NOT_FOUND marker, which is then swallowed."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._held = ""
        self._open = False
        self._trim = False  # after a swallowed marker, the text's leading space goes too

    def feed(self, delta: str) -> None:
        if self._open:
            if self._trim:
                delta = delta.lstrip()
                self._trim = not delta
            if delta:
                self._emit(delta)
            return
        self._held += delta
        probe = self._held.lstrip(" \t\r\n*#>[`_\"'“:").lower().replace(" ", "_")
        marker = prompts.NOT_FOUND_MARKER.lower()
        if len(probe) < len(marker) + 1 and marker.startswith(probe[: len(marker)]):
            return  # still could be the marker
        self._release()

    def close(self) -> None:
        if not self._open:
            self._release()

    def _release(self) -> None:
        self._open = True
        text, marked = strip_marker(self._held)
        self._held = ""
        self._trim = marked and not text
        if text:
            self._emit(text)


def context_room(session: Session, question: str, instruction: str, evidence: str = "") -> int:
    """Tokens left for document blocks in the answer prompt."""
    return session.budget.available_for_context(
        prompts.ANSWER_SYSTEM, evidence, prompts.question_section(question, instruction)
    )


def write_answer(
    session: Session,
    blocks: list[ContextBlock],
    question: str,
    instruction: str,
    *,
    evidence: str = "",
    stream: bool = True,
    purpose: str = "answer",
) -> Draft:
    """One answer call over `blocks`; streamed as AnswerDelta events when `stream`."""
    messages = prompts.answer_messages(
        [b.document() for b in blocks], question, instruction, evidence
    )
    gate = MarkerGate(lambda text: session.emit(AnswerDelta(text)))
    with Stopwatch(session, "answer"):
        result = session.chat(
            messages,
            purpose=purpose,
            on_delta=gate.feed if stream else None,
            max_tokens=session.budget.answer_reserve,
        )
    if stream:
        gate.close()
    text = strip_marker(result.content.strip())[0].strip()
    found = not says_not_found(result.content)
    if not found and not _has_words(text):
        # A bare marker, or bare citation marks (small models do both), still deserves a sentence.
        text = prompts.no_documents_reply(is_chinese(question))
        if stream:
            session.emit(AnswerDelta(text))
    return Draft(text=text, found=found)
