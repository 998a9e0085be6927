"""desktop/screenshots.py drives the real window from recorded replies; a reply the window
cannot decode raises inside a Qt callback and the picture shows a half-filled window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktop.screenshots import shoot_onboarding


def test_first_run_pictures_decode_every_reply(qapp: QApplication, tmp_path: Path) -> None:
    # The onboarding status reply lacked data_dir, counts and index_bytes: StatusReport.from_dict
    # raised a TypeError in the reply's callback (pytest-qt fails the test on it).
    shoot_onboarding(qapp, tmp_path)
    assert (tmp_path / "first_run.png").stat().st_size > 0
    assert (tmp_path / "model_missing.png").stat().st_size > 0
