"""From the [n] marks a model wrote to Citations a user can check.

Context blocks are numbered [1], [2], … in the prompt. After the answer, the numbers the model
actually used are mapped to the chunks behind them, renumbered 1..k in order of first use, and
marks that point at no block are removed. Each citation carries the chunk's text and the spans to
highlight: the quoted sentences (Level 2) or the keyword matches (Level 1).

When a model answers without any mark (small models often do), the blocks the answer most likely
rests on are cited anyway — those sharing the most terms with the answer — and the result says the
citations were inferred, so the interface can show them as "probable sources" rather than claims.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from engine.agent.context import ContextBlock, query_terms
from engine.agent.events import Citation
from engine.lang import split_sentences
from engine.models import SearchHit
from engine.textforms import match_form

Span = tuple[int, int]
Highlighter = Callable[[SearchHit], tuple[Span, ...]]

# [1]  [1, 2]  [1][2]  【1】  ［1］ — the forms models use, including full-width brackets.
_MARK_RE = re.compile(r"\s?[\[【［]\s*(\d{1,3}(?:\s*[,，、;]\s*\d{1,3})*)\s*[\]】］]")
_QUOTE_CHARS = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"'})
FUZZY_QUOTE_RATIO = 0.85
INFERRED_MAX = 3


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    citations: tuple[Citation, ...]
    inferred: bool = False  # True when the model cited nothing and sources were inferred


def cited_numbers(text: str) -> list[int]:
    """Every number cited in `text`, in order of appearance, repeats included."""
    numbers: list[int] = []
    for match in _MARK_RE.finditer(text):
        numbers.extend(int(n) for n in re.findall(r"\d+", match.group(1)))
    return numbers


def strip_marks(text: str) -> str:
    """`text` without its citation marks."""
    return _MARK_RE.sub("", text)


def renumber_marks(text: str, valid: set[int]) -> tuple[str, list[int]]:
    """`text` with marks renumbered 1..k by first use of each valid number, invalid numbers
    removed; and the old numbers in their new order."""
    order: list[int] = []
    for number in cited_numbers(text):
        if number in valid and number not in order:
            order.append(number)
    new_number = {old: new for new, old in enumerate(order, start=1)}
    return remap_marks(text, new_number), order


def cite_blocks(
    answer: str,
    blocks: Sequence[ContextBlock],
    highlighter: Highlighter,
    *,
    infer_when_uncited: bool = True,
) -> CitedAnswer:
    """Citations for the blocks `answer` cites, with the answer's marks renumbered."""
    by_number = {b.number: b for b in blocks}
    text, order = renumber_marks(answer, set(by_number))
    if order:
        citations = tuple(
            citation_for_block(by_number[old], new, highlighter)
            for new, old in enumerate(order, start=1)
        )
        return CitedAnswer(text, citations)
    if not infer_when_uncited or not answer.strip():
        return CitedAnswer(text, ())
    likely = likely_sources(answer, blocks)
    citations = tuple(
        citation_for_block(block, new, highlighter) for new, block in enumerate(likely, start=1)
    )
    return CitedAnswer(text, citations, inferred=bool(citations))


def likely_sources(answer: str, blocks: Sequence[ContextBlock]) -> list[ContextBlock]:
    """The blocks sharing the most terms with `answer` (at least two, and at least half as many
    as the best block), best first, at most INFERRED_MAX."""
    answer_terms = query_terms([answer])
    scored = [(len(query_terms([b.text]) & answer_terms), b) for b in blocks]
    scored = [(score, b) for score, b in scored if score >= 2]
    if not scored:
        return []
    best = max(score for score, _ in scored)
    chosen = sorted((item for item in scored if item[0] * 2 >= best), key=lambda item: -item[0])
    return [block for _, block in chosen[:INFERRED_MAX]]


def citation_for_block(block: ContextBlock, number: int, highlighter: Highlighter) -> Citation:
    """Cite the chunk of `block` with the most highlighted text (the first on a tie)."""
    best_hit = block.hits[0]
    best_spans: tuple[Span, ...] = ()
    best_cover = -1
    for hit in block.hits:
        spans = highlighter(hit)
        cover = sum(end - start for start, end in spans)
        if cover > best_cover:
            best_hit, best_spans, best_cover = hit, spans, cover
    return citation_for_hit(best_hit, number, best_spans)


