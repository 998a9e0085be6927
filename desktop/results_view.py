"""Search results, grouped by file: a file with several matching passages is one heading
("superangels.md — 8 passages") with its best passages under it and the rest a click away; a file
with one passage is one card. Each passage shows where it is (page, heading) and a short excerpt
of the text as it reads — lines joined, Markdown syntax gone — with the matched words marked.

When the engine matched more chunks than it sent, the list says "best 50 of 105" and offers to
show more. Keyboard first: Down from the query box lands on the first result, Up/Down move,
Enter shows the passage in Sources, Ctrl+Enter opens the file, Up from the first result goes
back to the query. Every row has an accessible name that says what it is."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QContextMenuEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QResizeEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.i18n import tr
from desktop.passage import excerpt, readable
from desktop.rich_text import (
    escape,
    file_name,
    format_count,
    highlight_html,
    location_label,
    short_path,
)
from desktop.theme import colors, css_font_stack, theme_events
from engine.models import QueryWarning, SearchHit, SearchResult

# A file's best passages shown at first; the rest behind "Show n more passages".
PASSAGES_SHOWN = 2
EXCERPT_CHARS = 300
MAX_EXCERPT_LINES = 4  # a result's text is capped at this many lines, however narrow the list
ROW_MARGIN = 6
ROW_PADDING = 10
INDENT = 18
OPEN_ANCHOR = "open"
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
UNINDEXED_TYPE = "unindexed_type"


class RowKind(Enum):
    SINGLE = "single"  # the only passage of its file: title and passage in one card
    FILE = "file"  # the heading of a file with several passages
    PASSAGE = "passage"  # one of several passages of a file
    MORE = "more"  # "Show n more passages" of one file
    FOOTER = "footer"  # "Best 50 of 105 · Show more"


@dataclass(frozen=True)
class Row:
    kind: RowKind
    path: str
    hit: int = -1  # index into the hits (SINGLE, PASSAGE)
    count: int = 0  # passages of the file (FILE) or hidden (MORE)


@dataclass
class _Group:
    path: str
    hits: list[int]


def group_hits(hits: Sequence[SearchHit]) -> list[_Group]:
    """Files in the order of their best passage; each file's passages best first."""
    groups: dict[str, _Group] = {}
    for index, hit in enumerate(hits):
        groups.setdefault(hit.path, _Group(hit.path, [])).hits.append(index)
    return list(groups.values())


def build_rows(
    hits: Sequence[SearchHit], expanded: set[str], more: bool, shown: int = PASSAGES_SHOWN
) -> list[Row]:
    rows: list[Row] = []
    for group in group_hits(hits):
        if len(group.hits) == 1:
            rows.append(Row(RowKind.SINGLE, group.path, group.hits[0]))
            continue
        rows.append(Row(RowKind.FILE, group.path, count=len(group.hits)))
        visible = group.hits if group.path in expanded else group.hits[:shown]
        rows += [Row(RowKind.PASSAGE, group.path, index) for index in visible]
        hidden = len(group.hits) - len(visible)
        if hidden:
            rows.append(Row(RowKind.MORE, group.path, count=hidden))
    if more:
        rows.append(Row(RowKind.FOOTER, ""))
    return rows


def hit_title(hit: SearchHit) -> str:
    return hit.title or file_name(hit.path)


def passages_text(count: int) -> str:
    return tr("1 passage") if count == 1 else tr("{n} passages").format(n=format_count(count))


def summary_text(result: SearchResult, files: int) -> str:
    """The line over the results: how many, in how many files, how fast."""
    shown, total = result.count, max(result.total, result.count)
    ms = f"{result.seconds * 1000:.0f}"
    if total > shown:
        return tr("Best {shown} of {total} matching passages · {files} files · {ms} ms").format(
            shown=format_count(shown), total=format_count(total), files=files, ms=ms
        )
    if shown == 1:
        return tr("1 matching passage · {ms} ms").format(ms=ms)
    return tr("{shown} matching passages in {files} files · {ms} ms").format(
        shown=format_count(shown), files=files, ms=ms
    )


def warning_text(warning: QueryWarning) -> str:
    """A query warning in the app's words (the engine's sentence is the CLI's)."""
    if warning.kind == UNINDEXED_TYPE:
        return tr(
            "ext:{ext} — .{ext} files are not indexed, so nothing can match. Search Markdown, "
            "text, HTML or PDF files, or remove the filter."
        ).format(ext=warning.subject)
    return warning.message


