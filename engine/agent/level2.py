"""Level 2 — reading a scope chunk by chunk, in ranked waves.

The scope's chunks are ranked (Level 1's own context first when auto escalates, then a broad BM25
query; a scope that fits the read budget is read whole, best-matching chunks first) and read in
waves of growing size (8, 24, 72, … up to `settings.read_budget`, a ceiling rather than a target).
Each read is one model call that copies the sentences stating the answer, gives the short answer
they contain and grades the passage: "answers", "related" or "no" (most passages do not). Only an
"answers" grade whose quotes really are in the passage counts as evidence.

After a wave that found new evidence, the quotes re-query BM25 (their neighbours join the next
wave) and an answer is drafted from the evidence and checked against its passages
(engine/agent/grounding.py). How far reading goes depends on what the question asks for
(engine/agent/parse.py AnswerKind): one fact — stop at the first grounded answer; several
things — stop when a wave adds nothing new, then answer; everything ("list all …",
"summarize …") — read the whole ceiling, then answer. Any reading also stops after
FRUITLESS_WAVES waves in a row found nothing new. Verdicts are cached, so asking again costs no
reads."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from engine.agent import prompts
from engine.agent.answering import context_room, write_answer
from engine.agent.citations import (
    cite_blocks,
    locate_quote,
    quote_highlighter,
)
from engine.agent.context import (
    ContextBlock,
    PackResult,
    pack_context,
    short_source,
)
from engine.agent.events import (
    ChunkVerdict,
    EvidencePicked,
    Hits,
    QueryExpanded,
    ScopeChosen,
    WaveStarted,
)
from engine.agent.grounding import ground_cited, numbers_missing
from engine.agent.jsonreply import extract_json_object, string_list
from engine.agent.keywords import is_chinese, text_keywords
from engine.agent.level1 import retrieve
from engine.agent.outcome import LevelOutcome, closest, hit_ref, hit_refs, keyword_spans
from engine.agent.parse import AnswerKind
from engine.agent.scope import Scope
from engine.agent.session import READ_PURPOSE, Session
from engine.agent.verdict_cache import Verdict, VerdictCache, verdict_key
from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.lang import split_sentences
from engine.models import SearchHit

READ_REPLY_TOKENS = 200
EXPAND_REPLY_TOKENS = 160
PICK_GROUP = 8  # claimed sentences shown side by side in one pick call
PICK_REPLY_TOKENS = 40
FIRST_WAVE = 8
WAVE_GROWTH = 3  # 8, 24, 72, 216 …
FRUITLESS_WAVES = 3  # waves in a row without new evidence before the reading gives up
REQUERY_LIMIT = 20
EVIDENCE_SHARE = 3  # quotes may take at most 1/3 of the context room
WHOLE_PASSAGE_SHARE = 0.5  # a "quote" longer than this share of its chunk is no evidence


@dataclass(frozen=True)
class ReadResult:
    hit: SearchHit
    verdict: Verdict
    cached: bool


@dataclass(frozen=True)
class Question:
    """What Level 2 reads for: the question, how the answer should look, and what kind."""

    text: str
    instruction: str = ""
    keywords: tuple[str, ...] = ()
    kind: AnswerKind = AnswerKind.FACT


@dataclass
class Reading:
    """The state of one reading: the ranked queue, what was read, what it found."""

    queue: deque[SearchHit]
    ceiling: int
    results: list[ReadResult] = field(default_factory=list)
    read_ids: set[str] = field(default_factory=set)
    requeried: list[SearchHit] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)  # claimed to answer, not picked as evidence

    @property
    def read(self) -> int:
        return len(self.results)

    def next_wave(self, size: int) -> list[SearchHit]:
        wave: list[SearchHit] = []
        while self.queue and len(wave) < size and self.read + len(wave) < self.ceiling:
            hit = self.queue.popleft()
            if hit.chunk_id not in self.read_ids:
                self.read_ids.add(hit.chunk_id)
                wave.append(hit)
        return wave

    def promote(self, hits: Sequence[SearchHit]) -> None:
        """Chunks the quotes led to are read next (those already read or queued first stay)."""
        fresh = [h for h in hits if h.chunk_id not in self.read_ids]
        queued = {h.chunk_id for h in fresh}
        rest = [h for h in self.queue if h.chunk_id not in queued]
        self.queue = deque([*fresh, *rest])

    def evidence(self) -> list[ReadResult]:
        return [r for r in self.results if r.verdict.relevant and r.hit.chunk_id not in self.passed]

    def related(self) -> list[ReadResult]:
        """About the question's subject: graded so, or claimed as an answer but passed over."""
        return [
            r
            for r in self.results
            if r.verdict.related or (r.verdict.relevant and r.hit.chunk_id in self.passed)
        ]


