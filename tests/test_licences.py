"""The third-party licences the package build collects (packaging/licences.py) from the
installed distributions: every bundled component with its own texts, Qt's LGPL notice, and the
.deb's copyright file in Debian's machine-readable format. Fast: nothing is built."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import REPO_ROOT


def load_licences() -> ModuleType:
    path = REPO_ROOT / "packaging" / "licences.py"
    spec = importlib.util.spec_from_file_location("needle_licences", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


licences = load_licences()


@pytest.fixture(scope="module")
def components() -> list[Any]:
    return list(licences.bundled_components())


def by_name(components: list[Any], name: str) -> Any:
    return next(c for c in components if c.name.lower() == name.lower())


def test_every_runtime_requirement_is_collected_with_its_texts(components: list[Any]) -> None:
    names = {c.name.lower().replace("_", "-") for c in components}
    # Direct requirements, one of the OCR extra, and one pulled in only by another package.
    for expected in ("tantivy", "pyside6-essentials", "shiboken6", "pypdf", "rapidocr", "h11"):
        assert expected in names, expected
    assert "pytest" not in names and "needle" not in names  # dev tools and Needle itself
    tantivy = by_name(components, "tantivy")
    assert tantivy.licence == "MIT"
    assert any("Permission is hereby granted" in t for _, t in tantivy.texts)
    python = by_name(components, "Python")
    assert any("PYTHON SOFTWARE FOUNDATION" in t for _, t in python.texts)


def test_qt_carries_the_lgpl_notice_and_text(components: list[Any]) -> None:
    qt = by_name(components, "PySide6_Essentials")
    files = [name for name, _ in qt.texts]
    assert files[:2] == ["Qt licence notice", "LGPL-3.0"]
    notice = dict(qt.texts)
    assert "replace them with your own build" in notice["Qt licence notice"]
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in notice["LGPL-3.0"]


def test_third_party_file_lists_everything_and_ends_with_the_gpl(
    components: list[Any], tmp_path: Path
) -> None:
    written = licences.write_licences(tmp_path, components)
    text = written.read_text("utf-8")
    for component in components:
        assert f"{component.name} {component.version}" in text
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in text
    assert text.rstrip().endswith("<https://www.gnu.org/licenses/why-not-lgpl.html>.")
    assert (tmp_path / "LICENSE").read_text("utf-8").startswith("MIT License")


def test_debian_copyright_is_machine_readable(components: list[Any]) -> None:
    own = (REPO_ROOT / "LICENSE").read_text("utf-8")
    text = licences.debian_copyright(components, own)
    paragraphs = text.rstrip("\n").split("\n\n")
    header = paragraphs[0].splitlines()
    assert header[0] == "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    field = re.compile(r"^[A-Za-z-]+: ?\S.*$|^[A-Za-z-]+:$")
    for paragraph in paragraphs:
        for line in paragraph.splitlines():
            # A field, or a continuation line (a space, then text or "." for a blank line).
            assert field.match(line) or (line.startswith(" ") and line.strip()), line
    files = [p for p in paragraphs[1:] if p.startswith("Files:")]
    assert len(files) == len(components) + 1
    assert files[0].startswith("Files: *\nCopyright: 2026 The Needle developers\nLicense: MIT\n")
    synopsis = re.compile(r"^License: [\w.+-]+(?: (?:and|or|AND|OR|WITH|with) [\w.+-]+)*$", re.M)
    for paragraph in files:
        assert re.search(r"^Copyright: \S", paragraph, re.M), paragraph[:80]
        assert synopsis.search(paragraph), paragraph[:200]
        # The licence text follows its synopsis, so no stand-alone License paragraph is needed.
        body = paragraph.split("\nLicense: ", 1)[1].splitlines()[1:]
        assert body and all(line.startswith(" ") for line in body), paragraph[:200]
    assert "opt/needle/_internal/PySide6/*" in text
