"""A library written by the previous Needle (catalog schema 1 without `ocr_pages`, index schema 2
without the `ocr` field) opens, migrates its catalog in place and rebuilds its index from the
folders on the next index pass: nothing is lost, nothing has to be deleted by hand."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.api import Engine
from engine.library.catalog import SCHEMA_VERSION as CATALOG_VERSION
from engine.search.schema import SCHEMA_FILE
from engine.search.schema import SCHEMA_VERSION as INDEX_VERSION
from tests.helpers.pdf_factory import write_pdf


def make_previous_version(home: Path) -> None:
    catalog = home / "data" / "catalog.sqlite3"
    with sqlite3.connect(catalog) as connection:
        connection.execute("ALTER TABLE files DROP COLUMN ocr_pages")
        connection.execute("PRAGMA user_version = 1")
    schema = home / "data" / "index" / SCHEMA_FILE
    recorded = json.loads(schema.read_text("utf-8"))
    schema.write_text(json.dumps({**recorded, "version": 2}), "utf-8")


@pytest.mark.expect_log("the index was rebuilt")
def test_a_previous_library_migrates_and_reindexes_cleanly(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "harbour.md").write_text("# Harbour\nThe lighthouse keeper's log.\n", "utf-8")
    write_pdf(notes / "report.pdf", ["Annual lighthouse report"])
    home = tmp_path / "home"
    with Engine.open(home) as engine:
        engine.add_folder(notes)
        engine.index()
    make_previous_version(home)

    with Engine.open(home) as engine:
        with sqlite3.connect(home / "data" / "catalog.sqlite3") as raw:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == CATALOG_VERSION
            columns = {row[1] for row in raw.execute("PRAGMA table_info(files)")}
        assert "ocr_pages" in columns
        assert engine.status().total_files == 2  # the rows survived the migration
        summary = engine.index()
        assert summary.errors == 0
        hits = engine.search("lighthouse").hits
        assert {Path(hit.path).name for hit in hits} == {"harbour.md", "report.pdf"}
        assert not any(hit.ocr for hit in hits)
    recorded = json.loads((home / "data" / "index" / SCHEMA_FILE).read_text("utf-8"))
    assert recorded["version"] == INDEX_VERSION