def passage_excerpt(hit: SearchHit, limit: int = EXCERPT_CHARS) -> tuple[str, list[list[int]]]:
    """The passage as it reads (one run of text), cut around its first match."""
    spans = [[h.start, h.end] for h in hit.highlights]
    shown = excerpt(readable(hit.text, spans, compact=True), limit)
    return shown.text, [list(span) for span in shown.spans]


def _open_link() -> str:
    label = escape(tr("Open"))
    return (
        f'&nbsp;&nbsp;<a href="{OPEN_ANCHOR}" style="color:{colors().accent}; font-size:9pt;">'
        f"{label}</a>"
    )


def row_html(row: Row, hits: Sequence[SearchHit]) -> str:
    c = colors()
    font = f"font-family:{css_font_stack()};"
    if row.kind is RowKind.FOOTER:
        label = escape(tr("Show more results"))
        return (
            f'<div style="{font} color:{c.accent};">{label} '
            f'<span style="color:{c.muted};">(Enter)</span></div>'
        )
    if row.kind is RowKind.MORE:
        text = (
            tr("Show 1 more passage in {file}")
            if row.count == 1
            else tr("Show {n} more passages in {file}")
        ).format(n=row.count, file=file_name(row.path))
        return f'<div style="{font} color:{c.accent}; font-size:9pt;">{escape(text)}</div>'
    if row.kind is RowKind.FILE:
        first = next(h for h in hits if h.path == row.path)
        return (
            f'<div style="{font}"><span style="font-size:11pt; font-weight:600; '
            f'color:{c.accent};">{escape(hit_title(first))}</span>'
            f'<span style="color:{c.muted};"> — {escape(passages_text(row.count))}</span><br>'
            f'<span style="color:{c.muted}; font-size:9pt;">{escape(short_path(row.path))}'
            "</span></div>"
        )
    hit = hits[row.hit]
    text, spans = passage_excerpt(hit)
    location = location_label(hit.page, list(hit.heading), getattr(hit, "ocr", False))
    body = f'<span style="line-height:140%;">{highlight_html(text, spans)}</span>'
    if row.kind is RowKind.PASSAGE:
        where = escape(location) if location else escape(tr("Passage"))
        return (
            f'<div style="{font}"><span style="color:{c.muted}; font-size:9pt;">{where}</span>'
            f"{_open_link()}<br>{body}</div>"
        )
    where = f' <span style="color:{c.muted};">· {escape(location)}</span>' if location else ""
    return (
        f'<div style="{font}"><span style="font-size:11pt; font-weight:600; '
        f'color:{c.accent};">{escape(hit_title(hit))}</span>{where}{_open_link()}<br>'
        f'<span style="color:{c.muted}; font-size:9pt;">{escape(short_path(hit.path))}</span>'
        f"<br>{body}</div>"
    )


def row_text(row: Row, hits: Sequence[SearchHit]) -> str:
    """The row in plain words: its accessible name, and what tests read."""
    if row.kind is RowKind.FOOTER:
        return tr("Show more results")
    if row.kind is RowKind.MORE:
        return (
            tr("Show 1 more passage in {file}")
            if row.count == 1
            else tr("Show {n} more passages in {file}")
        ).format(n=row.count, file=file_name(row.path))
    if row.kind is RowKind.FILE:
        first = next(h for h in hits if h.path == row.path)
        return f"{hit_title(first)} — {passages_text(row.count)}"
    hit = hits[row.hit]
    text, _spans = passage_excerpt(hit)
    location = location_label(hit.page, list(hit.heading), getattr(hit, "ocr", False))
    where = f" · {location}" if location else ""
    name = hit_title(hit) if row.kind is RowKind.SINGLE else tr("Passage")
    return f"{name}{where}: {text}"


