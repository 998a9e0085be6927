"""Stored answers written out: a thread (or one answer) as Markdown or JSON for the user to keep,
and every stored answer as a long-context training record (`needle export-traces`).

Markdown: the question, the answer with its [n] marks, and numbered sources, each a file:// link
(with `#page=N` for a page, which PDF viewers and browsers open at) and the quoted sentence.

A trace record is what the agent had and what it concluded: the question, the full text it read
in document order as one long context, and the final answer with its sources, plus metadata
(levels, model, tokens, grounded, kept). `chatml` writes {"messages": [...]} with system, user
and assistant roles; `sharegpt` writes {"conversations": [...]} with system, human and gpt.
Filtering: answers the agent wrote without reading any passage are left out (there is no long
context to learn from), as are repeats of the same question and answer (the latest is kept);
`grounded_only` keeps only answers whose sources were checked to state them."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.errors import ErrorKind, NeedleError
from engine.threads import ReadPassage, StoredCitation, Thread, TraceStats, Turn
from engine.tokens import estimate_tokens

THREAD_FORMATS = ("md", "json")
TRACE_FORMATS = ("chatml", "sharegpt")
TRACE_SYSTEM = (
    "You answer a person's question from their own documents, given below. Cite the sources "
    "your answer rests on by number in square brackets. Use only what the documents say; when "
    "they do not answer the question, say so."
)
_STATE_NOTES = {
    "changed": "the file changed since this answer",
    "vanished": "the file is gone",
}


def check_format(fmt: str, known: Sequence[str]) -> str:
    chosen = fmt.strip().lower()
    if chosen not in known:
        raise NeedleError(
            ErrorKind.BAD_EXPORT_FORMAT,
            f"Unknown export format {fmt!r}.",
            f"Use one of: {', '.join(known)}.",
        )
    return chosen


# ---------------------------------------------------------------------------- Markdown and JSON


def file_link(path: str, page: int | None = None) -> str:
    """A file:// URL for `path` (opening at `page` where the viewer allows); "" when the path is
    not absolute, so no link points somewhere else."""
    candidate = Path(path)
    if not candidate.is_absolute():
        return ""
    return candidate.as_uri() + (f"#page={page}" if page else "")


def source_line(citation: StoredCitation) -> str:
    name = Path(citation.path).name or citation.path
    link = file_link(citation.path, citation.page)
    label = f"[{_escaped(name)}]({link})" if link else _escaped(name)
    parts = [label]
    if citation.page is not None:
        parts.append(f"page {citation.page}")
    if citation.heading:
        parts.append(_escaped(citation.heading))
    line = f"{citation.number}. " + ", ".join(parts)
    if citation.quote:
        line += f" — “{' '.join(citation.quote.split())}”"
    if citation.state in _STATE_NOTES:
        line += f" *({_STATE_NOTES[citation.state]})*"
    return line


def _escaped(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def turn_markdown(turn: Turn, *, heading: str = "##") -> str:
    """One question and its answer with numbered sources."""
    lines = [f"{heading} {' '.join(turn.question.split())}", ""]
    if turn.rewritten:
        lines += [f"*Understood as: {turn.rewritten}*", ""]
    lines += [turn.answer.strip(), ""]
    if turn.citations:
        lines += ["**Sources**", ""]
        lines += [source_line(citation) for citation in turn.citations]
        lines.append("")
    return "\n".join(lines)


def thread_markdown(thread: Thread, positions: Sequence[int] | None = None) -> str:
    """The thread (or only the turns at `positions`) as a Markdown note."""
    turns = [t for t in thread.turns if positions is None or t.position in positions]
    if positions is not None and len(turns) == 1:
        return turn_markdown(turns[0], heading="###")
    asked = time.strftime("%Y-%m-%d %H:%M", time.localtime(thread.created))
    parts = [f"# {' '.join(thread.title.split())}", "", f"*Asked in Needle, {asked}*", ""]
    parts += [turn_markdown(turn) for turn in turns]
    return "\n".join(parts).rstrip() + "\n"


def thread_json(thread: Thread) -> str:
    """The thread with everything stored about it, as indented JSON."""
    return json.dumps(thread.to_dict(), ensure_ascii=False, indent=2) + "\n"


def export_thread(thread: Thread, fmt: str, positions: Sequence[int] | None = None) -> str:
    if check_format(fmt, THREAD_FORMATS) == "json":
        return thread_json(thread)
    return thread_markdown(thread, positions)


# ---------------------------------------------------------------------------- training traces


def long_context(read: Sequence[ReadPassage]) -> str:
    """The passages as one text: each document once, its passages in order, a gap marked."""
    blocks: list[str] = []
    by_path: dict[str, list[ReadPassage]] = {}
    for passage in read:
        by_path.setdefault(passage.path, []).append(passage)
    for path, passages in by_path.items():
        passages.sort(key=lambda p: p.start)
        texts = [passages[0].text.strip()]
        for before, passage in itertools.pairwise(passages):
            joined = passage.start <= before.start + len(before.text) + 2
            texts.append(passage.text.strip() if joined else f"[…]\n\n{passage.text.strip()}")
        title = passages[0].title or Path(path).name
        blocks.append(f'<document source="{path}" title="{title}">\n' + "\n\n".join(texts))
        blocks[-1] += "\n</document>"
    return "\n\n".join(blocks)


def answer_with_sources(turn: Turn) -> str:
    if not turn.citations:
        return turn.answer.strip()
    lines = [turn.answer.strip(), "", "Sources:"]
    for citation in turn.citations:
        where = citation.path + (f", page {citation.page}" if citation.page is not None else "")
        quote = f" — “{' '.join(citation.quote.split())}”" if citation.quote else ""
        lines.append(f"[{citation.number}] {where}{quote}")
    return "\n".join(lines)


def levels_run(turn: Turn) -> list[int]:
    """The levels that ran, in order (auto escalates), from the stored steps."""
    ran = [int(e["level"]) for e in turn.events if e.get("type") == "level" and "level" in e]
    return ran or [turn.level]


def trace_record(turn: Turn, fmt: str) -> dict[str, Any]:
    context = long_context(turn.read)
    user = f"{context}\n\nQuestion: {turn.asked}"
    assistant = answer_with_sources(turn)
    metadata = {
        "thread_id": turn.thread_id,
        "turn": turn.position,
        "question": turn.question,
        "rewritten_question": turn.rewritten,
        "asked_at": turn.asked_at,
        "level": turn.level,
        "levels": levels_run(turn),
        "model": turn.model,
        "llm_calls": turn.llm_calls,
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "context_tokens": estimate_tokens(context),
        "passages": len(turn.read),
        "documents": len({p.path for p in turn.read}),
        "found": turn.found,
        "grounded": turn.grounded,
        "kept": turn.kept,
        # Sources whose file changed or vanished since the answer (known when exported from a
        # library that still indexes them): the answer may no longer hold.
        "stale_sources": sum(c.stale for c in turn.citations),
        "citations": [
            {"number": c.number, "chunk_id": c.chunk_id, "path": c.path, "page": c.page}
            for c in turn.citations
        ],
    }
    if check_format(fmt, TRACE_FORMATS) == "chatml":
        messages = [
            {"role": "system", "content": TRACE_SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
        return {"messages": messages, "metadata": metadata}
    conversations = [
        {"from": "system", "value": TRACE_SYSTEM},
        {"from": "human", "value": user},
        {"from": "gpt", "value": assistant},
    ]
    return {"conversations": conversations, "metadata": metadata}


def selected_traces(turns: Sequence[Turn]) -> tuple[list[Turn], TraceStats]:
    """The turns worth a record (see the module's doc), oldest first, and the counts."""
    latest: dict[tuple[str, str], Turn] = {}
    without_reading = 0
    for turn in turns:
        if not turn.read:
            without_reading += 1
            continue
        latest[(" ".join(turn.asked.split()).casefold(), turn.answer.strip())] = turn
    chosen = sorted(latest.values(), key=lambda t: (t.asked_at, t.thread_id, t.position))
    duplicates = len(turns) - without_reading - len(chosen)
    return chosen, _stats(chosen, without_reading, duplicates)


def _stats(turns: Sequence[Turn], without_reading: int, duplicates: int) -> TraceStats:
    by_level: dict[int, int] = {}
    context_sizes = [estimate_tokens(long_context(turn.read)) for turn in turns]
    for turn in turns:
        by_level[turn.level] = by_level.get(turn.level, 0) + 1
    return TraceStats(
        records=len(turns),
        grounded=sum(turn.grounded for turn in turns),
        kept=sum(turn.kept for turn in turns),
        by_level=by_level,
        context_tokens=sum(context_sizes),
        longest_context_tokens=max(context_sizes, default=0),
        skipped_without_reading=without_reading,
        skipped_duplicates=duplicates,
    )


def write_text_atomic(path: Path, text: str) -> None:
    """`text` written beside `path` and renamed over it: a crash leaves the old file or the new
    one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, "utf-8")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_traces(path: Path, turns: Iterable[Turn], fmt: str) -> TraceStats:
    """Write the selected turns' records to `path` as JSON lines, atomically (a failed export
    leaves any earlier file whole); returns what was written."""
    chosen_format = check_format(fmt, TRACE_FORMATS)
    chosen, stats = selected_traces(list(turns))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            for turn in chosen:
                record = trace_record(turn, chosen_format)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return stats
