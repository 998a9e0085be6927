"""Search results as people use them: grouped by file, "best 50 of 105" with more a key away, the
keyboard from the query box into the results and back, Sources scrolled to the match, and a
warning for a type that is never indexed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from desktop.main_window import SOURCES_TAB, MainWindow
from desktop.results_view import ResultsView, RowKind
from engine.models import Highlight, QueryWarning, SearchHit, SearchResult
from tests.helpers.gui import load_stream, make_fake_engine, open_window


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def engine() -> Any:
    return make_fake_engine()


@pytest.fixture
def window(qtbot: Any, engine: Any, store: QSettings) -> MainWindow:
    return open_window(qtbot, engine, store)


def hit(path: str, n: int, text: str = "", **extra: Any) -> SearchHit:
    body = text or f"Passage {n} about sourdough starters and how to feed them."
    start = body.find("sourdough")
    marks = (Highlight(start, start + 9),) if start >= 0 else ()
    return SearchHit(
        chunk_id=f"{Path(path).stem}#{n}",
        doc_id=Path(path).stem,
        path=path,
        title=Path(path).stem,
        score=10.0 - n,
        text=body,
        snippet=body,
        snippet_highlights=marks,
        highlights=marks,
        ordinal=n,
        start=0,
        end=len(body),
        **extra,
    )


def superangels_result(total: int = 105) -> SearchResult:
    hits = [hit("/notes/superangels.md", n) for n in range(8)]
    hits.insert(1, hit("/notes/bread.md", 0))
    return SearchResult("sourdough", tuple(hits), 0.012, total=total)


def test_hits_are_grouped_by_file_with_the_rest_a_click_away(qtbot: Any) -> None:
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_results(superangels_result(total=9))
    kinds = [row.kind for row in view.model.rows]
    assert kinds == [
        RowKind.FILE,
        RowKind.PASSAGE,
        RowKind.PASSAGE,
        RowKind.MORE,
        RowKind.SINGLE,
    ]
    text = view.plain_text()
    assert "superangels — 8 passages" in text
    assert "Show 6 more passages in superangels.md" in text
    assert "9 matching passages in 2 files" in text
    more = next(i for i, row in enumerate(view.model.rows) if row.kind is RowKind.MORE)
    view.list.activated_row.emit(more, False)
    assert [row.kind for row in view.model.rows].count(RowKind.PASSAGE) == 8
    assert RowKind.MORE not in [row.kind for row in view.model.rows]


def test_more_matches_than_shown_says_best_n_of_total_and_shows_more(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    window.query_bar.edit.setText("sourdough")
    window.query_bar.submit()
    first = engine.last("search")
    assert first.params["limit"] == 50
    first.result(superangels_result(total=105).to_dict())
    text = window.results_view.plain_text()
    assert "Best 9 of 105 matching passages" in text
    assert "50 results" not in text
    footer = len(window.results_view.model.rows) - 1
    assert window.results_view.model.rows[footer].kind is RowKind.FOOTER
    window.results_view.list.activated_row.emit(footer, False)
    again = engine.last("search")
    assert again is not first and again.params["limit"] == 100
    assert again.params["query"] == "sourdough"


@pytest.mark.expect_log("cannot open /notes/superangels.md")
def test_keyboard_from_the_query_into_the_results_and_back(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    window.activateWindow()
    window.query_bar.focus_query()
    window.query_bar.edit.setText("sourdough")
    window.query_bar.submit()
    engine.last("search").result(superangels_result(total=9).to_dict())
    results = window.results_view
    qtbot.keyClick(window.query_bar.edit, Qt.Key.Key_Down)
    assert results.list.hasFocus()
    first = results.list.currentIndex().row()
    assert results.model.rows[first].kind is RowKind.PASSAGE  # the file heading is not a stop
    # Enter: the passage in Sources.
    with qtbot.waitSignal(results.hit_selected) as shown:
        qtbot.keyClick(results.list, Qt.Key.Key_Return)
    assert shown.args[0]["chunk_id"] == "superangels#0"
    assert window.side_tabs.currentIndex() == SOURCES_TAB
    assert window.sources_panel.selected_item is not None
    qtbot.keyClick(results.list, Qt.Key.Key_Down)
    assert results.model.rows[results.list.currentIndex().row()].hit == 2  # the next passage
    # Ctrl+Enter: open the file.
    with qtbot.waitSignal(results.open_requested) as opened:
        qtbot.keyClick(results.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert opened.args[0]["path"] == "/notes/superangels.md"
    # Up from the first result: back in the query box.
    qtbot.keyClick(results.list, Qt.Key.Key_Up)
    qtbot.keyClick(results.list, Qt.Key.Key_Up)
    assert window.query_bar.edit.hasFocus()


def test_rows_have_accessible_names(qtbot: Any) -> None:
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_results(superangels_result(total=9))
    model = view.model
    names = [
        str(model.data(model.index(r, 0), Qt.ItemDataRole.AccessibleTextRole))
        for r in range(model.rowCount())
    ]
    assert names[0] == "superangels — 8 passages"
    assert names[1].startswith("Passage: Passage 0 about sourdough")
    assert view.list.accessibleName() == "Search results"


def test_a_type_that_is_never_indexed_is_warned_about(qtbot: Any) -> None:
    view = ResultsView()
    qtbot.addWidget(view)
    warning = QueryWarning("unindexed_type", "xyz", "ext:xyz: .xyz files are not indexed.")
    view.show_results(SearchResult("lease ext:xyz", (), 0.001, 0, (warning,)))
    assert "ext:xyz — .xyz files are not indexed, so nothing can match" in view.plain_text()
    assert not view.warnings.isHidden()


def test_snippets_show_text_as_it_reads(qtbot: Any) -> None:
    from desktop.results_view import row_html, row_text

    markdown = (
        "# Feeding\n\nFeed the **sourdough** starter\ntwice a day; see "
        "[the guide](https://example.com/guide) and `flour.md`.\n![jar](img/jar.png)"
    )
    found = hit("/notes/bread.md", 0, markdown)
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_results(SearchResult("sourdough", (found,), 0.002, total=1))
    text = row_text(view.model.rows[0], view.hits)
    assert "Feed the sourdough starter twice a day; see the guide and flour.md." in text
    for syntax in ("**", "#", "](", "`", "https://example.com", "!["):
        assert syntax not in text.split(": ", 1)[1], syntax
    assert "sourdough</span>" in row_html(view.model.rows[0], view.hits)


def test_a_long_passage_is_an_excerpt_around_its_match(qtbot: Any) -> None:
    body = "Filler words go on. " * 80 + "Here the sourdough starter is fed. " + "More. " * 80
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(500, 600)
    view.show()
    view.show_results(SearchResult("sourdough", (hit("/notes/long.md", 0, body),), 0.002))
    text = view.plain_text()
    assert "sourdough starter" in text
    assert len(text) < 500 and "…" in text
    # However narrow the list, a result is a few lines, not the whole chunk.
    view.resize(160, 600)
    qtbot.waitUntil(lambda: view.list.viewport().width() < 200, timeout=2000)
    view.list.doItemsLayout()
    height = view.list.visualRect(view.model.index(0, 0)).height()
    assert 0 < height < 12 * view.fontMetrics().height()


def test_sources_scroll_to_the_matched_passage(qtbot: Any) -> None:
    from desktop.sources_panel import SourcesPanel

    panel = SourcesPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 200)
    panel.show()
    body = "Nothing to see here.\n\n" * 60 + "The sourdough starter lives in the fridge."
    panel.show_hit(hit("/notes/long.md", 0, body).to_dict())
    qtbot.waitUntil(lambda: panel.verticalScrollBar().value() > 0, timeout=2000)
    shown = panel.cursorForPosition(panel.viewport().rect().center()).block().text()
    assert "sourdough" in shown or panel.verticalScrollBar().value() > 100


def test_selecting_a_folder_limits_the_search_to_it(
    qtbot: Any, window: MainWindow, engine: Any
) -> None:
    panel = window.folders_panel
    panel.list.setCurrentRow(1)
    assert window.query_bar.folder == "/data/pdfs"
    assert window.query_bar.ask_scope() == {"folders": ["/data/pdfs"]}
    window.query_bar.edit.setText("lease")
    window.query_bar.submit()
    assert engine.last("search").params["filters"] == {"folders": ["/data/pdfs"]}
    panel.list.clearSelection()
    assert window.query_bar.folder is None
    window.query_bar.submit()
    assert "filters" not in engine.last("search").params


def test_recorded_hits_still_render(qtbot: Any) -> None:
    hits = tuple(SearchHit.from_dict(h) for h in load_stream("search_en.jsonl"))
    view = ResultsView()
    qtbot.addWidget(view)
    view.show_results(SearchResult("notice", hits, 0.004, total=len(hits)))
    assert len(view.model.rows) >= len({h.path for h in hits})
