"""Level 3 — step by step: a planner that asks a reader (Level 2 on a sub-question) until it can
answer.

The planner talks to the reader through Ollama's native tool calls (`read_documents(question)`).
Models or servers without tool support get the same loop in plain text (`ASK: …` / `ANSWER: …`);
the switch happens when the server rejects `tools`, and a reply that ignores the tools but writes
ASK: or a tool-call object in its text is understood too. Memory is the list of findings:
each sub-question, its answer and its sources, numbered globally so the final answer can cite
them; it is compacted when the window gets tight. The loop stops when the planner answers, when it
repeats itself, or after `settings.max_steps`, with the best answer from the findings so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from engine.agent import prompts
from engine.agent.answering import says_not_found, strip_marker
from engine.agent.citations import CitedAnswer, cite_support, remap_marks, renumber_marks
from engine.agent.context import short_source
from engine.agent.events import AnswerDelta, Citation, SubAnswer, SubQuestion
from engine.agent.grounding import ground_answer
from engine.agent.jsonreply import extract_json_object
from engine.agent.keywords import is_chinese, text_keywords
from engine.agent.level2 import Question, run_level2
from engine.agent.outcome import CLOSEST_SHOWN, LevelOutcome
from engine.agent.parse import ParsedQuestion, answer_kind
from engine.agent.scope import Scope
from engine.agent.session import Session
from engine.agent.verdict_cache import VerdictCache, normalize_question
from engine.errors import ErrorKind, OllamaError
from engine.lang import SENTENCE_ENDS
from engine.llm.types import ChatResult, Message, ToolCall

MAX_REPEATS = 2  # identical sub-questions tolerated before the loop stops
# A sub-question is simple and names what it looks for, so its passage ranks high: two waves
# in a row without evidence (8 + 24 reads) are enough to call it not found.
SUB_QUESTION_PATIENCE = 2
SOURCE_CHARS = (200, 90, 0)  # source excerpt length at each compaction level
ANSWER_CHARS = (2000, 600, 240)
_SENTENCE_MARKS = (*SENTENCE_ENDS, "\n")

_ASK_RE = re.compile(
    r"^\s*(?:\*\*)?\s*(?:ASK|问)\s*(?:\*\*)?\s*[:：]\s*(.+)", re.IGNORECASE | re.MULTILINE
)
_ANSWER_RE = re.compile(
    r"^\s*(?:\*\*)?\s*(?:ANSWER|答)\s*(?:\*\*)?\s*[:：]\s*", re.IGNORECASE | re.MULTILINE
)


class PlanMode(Enum):
    TOOLS = "tools"
    TEXT = "text"


@dataclass(frozen=True)
class Finding:
    step: int
    question: str
    answer: str  # with global citation numbers
    numbers: tuple[int, ...]  # the global numbers this finding's answer cites
    found: bool
    repeated: bool = False


@dataclass
class Memory:
    findings: list[Finding] = field(default_factory=list)
    registry: dict[int, Citation] = field(default_factory=dict)  # global number -> citation
    number_of_chunk: dict[str, int] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    repeats: int = 0

    def register(self, citations: tuple[Citation, ...]) -> dict[int, int]:
        """Give each sub-answer citation a global number (one per chunk); local -> global."""
        mapping: dict[int, int] = {}
        for citation in citations:
            number = self.number_of_chunk.get(citation.chunk_id)
            if number is None:
                number = len(self.registry) + 1
                self.number_of_chunk[citation.chunk_id] = number
                self.registry[number] = replace(citation, number=number)
            mapping[citation.number] = number
        return mapping


@dataclass(frozen=True)
class Ask:
    question: str


@dataclass(frozen=True)
class Final:
    text: str


def run_level3(
    session: Session, parsed: ParsedQuestion, scope: Scope, cache: VerdictCache
) -> LevelOutcome:
    memory = Memory()
    mode = PlanMode.TOOLS
    final: Final | None = None
    nudged = False
    for step in range(1, session.settings.max_steps + 1):
        if session.stop_reading.cancelled:
            break  # the user wants the answer now, from the findings so far
        decision, mode = _plan(session, parsed, memory, mode)
        if isinstance(decision, Final):
            if not memory.findings and not nudged:
                # An answer before reading anything is a guess: ask once more, in the text
                # protocol, since a model that ignored the offered tool may still write ASK:.
                nudged = True
                mode = PlanMode.TEXT
                memory.findings.append(_nudge(step))
                continue
            final = decision
            break
        key = normalize_question(decision.question)
        if key in memory.asked:
            memory.repeats += 1
            memory.findings.append(Finding(step, decision.question, "", (), False, repeated=True))
            if memory.repeats >= MAX_REPEATS:
                break
            continue
        memory.asked.add(key)
        _read_step(session, memory, step, decision.question, scope, cache, parsed)
    if final is None:
        final = _final_answer(session, parsed, memory, mode)
    outcome = _outcome(session, parsed, memory, final)
    return replace(outcome, partial=True) if session.stop_reading.cancelled else outcome


def _not_found_finding(outcome: LevelOutcome) -> str:
    """What the planner hears of a sub-question without a grounded answer. The rejected draft's
    facts stay out: a weak planner would build on them."""
    if outcome.found:
        return (
            f"{prompts.NOT_FOUND_MARKER} (an answer was drafted, but its passages do not state it)"
        )
    return prompts.NOT_FOUND_MARKER


def _nudge(step: int) -> Finding:
    return Finding(step, "", prompts.READ_FIRST_NOTE, (), False)


def _read_step(
    session: Session,
    memory: Memory,
    step: int,
    question: str,
    scope: Scope,
    cache: VerdictCache,
    parsed: ParsedQuestion,
) -> None:
    session.emit(SubQuestion(step, question))
    english, chinese = text_keywords(question)
    # A sub-question's own words are in one language, and nothing translates them; the parse
    # wrote the question's keywords in both. Without the other language's, a fact written only
    # in it is out of the sub-question's reach (an English sub-question about a Chinese note).
    if not chinese:
        chinese = list(parsed.keywords_zh)
    if not english:
        english = list(parsed.keywords_en)
    sub = Question(question, "", tuple(english + chinese), answer_kind(question))
    # A sub-question names what it looks for: no imagined sentence, and less patience.
    outcome = run_level2(
        session, sub, scope, cache, stream=False, patience=SUB_QUESTION_PATIENCE, expand=False
    )
    # Only a grounded sub-answer is a fact the planner may build on; an ungrounded one is
    # reported as not found, so the planner does not carry an invention into the next hop.
    found = outcome.found and outcome.grounded
    citations = outcome.citations if found else ()
    mapping = memory.register(citations)
    answer = remap_marks(outcome.text, mapping) if found else _not_found_finding(outcome)
    numbers = tuple(dict.fromkeys(mapping.values()))
    memory.findings.append(Finding(step, question, answer, numbers, found))
    chunk_ids = tuple(memory.registry[n].chunk_id for n in numbers)
    session.emit(SubAnswer(step, question, answer, chunk_ids))


# ---------------------------------------------------------------- asking the planner


def _plan(
    session: Session, parsed: ParsedQuestion, memory: Memory, mode: PlanMode
) -> tuple[Ask | Final, PlanMode]:
    if mode is PlanMode.TOOLS:
        try:
            result = _plan_call(session, parsed, memory, mode)
        except OllamaError as error:
            if error.kind is not ErrorKind.TOOLS_UNSUPPORTED:
                raise
            mode = PlanMode.TEXT
            result = _plan_call(session, parsed, memory, mode)
    else:
        result = _plan_call(session, parsed, memory, mode)
    return decide(result), mode


def _plan_call(
    session: Session, parsed: ParsedQuestion, memory: Memory, mode: PlanMode
) -> ChatResult:
    tools = [prompts.READ_TOOL] if mode is PlanMode.TOOLS else None
    messages = _fitted_messages(session, parsed, memory, mode, tools)
    return session.chat(
        messages, purpose="plan", tools=tools, max_tokens=session.budget.answer_reserve
    )


def decide(result: ChatResult) -> Ask | Final:
    """What the planner wants: a sub-question (tool call, ASK: line, or a tool call written as
    JSON in the text) or its final answer."""
    for call in result.tool_calls:
        question = _question_argument(call.arguments)
        if question:
            return Ask(question)
    content = result.content.strip()
    ask = _ASK_RE.search(content)
    answer = _ANSWER_RE.search(content)
    if ask and (answer is None or ask.start() < answer.start()):
        return Ask(ask.group(1).strip())
    if answer:
        return Final(content[answer.end() :].strip())
    written_call = extract_json_object(content) if "{" in content else None
    if written_call and written_call.get("name") == prompts.READ_TOOL_NAME:
        arguments = written_call.get("arguments") or written_call.get("parameters") or {}
        question = _question_argument(arguments) if isinstance(arguments, dict) else ""
        if question:
            return Ask(question)
    return Final(content)


def _question_argument(arguments: dict[str, Any]) -> str:
    """The sub-question of a tool call; weak models sometimes name the argument differently
    ("query", "q"), and the tool has only one, so any single text argument will do."""
    value = arguments.get("question")
    if not isinstance(value, str):
        texts = [v for v in arguments.values() if isinstance(v, str) and v.strip()]
        value = texts[0] if len(texts) == 1 else ""
    return value.strip()


# ---------------------------------------------------------------- the conversation, compacted


def _fitted_messages(
    session: Session,
    parsed: ParsedQuestion,
    memory: Memory,
    mode: PlanMode,
    tools: list[dict[str, object]] | None,
    closing: str = "",
) -> list[Message]:
    """The planner conversation at the most detailed compaction level that fits the window."""
    messages: list[Message] = []
    for level in range(len(SOURCE_CHARS)):
        messages = _messages(parsed, memory, mode, level, closing)
        if session.budget.prompt_tokens(messages, tools) <= session.budget.limit:
            return messages
    # Still too long: keep only the most recent findings (the oldest are summarized away).
    recent = Memory(memory.findings[-2:], memory.registry)
    return _messages(parsed, recent, mode, len(SOURCE_CHARS) - 1, closing)


def _messages(
    parsed: ParsedQuestion, memory: Memory, mode: PlanMode, level: int, closing: str
) -> list[Message]:
    system = prompts.PLAN_SYSTEM_TOOLS if mode is PlanMode.TOOLS else prompts.PLAN_SYSTEM_TEXT
    messages = [
        Message("system", system),
        Message("user", prompts.plan_user_message(parsed.information, parsed.instruction)),
    ]
    for finding in memory.findings:
        messages.extend(_finding_messages(finding, memory, mode, level))
    if closing:
        messages.append(Message("user", closing))
    return messages


def _finding_messages(
    finding: Finding, memory: Memory, mode: PlanMode, level: int
) -> list[Message]:
    if not finding.question:  # the nudge
        return [Message("user", finding.answer)]
    if finding.repeated:
        content = prompts.REPEATED_STEP_NOTE
    else:
        sources = [
            (n, _source_line(memory.registry[n], SOURCE_CHARS[level])) for n in finding.numbers
        ]
        answer = _cut(finding.answer, ANSWER_CHARS[level])
        content = prompts.finding_text(finding.question, answer, sources)
    if mode is PlanMode.TOOLS:
        call = ToolCall(prompts.READ_TOOL_NAME, {"question": finding.question})
        return [
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", content, tool_name=prompts.READ_TOOL_NAME),
        ]
    return [Message("assistant", f"ASK: {finding.question}"), Message("user", content)]


def _source_line(citation: Citation, chars: int) -> str:
    where = short_source(citation.path)
    if citation.page is not None:
        where += f", page {citation.page}"
    if chars <= 0:
        return where
    if citation.highlights:
        excerpt = _sentence_around(citation.text, *citation.highlights[0])
    else:
        excerpt = citation.text
    return f"{where}: “{_cut(' '.join(excerpt.split()), chars)}”"


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence(s) holding text[start:end]: a keyword highlight alone says too little."""
    before = max(text.rfind(mark, 0, start) for mark in _SENTENCE_MARKS)
    afters = [i for i in (text.find(mark, end) for mark in _SENTENCE_MARKS) if i >= 0]
    return text[before + 1 : min(afters) + 1 if afters else len(text)].strip()


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


