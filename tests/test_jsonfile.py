"""Small JSON files are replaced whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import jsonfile
from engine.jsonfile import write_json_atomic


def test_writes_readable_utf8_json_and_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "settings.json"
    write_json_atomic(target, {"folders": ["~/笔记"]})
    assert json.loads(target.read_text("utf-8")) == {"folders": ["~/笔记"]}
    assert "笔记" in target.read_text("utf-8")  # readable by a person, not \u escapes
    assert sorted(p.name for p in target.parent.iterdir()) == ["settings.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    write_json_atomic(target, {"model": "old"})

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonfile.json, "dump", disk_full)
    with pytest.raises(OSError):
        write_json_atomic(target, {"model": "new"})
    assert json.loads(target.read_text("utf-8")) == {"model": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]