def run_level2(
    session: Session,
    question: Question,
    scope: Scope,
    cache: VerdictCache,
    *,
    stream: bool = True,
    first: Sequence[SearchHit] = (),
    patience: int = FRUITLESS_WAVES,
    expand: bool = True,
) -> LevelOutcome:
    """Read the scope for `question` in waves and answer from what was found. `first` are chunks
    to read before any other (Level 1's context when auto escalates); `patience` is how many
    waves in a row may find nothing before the reading gives up; `expand` lets a prefiltered
    scope add a model-imagined answer sentence to its query. All readings of one question share
    `settings.read_budget`."""
    allowance = session.settings.read_budget - session.reads
    if allowance <= 0:
        return _not_found(question.text, (), spent=session.settings.read_budget)
    candidates = choose_candidates(session, question, scope, first, expand=expand)
    if not candidates:
        return _not_found(question.text, ())
    reading = Reading(deque(candidates), ceiling=min(len(candidates), allowance))
    draft: LevelOutcome | None = None
    fruitless = 0
    for number, size in enumerate(wave_sizes(len(first)), start=1):
        wave = reading.next_wave(size) if not session.stop_reading.cancelled else []
        if not wave:
            break
        reason = _wave_reason(number, draft, question.kind, bool(reading.evidence()))
        session.emit(WaveStarted(number, len(wave), reading.read, reading.ceiling, reason))
        results = read_candidates(session, wave, question.text, cache, reading)
        if session.stop_reading.cancelled:
            break  # the user wants the answer now: no pick call, no more waves
        pick_evidence(session, question, reading, [r for r in results if r.verdict.relevant])
        found_more = any(
            r.hit.chunk_id not in reading.passed for r in results if r.verdict.relevant
        )
        fruitless = 0 if found_more else fruitless + 1
        if found_more:
            reading.promote(_requery(session, reading, scope))
        if question.kind is AnswerKind.FACT and found_more:
            draft = _answer(session, question, reading, scope, stream)
            if draft.grounded:
                return draft
        elif question.kind is AnswerKind.LIST and not found_more and reading.evidence():
            return _answer(session, question, reading, scope, stream)
        if question.kind is not AnswerKind.ALL and fruitless >= patience:
            break
    if session.stop_reading.cancelled:
        return _stopped(session, question, reading, scope, stream)
    if question.kind is not AnswerKind.FACT and reading.evidence():
        return _answer(session, question, reading, scope, stream)
    return draft or _not_found(question.text, _closest(reading))


def _stopped(
    session: Session, question: Question, reading: Reading, scope: Scope, stream: bool
) -> LevelOutcome:
    """The user stopped the reading: one answer from the quotes kept so far, grounded as any
    other, marked as coming from a partial reading."""
    if reading.evidence():
        outcome = _answer(session, question, reading, scope, stream)
    else:
        outcome = _not_found(question.text, _closest(reading))
        outcome = replace(
            outcome,
            grounding=f"the reading was stopped after {reading.read} passages, "
            "before any of them stated the answer",
        )
    return replace(outcome, partial=True)


def wave_sizes(first: int = 0) -> list[int]:
    """8, 24, 72, … (the reading stops at its ceiling); a first wave of Level 1's own hits keeps
    their number."""
    sizes = [first or FIRST_WAVE]
    while sum(sizes) < 100_000:
        sizes.append(max(FIRST_WAVE, sizes[-1]) * WAVE_GROWTH)
    return sizes


def _wave_reason(
    number: int, draft: LevelOutcome | None, kind: AnswerKind, has_evidence: bool
) -> str:
    if number == 1:
        return "reading the best-ranked passages first"
    if kind is AnswerKind.ALL:
        return "the question asks for everything on its subject: reading the whole scope"
    if kind is AnswerKind.LIST and has_evidence:
        return "the question asks for several things and the last wave found more"
    if draft is None:
        return "no passage read so far states the answer"
    return f"the answer so far is not grounded: {draft.grounding}"


