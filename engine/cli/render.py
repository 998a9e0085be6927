"""Human-readable output of the result types: index summaries, folders, hits, status, checks."""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.cli.console import Console, format_bytes, one_line, short_path
from engine.models import (
    DoctorReport,
    FileRecord,
    FolderInfo,
    IndexSummary,
    SearchHit,
    SearchResult,
    StatusReport,
)
from engine.settings import FIELDS, SettingField


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def problem_reason(record: FileRecord) -> str:
    """Why a file is not searchable, without repeating its full path (it is printed beside)."""
    reason = record.error or record.error_kind
    return reason.replace(record.path, Path(record.path).name)


def render_summary(console: Console, summary: IndexSummary, known_problems: int) -> None:
    """What one index run did, the files it could not index and why, and the older problems."""
    changes = [
        (summary.added, "added"),
        (summary.updated, "updated"),
        (summary.renamed, "renamed"),
        (summary.removed, "removed"),
        (summary.errors, "with errors"),
    ]
    done = ", ".join(f"{count} {label}" for count, label in changes if count)
    unchanged = f"{plural(summary.unchanged, 'file')} unchanged"
    console.print(
        f"Indexed in {summary.seconds:.1f} s: "
        + (f"{done}; {unchanged}" if done else f"up to date, {unchanged}")
        + f"; {plural(summary.chunks_written, 'chunk')} written."
    )
    if summary.problems:
        console.print("Files that could not be indexed:")
        for record in summary.problems:
            console.print(f"  {short_path(record.path)}: {problem_reason(record)}")
    older = known_problems - len(summary.problems)
    if older > 0:
        console.print(
            f"{plural(older, 'other file')} could not be indexed earlier; "
            "`needle status` lists them and why."
        )


def render_change(console: Console, summary: IndexSummary) -> None:
    """One line per watcher batch, prefixed with the time, as a log a person can scan."""
    stamp = time.strftime("%H:%M:%S")
    parts = [
        f"{count} {label}"
        for count, label in (
            (summary.added, "added"),
            (summary.updated, "updated"),
            (summary.renamed, "renamed"),
            (summary.removed, "removed"),
            (summary.errors, "with errors"),
        )
        if count
    ]
    console.print(f"[{stamp}] " + (", ".join(parts) if parts else "no change"))
    for record in summary.problems:
        console.print(f"  {short_path(record.path)}: {problem_reason(record)}")
    console.out.flush()


def render_folder(console: Console, info: FolderInfo) -> None:
    never_indexed = info.last_indexed is None and not info.pending
    state = {
        "indexing": "not indexed yet (run `needle index`)"
        if never_indexed
        else f"indexing, {info.pending} pending",
        "up_to_date": "up to date",
        "errors": f"{plural(info.errors + info.skipped, 'file')} not searchable",
        "missing": "MISSING — the folder no longer exists",
    }.get(info.state, info.state)
    console.print(console.bold(short_path(info.path)))
    console.print(
        f"  {plural(info.files, 'file')}, {info.indexed} indexed, "
        f"{plural(info.chunks, 'chunk')} — {state}"
        + (f" — watching by {info.watch_mode}" if info.watch_mode != "off" else "")
    )
    if info.watch_note:
        console.print(f"  note: {info.watch_note}")


def highlight_snippet(console: Console, hit: SearchHit) -> str:
    """The snippet on one line with matched terms in bold (on a colour terminal)."""
    if not console.color or not hit.snippet_highlights:
        return one_line(hit.snippet)
    pieces: list[str] = []
    cursor = 0
    for span in sorted(hit.snippet_highlights, key=lambda h: h.start):
        if span.start < cursor:
            continue
        pieces.append(hit.snippet[cursor : span.start])
        pieces.append(console.bold(hit.snippet[span.start : span.end]))
        cursor = span.end
    pieces.append(hit.snippet[cursor:])
    return one_line("".join(pieces))


