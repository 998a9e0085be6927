"""desktop/screenshots.py drives the real window from recorded replies; a reply the window
cannot decode raises inside a Qt callback and the picture shows a half-filled window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.i18n import CHINESE, ENGLISH, install_translators, tr
from desktop.screenshots import _events_until_answering, load_jsonl, shoot_onboarding


def test_first_run_pictures_decode_every_reply(qapp: QApplication, tmp_path: Path) -> None:
    # The onboarding status reply lacked data_dir, counts and index_bytes: StatusReport.from_dict
    # raised a TypeError in the reply's callback (pytest-qt fails the test on it).
    shoot_onboarding(qapp, tmp_path, ENGLISH)
    assert (tmp_path / "first_run.png").stat().st_size > 0
    assert (tmp_path / "model_missing.png").stat().st_size > 0


def test_chinese_pictures_are_taken_in_the_chinese_interface(
    qapp: QApplication, tmp_path: Path
) -> None:
    try:
        shoot_onboarding(qapp, tmp_path, CHINESE, "_zh")
        assert tr("Search") == "搜索"  # the window was built with the translation installed
    finally:
        install_translators(qapp, ENGLISH)
    assert (tmp_path / "first_run_zh.png").stat().st_size > 0


def test_the_reading_picture_stops_after_a_passage_stated_the_answer() -> None:
    stream = load_jsonl("ask_en_level2.jsonl")
    paused = _events_until_answering(stream, more_reads=6)
    assert paused is not None
    verdicts = [e for e in stream[:paused] if e.get("type") == "chunk_verdict"]
    assert any(v["relevant"] for v in verdicts) and stream[paused - 1]["type"] == "chunk_verdict"
    assert not any(e.get("type") == "answer" for e in stream[:paused])
