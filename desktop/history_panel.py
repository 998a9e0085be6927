"""The question history: every thread asked, the most recently continued first, with a search box.
Clicking a thread reopens it (its answers, sources and steps as they were stored, a mark where a
source changed since); its menu renames, exports or deletes it. "New thread" starts a question
that follows nothing; otherwise a question goes into the thread on screen."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import tr
from desktop.list_rows import fit_rows_to_width
from desktop.rich_text import escape, format_count
from desktop.theme import colors, theme_events
from engine.threads import ThreadSummary, Turn

SEARCH_DELAY_MS = 250  # typing pauses this long before the history is searched


def when_label(seconds: float, now: float | None = None) -> str:
    """ "14:05" today, "Mon 14:05" this week, else the date."""
    moment = datetime.datetime.fromtimestamp(seconds)
    today = datetime.datetime.fromtimestamp(now) if now is not None else datetime.datetime.now()
    if moment.date() == today.date():
        return moment.strftime("%H:%M")
    if (today.date() - moment.date()).days < 7:
        return moment.strftime("%a %H:%M")
    return moment.strftime("%Y-%m-%d")


def summary_lines(summary: ThreadSummary, now: float | None = None) -> str:
    """The two lines a thread shows in the list."""
    count = (
        tr("1 question")
        if summary.turns == 1
        else tr("{n} questions").format(n=format_count(summary.turns))
    )
    details = [when_label(summary.updated, now), count]
    if summary.stale_sources:
        details.append(
            tr("⚠ a source changed")
            if summary.stale_sources == 1
            else tr("⚠ {n} sources changed").format(n=format_count(summary.stale_sources))
        )
    return f"{summary.title}\n" + " · ".join(details)


def quote_spans(text: str, quote: str) -> list[list[int]]:
    """Where the parts of a stored quote ("sentence … sentence") stand in the chunk text,
    whatever its line breaks."""
    spans: list[list[int]] = []
    for part in quote.split(" … "):
        words = part.split()
        if not words:
            continue
        match = re.search(r"\s+".join(re.escape(word) for word in words), text)
        if match:
            spans.append([match.start(), match.end()])
    return spans


def stored_citations(turn: Turn) -> list[dict[str, Any]]:
    """A stored answer's citations as the Sources tab shows them: the chunk text the agent read
    then, the quoted sentence highlighted, and whether the source changed since."""
    texts = {passage.chunk_id: passage.text for passage in turn.read}
    cited = []
    for citation in turn.citations:
        text = texts.get(citation.chunk_id, citation.quote)
        cited.append(
            {
                "number": citation.number,
                "chunk_id": citation.chunk_id,
                "path": citation.path,
                "title": citation.title,
                "text": text,
                "highlights": quote_spans(text, citation.quote),
                "page": citation.page,
                "heading": citation.heading,
                "state": citation.state,
            }
        )
    return cited


def stored_answer(turn: Turn) -> dict[str, Any]:
    """A stored turn as the `answer` event the answer view renders."""
    return {
        "type": "answer",
        "text": turn.answer,
        "citations": stored_citations(turn),
        "level": turn.level,
        "llm_calls": turn.llm_calls,
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "seconds": turn.seconds,
        "found": turn.found,
        "grounded": turn.grounded,
        "rewritten": turn.rewritten,
        "thread_id": turn.thread_id,
        "turn": turn.position,
    }


def summary_html(summary: ThreadSummary, now: float | None = None) -> str:
    title, details = summary_lines(summary, now).split("\n", 1)
    c = colors()
    muted, warn = escape(details), ""
    if summary.stale_sources:
        plain, _, mark = details.rpartition(" · ")
        muted, warn = escape(plain), f' · <span style="color:{c.bad};">{escape(mark)}</span>'
    return (
        f'<span style="font-weight:600;">{escape(title)}</span><br>'
        f'<span style="color:{c.muted};">{muted}</span>{warn}'
    )


class HistoryPanel(QWidget):
    search_changed = Signal(str)
    open_requested = Signal(str)  # thread id
    new_thread_requested = Signal()
    rename_requested = Signal(str)
    export_requested = Signal(str)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._summaries: list[ThreadSummary] = []
        self._current: str | None = None
        title = QLabel(tr("HISTORY"))
        title.setObjectName("sectionTitle")
        self.new_button = QPushButton(tr("New thread"))
        self.new_button.setToolTip(tr("Ask the next question on its own, not as a follow-up"))
        self.new_button.clicked.connect(self.new_thread_requested)
        header = QHBoxLayout()
        header.addWidget(title, 1)
        header.addWidget(self.new_button)
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Search questions and answers"))
        self.search.setAccessibleName(tr("Search the history"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.search_text))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setAccessibleName(tr("Earlier questions"))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.itemActivated.connect(self._on_clicked)
        self.list.viewport().installEventFilter(self)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("muted")
        self.empty_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        theme_events().changed.connect(self._render)
        self._render()

    @property
    def search_text(self) -> str:
        return self.search.text().strip()

    @property
    def summaries(self) -> list[ThreadSummary]:
        return list(self._summaries)

    @property
    def current_thread(self) -> str | None:
        return self._current

    def set_threads(self, summaries: Sequence[ThreadSummary]) -> None:
        self._summaries = list(summaries)
        self._render()

    def set_current(self, thread_id: str | None) -> None:
        """Mark the thread on screen (None: a new thread)."""
        self._current = thread_id
        self._select_current()

    def title_of(self, thread_id: str) -> str:
        return next((s.title for s in self._summaries if s.thread_id == thread_id), "")

    def _render(self) -> None:
        self.list.clear()
        for summary in self._summaries:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, summary.thread_id)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, summary_lines(summary))
            item.setToolTip(summary.last_question)
            self.list.addItem(item)
            # A label wraps a title of unspaced Chinese where a plain item would cut it short.
            label = QLabel(summary_html(summary))
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setContentsMargins(8, 5, 8, 5)
            self.list.setItemWidget(item, label)
        fit_rows_to_width(self.list)
        if self._summaries:
            self.empty_label.hide()
        else:
            self.empty_label.setText(
                tr("No earlier question matches.")
                if self.search_text
                else tr("Questions you ask are kept here.")
            )
            self.empty_label.show()
        self._select_current()

    def item_text(self, row: int) -> str:
        """What row `row` says, as plain text (its two lines)."""
        return str(self.list.item(row).data(Qt.ItemDataRole.AccessibleTextRole))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            fit_rows_to_width(self.list)
        return super().eventFilter(watched, event)

    def _select_current(self) -> None:
        self.list.blockSignals(True)
        self.list.clearSelection()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == self._current:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def _context_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        if item is None:
            return
        menu = self.thread_menu(str(item.data(Qt.ItemDataRole.UserRole)))
        menu.exec(self.list.viewport().mapToGlobal(position))

    def thread_menu(self, thread_id: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction(tr("Open"), lambda: self.open_requested.emit(thread_id))
        menu.addAction(tr("Rename…"), lambda: self.rename_requested.emit(thread_id))
        menu.addAction(tr("Export…"), lambda: self.export_requested.emit(thread_id))
        menu.addSeparator()
        menu.addAction(tr("Delete…"), lambda: self.delete_requested.emit(thread_id))
        return menu