def location_of(page: int | None, heading: str, ocr: bool = False) -> str:
    """ "page 3", "Setup > Linux", both; "(OCR)" when the text was recognised in an image."""
    parts = []
    if page is not None:
        parts.append(f"page {page} (OCR)" if ocr else f"page {page}")
    elif ocr:
        parts.append("OCR")
    if heading:
        parts.append(heading)
    return " · ".join(parts)


def render_hits(console: Console, result: SearchResult) -> None:
    for warning in result.warnings:
        console.print(console.dim(f"Note: {warning.message}"))
    if not result.hits:
        console.print("No matches.")
        return
    for number, hit in enumerate(result.hits, 1):
        where = location_of(hit.page, " > ".join(hit.heading), hit.ocr)
        title = hit.title or Path(hit.path).name
        console.print(f"{number}. {console.bold(title)}  {console.dim(f'({hit.score:.2f})')}")
        console.print(f"   {short_path(hit.path)}" + (f" — {where}" if where else ""))
        console.print(f"   {highlight_snippet(console, hit)}")
    shown = (
        f"best {result.count} of {result.total} results"
        if result.more
        else f"{result.count} result{'s' if result.count != 1 else ''}"
    )
    console.print(console.dim(f"{shown} in {result.seconds * 1000:.0f} ms"))


def render_status(console: Console, report: StatusReport) -> None:
    counts = ", ".join(f"{n} {state}" for state, n in report.counts.items())
    console.print(f"Library: {short_path(report.data_dir)}")
    console.print(f"Files: {report.total_files} ({counts})")
    console.print(f"Chunks: {report.chunks}, index size {format_bytes(report.index_bytes)}")
    if report.writer_busy:
        console.print("Another Needle process is indexing this library right now.")
    if report.ocr_unavailable:
        console.print(
            f"Scanned PDF pages and images are not read: {report.ocr_unavailable} "
            "Install Needle's OCR extra (pip install 'needle[ocr]') or use the packaged app."
        )
    console.print()
    if not report.folders:
        console.print("No folders yet: add one with `needle folders add PATH`.")
    for info in report.folders:
        render_folder(console, info)
    if report.problems:
        console.print()
        console.print(console.bold(f"Files that are not searchable ({len(report.problems)}):"))
        for record in report.problems:
            console.print(f"  {short_path(record.path)}")
            console.print(f"    {record.error_kind}: {problem_reason(record)}")


def render_checks(console: Console, report: DoctorReport) -> None:
    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for check in report.checks:
        console.print(f"[{marks.get(check.status, check.status)}] {check.name}: {check.message}")
        if check.hint and check.status != "ok":
            console.print(f"       fix: {check.hint}")


def _default_text(declared: SettingField) -> str:
    return json.dumps(declared.default, ensure_ascii=False)


def settings_help() -> str:
    """Every setting with its default, the values it takes and what it does (`--help`)."""
    lines = ["settings:"]
    for declared in FIELDS:
        if not declared.editable:
            continue
        bounds = declared.bounds_text()
        lines.append(f"  {declared.name} (default {_default_text(declared)})")
        lines.append(f"      {declared.doc}" + (f" Allowed: {bounds}." if bounds else ""))
    return "\n".join(lines)


def _allowed(declared: SettingField) -> str:
    kinds = {
        "text": "text",
        "text_list": "a list of text",
        "secret": "text, kept outside settings.json (`-` reads it from the terminal)",
    }
    return declared.bounds_text() or kinds.get(declared.kind, declared.kind)


def settings_table() -> str:
    """The settings table of docs/cli.md, made from the same declaration (a test compares)."""
    rows = ["| setting | default | allowed | meaning |", "|---|---|---|---|"]
    for declared in FIELDS:
        if declared.editable:
            rows.append(
                f"| `{declared.name}` | `{_default_text(declared)}` | "
                f"{_allowed(declared)} | {declared.doc} |"
            )
    return "\n".join(rows)
