"""Is an answer grounded in the passages it cites?

Small local models answer from whatever is in front of them and rarely say "not found", so an
answer is only shown as found after two checks:

1. **It answers what was asked.** A question for a year gets a year, one for a number gets a
   number, one asking "when" gets a time. A reply that restates the first hop of a two-hop
   question instead of the year asked for fails here.
2. **Its own facts are in its passages.** The numbers, names and key terms of the answer that the
   question does not already contain must occur in the passages the answer cites. A year or a
   long number that no cited passage holds is invented.

The text checks decide most answers for free. When they cannot — the answer is in another
language than its passage, it paraphrases, it is a bare "yes", or the passage does not name what
the question is about — one short verification read asks the model to copy the sentence that
states the answer; the answer is grounded only if that sentence really is in a cited passage and
carries the answer's facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import cache

from engine.agent import prompts
from engine.agent.citations import (
    CitedAnswer,
    Highlighter,
    cite_support,
    locate_quote,
    strip_marks,
    uncited_blocks,
)
from engine.agent.context import ContextBlock
from engine.agent.events import Citation, Grounding
from engine.agent.jsonreply import boolean, extract_json_object
from engine.agent.keywords import text_keywords
from engine.agent.session import Session
from engine.llm.types import Message
from engine.search.analysis import english_terms
from engine.textforms import match_form

VERIFY_REPLY_TOKENS = 160
MIN_TERM_SUPPORT = 0.5  # share of the answer's own terms its passages must hold
MAX_VERIFY_PASSAGES = 4

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z]{2,}")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_CHINESE_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_CHINESE_DIGIT_RUN_RE = re.compile(r"[〇零一二三四五六七八九]{2,}")


class AnswerForm(Enum):
    """What kind of answer a question asks for, where that is cheap to tell and check."""

    ANY = "any"
    YEAR = "year"
    NUMBER = "number"
    TIME = "time"


_FORM_PATTERNS: tuple[tuple[AnswerForm, re.Pattern[str]], ...] = (
    (
        AnswerForm.YEAR,
        re.compile(
            r"\b(?:what|which)\s+year\b|\byear\s+(?:was|were|did|does|is)\b|"
            r"哪一年|哪年|几几年|什么年份|哪个年份|年份是|何年",
            re.IGNORECASE,
        ),
    ),
    (
        AnswerForm.NUMBER,
        re.compile(
            r"\bhow\s+(?:many|much|long|old|far|tall|high|big|large|heavy|wide|deep)\b|"
            r"多少|多大|多长|多久|多高|多远|多重|多宽|多深|"
            r"几(?:个|次|年|岁|天|位|本|只|条|种|人|家|件|月|周|小时|分钟|公里|米|元|块|张|辆|层)",
            re.IGNORECASE,
        ),
    ),
    (
        AnswerForm.TIME,
        re.compile(
            r"^\s*when\b|\bwhen\s+(?:did|was|were|is|does|do|will|had|has)\b|"
            r"什么时候|何时|哪天|哪一天|几时|几月|哪个月|什么时间",
            re.IGNORECASE,
        ),
    ),
)

_YEAR_RE = re.compile(r"(?<!\d)(?:1[0-9]{3}|20[0-9]{2})(?!\d)|\d{2,4}\s*年")
_NUMBER_WORDS_RE = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|"
    r"seventy|eighty|ninety|hundred|thousand|million|billion|dozen|half|single|once|twice|"
    r"none|no)\b|[〇零一二三四五六七八九十百千万亿两半]",
    re.IGNORECASE,
)
_TIME_WORDS_RE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|"
    r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    r"\b(?:spring|summer|autumn|fall|winter|morning|afternoon|evening|night|noon|midnight|"
    r"dawn|dusk|yesterday|today|tomorrow|ago|before|after|during|until|since|century|decade|"
    r"week|weekend|month|year|season|holiday|christmas|easter)s?\b|"
    r"[年月日号点时春夏秋冬早晚前后]|期间|世纪|周末|假期|节",
    re.IGNORECASE,
)

# Words an answer uses to talk about its sources; they are evidence of nothing.
_ANSWER_FILLER = [
    "document",
    "documents",
    "passage",
    "passages",
    "text",
    "texts",
    "note",
    "notes",
    "source",
    "sources",
    "mention",
    "mentions",
    "mentioned",
    "according",
    "state",
    "states",
    "stated",
    "say",
    "says",
    "said",
    "answer",
    "question",
    "information",
    "provided",
    "given",
    "based",
    "context",
    "found",
    "written",
    "write",
    "writes",
]
_CHINESE_FILLER = ("文档", "提到", "根据", "段落", "资料", "内容", "信息", "回答", "问题", "记载")

# Words a question uses to ask, not to name what it is about, and light verbs a passage says
# in other forms ("come"/"came", "place"/"ordered"): a passage need not contain them.
_LIGHT_VERBS = frozenset(
    {
        *("come", "came", "go", "went", "get", "got", "make", "made", "take", "took", "put"),
        *("keep", "kept", "happen", "happened", "place", "placed", "use", "used", "need"),
        *("needed", "want", "wanted", "like", "say", "said", "tell", "told", "know", "knew"),
        *("think", "see", "saw", "look", "give", "gave", "start", "started", "end", "ended"),
        *("live", "lived", "bring", "brought", "leave", "left"),
    }
)
_ASKING_WORDS = _LIGHT_VERBS | {
    *("year", "years", "date", "time", "day", "month", "number", "amount"),
    *("kind", "sort", "type", "name", "called"),
}
_ASKING_RE = re.compile(
    r"[哪几谁啥]|多少|什么|怎么|怎样|如何|为何|是否|吗|呢|年份|时间|日期|数量|名字"
)


def expected_form(question: str) -> AnswerForm:
    """The form a question asks for; ANY when it is not one that can be checked by text."""
    for form, pattern in _FORM_PATTERNS:
        if pattern.search(question):
            return form
    return AnswerForm.ANY


def gives_form(answer: str, form: AnswerForm) -> bool:
    """True when `answer` contains something of the asked-for form."""
    text = normalize_digits(answer)
    if form is AnswerForm.YEAR:
        return bool(_YEAR_RE.search(text))
    if form is AnswerForm.NUMBER:
        return bool(re.search(r"\d", text) or _NUMBER_WORDS_RE.search(text))
    if form is AnswerForm.TIME:
        return bool(re.search(r"\d", text) or _TIME_WORDS_RE.search(text))
    return True


def normalize_digits(text: str) -> str:
    """`text` in its matched form (full-width "２０２３" is "2023") with runs of two or more
    Chinese digits (一九〇二) written as Arabic digits (1902), so a year matches however either
    side wrote it. Lone 一 stays: it is mostly "one"/"a"."""
    return _CHINESE_DIGIT_RUN_RE.sub(
        lambda m: m.group(0).translate(_CHINESE_DIGITS), match_form(text)
    )


@dataclass(frozen=True)
class AnswerFacts:
    """What an answer claims beyond what the question already says."""

    hard_numbers: tuple[str, ...]  # years and numbers of 3+ digits: invented if no passage has them
    numbers: tuple[str, ...]  # every number of the answer not in the question
    words: tuple[str, ...]  # content words (English, Chinese) not in the question
    latin: bool  # the answer has Latin words
    han: bool  # … or Han characters


def answer_facts(answer: str, question: str) -> AnswerFacts:
    text = normalize_digits(strip_marks(answer))
    asked = normalize_digits(question)
    asked_numbers = set(_numbers(asked))
    numbers = tuple(n for n in dict.fromkeys(_numbers(text)) if n not in asked_numbers)
    hard = tuple(n for n in numbers if len(n.replace(".", "")) >= 3)
    asked_words = {_key(w) for w in content_words(asked)}
    words = tuple(
        w for w in content_words(text) if _key(w) not in asked_words and _key(w) not in _filler()
    )
    return AnswerFacts(
        hard_numbers=hard,
        numbers=numbers,
        words=words,
        latin=bool(_LATIN_RE.search(text)),
        han=bool(_HAN_RE.search(text)),
    )


def content_words(text: str) -> list[str]:
    """English words (stopwords out) and Chinese words (jieba, particles out), numbers excluded."""
    english, chinese = text_keywords(text)
    return [w for w in english if not w[0].isdigit()] + chinese


@cache
def _filler() -> frozenset[str]:
    return frozenset([*(_key(w) for w in _ANSWER_FILLER), *_CHINESE_FILLER])


def _key(word: str) -> str:
    """What two spellings of one word share: an English word's stem as the index stems it
    ("seeds"/"seed", "ordered"/"order"), a Chinese word as it is."""
    if not word.isascii():
        return word
    stems = english_terms(word)
    return stems[0] if stems else word.lower()


def _held(word: str, support: _Support) -> bool:
    if word.isascii():
        return _key(word) in support.stems
    return word in support.text or all(bigram in support.text for bigram in _bigrams(word))


def _bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)] or [word]


@dataclass(frozen=True)
class _Support:
    """The cited passages, normalized for matching."""

    text: str  # digits normalized, lower-cased
    stems: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, passages: Sequence[str]) -> _Support:
        text = normalize_digits("\n".join(passages)).lower()
        return cls(text, frozenset(english_terms(text)), frozenset(_numbers(text)))


def _numbers(text: str) -> list[str]:
    return [n.replace(",", "") for n in _NUMBER_RE.findall(text)]


class TextVerdict(Enum):
    GROUNDED = "grounded"
    NOT_GROUNDED = "not grounded"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class TextCheck:
    verdict: TextVerdict
    reason: str
    missing: tuple[str, ...] = ()  # words of the question the cited passages never mention


def text_check(question: str, answer: str, passages: Sequence[str]) -> TextCheck:
    """The free checks: the answer's form, its numbers and words against its passages, and
    whether the passages are about what the question names."""
    form = expected_form(question)
    if not gives_form(strip_marks(answer), form):
        reason = f"the question asks for a {form.value} and the answer gives none"
        return TextCheck(TextVerdict.NOT_GROUNDED, reason)
    if not passages:
        return TextCheck(TextVerdict.NOT_GROUNDED, "the answer cites no passage")
    facts = answer_facts(answer, question)
    support = _Support.of(passages)
    for number in facts.hard_numbers:
        if number not in support.numbers:
            what = "year" if _YEAR_RE.fullmatch(number) else "number"
            reason = f"the answer's {what} {number} occurs in none of the cited passages"
            return TextCheck(TextVerdict.NOT_GROUNDED, reason)
    if not facts.words and not facts.numbers:
        return TextCheck(TextVerdict.UNDECIDED, "the answer states nothing its passages could show")
    if _other_script(facts, support.text):
        return TextCheck(
            TextVerdict.UNDECIDED, "the answer is written in another language than its passages"
        )
    held = [w for w in facts.words if _held(w, support)]
    held += [n for n in facts.numbers if n in support.numbers]
    claimed = len(facts.words) + len(facts.numbers)
    if len(held) < MIN_TERM_SUPPORT * claimed:
        reason = f"only {len(held)} of the answer's {claimed} own words occur in its passages"
        return TextCheck(TextVerdict.UNDECIDED, reason)
    missing = tuple(w for w in _named_words(question) if not _held(w, support))
    if missing:
        named = ", ".join(f"“{w}”" for w in missing[:3])
        return TextCheck(
            TextVerdict.UNDECIDED, f"the cited passages do not mention {named}", missing
        )
    return TextCheck(TextVerdict.GROUNDED, "the answer's facts occur in the cited passages")


def _named_words(question: str) -> list[str]:
    """The question's words that name what it is about (not how it asks)."""
    return [
        w
        for w in content_words(normalize_digits(question))
        if w.lower() not in _ASKING_WORDS and not (not w.isascii() and _ASKING_RE.search(w))
    ]