def citation_for_hit(hit: SearchHit, number: int, spans: tuple[Span, ...]) -> Citation:
    return Citation(
        number=number,
        chunk_id=hit.chunk_id,
        path=hit.path,
        title=hit.title,
        text=hit.text,
        highlights=spans,
        page=hit.page,
        heading=" > ".join(hit.heading),
        start=hit.start,
        end=hit.end,
        ocr=hit.ocr,
    )


# ---------------------------------------------------------------- locating quoted sentences


def _normalized_with_map(text: str) -> tuple[str, list[int]]:
    """`text` width-folded (NFKC: "，" matches ","), lower-cased, quotes straightened,
    whitespace removed; and for each kept character its index in `text`, so the span found is
    the file's own characters. Whitespace is dropped entirely so PDF line breaks and CJK
    spacing never stop a quote from matching."""
    chars: list[str] = []
    positions: list[int] = []
    for index, original in enumerate(text.translate(_QUOTE_CHARS)):
        folded = match_form(original)
        for char in folded.translate(_QUOTE_CHARS).lower():
            if not char.isspace():
                chars.append(char)
                positions.append(index)
    return "".join(chars), positions


def locate_quote(text: str, quote: str) -> Span | None:
    """The span of `text` that `quote` copies, tolerant of whitespace, case and quote-mark
    differences, then of small copying slips (a sentence at least 85% similar); None when the
    quote is not in the text (invented)."""
    cleaned = quote.strip().strip("\"'“”‘’「」").strip().rstrip("…").strip()
    if not cleaned:
        return None
    haystack, positions = _normalized_with_map(text)
    needle, _ = _normalized_with_map(cleaned)
    if not needle:
        return None
    found = haystack.find(needle)
    if found >= 0:
        return positions[found], positions[found + len(needle) - 1] + 1
    return _closest_sentence(text, needle)


def _closest_sentence(text: str, needle: str) -> Span | None:
    best: Span | None = None
    best_ratio = FUZZY_QUOTE_RATIO
    cursor = 0
    for sentence in split_sentences(text):
        start = text.find(sentence, cursor)
        if start < 0:
            continue
        cursor = start + len(sentence)
        normalized, _ = _normalized_with_map(sentence)
        ratio = difflib.SequenceMatcher(None, normalized, needle, autojunk=False).ratio()
        if ratio >= best_ratio:
            best, best_ratio = (start, start + len(sentence)), ratio
    return best


def quote_highlighter(
    quotes_by_chunk: dict[str, tuple[str, ...]], fallback: Highlighter
) -> Highlighter:
    """Highlight a chunk's quoted sentences; chunks without quotes get `fallback` spans."""

    def highlight(hit: SearchHit) -> tuple[Span, ...]:
        spans = [locate_quote(hit.text, q) for q in quotes_by_chunk.get(hit.chunk_id, ())]
        found = tuple(sorted(s for s in spans if s is not None))
        return found or fallback(hit)

    return highlight


def remap_marks(text: str, mapping: dict[int, int]) -> str:
    """`text` with each cited number n written as mapping[n]; numbers not in `mapping` removed."""

    def replace(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        kept = [mapping[n] for n in numbers if n in mapping]
        if not kept:
            return ""
        lead = " " if match.group(0)[0].isspace() else ""
        return lead + "".join(f"[{n}]" for n in dict.fromkeys(kept))

    return _MARK_RE.sub(replace, text)


def uncited_blocks(
    blocks: Sequence[ContextBlock], cited: CitedAnswer, highlighter: Highlighter
) -> tuple[Citation, ...]:
    """A citation (unnumbered) for each block the answer was written from but does not cite."""
    cited_ids = {c.chunk_id for c in cited.citations}
    return tuple(
        citation_for_block(block, 0, highlighter)
        for block in blocks
        if not cited_ids & {hit.chunk_id for hit in block.hits}
    )


def cite_support(cited: CitedAnswer, uncited: Sequence[Citation], chunk_id: str) -> CitedAnswer:
    """`cited`, also citing the chunk that the check found stating the answer when the model
    cited other passages: the reader then sees the sentence the answer rests on."""
    if not chunk_id or any(c.chunk_id == chunk_id for c in cited.citations):
        return cited
    support = next((c for c in uncited if c.chunk_id == chunk_id), None)
    if support is None:
        return cited
    number = len(cited.citations) + 1
    return CitedAnswer(
        f"{cited.text.rstrip()} [{number}]",
        (*cited.citations, replace(support, number=number)),
        cited.inferred,
    )
