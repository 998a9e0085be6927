"""Watched folders: each with its file count and index state (indexing n/N, up to date, problems).
A folder with problems opens the list of files that failed and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.rich_text import escape, format_count, short_path
from desktop.theme import COLORS
from engine.models import FileRecord, FolderInfo


@dataclass(frozen=True)
class FolderRow:
    path: str
    files: int = 0
    errors: int = 0
    pending: int = 0
    watch_mode: str = ""  # "events", "polling" (the OS refused more watches), "off"
    watch_note: str = ""  # why the folder is polled, in the engine's words
    exists: bool = True
    never_indexed: bool = False  # the engine has not finished a first index of it

    @classmethod
    def from_info(cls, info: FolderInfo) -> FolderRow:
        """One `folders.list` entry. Unreadable files (`errors`) and unsearchable ones
        (`skipped`: too large, no text layer) are both problems the user can look at."""
        return cls(
            path=info.path,
            files=info.files,
            errors=info.errors + info.skipped,
            pending=info.pending,
            watch_mode=info.watch_mode,
            watch_note=info.watch_note,
            exists=info.state != "missing",
            never_indexed=info.state == "indexing" and info.last_indexed is None,
        )


def contains(folder: str, path: str) -> bool:
    folder = folder.rstrip("/\\")
    return path == folder or path.startswith(folder + "/") or path.startswith(folder + "\\")


def folder_state(row: FolderRow, progress: Mapping[str, Any] | None) -> tuple[str, str]:
    """The state line of a folder and its colour."""
    if not row.exists:
        return "folder not found", COLORS.bad
    phase = (progress or {}).get("phase")
    current = str((progress or {}).get("current", ""))
    if (
        progress
        and phase in ("scanning", "indexing")
        and (not current or contains(row.path, current))
    ):
        if phase == "scanning":
            return "scanning…", COLORS.accent
        done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
        return f"indexing {format_count(done)}/{format_count(total)}", COLORS.accent
    if row.errors:
        noun = "file" if row.errors == 1 else "files"
        return f"{row.errors} {noun} with problems", COLORS.bad
    if row.pending:
        return f"{format_count(row.pending)} waiting", COLORS.warn
    if row.never_indexed:
        return "not indexed yet", COLORS.warn
    suffix = " · polling (no live watch)" if row.watch_mode == "polling" else ""
    return "up to date" + suffix, COLORS.good


def folder_html(row: FolderRow, progress: Mapping[str, Any] | None) -> str:
    state, color = folder_state(row, progress)
    name = Path(row.path).name or row.path
    noun = "file" if row.files == 1 else "files"
    return (
        f"<b>{escape(name)}</b><br>"
        f'<span style="color:{COLORS.muted}; font-size:8pt;">'
        f"{escape(short_path(row.path))}</span><br>"
        f'<span style="font-size:9pt;">{format_count(row.files)} {noun} · '
        f'<span style="color:{color};">{escape(state)}</span></span>'
    )


class FoldersPanel(QWidget):
    add_requested = Signal(str)
    remove_requested = Signal(str)
    problems_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[FolderRow] = []
        self._progress: dict[str, Any] | None = None
        title = QLabel("FOLDERS")
        title.setObjectName("sectionTitle")
        self.list = QListWidget()
        self.list.setObjectName("foldersList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.viewport().installEventFilter(self)
        self.list.itemClicked.connect(self._on_clicked)
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.add_button = QPushButton("Add folder…")
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Stop watching the selected folder (its files stay on disk)")
        self.remove_button.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button, 1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._render()

    @property
    def rows(self) -> list[FolderRow]:
        return list(self._rows)

    @property
    def selected_folder(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def set_folders(self, rows: Sequence[FolderRow]) -> None:
        self._rows = list(rows)
        self._render()

    def set_progress(self, progress: Mapping[str, Any] | None) -> None:
        self._progress = dict(progress) if progress else None
        self._render()

    def state_text(self, path: str) -> str:
        row = next((r for r in self._rows if r.path == path), None)
        return folder_state(row, self._progress)[0] if row else ""

    def choose_folder(self) -> None:
        """A non-blocking folder picker: the event loop keeps serving engine events meanwhile."""
        dialog = QFileDialog(self, "Add a folder to search")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_folder_chosen)
        dialog.open()

    def _on_folder_chosen(self, path: str) -> None:
        if path:
            self.add_requested.emit(path)

    def _render(self) -> None:
        selected = self.selected_folder
        self.list.clear()
        for row in self._rows:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, row.path)
            item.setToolTip("\n".join(filter(None, [row.path, row.watch_note])))
            self.list.addItem(item)
            label = QLabel(folder_html(row, self._progress))
            label.setWordWrap(True)
            label.setContentsMargins(8, 6, 8, 6)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            if row.errors:
                item.setToolTip(f"{row.path}\nClick to see which files failed and why.")
            self.list.setItemWidget(item, label)
            if row.path == selected:
                self.list.setCurrentItem(item)
        self._fit_items()
        self._update_buttons()

    def _fit_items(self) -> None:
        """Word-wrapped rows need their height for the list's current width, not a guess."""
        width = max(120, self.list.viewport().width() - 2 * self.list.spacing())
        for index in range(self.list.count()):
            item = self.list.item(index)
            label = self.list.itemWidget(item)
            if label is not None:
                label.ensurePolished()
                item.setSizeHint(QSize(width, label.heightForWidth(width) + 2))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_items()
        return super().eventFilter(watched, event)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_folder is not None)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        path = str(item.data(Qt.ItemDataRole.UserRole))
        row = next((r for r in self._rows if r.path == path), None)
        if row is not None and row.errors:
            self.problems_requested.emit(path)

    def _remove_selected(self) -> None:
        folder = self.selected_folder
        if folder:
            self.remove_requested.emit(folder)


def relative_to(folder: str, path: str) -> str:
    if contains(folder, path) and path != folder:
        return path[len(folder.rstrip("/\\")) + 1 :]
    return short_path(path)


def problem_rows(records: Sequence[FileRecord], folder: str | None = None) -> list[FileRecord]:
    """The files that could not be (fully) indexed, optionally only those under `folder`."""
    return [record for record in records if not folder or contains(folder, record.path)]


class ProblemsDialog(QDialog):
    """Which files could not be indexed and why, in the engine's own plain words."""

    def __init__(self, folder: str, problems: Sequence[FileRecord], parent: QWidget | None):
        super().__init__(parent)
        self.setWindowTitle(f"Problems in {Path(folder).name or folder}")
        self.resize(760, 380)
        intro = QLabel(
            f"{len(problems)} file{'s' if len(problems) != 1 else ''} in "
            f"{short_path(folder)} could not be fully indexed. They are skipped until they change."
        )
        intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Problem", "Details"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for problem in problems:
            path = problem.path
            kind = problem.error_kind or problem.state
            # Inside the folder's dialog the folder part of every path is noise.
            detail = problem.error.replace(path, Path(path).name)
            item = QTreeWidgetItem([relative_to(folder, path), kind.replace("_", " "), detail])
            item.setToolTip(0, path)
            item.setToolTip(2, detail)
            self.tree.addTopLevelItem(item)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