def _other_script(facts: AnswerFacts, support: str) -> bool:
    """True when the answer's words cannot be compared with the passages' words."""
    han = len(_HAN_RE.findall(support))
    latin = len(_LATIN_RE.findall(support))
    passages_chinese = han > 2 * latin
    if facts.han and passages_chinese:
        return False
    if facts.latin and not facts.han:
        return passages_chinese
    return facts.han and not passages_chinese


# ---------------------------------------------------------------- the verification read


@dataclass(frozen=True)
class Verification:
    grounded: bool
    reason: str
    quote: str = ""  # the supporting sentence, as the passage spells it
    passage: int = -1  # index of the passage that holds it


def verification_from_reply(
    reply: str, question: str, answer: str, passages: Sequence[str]
) -> Verification:
    """Judge the verification read's reply: a quote that is really in a passage, that the model
    says supports the answer, and that carries the answer's facts."""
    data = extract_json_object(reply)
    if data is None:
        return Verification(False, "the verification read gave no usable reply")
    quote = data.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        return Verification(False, "the verification read found no sentence stating the answer")
    for index, passage in enumerate(passages):
        span = locate_quote(passage, quote)
        if span is None:
            continue
        located = passage[span[0] : span[1]]
        if not boolean(data.get("supported"), default=False):
            return Verification(
                False, "the verification read says the cited passages do not state the answer"
            )
        missing = _facts_missing_from(located, question, answer)
        if missing:
            return Verification(False, f"the supporting sentence does not contain {missing}")
        return Verification(
            True, "a verification read found the sentence stating it", located, index
        )
    return Verification(False, "the verification read quoted a sentence that is in no passage")


