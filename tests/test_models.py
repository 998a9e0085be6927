"""The result types cross the protocol as JSON and come back as the same dataclasses: `from_dict`
beside every `to_dict`, so the desktop decodes once and never guesses a key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.models import (
    Check,
    DoctorReport,
    FileRecord,
    FolderInfo,
    Highlight,
    IndexProgress,
    IndexSummary,
    SearchHit,
    SearchResult,
    StatusReport,
)
from engine.settings import Settings, SettingsSnapshot

RECORD = FileRecord("/n/scan.pdf", 10, 1.5, "h", "skipped", "no_text", "No text layer.", 0, 2.0)
HIT = SearchHit(
    chunk_id="c1",
    doc_id="d1",
    path="/n/笔记.md",
    title="笔记",
    score=3.5,
    text="全文检索 and BM25",
    snippet="全文检索",
    snippet_highlights=(Highlight(0, 2),),
    highlights=(Highlight(0, 2), Highlight(9, 13)),
    ordinal=2,
    start=10,
    end=25,
    page=3,
    heading=("第一章", "检索"),
    extension="md",
)
EXAMPLES: list[Any] = [
    RECORD,
    HIT,
    SearchResult("全文检索", (HIT, HIT), 0.0042),
    Check("ollama", "fail", "Nothing answers.", "Start it."),
    DoctorReport((Check("index", "ok", "7 chunks."), Check("ollama", "warn", "Slow."))),
    FolderInfo("/n", "errors", files=3, indexed=1, errors=1, skipped=1, watch_mode="polling"),
    StatusReport("/d", {"indexed": 2}, 3, 7, 4096, [FolderInfo("/n", "up_to_date")], [RECORD]),
    IndexProgress("indexing", 3, 9, "/n/a.md", 1),
    IndexSummary(added=2, removed=1, seconds=0.5, problems=[RECORD]),
    SettingsSnapshot(Settings(model="qwen2:1.5b", ignore_patterns=["*.log"])),
]


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda value: type(value).__name__)
def test_a_result_survives_the_wire(value: Any) -> None:
    wire = json.loads(json.dumps(value.to_dict(), ensure_ascii=False))
    assert type(value).from_dict(wire) == value


def test_a_newer_engine_s_extra_fields_are_ignored() -> None:
    wire = {**FolderInfo("/n", "up_to_date").to_dict(), "colour": "blue"}
    assert FolderInfo.from_dict(wire) == FolderInfo("/n", "up_to_date")


def test_the_doctor_report_is_ok_only_when_no_check_failed() -> None:
    assert DoctorReport((Check("a", "ok", ""), Check("b", "warn", ""))).ok
    assert not DoctorReport((Check("a", "ok", ""), Check("b", "fail", ""))).ok