def _not_found(question: str, related: Sequence[SearchHit], spent: int = 0) -> LevelOutcome:
    reply = prompts.no_documents_reply(is_chinese(question))
    why = (
        f"this question's read budget of {spent} passages is spent"
        if spent
        else "no passage read states the answer"
    )
    return LevelOutcome(
        2,
        reply,
        (),
        found=False,
        nothing_matched=True,
        grounding=why,
        candidates=closest(related),
    )


def _closest(reading: Reading) -> list[SearchHit]:
    """The passages that came closest: those graded "related" (about the question's subject)."""
    return [r.hit for r in reading.related()]


# ---------------------------------------------------------------- choosing what to read


def choose_candidates(
    session: Session,
    question: Question,
    scope: Scope,
    first: Sequence[SearchHit] = (),
    *,
    expand: bool = False,
) -> list[SearchHit]:
    """The ranked chunks this reading may read, at most `settings.read_budget`: `first`, then the
    scope's chunks best-matching first (a scope within the budget is read whole). A scope larger
    than the budget is prefiltered by BM25 on the keywords and the question's words, plus (when
    `expand`) a model-imagined answer sentence in both languages and its synonyms: on a 1.1M-token
    library that put 26 instead of 24 of 32 planted facts among the first 24 candidates (mostly
    facts written in the other language). Emits ScopeChosen (and Hits for the prefilter)."""
    budget = session.settings.read_budget
    total = session.index.count(scope.filters)
    english, chinese = text_keywords(question.text)
    terms = list(dict.fromkeys([*question.keywords, *english, *chinese]))
    if total <= budget:
        ranked = retrieve(session, terms, scope.filters, total, "prefilter") if total else []
        rest = session.index.scope_chunks(scope.filters) if total > len(ranked) else []
        candidates = _ranked_union(first, ranked, rest)[:budget]
        session.emit(ScopeChosen(scope.description, total, len(candidates), prefiltered=False))
        return candidates
    if expand:
        terms += expansion_terms(session, question.text)
    ranked = retrieve(session, terms, scope.filters, budget, "prefilter")
    candidates = _ranked_union(first, ranked)[:budget]
    session.emit(ScopeChosen(scope.description, total, len(candidates), prefiltered=True))
    return candidates


def expansion_terms(session: Session, question: str) -> list[str]:
    """One short call: the sentence a note answering `question` might contain, in English and
    Chinese, and other words for what it names. Nothing when the reply is unusable."""
    reply = session.chat(
        prompts.request_messages(prompts.EXPAND_SYSTEM, question),
        purpose="expand",
        json_schema=prompts.EXPAND_SCHEMA,
        max_tokens=EXPAND_REPLY_TOKENS,
    )
    data = extract_json_object(reply.content) or {}
    sentence_en = " ".join(str(data.get("sentence_en") or "").split())
    sentence_zh = " ".join(str(data.get("sentence_zh") or "").split())
    synonyms = tuple(string_list(data.get("synonyms"))[: prompts.MAX_SYNONYMS])
    session.emit(QueryExpanded(sentence_en, sentence_zh, synonyms))
    return [text for text in (sentence_en, sentence_zh, *synonyms) if text]


def _ranked_union(*rankings: Sequence[SearchHit]) -> list[SearchHit]:
    seen: set[str] = set()
    union: list[SearchHit] = []
    for ranking in rankings:
        for hit in ranking:
            if hit.chunk_id not in seen:
                seen.add(hit.chunk_id)
                union.append(hit)
    return union


# ---------------------------------------------------------------- reading, in parallel


def read_candidates(
    session: Session, wave: list[SearchHit], question: str, cache: VerdictCache, reading: Reading
) -> list[ReadResult]:
    """Verdicts for one wave, emitted as ChunkVerdict events in completion order and added to
    `reading`. Cached verdicts cost no call. On cancellation or error no further read is started
    and the ones in flight are aborted through a child token; when the user stops the reading
    (session.stop_reading) the same happens, and the verdicts already in are returned."""
    before = reading.read
    to_read: deque[SearchHit] = deque()
    reader = session.model_for(READ_PURPOSE).name  # verdicts are the reading model's
    for hit in wave:
        cached = cache.get(verdict_key(hit.text, question, reader))
        if cached is None:
            to_read.append(hit)
        else:
            _record(session, reading, ReadResult(hit, cached, cached=True))
    if to_read:
        reads = CancelToken()
        unlink = session.cancel.on_cancel(reads.cancel)
        unlink_stop = session.stop_reading.on_cancel(reads.cancel)
        started = time.monotonic()
        try:
            _read_in_pool(session, to_read, question, cache, reads, reading)
        except Cancelled:
            if session.cancel.cancelled or not session.stop_reading.cancelled:
                raise
        finally:
            unlink()
            unlink_stop()
            session.add_time("read", time.monotonic() - started)
    return reading.results[before:]


