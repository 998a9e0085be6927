"""Each setting is declared once (engine/settings.py); validation, the `settings.get` reply, the
CLI's help, docs/cli.md and the Settings dialog all come from that declaration."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox

from desktop.settings_dialog import SettingsDialog
from engine.cli.render import settings_table
from engine.settings import FIELDS, FIELDS_BY_NAME, VALUE_FIELDS, Settings, SettingsSnapshot

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_field_of_settings_is_declared_with_a_label_and_a_doc() -> None:
    assert [f.name for f in VALUE_FIELDS] == list(Settings().to_dict())
    for declared in VALUE_FIELDS:
        assert declared.label and declared.doc.endswith(".")
        assert declared.default == Settings().to_dict()[declared.name]
        assert declared.problem(declared.default) is None


def test_the_defaults_are_usable() -> None:
    assert Settings().problems() == []


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_number_is_accepted_exactly_when_it_is_finite_and_within_bounds(value: float) -> None:
    declared = FIELDS_BY_NAME["request_timeout"]
    assert declared.minimum is not None and declared.maximum is not None
    inside = math.isfinite(value) and declared.minimum < value <= declared.maximum
    assert (declared.problem(value) is None) == inside


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_a_whole_number_setting_keeps_to_its_bounds(value: int) -> None:
    declared = FIELDS_BY_NAME["context_window"]
    assert (declared.problem(value) is None) == (2048 <= value <= 131072)
    assert declared.problem(float(value)) is not None  # 8192.0 is not a whole number setting


def test_the_snapshot_round_trips_through_json_shapes() -> None:
    snapshot = SettingsSnapshot(Settings(model="qwen2:1.5b", ignore_patterns=["*.log"]))
    assert SettingsSnapshot.from_dict(snapshot.to_dict()) == snapshot


def test_docs_cli_lists_the_settings_as_declared() -> None:
    assert settings_table() in (DOCS / "cli.md").read_text("utf-8"), (
        "docs/cli.md's settings table is out of date; replace it with:\n" + settings_table()
    )


def test_the_settings_dialog_has_a_row_per_editable_setting_bounded_as_declared(
    qtbot: Any,
) -> None:
    dialog = SettingsDialog(SettingsSnapshot(Settings()))
    qtbot.addWidget(dialog)
    assert list(dialog.editors) == [f.name for f in FIELDS if f.editable]
    for name, editor in dialog.editors.items():
        declared = FIELDS_BY_NAME[name]
        if isinstance(editor, QSpinBox):
            assert (editor.minimum(), editor.maximum()) == (declared.minimum, declared.maximum)
        elif isinstance(editor, QDoubleSpinBox):
            assert editor.maximum() == declared.maximum and editor.minimum() > 0
        elif isinstance(editor, QComboBox):
            values = [editor.itemData(i) for i in range(editor.count())]
            assert values == [value for value, _ in declared.choices]
        assert declared.doc in editor.toolTip()
    assert dialog.changes() == {}