def _facts_missing_from(sentence: str, question: str, answer: str) -> str:
    """A hard number of the answer that the supporting sentence lacks; "" when none is."""
    facts = answer_facts(answer, question)
    numbers = set(_numbers(normalize_digits(sentence)))
    for number in facts.hard_numbers:
        if number not in numbers:
            return number
    return ""


def numbers_missing(answer: str, text: str) -> bool:
    """True when `answer` holds a year or long number that `text` does not."""
    present = set(_numbers(normalize_digits(text)))
    return any(n not in present for n in answer_facts(answer, "").hard_numbers)


# ---------------------------------------------------------------- the check, as the agent runs it


def ground_answer(
    session: Session,
    *,
    level: int,
    question: str,
    answer: str,
    citations: Sequence[Citation],
    notes: Mapping[str, str] | None = None,
    uncited: Sequence[Citation] = (),
) -> Grounding:
    """Check `answer` against the chunks it cites; emits and returns the Grounding event.
    `notes` are what a Level-2 read of a cited chunk said it answers (chunk id -> short answer, in
    the question's language): they bridge an answer and a passage in different languages.
    `uncited` are the other chunks the answer was written from. A small model often cites the
    wrong one of them; when the cited passages do not carry the answer but these do, the
    verification read looks at them too, and a sentence found there grounds the answer with that
    chunk as its support (`Grounding.support_chunk_id`: the caller cites it)."""
    passages = [c.text for c in citations]
    readings = [notes[c.chunk_id] for c in citations if notes and notes.get(c.chunk_id)]
    check = text_check(question, answer, passages + readings)
    candidates = list(citations)
    if check.verdict is not TextVerdict.GROUNDED and uncited:
        wider = text_check(question, answer, passages + readings + [c.text for c in uncited])
        if wider.verdict is not TextVerdict.NOT_GROUNDED:
            check = TextCheck(TextVerdict.UNDECIDED, check.reason, wider.missing)
            candidates += uncited
    if check.verdict is TextVerdict.UNDECIDED and candidates:
        texts = [c.text for c in candidates]
        verification = _verify(session, question, answer, texts, check.missing)
        support = ""
        if verification.grounded and verification.passage >= len(citations):
            support = candidates[verification.passage].chunk_id
        event = Grounding(
            level, verification.grounded, verification.reason, "verify", answer, support
        )
    else:
        grounded = check.verdict is TextVerdict.GROUNDED
        event = Grounding(level, grounded, check.reason, "text", answer)
    session.emit(event)
    return event


