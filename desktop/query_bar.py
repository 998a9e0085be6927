"""One query box with two modes. Search: results as you type (debounced; the word being typed also
matches longer words), filters for folder, type and date. Ask: a level (Auto, 1, 2, 3) and a
scope (everything, a folder, the selected file). Down moves from the box into the results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import setting_texts
from desktop.i18n import QT_TR_NOOP, tr
from desktop.rich_text import short_path
from engine.settings import FIELDS_BY_NAME

SEARCH, ASK = "search", "ask"
DEBOUNCE_MS = 250
DAY = 86_400.0

# (value, label) of each level, as the engine declares the default_level setting.
LEVELS: tuple[tuple[str, str], ...] = FIELDS_BY_NAME["default_level"].choices
TYPES: list[tuple[str, tuple[str, ...]]] = [
    (QT_TR_NOOP("All types"), ()),
    (QT_TR_NOOP("Markdown"), ("md", "markdown")),
    (QT_TR_NOOP("Text"), ("txt", "text", "rst", "org")),
    (QT_TR_NOOP("PDF"), ("pdf",)),
    (QT_TR_NOOP("HTML"), ("html", "htm")),
]
DATES: list[tuple[str, float | None]] = [
    (QT_TR_NOOP("Any time"), None),
    (QT_TR_NOOP("Past week"), 7 * DAY),
    (QT_TR_NOOP("Past month"), 31 * DAY),
    (QT_TR_NOOP("Past year"), 366 * DAY),
]


class QueryBar(QWidget):
    # query, filters {folders, extensions, modified_after}, still typing (the last word may be
    # the start of a longer one)
    search_requested = Signal(str, dict, bool)
    ask_requested = Signal(str, str, dict)  # question, level, scope (empty dict: everything)
    mode_changed = Signal(str)
    cleared = Signal()
    down_pressed = Signal()  # Down in the box: into the results
    folder_changed = Signal(object)  # the folder filter was chosen here (None: every folder)

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.time):
        super().__init__(parent)
        self._clock = clock
        self._selected_file: str | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._search_now)
        self._build()
        self.set_mode(SEARCH)

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        self.search_mode_button = self._mode_button(tr("Search"), SEARCH)
        self.search_mode_button.setToolTip(tr("Search as you type (Ctrl+1)"))
        self.ask_mode_button = self._mode_button(tr("Ask"), ASK)
        self.ask_mode_button.setToolTip(tr("Ask a question, answered from your documents (Ctrl+2)"))
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.search_mode_button)
        group.addButton(self.ask_mode_button)
        self.edit = QLineEdit()
        self.edit.setObjectName("queryEdit")
        self.edit.setClearButtonEnabled(True)
        self.edit.setAccessibleName(tr("Query"))
        for action in self.edit.findChildren(QAction):
            # The clear button is an icon only: give it words for tooltips and screen readers.
            action.setText(tr("Clear the query"))
            action.setToolTip(tr("Clear the query"))
        self.edit.installEventFilter(self)
        self.edit.textChanged.connect(self._on_text_changed)
        self.edit.returnPressed.connect(self.submit)
        self.go_button = QPushButton(tr("Search"))
        self.go_button.setObjectName("primary")
        self.go_button.clicked.connect(self.submit)
        top = QHBoxLayout()
        top.setSpacing(0)
        top.addWidget(self.search_mode_button)
        top.addWidget(self.ask_mode_button)
        top.addSpacing(10)
        top.addWidget(self.edit, 1)
        top.addSpacing(8)
        top.addWidget(self.go_button)
        self.options = QStackedWidget()
        self.options.addWidget(self._build_filters())
        self.options.addWidget(self._build_ask_options())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.options)

    def _mode_button(self, text: str, mode: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName("modeButton")
        button.setCheckable(True)
        button.clicked.connect(lambda: self.set_mode(mode))
        return button

    def _build_filters(self) -> QWidget:
        self.folder_filter = QComboBox()
        self.folder_filter.addItem(tr("All folders"), "")
        self.type_filter = QComboBox()
        for label, extensions in TYPES:
            self.type_filter.addItem(tr(label), list(extensions))
        self.date_filter = QComboBox()
        for label, age in DATES:
            self.date_filter.addItem(tr(label), age)
        for combo in (self.folder_filter, self.type_filter, self.date_filter):
            combo.currentIndexChanged.connect(self._on_filter_changed)
        self.folder_filter.activated.connect(
            lambda _index: self.folder_changed.emit(self.folder_filter.currentData() or None)
        )
        return self._row(
            (tr("In"), self.folder_filter),
            (tr("Type"), self.type_filter),
            (tr("Modified"), self.date_filter),
        )

    def _build_ask_options(self) -> QWidget:
        self.level_combo = QComboBox()
        for value, label in LEVELS:
            self.level_combo.addItem(setting_texts.choice(label), value)
        self.scope_combo = QComboBox()
        self._fill_scopes([])
        return self._row((tr("Level"), self.level_combo), (tr("Scope"), self.scope_combo))

    @staticmethod
    def _row(*pairs: tuple[str, QComboBox]) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for label, combo in pairs:
            caption = QLabel(label)
            caption.setObjectName("muted")
            caption.setBuddy(combo)
            combo.setAccessibleName(label)
            layout.addWidget(caption)
            combo.setMinimumWidth(120)
            layout.addWidget(combo)
            layout.addSpacing(10)
        layout.addStretch(1)
        return row

    # -- state ---------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return ASK if self.ask_mode_button.isChecked() else SEARCH

    @property
    def text(self) -> str:
        return self.edit.text().strip()

    def set_mode(self, mode: str) -> None:
        ask = mode == ASK
        self.ask_mode_button.setChecked(ask)
        self.search_mode_button.setChecked(not ask)
        self.options.setCurrentIndex(1 if ask else 0)
        self.go_button.setText(tr("Ask") if ask else tr("Search"))
        self.edit.setPlaceholderText(
            tr("Ask a question about your documents, then press Enter")
            if ask
            else tr("Search your notes and PDFs — results appear as you type")
        )
        self._debounce.stop()
        self.mode_changed.emit(mode)

    def set_level(self, level: str) -> None:
        index = self.level_combo.findData(level)
        if index >= 0:
            self.level_combo.setCurrentIndex(index)

    @property
    def level(self) -> str:
        return str(self.level_combo.currentData())

    def set_running(self, running: bool) -> None:
        """While a question runs the button rests; Enter still asks, replacing the running one."""
        self.go_button.setEnabled(not running)

    def set_folders(self, folders: Sequence[str]) -> None:
        current = self.folder_filter.currentData()
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem(tr("All folders"), "")
        for folder in folders:
            self.folder_filter.addItem(Path(folder).name or folder, folder)
            self.folder_filter.setItemData(
                self.folder_filter.count() - 1, short_path(folder), Qt.ItemDataRole.ToolTipRole
            )
        index = self.folder_filter.findData(current)
        self.folder_filter.setCurrentIndex(max(index, 0))
        self.folder_filter.blockSignals(False)
        self._fill_scopes(folders)

    def set_selected_file(self, path: str | None) -> None:
        """The file the user last looked at (a search hit or a source), offered as a scope."""
        self._selected_file = path
        folders = [
            str(self.scope_combo.itemData(i))[len("folder:") :]
            for i in range(self.scope_combo.count())
            if str(self.scope_combo.itemData(i)).startswith("folder:")
        ]
        self._fill_scopes(folders)

    def _fill_scopes(self, folders: Sequence[str]) -> None:
        current = self.scope_combo.currentData()
        self.scope_combo.clear()
        self.scope_combo.addItem(tr("Everything"), "all")
        for folder in folders:
            name = Path(folder).name or folder
            self.scope_combo.addItem(tr("Folder: {name}").format(name=name), f"folder:{folder}")
        if self._selected_file:
            name = Path(self._selected_file).name
            self.scope_combo.addItem(
                tr("Selected file: {name}").format(name=name), f"file:{self._selected_file}"
            )
        index = self.scope_combo.findData(current)
        self.scope_combo.setCurrentIndex(max(index, 0))

    def set_folder(self, folder: str | None) -> None:
        """Limit Search and Ask to `folder` (None: everything), as chosen in the folder list."""
        index = self.folder_filter.findData(folder or "")
        self.folder_filter.setCurrentIndex(max(index, 0))  # searches again when it changed
        self.set_scope(f"folder:{folder}" if folder else "all")

    @property
    def folder(self) -> str | None:
        return str(self.folder_filter.currentData() or "") or None

    def set_scope(self, value: str) -> bool:
        index = self.scope_combo.findData(value)
        if index >= 0:
            self.scope_combo.setCurrentIndex(index)
        return index >= 0

    def search_filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        folder = self.folder_filter.currentData()
        if folder:
            filters["folders"] = [folder]
        extensions = self.type_filter.currentData()
        if extensions:
            filters["extensions"] = list(extensions)
        age = self.date_filter.currentData()
        if age:
            filters["modified_after"] = self._clock() - float(age)
        return filters

    def ask_scope(self) -> dict[str, Any]:
        value = str(self.scope_combo.currentData() or "all")
        kind, _, target = value.partition(":")
        if kind == "folder":
            return {"folders": [target]}
        if kind == "file":
            return {"paths": [target]}
        return {}

    # -- input ---------------------------------------------------------------------------------

    def focus_query(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def submit(self) -> None:
        """Enter: search at once (no debounce wait, the words as typed) or ask the question."""
        if not self.text:
            return
        if self.mode == ASK:
            self.ask_requested.emit(self.text, self.level, self.ask_scope())
        else:
            self._search_now(typing=False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.mode == SEARCH
        ):
            self.down_pressed.emit()
            return True
        return super().eventFilter(watched, event)

    def _on_text_changed(self, _text: str) -> None:
        if self.mode != SEARCH:
            return
        if not self.text:
            self._debounce.stop()
            self.cleared.emit()
            return
        self._debounce.start()

    def _on_filter_changed(self, _index: int) -> None:
        if self.mode == SEARCH and self.text:
            self._debounce.start()

    def _search_now(self, typing: bool = True) -> None:
        self._debounce.stop()
        if self.text and self.mode == SEARCH:
            # While typing the last word may be unfinished; the raw text says if a space ended it.
            query = self.edit.text().lstrip() if typing else self.text
            self.search_requested.emit(query, self.search_filters(), typing)