def _read_in_pool(
    session: Session,
    to_read: deque[SearchHit],
    question: str,
    cache: VerdictCache,
    reads: CancelToken,
    reading: Reading,
) -> None:
    workers = session.read_concurrency
    reader = session.model_for(READ_PURPOSE).name
    running: dict[Future[Verdict], SearchHit] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="needle-read")
    try:
        while to_read or running:
            while to_read and len(running) < workers and not reads.cancelled:
                hit = to_read.popleft()
                running[pool.submit(read_chunk, session, hit, question, reads)] = hit
            if reads.cancelled:
                raise Cancelled()
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                hit = running.pop(future)
                verdict = future.result()  # a failed read stops the whole reading
                cache.put(verdict_key(hit.text, question, reader), verdict)
                _record(session, reading, ReadResult(hit, verdict, cached=False))
    except BaseException:
        reads.cancel()  # abort the reads still in flight
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    session.cancel.raise_if_cancelled()


def _record(session: Session, reading: Reading, result: ReadResult) -> None:
    reading.results.append(result)
    reading.read_ids.add(result.hit.chunk_id)
    session.emit(
        ChunkVerdict(
            chunk=hit_ref(result.hit),
            relevant=result.verdict.relevant,
            quotes=result.verdict.quotes,
            done=reading.read,
            total=reading.ceiling,
            cached=result.cached,
            grade=result.verdict.grade,
            answer=result.verdict.answer,
        )
    )


def read_chunk(session: Session, hit: SearchHit, question: str, cancel: CancelToken) -> Verdict:
    """One model call judging one chunk."""
    text = _fit_chunk_text(session, hit, question)
    block = prompts.DocumentBlock(
        1, short_source(hit.path), text, hit.page, " > ".join(hit.heading)
    )
    reply = session.chat(
        prompts.read_messages(block, question),
        purpose=READ_PURPOSE,
        json_schema=prompts.VERDICT_SCHEMA,
        max_tokens=READ_REPLY_TOKENS,
        cancel=cancel,
    )
    return verdict_from_reply(reply.content, hit.text)


def _fit_chunk_text(session: Session, hit: SearchHit, question: str) -> str:
    """The chunk text, cut at a sentence when (rarely) it would not fit beside the prompt."""
    empty = prompts.read_messages(prompts.DocumentBlock(1, hit.path, ""), question)
    room = session.budget.limit - session.budget.prompt_tokens(empty)
    return session.budget.truncate(hit.text, max(room, 0))


def verdict_from_reply(reply: str, chunk_text: str) -> Verdict:
    """Parse a verdict and decide what of it to trust. Quotes are kept only as the chunk spells
    them (invented ones are dropped, and so is a "quote" that is most of the passage: small
    models copy it all). A passage counts as answering only when the model graded it so AND a
    real quote backs the grade AND the short answer's numbers are in that quote; otherwise the
    best it can be is "related"."""
    data = extract_json_object(reply)
    if data is None:
        return Verdict(False)
    grade = _grade(data)
    answer = " ".join(str(data.get("answer") or "").split())[:200]
    offered = string_list(data.get("quotes")) or string_list(data.get("quote"))
    located = [text for text in (_located(chunk_text, q) for q in offered) if text]
    quotes = tuple(text for text in dict.fromkeys(located) if not _most_of(text, chunk_text))[
        : prompts.MAX_READ_QUOTES
    ]
    if grade == "answers" and (not quotes or numbers_missing(answer, " ".join(quotes))):
        grade = "related"
    if grade == "no":
        return Verdict(False, (), "no", "")
    return Verdict(grade == "answers", quotes, grade, answer if grade == "answers" else "")


def _grade(data: dict[str, object]) -> str:
    value = str(data.get("verdict") or "").strip().lower()
    if value in prompts.VERDICT_GRADES:
        return value
    if value in ("yes", "true", "answer", "answered", "relevant"):
        return "answers"
    if "relat" in value or "partial" in value:
        return "related"
    relevant = data.get("relevant")  # an older reply shape some models fall back to
    return "answers" if relevant is True else "no"