def ground_cited(
    session: Session,
    *,
    level: int,
    question: str,
    cited: CitedAnswer,
    blocks: Sequence[ContextBlock],
    highlighter: Highlighter,
    notes: Mapping[str, str] | None = None,
) -> tuple[CitedAnswer, Grounding]:
    """`ground_answer` for an answer written from `blocks`: the blocks it does not cite are the
    other passages it may rest on, and one found stating it is cited too."""
    uncited = uncited_blocks(blocks, cited, highlighter)
    grounding = ground_answer(
        session,
        level=level,
        question=question,
        answer=cited.text,
        citations=cited.citations,
        notes=notes,
        uncited=uncited,
    )
    return cite_support(cited, uncited, grounding.support_chunk_id), grounding


def _verify(
    session: Session,
    question: str,
    answer: str,
    passages: Sequence[str],
    missing: Sequence[str] = (),
) -> Verification:
    """One short model call over the cited passages (as many as fit, best first). Words of the
    question the passages never mention are pointed out: a passage about a similar thing (the
    greenhouse's code, asked for the boathouse's) is the commonest wrong support."""
    kept, positions = _fitting(session, question, answer, list(passages[:MAX_VERIFY_PASSAGES]))
    reply = session.chat(
        verify_messages(question, answer, kept, missing),
        purpose="verify",
        json_schema=prompts.VERIFY_SCHEMA,
        max_tokens=VERIFY_REPLY_TOKENS,
    )
    verification = verification_from_reply(reply.content, question, answer, kept)
    if verification.passage >= 0:  # an index into `passages`, not into what fitted
        verification = replace(verification, passage=positions[verification.passage])
    return verification


def _fitting(
    session: Session, question: str, answer: str, passages: list[str]
) -> tuple[list[str], list[int]]:
    """The passages that fit the verification prompt, and where each stood in `passages`."""
    empty = session.budget.prompt_tokens(verify_messages(question, answer, [], ["x" * 40]))
    room = session.budget.limit - empty
    fitted = session.budget.fit(passages, room, per_item_overhead=16)
    return fitted.texts, list(fitted.indices)


def verify_messages(
    question: str, answer: str, passages: Sequence[str], missing: Sequence[str] = ()
) -> list[Message]:
    blocks = [
        prompts.DocumentBlock(number, f"passage {number}", text)
        for number, text in enumerate(passages, start=1)
    ]
    return prompts.verify_messages(blocks, question, strip_marks(answer), tuple(missing[:3]))