class ResultsModel(QAbstractListModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hits: list[SearchHit] = []
        self.rows: list[Row] = []
        self.expanded: set[str] = set()
        self.more = False

    def set_result(self, hits: Sequence[SearchHit], more: bool, keep_expanded: bool) -> None:
        self.beginResetModel()
        self.hits = list(hits)
        if not keep_expanded:
            self.expanded = set()
        self.more = more
        self.rows = build_rows(self.hits, self.expanded, more)
        self.endResetModel()

    def expand(self, path: str) -> None:
        self.expanded.add(path)
        self.set_result(self.hits, self.more, keep_expanded=True)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == ROW_ROLE:
            return row
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return row_text(row, self.hits)
        if role == Qt.ItemDataRole.ToolTipRole and row.kind is not RowKind.FOOTER:
            return row.path
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.rows[index.row()].kind is RowKind.FILE:
            return Qt.ItemFlag.ItemIsEnabled  # a heading: not a stop for the keyboard
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ResultDelegate(QStyledItemDelegate):
    """Paints a row's rich text; the document is cached per row and width."""

    def __init__(self, view: ResultsList) -> None:
        super().__init__(view)
        self._view = view
        self._documents: dict[tuple[int, int], QTextDocument] = {}

    def clear(self) -> None:
        self._documents.clear()

    def _width(self) -> int:
        return max(120, self._view.viewport().width() - 2 * ROW_MARGIN - 2 * ROW_PADDING)

    def document(self, index: QModelIndex | QPersistentModelIndex) -> QTextDocument:
        row: Row = index.data(ROW_ROLE)
        width = self._width() - (INDENT if row.kind in (RowKind.PASSAGE, RowKind.MORE) else 0)
        key = (index.row(), width)
        cached = self._documents.get(key)
        if cached is not None:
            return cached
        model = index.model()
        hits = model.hits if isinstance(model, ResultsModel) else []
        document = QTextDocument()
        document.setDocumentMargin(0)
        document.setDefaultFont(self._view.font())
        document.setHtml(row_html(row, hits))
        document.setTextWidth(width)
        self._documents[key] = document
        return document

    def text_height(self, document: QTextDocument, row: Row) -> float:
        """The document's height, capped at MAX_EXCERPT_LINES lines of passage text."""
        full = document.size().height()
        if row.kind not in (RowKind.SINGLE, RowKind.PASSAGE):
            return full
        layout = document.documentLayout()
        block = document.begin()
        lines_seen = 0
        heading_lines = 2 if row.kind is RowKind.SINGLE else 1
        while block.isValid():
            text_layout = block.layout()
            top = layout.blockBoundingRect(block).top()
            for number in range(text_layout.lineCount()):
                lines_seen += 1
                if lines_seen == heading_lines + MAX_EXCERPT_LINES:
                    line = text_layout.lineAt(number)
                    return min(full, top + line.y() + line.height())
            block = block.next()
        return full

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        row: Row = index.data(ROW_ROLE)
        document = self.document(index)
        pad = ROW_PADDING if row.kind not in (RowKind.MORE, RowKind.FOOTER) else 6
        height = int(self.text_height(document, row)) + 2 * pad
        gap = ROW_MARGIN if row.kind in (RowKind.SINGLE, RowKind.FILE, RowKind.FOOTER) else 2
        return QSize(self._view.viewport().width(), height + gap)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        row: Row = index.data(ROW_ROLE)
        c = colors()
        gap = ROW_MARGIN if row.kind in (RowKind.SINGLE, RowKind.FILE, RowKind.FOOTER) else 2
        indent = INDENT if row.kind in (RowKind.PASSAGE, RowKind.MORE) else 0
        rect = QRect(option.rect).adjusted(ROW_MARGIN + indent, gap, -ROW_MARGIN, 0)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        focused = self._view.hasFocus()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected:
            painter.setPen(QPen(QColor(c.accent), 1.5 if focused else 1.0))
            painter.setBrush(QColor(c.selection if focused else c.accent_soft))
            painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1), 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver and row.kind is not RowKind.FILE:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c.raised))
            painter.drawRoundedRect(rect, 6, 6)
        document = self.document(index)
        pad = ROW_PADDING if row.kind not in (RowKind.MORE, RowKind.FOOTER) else 6
        height = self.text_height(document, row)
        painter.translate(rect.left() + ROW_PADDING, rect.top() + pad)
        painter.setClipRect(QRect(0, 0, rect.width(), int(height)))
        context = QAbstractTextDocumentLayout.PaintContext()
        context.palette.setColor(QPalette.ColorRole.Text, QColor(c.text))
        document.documentLayout().draw(painter, context)
        painter.restore()

    def anchor_at(self, index: QModelIndex, position: QPoint) -> str:
        """The link under `position` (viewport coordinates) in the row at `index`, or ""."""
        row: Row = index.data(ROW_ROLE)
        rect = self._view.visualRect(index)
        gap = ROW_MARGIN if row.kind in (RowKind.SINGLE, RowKind.FILE, RowKind.FOOTER) else 2
        indent = INDENT if row.kind in (RowKind.PASSAGE, RowKind.MORE) else 0
        pad = ROW_PADDING if row.kind not in (RowKind.MORE, RowKind.FOOTER) else 6
        x = position.x() - rect.left() - ROW_MARGIN - indent - ROW_PADDING
        y = position.y() - rect.top() - gap - pad
        return str(self.document(index).documentLayout().anchorAt(QPoint(x, y).toPointF()))