def _located(chunk_text: str, quote: str) -> str:
    span = locate_quote(chunk_text, quote)
    return chunk_text[span[0] : span[1]] if span else ""


def _most_of(quote: str, chunk_text: str) -> bool:
    """A "quote" of more than two sentences, or of most of the passage, points at nothing in
    particular: the read prompt asks for the sentence (at most two) that states the answer.
    (Measured with the 1.5B model: a non-answering passage "answered" with a four-sentence
    quote of its opening.)"""
    sentences = len(split_sentences(quote))
    return sentences > prompts.MAX_READ_QUOTES or (
        sentences > 1 and len(quote) > WHOLE_PASSAGE_SHARE * len(chunk_text)
    )


# ---------------------------------------------------------------- trusting the claims


def pick_evidence(
    session: Session, question: Question, reading: Reading, claims: list[ReadResult]
) -> None:
    """A small model reading one passage at a time claims most passages answer (the 1.5B: 16 of
    16 passages of one essay, one of which did). Shown the claimed sentences side by side, it
    picks the one that answers (16 claims -> the needle and one other). So when a wave brings
    several claims, one call picks which to trust; the rest count as related. A single claim is
    kept: asked about one sentence alone, the same model rejected the real answer."""
    if len(claims) < 2:
        return
    kept: list[ReadResult] = []
    for start in range(0, len(claims), PICK_GROUP):
        group = claims[start : start + PICK_GROUP]
        kept.extend(_picked(session, question, group))
    chosen = {r.hit.chunk_id for r in kept}
    reading.passed.update(r.hit.chunk_id for r in claims if r.hit.chunk_id not in chosen)
    session.emit(EvidencePicked(len(claims), hit_refs([r.hit for r in kept], len(kept))))


def _picked(session: Session, question: Question, group: list[ReadResult]) -> list[ReadResult]:
    claims = [(" ".join(r.verdict.quotes), r.verdict.answer) for r in group]
    reply = session.chat(
        prompts.pick_messages(question.text, claims),
        purpose="pick",
        json_schema=prompts.pick_schema(len(group)),
        max_tokens=PICK_REPLY_TOKENS,
    )
    data = extract_json_object(reply.content)
    if data is None:
        return group  # an unusable reply decides nothing: keep the claims as they were
    numbers = {n for n in _integers(data.get("answering")) if 1 <= n <= len(group)}
    return [r for n, r in enumerate(group, start=1) if n in numbers]


def _integers(value: object) -> list[int]:
    items = value if isinstance(value, list) else [value]
    numbers: list[int] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.append(item)
        elif isinstance(item, str) and item.strip().strip("[]").isdigit():
            numbers.append(int(item.strip().strip("[]")))
    return numbers


# ---------------------------------------------------------------- re-query and the answer


def _requery(session: Session, reading: Reading, scope: Scope) -> list[SearchHit]:
    quotes = [q for r in reading.evidence() for q in r.verdict.quotes]
    if not quotes:
        return []
    hits = retrieve(session, quotes, scope.filters, REQUERY_LIMIT, "requery")
    known = {r.hit.chunk_id for r in reading.results} | {h.chunk_id for h in reading.requeried}
    reading.requeried.extend(h for h in hits if h.chunk_id not in known)
    return hits


def _answer(
    session: Session, question: Question, reading: Reading, scope: Scope, stream: bool
) -> LevelOutcome:
    """Draft an answer from the evidence so far and check it against its passages."""
    evidence = _in_rank_order(reading, reading.evidence())
    quotes_by_chunk = {r.hit.chunk_id: r.verdict.quotes for r in evidence if r.verdict.quotes}
    short_answers = {r.hit.chunk_id: r.verdict.answer for r in evidence if r.verdict.answer}
    ranked = [r.hit for r in evidence] + reading.requeried + [r.hit for r in reading.related()]
    blocks, evidence_text = _build_context(
        session, question.text, question.instruction, ranked, quotes_by_chunk
    )
    draft = write_answer(
        session, blocks, question.text, question.instruction, evidence=evidence_text, stream=stream
    )
    if not draft.found:
        return LevelOutcome(
            2,
            draft.text,
            (),
            found=False,
            grounding="the answer said the passages read do not answer the question",
            candidates=closest([r.hit for r in evidence], question.keywords),
        )
    terms = list(question.keywords) or [question.text]
    highlighter = quote_highlighter(quotes_by_chunk, lambda hit: keyword_spans(hit.text, terms))
    cited, grounding = ground_cited(
        session,
        level=2,
        question=question.text,
        cited=cite_blocks(draft.text, blocks, highlighter),
        blocks=blocks,
        highlighter=highlighter,
        notes=short_answers,
    )
    return LevelOutcome(
        2,
        cited.text,
        cited.citations,
        True,
        cited.inferred,
        grounded=grounding.grounded,
        grounding=grounding.reason,
        candidates=closest([r.hit for r in evidence], question.keywords),
    )