# ---------------------------------------------------------------- the final answer


def _final_answer(
    session: Session, parsed: ParsedQuestion, memory: Memory, mode: PlanMode
) -> Final:
    """Out of steps (or looping): one call without tools asking for the answer now."""
    messages = _fitted_messages(session, parsed, memory, mode, None, prompts.FINAL_STEP_PROMPT)
    result = session.chat(messages, purpose="answer", max_tokens=session.budget.answer_reserve)
    decision = decide(ChatResult(content=result.content))
    if isinstance(decision, Ask):  # it still wants to ask: answer from the findings as they are
        return Final(_findings_summary(memory))
    return decision


def _findings_summary(memory: Memory) -> str:
    found = [f for f in memory.findings if f.found and f.answer]
    if not found:
        return prompts.NOT_FOUND_MARKER
    return "\n".join(f.answer for f in found)


def _outcome(
    session: Session, parsed: ParsedQuestion, memory: Memory, final: Final
) -> LevelOutcome:
    text, marked = strip_marker(final.text.strip())
    found = not marked and not says_not_found(final.text) and any(f.found for f in memory.findings)
    if not found:
        text = text or prompts.no_documents_reply(is_chinese(parsed.question))
        session.emit(AnswerDelta(text))
        return LevelOutcome(3, text, (), found=False, candidates=_candidates(memory))
    text, order = renumber_marks(text, set(memory.registry))
    inferred = False
    if not order:
        # The planner cited nothing: the chunks behind the findings it answered from are the
        # sources, in the order they were found.
        order = [n for f in memory.findings if f.found for n in f.numbers]
        order = list(dict.fromkeys(order))
        inferred = bool(order)
    citations = tuple(
        replace(memory.registry[old], number=new) for new, old in enumerate(order, start=1)
    )
    session.emit(AnswerDelta(text))
    cited_ids = {c.chunk_id for c in citations}
    uncited = tuple(c for c in memory.registry.values() if c.chunk_id not in cited_ids)
    grounding = ground_answer(
        session,
        level=3,
        question=parsed.information,
        answer=text,
        citations=citations,
        notes=_finding_notes(memory),
        uncited=uncited,
    )
    supported = cite_support(CitedAnswer(text, citations), uncited, grounding.support_chunk_id)
    text, citations = supported.text, supported.citations
    return LevelOutcome(
        3,
        text,
        citations,
        True,
        inferred,
        grounded=grounding.grounded,
        grounding=grounding.reason,
        candidates=_candidates(memory),
    )


def _finding_notes(memory: Memory) -> dict[str, str]:
    """Each cited chunk's grounded sub-answer: what the reader found in it, in the question's
    language, which the final answer may restate."""
    notes: dict[str, str] = {}
    for finding in memory.findings:
        if not finding.found:
            continue
        for number in finding.numbers:
            chunk_id = memory.registry[number].chunk_id
            notes[chunk_id] = " ".join(filter(None, (notes.get(chunk_id), finding.answer)))
    return notes


def _candidates(memory: Memory) -> tuple[Citation, ...]:
    found = list(memory.registry.values())[:CLOSEST_SHOWN]
    return tuple(replace(c, number=n) for n, c in enumerate(found, start=1))