class ResultsList(QListView):
    """The list itself: keyboard handling and mouse links on top of QListView."""

    activated_row = Signal(int, bool)  # row, open (Ctrl+Enter, double-click, the Open link)
    leave_up = Signal()  # Up on the first result: back to the query box
    context_requested = Signal(int, QPoint)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsList")
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setUniformItemSizes(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setMouseTracking(True)
        self.setSpacing(0)
        self.result_delegate = ResultDelegate(self)
        self.setItemDelegate(self.result_delegate)
        self.doubleClicked.connect(lambda index: self.activated_row.emit(index.row(), True))

    def selectable_rows(self) -> list[int]:
        model = self.model()
        if model is None:
            return []
        return [
            r
            for r in range(model.rowCount())
            if model.flags(model.index(r, 0)) & Qt.ItemFlag.ItemIsSelectable
        ]

    def select_row(self, row: int) -> None:
        model = self.model()
        if model is None or not 0 <= row < model.rowCount():
            return
        index = model.index(row, 0)
        self.setCurrentIndex(index)
        self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def step(self, delta: int) -> bool:
        """Move to the next (1) or previous (-1) selectable row; False at either end."""
        rows = self.selectable_rows()
        if not rows:
            return False
        current = self.currentIndex().row()
        if current not in rows:
            target = rows[0] if delta > 0 else rows[-1]
        else:
            position = rows.index(current) + delta
            if not 0 <= position < len(rows):
                return False
            target = rows[position]
        self.select_row(target)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            current = self.currentIndex()
            if current.isValid():
                control = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
                self.activated_row.emit(current.row(), control)
            return
        if key == Qt.Key.Key_Down:
            self.step(1)
            return
        if key == Qt.Key.Key_Up:
            if not self.step(-1):
                self.leave_up.emit()
            return
        super().keyPressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            anchor = self.result_delegate.anchor_at(index, event.position().toPoint())
            super().mouseReleaseEvent(event)
            self.activated_row.emit(index.row(), anchor == OPEN_ANCHOR)
            return
        super().mouseReleaseEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        over_link = index.isValid() and bool(
            self.result_delegate.anchor_at(index, event.position().toPoint())
        )
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor if over_link else Qt.CursorShape.ArrowCursor
        )
        super().mouseMoveEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if index.isValid():
            self.select_row(index.row())
            self.context_requested.emit(index.row(), event.globalPos())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.result_delegate.clear()
            self.doItemsLayout()

    def refresh(self) -> None:
        """Colours changed: draw every row again."""
        self.result_delegate.clear()
        self.doItemsLayout()
        self.viewport().update()


