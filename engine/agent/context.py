"""Packing retrieved chunks into the tokens a prompt has left for context.

Best chunks are chosen first (the order the caller ranked them), adjacent chunks of one document
are merged into one block, and the final context is ordered by document position so the model
reads each document's evidence in its natural order. Optionally each chunk is compressed first:
sentences that share nothing with the question are dropped so more evidence fits (the FlexRAG
idea); `measure_compression` reports what that gains on a given retrieval."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from engine.agent.keywords import ENGLISH_STOPWORDS
from engine.agent.prompts import DocumentBlock, render_document
from engine.lang import CJK_CHAR, split_sentences
from engine.models import SearchHit
from engine.textforms import match_form
from engine.tokens import estimate_tokens

MIN_USEFUL_TOKENS = 40  # below this, no chunk is worth trying to squeeze in
OCR_NOTE = "read from a scanned image by OCR; a character may be misread"
GAP_MARK = " … "

_LATIN_RE = re.compile(r"[A-Za-z0-9]+")
_CJK_RUN_RE = re.compile(f"[{CJK_CHAR}]+")


@dataclass(frozen=True)
class ContextBlock:
    """Consecutive chunks of one document, as one numbered block of the prompt."""

    number: int
    hits: tuple[SearchHit, ...]  # in document order
    text: str  # what the model reads (merged, maybe compressed)
    note: str = ""

    @property
    def first(self) -> SearchHit:
        return self.hits[0]

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        return tuple(h.chunk_id for h in self.hits)

    def document(self) -> DocumentBlock:
        return DocumentBlock(
            number=self.number,
            source=short_source(self.first.path),
            text=self.text,
            page=self.first.page,
            heading=" > ".join(self.first.heading),
            note="; ".join(note for note in (self.note, self._ocr_note()) if note),
        )

    def _ocr_note(self) -> str:
        """The model should know a passage was read off a scan: a digit may be misread."""
        return OCR_NOTE if any(hit.ocr for hit in self.hits) else ""


@dataclass
class PackResult:
    blocks: list[ContextBlock]
    tokens: int  # estimated tokens of the rendered blocks
    considered: int  # hits offered
    packed_chunks: int  # hits that made it in
    compressed: bool = False
    dropped_ids: list[str] = field(default_factory=list)


def short_source(path: str) -> str:
    """The last two parts of a path: enough to tell files apart, cheap in tokens."""
    parts = PurePath(path).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else path


def pack_context(
    ranked_hits: Sequence[SearchHit],
    budget_tokens: int,
    *,
    compress_for: Sequence[str] = (),
    first_number: int = 1,
    count: Callable[[str], int] = estimate_tokens,
    keep_whole: frozenset[str] = frozenset(),
) -> PackResult:
    """Choose hits best-first until `budget_tokens` is spent, merge neighbours, order by
    position. `compress_for` (question words and keywords) turns sentence compression on;
    `count` is the budget's token counter (PromptBudget.tokens); chunks in `keep_whole` (Level
    2's evidence) are never compressed."""
    texts = {
        h.chunk_id: h.text if h.chunk_id in keep_whole else _chunk_text(h, compress_for)
        for h in _unique(ranked_hits)
    }
    chosen: list[SearchHit] = []
    spent = 0
    dropped: list[str] = []
    for hit in _unique(ranked_hits):
        if budget_tokens - spent < MIN_USEFUL_TOKENS:
            dropped.append(hit.chunk_id)
            continue
        cost = _block_cost(hit, texts[hit.chunk_id], count)
        if spent + cost > budget_tokens:
            dropped.append(hit.chunk_id)
            continue
        chosen.append(hit)
        spent += cost
    blocks = _blocks(chosen, texts, first_number)
    # Merging only removes block overhead, but an estimate is not perfectly additive: verify.
    while blocks and rendered_tokens(blocks, count) > budget_tokens:
        dropped.append(chosen.pop().chunk_id)
        blocks = _blocks(chosen, texts, first_number)
    return PackResult(
        blocks=blocks,
        tokens=rendered_tokens(blocks, count),
        considered=len(texts),
        packed_chunks=len(chosen),
        compressed=bool(compress_for),
        dropped_ids=dropped,
    )


def rendered_tokens(
    blocks: Iterable[ContextBlock], count: Callable[[str], int] = estimate_tokens
) -> int:
    return sum(count(render_document(b.document())) + 1 for b in blocks)


def _unique(hits: Sequence[SearchHit]) -> list[SearchHit]:
    seen: set[str] = set()
    unique: list[SearchHit] = []
    for hit in hits:
        if hit.chunk_id not in seen:
            seen.add(hit.chunk_id)
            unique.append(hit)
    return unique