def _in_rank_order(reading: Reading, results: list[ReadResult]) -> list[ReadResult]:
    position = {r.hit.chunk_id: i for i, r in enumerate(reading.results)}
    return sorted(results, key=lambda r: position.get(r.hit.chunk_id, len(position)))


def _build_context(
    session: Session,
    question: str,
    instruction: str,
    ranked: list[SearchHit],
    quotes_by_chunk: dict[str, tuple[str, ...]],
) -> tuple[list[ContextBlock], str]:
    """Blocks for the evidence, re-queried and related chunks, plus the <evidence> section. A
    quoted chunk that does not fit whole is still represented by a small block of its quotes."""
    quote_hits = {h.chunk_id: h for h in ranked if h.chunk_id in quotes_by_chunk}
    quotes_by_chunk = _cap_quotes(session, question, instruction, quotes_by_chunk)
    draft_evidence = _evidence(quotes_by_chunk, {cid: 999 for cid in quotes_by_chunk})
    room = context_room(session, question, instruction, draft_evidence)
    # Compression's strongest form here: what the readers quoted decides which sentences of the
    # other chunks matter, and the chunks that state the answer stay whole.
    quoted = [q for quotes in quotes_by_chunk.values() for q in quotes]
    compress_for = [question, *quoted] if session.options.compress_context else []
    reserve = 0
    packed: PackResult | None = None
    blocks: list[ContextBlock] = []
    for _ in range(4):
        packed = pack_context(
            ranked,
            max(room - reserve, 0),
            compress_for=compress_for,
            count=session.budget.tokens,
            keep_whole=frozenset(quotes_by_chunk),
        )
        blocks = _with_quote_blocks(packed.blocks, quotes_by_chunk, quote_hits)
        needed = sum(
            session.budget.tokens(prompts.render_document(b.document())) + 1 for b in blocks
        )
        if needed <= room:
            break
        reserve += needed - room
    numbers = {cid: b.number for b in blocks for cid in b.chunk_ids}
    context_hits = [h for b in blocks for h in b.hits]
    session.emit(Hits("context", hit_refs(context_hits, len(context_hits)), total=len(ranked)))
    return blocks, _evidence(quotes_by_chunk, numbers)


def _with_quote_blocks(
    packed: list[ContextBlock],
    quotes_by_chunk: dict[str, tuple[str, ...]],
    quote_hits: dict[str, SearchHit],
) -> list[ContextBlock]:
    present = {cid for b in packed for cid in b.chunk_ids}
    blocks = list(packed)
    for chunk_id, quotes in quotes_by_chunk.items():
        if chunk_id not in present and chunk_id in quote_hits:
            blocks.append(
                ContextBlock(
                    number=len(blocks) + 1,
                    hits=(quote_hits[chunk_id],),
                    text=" … ".join(quotes),
                    note="quoted sentences only",
                )
            )
    return blocks


def _cap_quotes(
    session: Session, question: str, instruction: str, quotes_by_chunk: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Keep quotes (best chunks first) until they take a third of the context room."""
    room = context_room(session, question, instruction) // EVIDENCE_SHARE
    kept: dict[str, tuple[str, ...]] = {}
    spent = 0
    for chunk_id, quotes in quotes_by_chunk.items():
        chosen: list[str] = []
        for quote in quotes:
            cost = 2 * (session.budget.tokens(quote) + 4)  # once in evidence, once in a block
            if spent + cost > room:
                break
            chosen.append(quote)
            spent += cost
        if chosen:
            kept[chunk_id] = tuple(chosen)
    return kept


def _evidence(quotes_by_chunk: dict[str, tuple[str, ...]], numbers: dict[str, int]) -> str:
    pairs = [
        (numbers[cid], quote)
        for cid, quotes in quotes_by_chunk.items()
        if cid in numbers
        for quote in quotes
    ]
    return prompts.evidence_section(pairs) if pairs else ""