class ResultsView(QWidget):
    """Shows search hits; Enter or a click previews a passage, "Open" or Ctrl+Enter opens its
    file. Signals carry hits in their wire form (what the Sources panel shows)."""

    hit_selected = Signal(dict)
    open_requested = Signal(dict)
    show_in_folder_requested = Signal(dict)
    copy_path_requested = Signal(dict)
    ask_about_requested = Signal(dict)
    more_requested = Signal()
    leave_up = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsView")
        self._result: SearchResult | None = None
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.summary.setAccessibleName(tr("Search summary"))
        self.warnings = QLabel()
        self.warnings.setObjectName("warning")
        self.warnings.setWordWrap(True)
        self.warnings.hide()
        self.message = QLabel()
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setContentsMargins(14, 14, 14, 14)
        self.model = ResultsModel(self)
        self.list = ResultsList()
        self.list.setModel(self.model)
        self.list.setAccessibleName(tr("Search results"))
        self.list.activated_row.connect(self._activate)
        self.list.leave_up.connect(self.leave_up)
        self.list.context_requested.connect(self._context_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.summary)
        layout.addWidget(self.warnings)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.message, 1)
        theme_events().changed.connect(self._on_theme_changed)
        self.show_message("")

    # -- content -------------------------------------------------------------------------------

    @property
    def hits(self) -> list[SearchHit]:
        return list(self.model.hits)

    @property
    def result(self) -> SearchResult | None:
        return self._result

    def show_results(self, result: SearchResult) -> None:
        same_query = self._result is not None and self._result.query == result.query
        previous_row = self.list.currentIndex().row() if same_query else -1
        self._result = result
        self.list.result_delegate.clear()
        self.model.set_result(result.hits, result.more, keep_expanded=same_query)
        self._show_warnings(result.warnings)
        if not result.hits:
            self.summary.hide()
            self._show_text(
                "<p><b>"
                + escape(tr("No matches for {query}.").format(query=result.query))
                + "</b></p><p>"
                + escape(
                    tr(
                        "Try fewer or different words, remove a filter, or check that the "
                        "folder holding the document is watched and indexed."
                    )
                )
                + "</p>"
            )
            return
        files = len(group_hits(result.hits))
        self.summary.setText(summary_text(result, files))
        self.summary.show()
        self.message.hide()
        self.list.show()
        if previous_row >= 0:  # "show more" or a refresh: stay where the user was
            self.list.select_row(min(previous_row, self.model.rowCount() - 1))

    def _show_warnings(self, warnings: Sequence[QueryWarning]) -> None:
        texts = [warning_text(w) for w in warnings]
        self.warnings.setText("\n".join(texts))
        self.warnings.setVisible(bool(texts))

    def show_message(self, text: str) -> None:
        self._result = None
        self.model.set_result([], False, keep_expanded=False)
        self.summary.hide()
        self.warnings.hide()
        self._show_text(f"<p>{escape(text)}</p>" if text else "")

    def _show_text(self, html: str) -> None:
        self.list.hide()
        self.message.setText(html)
        self.message.show()

    def plain_text(self) -> str:
        """What the view says, as text (tests and accessibility checks read it)."""
        parts = []
        for label in (self.summary, self.warnings):
            if label.isVisibleTo(self) and label.text():
                parts.append(label.text())
        if self.message.isVisibleTo(self):
            parts.append(_strip_tags(self.message.text()))
        parts += [row_text(row, self.model.hits) for row in self.model.rows]
        return "\n".join(parts)

    # -- navigation ------------------------------------------------------------------------------

    def focus_first(self) -> bool:
        """Down from the query box: the first result, focused. False when there is none."""
        rows = self.list.selectable_rows()
        if not rows or not self.list.isVisible():
            return False
        current = self.list.currentIndex().row()
        self.list.select_row(current if current in rows else rows[0])
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def select_hit(self, index: int) -> None:
        """Preview hit `index` (its row is selected too)."""
        for row_number, row in enumerate(self.model.rows):
            if row.hit == index:
                self.list.select_row(row_number)
                break
        if 0 <= index < len(self.model.hits):
            self.hit_selected.emit(self.model.hits[index].to_dict())

    def row_of_hit(self, index: int) -> int:
        return next((n for n, row in enumerate(self.model.rows) if row.hit == index), -1)

    def _activate(self, row_number: int, open_it: bool) -> None:
        if not 0 <= row_number < len(self.model.rows):
            return
        row = self.model.rows[row_number]
        if row.kind is RowKind.FOOTER:
            self.more_requested.emit()
        elif row.kind is RowKind.MORE:
            self.model.expand(row.path)
            self.list.select_row(min(row_number, self.model.rowCount() - 1))
        elif row.kind is RowKind.FILE:
            first = next(
                n for n, r in enumerate(self.model.rows) if r.path == row.path and r.hit >= 0
            )
            self._activate(first, open_it)
        else:
            hit = self.model.hits[row.hit].to_dict()
            (self.open_requested if open_it else self.hit_selected).emit(hit)

    def _context_menu(self, row_number: int, where: QPoint) -> None:
        row = self.model.rows[row_number]
        if row.hit < 0:
            return
        hit = self.model.hits[row.hit].to_dict()
        menu = QMenu(self)
        menu.addAction(tr("Show in Sources"), lambda: self.hit_selected.emit(hit))
        menu.addAction(tr("Open"), lambda: self.open_requested.emit(hit))
        menu.addAction(tr("Show in folder"), lambda: self.show_in_folder_requested.emit(hit))
        menu.addAction(tr("Copy path"), lambda: self.copy_path_requested.emit(hit))
        menu.addSeparator()
        menu.addAction(tr("Ask about this file"), lambda: self.ask_about_requested.emit(hit))
        menu.popup(where)

    def _on_theme_changed(self) -> None:
        self.list.refresh()
        if self.message.isVisible() and self._result is not None:
            self.show_results(self._result)


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("\xa0", " ").strip()