def _block_cost(hit: SearchHit, text: str, count: Callable[[str], int]) -> int:
    single = ContextBlock(number=99, hits=(hit,), text=text)
    return count(render_document(single.document())) + 1


def _blocks(
    chosen: list[SearchHit], texts: dict[str, str], first_number: int
) -> list[ContextBlock]:
    """Group by document (documents in order of their best hit), merge consecutive ordinals."""
    by_document: dict[str, list[SearchHit]] = {}
    for hit in chosen:
        by_document.setdefault(hit.doc_id, []).append(hit)
    blocks: list[ContextBlock] = []
    for hits in by_document.values():
        run: list[SearchHit] = []
        for hit in sorted(hits, key=lambda h: h.ordinal):
            if run and hit.ordinal != run[-1].ordinal + 1:
                blocks.append(_merge(run, texts, first_number + len(blocks)))
                run = []
            run.append(hit)
        blocks.append(_merge(run, texts, first_number + len(blocks)))
    return blocks


def _merge(run: list[SearchHit], texts: dict[str, str], number: int) -> ContextBlock:
    pieces = [texts[run[0].chunk_id]]
    for previous, hit in itertools.pairwise(run):
        text = texts[hit.chunk_id]
        overlap = previous.end - hit.start
        if 0 < overlap < len(text) and text == hit.text:
            text = text[overlap:]  # chunks that overlap in the document are not read twice
        pieces.append(text)
    return ContextBlock(number=number, hits=tuple(run), text="\n".join(pieces))


# ---------------------------------------------------------------- sentence compression


def _chunk_text(hit: SearchHit, compress_for: Sequence[str]) -> str:
    return compress_text(hit.text, compress_for) if compress_for else hit.text


def query_terms(words: Iterable[str]) -> set[str]:
    """Comparable terms of the question and keywords: 5-letter stems of Latin words other than
    stopwords (a cheap stemmer: 'invented'/'invention' meet at 'inven'), Han bigrams and single
    characters."""
    terms: set[str] = set()
    for word in words:
        terms.update(_terms_of(word))
    return terms


def _terms_of(text: str) -> set[str]:
    text = match_form(text)  # a passage's "ＣＥＯ" or "２０２３" meets the question's "CEO", "2023"
    words = (w.lower() for w in _LATIN_RE.findall(text))
    terms = {w[:5] for w in words if (len(w) > 2 or w.isdigit()) and w not in ENGLISH_STOPWORDS}
    for run in _CJK_RUN_RE.findall(text):
        terms.update(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            terms.add(run)
    return terms


def sentence_score(sentence: str, terms: set[str]) -> int:
    return len(_terms_of(sentence) & terms)


def compress_text(text: str, words: Sequence[str], keep_at_least: int = 2) -> str:
    """`text` without the sentences that share no term with `words`, in original order, with
    gaps marked. When nothing matches, the first `keep_at_least` sentences stay, since BM25 found
    the chunk for some reason the cheap matcher may miss."""
    sentences = split_sentences(text)
    if len(sentences) <= keep_at_least:
        return text
    terms = query_terms(words)
    keep = [sentence_score(s, terms) > 0 for s in sentences]
    if not any(keep):
        keep = [i < keep_at_least for i in range(len(sentences))]
    pieces: list[str] = []
    skipped = False
    for sentence, kept in zip(sentences, keep, strict=True):
        if kept:
            if skipped and pieces:
                pieces.append(GAP_MARK.strip())
            pieces.append(sentence)
            skipped = False
        else:
            skipped = True
    return " ".join(pieces)


@dataclass(frozen=True)
class CompressionReport:
    """Plain packing against compressed packing of the same ranked hits and budget."""

    budget_tokens: int
    plain_chunks: int
    compressed_chunks: int
    plain_tokens: int
    compressed_tokens: int
    plain_needles: int  # how many of `needle_ids` made it into the context
    compressed_needles: int
    needles: int


def measure_compression(
    ranked_hits: Sequence[SearchHit],
    words: Sequence[str],
    budget_tokens: int,
    needle_ids: Iterable[str] = (),
) -> CompressionReport:
    """How many more chunks (and which known answer chunks) fit when sentences are compressed."""
    wanted = set(needle_ids)
    plain = pack_context(ranked_hits, budget_tokens)
    compressed = pack_context(ranked_hits, budget_tokens, compress_for=words)

    def needles_in(result: PackResult) -> int:
        return len(wanted & {cid for block in result.blocks for cid in block.chunk_ids})

    return CompressionReport(
        budget_tokens=budget_tokens,
        plain_chunks=plain.packed_chunks,
        compressed_chunks=compressed.packed_chunks,
        plain_tokens=plain.tokens,
        compressed_tokens=compressed.tokens,
        plain_needles=needles_in(plain),
        compressed_needles=needles_in(compressed),
        needles=len(wanted),
    )
