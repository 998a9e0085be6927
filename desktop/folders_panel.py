"""Watched folders: each with its file count and index state (indexing n/N, up to date, problems).
Selecting a folder limits Search and Ask to it (the query bar shows it, and "All folders" undoes
it); "N files with problems" is a link to the list of those files. Remove asks first; Rescan
brings the index up to date with the disk at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
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
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import plain_error
from desktop.i18n import tr
from desktop.list_rows import fit_rows_to_width
from desktop.rich_text import escape, format_count, short_path
from desktop.theme import colors, theme_events
from engine.models import FileRecord, FolderInfo

PROBLEMS_LINK = "problems"


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


def folder_name(path: str) -> str:
    return Path(path).name or path


def problems_text(errors: int) -> str:
    return (
        tr("1 file with problems")
        if errors == 1
        else tr("{n} files with problems").format(n=format_count(errors))
    )


def folder_state(row: FolderRow, progress: Mapping[str, Any] | None) -> tuple[str, str]:
    """The state line of a folder and its colour."""
    c = colors()
    if not row.exists:
        return tr("folder not found"), c.bad
    phase = (progress or {}).get("phase")
    current = str((progress or {}).get("current", ""))
    if (
        progress
        and phase in ("scanning", "indexing")
        and (not current or contains(row.path, current))
    ):
        if phase == "scanning":
            return tr("scanning…"), c.accent
        done, total = int(progress.get("done", 0)), int(progress.get("total", 0))
        return tr("indexing {done}/{total}").format(
            done=format_count(done), total=format_count(total)
        ), c.accent
    if row.errors:
        return problems_text(row.errors), c.bad
    if row.pending:
        return tr("{n} waiting").format(n=format_count(row.pending)), c.warn
    if row.never_indexed:
        return tr("not indexed yet"), c.warn
    if row.watch_mode == "polling":
        return tr("up to date · polling (no live watch)"), c.good
    return tr("up to date"), c.good


def files_text(files: int) -> str:
    return tr("1 file") if files == 1 else tr("{n} files").format(n=format_count(files))


def folder_html(row: FolderRow, progress: Mapping[str, Any] | None) -> str:
    c = colors()
    state, color = folder_state(row, progress)
    shown_state = (
        f'<a href="{PROBLEMS_LINK}" style="color:{color};">{escape(state)}</a>'
        if row.errors and state == problems_text(row.errors)
        else f'<span style="color:{color};">{escape(state)}</span>'
    )
    return (
        f"<b>{escape(folder_name(row.path))}</b><br>"
        f'<span style="color:{c.muted}; font-size:8pt;">'
        f"{escape(short_path(row.path))}</span><br>"
        f'<span style="font-size:9pt;">{escape(files_text(row.files))} · {shown_state}</span>'
    )


class FolderRowWidget(QLabel):
    """One folder in the list. Only its problems link takes clicks; the rest of the row selects
    it, as any list row does."""

    problems_clicked = Signal(str)

    def __init__(self, row: FolderRow, progress: Mapping[str, Any] | None) -> None:
        super().__init__(folder_html(row, progress))
        self.path = row.path
        self.setWordWrap(True)
        self.setContentsMargins(8, 6, 8, 6)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.linkActivated.connect(lambda _link: self.problems_clicked.emit(self.path))
        state, _color = folder_state(row, progress)
        self.setAccessibleName(
            tr("Folder {name}: {files}, {state}").format(
                name=folder_name(row.path), files=files_text(row.files), state=state
            )
        )


class FoldersPanel(QWidget):
    add_requested = Signal(str)
    remove_requested = Signal(str)
    rescan_requested = Signal()
    problems_requested = Signal(str)
    folder_selected = Signal(object)  # the path, or None for "every folder"
    show_in_folder_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[FolderRow] = []
        self._progress: dict[str, Any] | None = None
        self._selected: str | None = None
        title = QLabel(tr("FOLDERS"))
        title.setObjectName("sectionTitle")
        self.list = QListWidget()
        self.list.setObjectName("foldersList")
        self.list.setAccessibleName(tr("Watched folders"))
        self.list.setToolTip(tr("Select a folder to search and ask only there"))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.viewport().installEventFilter(self)
        self.list.itemSelectionChanged.connect(self._on_selection_changed)
        self.add_button = QPushButton(tr("Add folder…"))
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.choose_folder)
        self.rescan_button = QPushButton(tr("Rescan"))
        self.rescan_button.setToolTip(tr("Bring the index up to date with the disk now"))
        self.rescan_button.clicked.connect(self.rescan_requested)
        self.remove_button = QPushButton(tr("Remove…"))
        self.remove_button.setToolTip(
            tr("Stop watching the selected folder (its files stay on disk)")
        )
        self.remove_button.clicked.connect(self._remove_selected)
        # Three buttons side by side do not fit a narrow panel (nor longer translations): the main
        # action gets a row of its own, the two others share the row under it.
        buttons = QHBoxLayout()
        buttons.addWidget(self.rescan_button, 1)
        buttons.addWidget(self.remove_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.add_button)
        layout.addLayout(buttons)
        theme_events().changed.connect(self._render)
        self._render()

    @property
    def rows(self) -> list[FolderRow]:
        return list(self._rows)

    @property
    def selected_folder(self) -> str | None:
        item = self.list.currentItem()
        if item is None or not item.isSelected():
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def set_folders(self, rows: Sequence[FolderRow]) -> None:
        self._rows = list(rows)
        if self._selected not in {row.path for row in self._rows}:
            self._selected = None
        self._render()

    def set_progress(self, progress: Mapping[str, Any] | None) -> None:
        self._progress = dict(progress) if progress else None
        self._render()

    def state_text(self, path: str) -> str:
        row = next((r for r in self._rows if r.path == path), None)
        return folder_state(row, self._progress)[0] if row else ""

    def select_folder(self, path: str | None) -> None:
        """Select `path` (None: no folder) without telling anyone (the query bar did it)."""
        self._selected = path
        self.list.blockSignals(True)
        self.list.clearSelection()
        for index in range(self.list.count()):
            item = self.list.item(index)
            if path is not None and item.data(Qt.ItemDataRole.UserRole) == path:
                self.list.setCurrentItem(item)
                item.setSelected(True)
        self.list.blockSignals(False)
        self._update_buttons()

    def choose_folder(self) -> None:
        """A non-blocking folder picker: the event loop keeps serving engine events meanwhile."""
        dialog = QFileDialog(self, tr("Add a folder to search"))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_folder_chosen)
        dialog.open()

    def _on_folder_chosen(self, path: str) -> None:
        if path:
            self.add_requested.emit(path)

    def _render(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for row in self._rows:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, row.path)
            item.setToolTip("\n".join(filter(None, [row.path, row.watch_note])))
            self.list.addItem(item)
            widget = FolderRowWidget(row, self._progress)
            widget.problems_clicked.connect(self.problems_requested)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, widget.accessibleName())
            self.list.setItemWidget(item, widget)
            if row.path == self._selected:
                self.list.setCurrentItem(item)
                item.setSelected(True)
        self.list.blockSignals(False)
        fit_rows_to_width(self.list)
        self._update_buttons()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list.viewport() and event.type() == QEvent.Type.Resize:
            fit_rows_to_width(self.list)
        if (
            watched is self.list.viewport()
            and event.type() == QEvent.Type.MouseButtonPress
            and self.list.itemAt(event.position().toPoint()) is None  # type: ignore[attr-defined]
        ):
            self.list.clearSelection()  # a click on the empty part: every folder again
        return super().eventFilter(watched, event)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_folder is not None)
        self.rescan_button.setEnabled(bool(self._rows))

    def _on_selection_changed(self) -> None:
        selected = self.selected_folder
        self._update_buttons()
        if selected != self._selected:
            self._selected = selected
            self.folder_selected.emit(selected)

    def _context_menu(self, position: QPoint) -> None:
        item = self.list.itemAt(position)
        menu = QMenu(self)
        if item is not None:
            path = str(item.data(Qt.ItemDataRole.UserRole))
            row = next((r for r in self._rows if r.path == path), None)
            menu.addAction(tr("Search only here"), lambda: self.select_and_emit(path))
            menu.addAction(
                tr("Show in file manager"), lambda: self.show_in_folder_requested.emit(path)
            )
            if row is not None and row.errors:
                menu.addAction(
                    problems_text(row.errors), lambda: self.problems_requested.emit(path)
                )
            menu.addSeparator()
            menu.addAction(tr("Remove…"), lambda: self.confirm_remove(path))
        menu.addAction(tr("Search every folder"), lambda: self.select_and_emit(None))
        menu.addAction(tr("Rescan now"), self.rescan_requested.emit)
        menu.popup(self.list.viewport().mapToGlobal(position))

    def select_and_emit(self, path: str | None) -> None:
        self.select_folder(path)
        self.folder_selected.emit(path)

    def _remove_selected(self) -> None:
        folder = self.selected_folder
        if folder:
            self.confirm_remove(folder)

    def confirm_remove(self, folder: str) -> QMessageBox:
        """Ask before removing: the files stay, but the index forgets them."""
        row = next((r for r in self._rows if r.path == folder), None)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(tr("Remove folder"))
        box.setText(tr("Stop watching {name}?").format(name=folder_name(folder)))
        box.setInformativeText(
            tr(
                "Its {files} leave the index and Needle stops following it. The files "
                "themselves are not touched, and you can add the folder again at any time."
            ).format(files=files_text(row.files if row else 0))
        )
        remove = box.addButton(tr("Remove"), QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setObjectName("confirmRemove")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def clicked(button: object) -> None:
            if button is remove:
                self.remove_requested.emit(folder)

        box.buttonClicked.connect(clicked)
        box.open()
        return box


def relative_to(folder: str, path: str) -> str:
    if contains(folder, path) and path != folder:
        return path[len(folder.rstrip("/\\")) + 1 :]
    return short_path(path)


def problem_rows(records: Sequence[FileRecord], folder: str | None = None) -> list[FileRecord]:
    """The files that could not be (fully) indexed, optionally only those under `folder`."""
    return [record for record in records if not folder or contains(folder, record.path)]


class ProblemsDialog(QDialog):
    """Which files could not be indexed and why, in plain words, the reason wrapped to the width
    of the dialog. Open, Show in folder and Retry act on the selected file."""

    open_requested = Signal(str)
    show_in_folder_requested = Signal(str)
    retry_requested = Signal(list)

    def __init__(self, folder: str, problems: Sequence[FileRecord], parent: QWidget | None):
        super().__init__(parent)
        self.folder = folder
        self.setWindowTitle(tr("Problems in {name}").format(name=folder_name(folder)))
        self.resize(780, 420)
        count = len(problems)
        intro = QLabel(
            (
                tr("1 file in {folder} could not be fully indexed.")
                if count == 1
                else tr("{n} files in {folder} could not be fully indexed.")
            ).format(n=count, folder=short_path(folder))
            + " "
            + tr("They are tried again when they change, or now with Retry.")
        )
        intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName(tr("Files with problems"))
        self.tree.setHeaderLabels([tr("File"), tr("Problem")])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        for problem in problems:
            path = problem.path
            plain = plain_error(
                {"kind": problem.error_kind or "internal", "message": problem.error}
            )
            # Inside the folder's dialog the folder part of every path is noise.
            detail = problem.error.replace(path, Path(path).name)
            reason = f"{plain.title}. {detail}" if detail else plain.title
            item = QTreeWidgetItem([relative_to(folder, path), reason])
            item.setData(0, Qt.ItemDataRole.UserRole, path)
            item.setToolTip(0, path)
            item.setToolTip(1, reason)
            self.tree.addTopLevelItem(item)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 260)
        header.setStretchLastSection(True)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self._emit_open())
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.open_button = QPushButton(tr("Open"))
        self.open_button.clicked.connect(self._emit_open)
        self.folder_button = QPushButton(tr("Show in folder"))
        self.folder_button.clicked.connect(self._emit_show_in_folder)
        self.retry_button = QPushButton(tr("Retry"))
        self.retry_button.setToolTip(tr("Read the selected files again (all of them if none is)"))
        self.retry_button.clicked.connect(self._emit_retry)
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        for button in (self.open_button, self.folder_button, self.retry_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        first = self.tree.topLevelItem(0)
        if first is not None:
            self.tree.setCurrentItem(first)
        self._update_buttons()

    def paths(self, selected_only: bool = True) -> list[str]:
        if selected_only:
            items = list(self.tree.selectedItems())
        else:
            found = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
            items = [item for item in found if item is not None]
        return [str(item.data(0, Qt.ItemDataRole.UserRole)) for item in items]

    def _emit_show_in_folder(self) -> None:
        if self._first():
            self.show_in_folder_requested.emit(self._first())

    def _first(self) -> str:
        paths = self.paths()
        return paths[0] if paths else ""

    def _update_buttons(self) -> None:
        chosen = bool(self.paths())
        self.open_button.setEnabled(chosen)
        self.folder_button.setEnabled(chosen)
        self.retry_button.setEnabled(self.tree.topLevelItemCount() > 0)

    def _emit_open(self) -> None:
        if self._first():
            self.open_requested.emit(self._first())

    def _emit_retry(self) -> None:
        paths = self.paths() or self.paths(selected_only=False)
        self.retry_button.setEnabled(False)
        self.status.setText(tr("Reading {n} files again…").format(n=len(paths)))
        self.retry_requested.emit(paths)

    def retried(self, message: str) -> None:
        self.status.setText(message)
        self.retry_button.setEnabled(True)
