"""Level-1 query understanding: what to find, how to answer, and which keywords to search.

The default is ONE structured-output call returning information, instruction, English and
Chinese keywords and a multi-hop flag. `mode="two_call"` runs the seed's variant (split, then
keywords) so the two can be measured against each other. When the model's reply holds no usable
JSON, the keywords come from the question itself and the QueryParsed event says so."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from engine.agent import prompts
from engine.agent.context import query_terms
from engine.agent.events import Keywords, QueryParsed
from engine.agent.jsonreply import boolean, extract_json_object, string_list
from engine.agent.keywords import text_keywords
from engine.agent.session import Session
from engine.errors import ErrorKind, NeedleError
from engine.lang import has_han
from engine.settings import PARSE_MODES
from engine.tokens import estimate_tokens

ParseMode = Literal["structured", "two_call"]

MAX_KEYWORDS_PER_LANGUAGE = prompts.MAX_KEYWORDS
MIN_PART_CHARS = 80
MIN_SHARED_SHARE = 0.5
# Words that say how to answer; an instruction naming one is plausible even when translated.
_FORM_WORDS = re.compile(
    r"\b(?:english|chinese|german|french|spanish|japanese|language|sentences?|words?|"
    r"paragraphs?|bullets?|list|table|brief(?:ly)?|short(?:ly)?|concise(?:ly)?|detail(?:ed|s)?|"
    r"summar\w*|steps?|points?|format|markdown|json|translate)\b|"
    r"中文|英文|英语|简短|简要|一句话|详细|列表|要点|总结|分点|翻译|字以内",
    re.IGNORECASE,
)
MAX_QUESTION_TOKENS = 1500  # a question longer than this is a document, not a question
PARSE_REPLY_TOKENS = 200  # a full bounded reply is ~60-120 tokens; a rambling one is cut here


class AnswerKind(Enum):
    """How much of the scope a question needs read (Level 2 stops early only for FACT)."""

    FACT = "fact"  # one thing: stop at the first grounded answer
    LIST = "list"  # several things: stop when a wave adds nothing new
    ALL = "all"  # everything on a subject ("list all", "summarize"): read the whole scope


# "All" makes Level 2 read its whole ceiling, so the question's own words must ask for it; a weak
# model's "all" alone is not enough.
_EVERYTHING_RE = re.compile(
    r"\b(?:list|name|show|give|find)\s+(?:me\s+)?(?:all|every)\b|\ball\s+(?:the\s+)?\w+\s+"
    r"(?:i|that|which|mentioned|in)\b|\bevery\b|\bsummar(?:y|ize|ise)\b|\boverview\b|"
    r"总结|概括|综述|列出所有|所有的|全部|每一|每个|哪些都",
    re.IGNORECASE,
)
_SEVERAL_RE = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?\w+s\s+(?:are|were|did|do|have)\b|\blist\b|"
    r"\bname\s+(?:the|some)\b|哪些|有几|列出|分别",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ParsedQuestion:
    question: str
    information: str
    instruction: str
    keywords_en: tuple[str, ...]
    keywords_zh: tuple[str, ...]
    multi_hop: bool
    method: str  # structured | two_call | fallback
    note: str = ""
    kind: AnswerKind = AnswerKind.FACT

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.keywords_en + self.keywords_zh


def check_question(question: str) -> str:
    """The question stripped, or a clear error when it is empty or absurdly long."""
    stripped = question.strip()
    if not stripped:
        raise NeedleError(
            ErrorKind.EMPTY_QUESTION, "The question is empty.", "Type a question to ask."
        )
    tokens = estimate_tokens(stripped)
    if tokens > MAX_QUESTION_TOKENS:
        raise NeedleError(
            ErrorKind.QUESTION_TOO_LONG,
            f"The question is about {tokens} tokens long; at most {MAX_QUESTION_TOKENS} fit "
            "beside the documents in the model's window.",
            "Shorten the question, or put the long text in a note and ask about it.",
        )
    return stripped


def parse_question(session: Session, question: str, mode: str = "structured") -> ParsedQuestion:
    """Understand `question` with the model and emit QueryParsed and Keywords events."""
    if mode not in PARSE_MODES:
        raise NeedleError(
            ErrorKind.BAD_PARSE_MODE,
            f"Unknown query-parsing mode {mode!r}.",
            f"Use one of: {', '.join(PARSE_MODES)}.",
        )
    started = time.monotonic()
    if mode == "two_call":
        parsed = _parse_two_calls(session, question)
    else:
        parsed = _parse_one_call(session, question)
    session.add_time("parse", time.monotonic() - started)
    session.emit(
        QueryParsed(
            parsed.information,
            parsed.instruction,
            parsed.method,
            parsed.note,
            parsed.kind.value,
            parsed.multi_hop,
        )
    )
    session.emit(Keywords(parsed.keywords_en, parsed.keywords_zh, " ".join(parsed.keywords)))
    return parsed


def _parse_one_call(session: Session, question: str) -> ParsedQuestion:
    reply = session.chat(
        prompts.request_messages(prompts.PARSE_SYSTEM, question),
        purpose="parse",
        json_schema=prompts.parse_schema(question),
        max_tokens=PARSE_REPLY_TOKENS,
    )
    data = extract_json_object(reply.content)
    if data is None:
        return fallback_query(question, "the model's reply held no JSON object")
    return _from_fields(question, data, data, "structured")


def _parse_two_calls(session: Session, question: str) -> ParsedQuestion:
    split_reply = session.chat(
        prompts.request_messages(prompts.SPLIT_SYSTEM, question),
        purpose="parse",
        json_schema=prompts.split_schema(question),
        max_tokens=PARSE_REPLY_TOKENS,
    )
    split = extract_json_object(split_reply.content)
    if split is None:
        return fallback_query(question, "the model's split reply held no JSON object")
    information = _text_field(split, "information") or question
    keywords_reply = session.chat(
        prompts.request_messages(prompts.KEYWORDS_SYSTEM, information),
        purpose="keywords",
        json_schema=prompts.KEYWORDS_SCHEMA,
        max_tokens=PARSE_REPLY_TOKENS,
    )
    keyword_data = extract_json_object(keywords_reply.content) or {}
    return _from_fields(question, split, keyword_data, "two_call")


def _from_fields(
    question: str, split: dict[str, Any], keyword_data: dict[str, Any], method: str
) -> ParsedQuestion:
    information, instruction, notes = _plausible_parts(
        question, _text_field(split, "information"), _text_field(split, "instruction")
    )
    english = _keyword_field(keyword_data, ("keywords_en", "keywords_english", "english"))
    chinese = _keyword_field(keyword_data, ("keywords_zh", "keywords_chinese", "chinese"))
    if not english and not chinese:
        # Some models put everything in one "keywords" list; sort it by script.
        shared = _keyword_field(keyword_data, ("keywords",))
        english = [k for k in shared if not has_han(k)]
        chinese = [k for k in shared if has_han(k)]
    if not english and not chinese:
        english, chinese = text_keywords(information if information != question else question)
        notes.append("the model gave no keywords; the question's own words are used")
    return ParsedQuestion(
        question=question,
        information=information,
        instruction=instruction,
        keywords_en=tuple(english[:MAX_KEYWORDS_PER_LANGUAGE]),
        keywords_zh=tuple(chinese[:MAX_KEYWORDS_PER_LANGUAGE]),
        multi_hop=boolean(split.get("multi_hop"), default=False),
        method=method,
        note="; ".join(notes),
        kind=answer_kind(question, split.get("kind")),
    )


def answer_kind(question: str, offered: object = None) -> AnswerKind:
    """FACT, LIST or ALL: ALL only when the question's words ask for everything; LIST when the
    words or the model say several things are asked for."""
    if _EVERYTHING_RE.search(question):
        return AnswerKind.ALL
    if _SEVERAL_RE.search(question) or (
        isinstance(offered, str) and offered.lower() in ("list", "all")
    ):
        return AnswerKind.LIST
    return AnswerKind.FACT


def _plausible_parts(
    question: str, information: str, instruction: str
) -> tuple[str, str, list[str]]:
    """Overrule what a weak model made up. An instruction must be something the user said (its
    words are in the question, or both name a form: a language, a length, a list…), not a
    question, and not a ramble; the restated question is only used when there was an
    instruction to strip from it, and only if it stays close to the question."""
    notes: list[str] = []
    limit = max(MIN_PART_CHARS, 2 * len(question))
    if len(instruction) > limit:
        instruction = ""
        notes.append("the model's answer instruction was implausibly long and was ignored")
    elif instruction and not _is_users_instruction(instruction, question):
        instruction = ""
        notes.append("the model's answer instruction was not part of the question and was ignored")
    if not instruction:
        return question, "", notes
    if len(information) > limit or _shared_share(information, question) < MIN_SHARED_SHARE:
        notes.append("the model's restated question strayed from the question; it is not used")
        information = question
    return information or question, instruction, notes


def _is_users_instruction(instruction: str, question: str) -> bool:
    if instruction.rstrip().endswith(("?", "？")):
        return False
    # A translated instruction shares no words with the question, but the question must still
    # say something about the form (weak models invent "中文" for English questions).
    names_a_form = bool(_FORM_WORDS.search(instruction)) and bool(_FORM_WORDS.search(question))
    return names_a_form or _shared_share(instruction, question) >= MIN_SHARED_SHARE


def _shared_share(part: str, question: str) -> float:
    """The share of `part`'s terms that occur in `question` (1.0 for an empty part)."""
    terms = query_terms([part])
    if not terms:
        return 1.0
    return len(terms & query_terms([question])) / len(terms)


def fallback_query(question: str, reason: str) -> ParsedQuestion:
    """Keywords from the question's own words, for when the model's reply is unusable."""
    english, chinese = text_keywords(question)
    return ParsedQuestion(
        question=question,
        information=question,
        instruction="",
        keywords_en=tuple(english),
        keywords_zh=tuple(chinese),
        multi_hop=False,
        method="fallback",
        note=f"{reason}; keywords were taken from the question itself",
        kind=answer_kind(question),
    )


def _text_field(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list):
        return " ".join(str(v) for v in value if isinstance(v, str)).strip()
    return ""


def _keyword_field(data: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    for key in keys:
        if key in data:
            words = string_list(data[key])
            if words:
                return words
    return []
