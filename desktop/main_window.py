"""The main window: folders on the left, the query bar on top, results or the answer in the centre,
Sources and Steps on the right, engine and model state at the bottom.

It talks to the engine only through an EngineClient-like object (`request` plus signals), and only
asynchronously: every reply arrives as a callback on the UI thread, so nothing here ever waits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import operations
from desktop.about import APP_NAME, AboutDialog
from desktop.answer_view import AnswerView
from desktop.doctor_dialog import DoctorDialog
from desktop.errors import plain_error, show_error
from desktop.folders_panel import FolderRow, FoldersPanel, ProblemsDialog, problem_rows
from desktop.icon import app_icon
from desktop.onboarding import OllamaPanel, WelcomePanel
from desktop.open_file import open_file
from desktop.query_bar import ASK, SEARCH, QueryBar
from desktop.responsiveness import UiWatchdog
from desktop.results_view import ResultsView
from desktop.settings_dialog import SettingsDialog
from desktop.sources_panel import SourcesPanel
from desktop.status_bar import NeedleStatusBar
from desktop.steps_panel import StepsPanel
from engine.errors import ErrorKind
from engine.models import DoctorReport, FileRecord, FolderInfo, SearchResult, StatusReport
from engine.service.protocol import Topic
from engine.settings import Settings, SettingsSnapshot

log = logging.getLogger("needle.desktop")

SEARCH_LIMIT = 50
SOURCES_TAB, STEPS_TAB = 0, 1


class Handle(Protocol):
    def cancel(self) -> None: ...


class EngineLike(Protocol):
    """What the window needs from desktop.engine_client.EngineClient."""

    ready: Any
    notification: Any
    engine_lost: Any
    engine_restarted: Any
    engine_failed: Any
    protocol_error: Any

    @property
    def engine_info(self) -> dict[str, Any]: ...

    def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[Any], None] | None = None,
    ) -> Any: ...


class Banner(QFrame):
    """A one-line notice over the window: the engine restarting, or gone for good."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, *, severe: bool = False) -> None:
        self.setObjectName("errorBanner" if severe else "banner")
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    def __init__(
        self,
        client: EngineLike,
        settings_store: QSettings,
        parent: QWidget | None = None,
        *,
        watchdog: bool = True,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.store = settings_store
        self.engine_settings: Settings | None = None
        self.ollama_state: dict[str, Any] | None = None
        self.folders: list[str] = []
        self._folders_known = False
        self._search_handle: Handle | None = None
        self._ask_handle: Handle | None = None
        self._pull_handle: Handle | None = None
        self._answer_done = False
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.resize(1320, 820)
        self._build()
        self._build_menus()
        self._connect_client()
        self.restore_layout()
        self.watchdog = UiWatchdog(self)
        if watchdog:
            self.watchdog.start()

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = Banner()
        self.query_bar = QueryBar()
        self.folders_panel = FoldersPanel()
        self.folders_panel.setMinimumWidth(180)
        self.results_view = ResultsView()
        self.answer_view = AnswerView()
        self.ollama_panel = OllamaPanel()
        self.ollama_panel.hide()
        self.welcome = WelcomePanel()
        answer_page = QWidget()
        answer_layout = QVBoxLayout(answer_page)
        answer_layout.setContentsMargins(0, 0, 0, 0)
        answer_layout.setSpacing(8)
        answer_layout.addWidget(self.ollama_panel)
        answer_layout.addWidget(self.answer_view, 1)
        self.center = QStackedWidget()
        self.center.addWidget(self.welcome)
        self.center.addWidget(self.results_view)
        self.center.addWidget(answer_page)
        self._answer_page = answer_page
        self.sources_panel = SourcesPanel()
        self.steps_panel = StepsPanel()
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.sources_panel, "Sources")
        self.side_tabs.addTab(self.steps_panel, "Steps")
        self.side_tabs.setMinimumWidth(260)
        # Two short tabs always fit; scroll arrows would only hide "Steps".
        self.side_tabs.tabBar().setUsesScrollButtons(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.folders_panel)
        self.splitter.addWidget(self.center)
        self.splitter.addWidget(self.side_tabs)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([250, 660, 410])
        self.splitter.setHandleWidth(10)
        root = QWidget()
        layout = QVBoxLayout(root)
        layout.setContentsMargins(14, 12, 14, 8)
        layout.setSpacing(10)
        layout.addWidget(self.banner)
        layout.addWidget(self.query_bar)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(root)
        self.status = NeedleStatusBar()
        self.setStatusBar(self.status)

        self.query_bar.search_requested.connect(self.run_search)
        self.query_bar.ask_requested.connect(self.run_ask)
        self.query_bar.mode_changed.connect(self._on_mode_changed)
        self.query_bar.cleared.connect(self._show_center)
        self.answer_view.stop_requested.connect(self.stop)
        self.answer_view.citation_clicked.connect(self.select_citation)
        self.results_view.hit_selected.connect(self._on_hit_selected)
        self.results_view.open_requested.connect(
            lambda hit: self.open_source(str(hit.get("path", "")), hit.get("page"))
        )
        self.sources_panel.open_requested.connect(self.open_source)
        self.folders_panel.add_requested.connect(self.add_folder)
        self.folders_panel.remove_requested.connect(self.remove_folder)
        self.folders_panel.problems_requested.connect(self.show_problems)
        self.welcome.add_folder_clicked.connect(self.folders_panel.choose_folder)
        self.ollama_panel.pull_requested.connect(self.pull_model)
        self.ollama_panel.cancel_pull_requested.connect(self._cancel_pull)
        self.ollama_panel.recheck_requested.connect(self.refresh_ollama)

        self.focus_shortcut = QShortcut(QKeySequence("Ctrl+K"), self)
        self.focus_shortcut.activated.connect(self.query_bar.focus_query)
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.activated.connect(self.stop)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu.addAction("Add folder…"), "Ctrl+O", self.folders_panel.choose_folder)
        self._action(file_menu.addAction("Settings…"), "Ctrl+,", self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu.addAction("Quit"), "Ctrl+Q", self.close)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu.addAction("Search"), "Ctrl+1", lambda: self.set_mode(SEARCH))
        self._action(view_menu.addAction("Ask"), "Ctrl+2", lambda: self.set_mode(ASK))
        self._action(view_menu.addAction("Focus the query"), "Ctrl+K", None)
        view_menu.addSeparator()
        self._action(view_menu.addAction("Check Ollama again"), "", self.refresh_ollama)
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu.addAction("Check setup…"), "", self.run_doctor)
        self._action(help_menu.addAction(f"About {APP_NAME}"), "", self.show_about)

    @staticmethod
    def _action(action: QAction, shortcut: str, slot: Callable[[], object] | None) -> None:
        if shortcut:
            # The Ctrl+K entry only documents the window-wide shortcut; it must not compete.
            if slot is None:
                action.setText(f"{action.text()}\t{shortcut}")
            else:
                action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        else:
            action.setEnabled(False)

    def _connect_client(self) -> None:
        self.client.ready.connect(self._on_engine_ready)
        self.client.notification.connect(self._on_notification)
        self.client.engine_lost.connect(self._on_engine_lost)
        self.client.engine_restarted.connect(self._on_engine_restarted)
        self.client.engine_failed.connect(self._on_engine_failed)
        self.client.protocol_error.connect(
            lambda message: self.status.showMessage(f"Engine: {message}", 8000)
        )

    # -- engine lifecycle ----------------------------------------------------------------------

    def _on_engine_ready(self) -> None:
        self.status.set_engine_text("Engine ready")
        self.refresh_settings()
        self.refresh_folders()
        self.refresh_status()
        self.refresh_ollama()

    def _on_engine_lost(self, reason: str) -> None:
        self.banner.show_message(f"The search engine stopped ({reason}). Restarting it…")
        self.status.set_engine_text("Engine restarting…")
        if self._ask_handle is not None:
            self.answer_view.fail({"kind": ErrorKind.ENGINE_LOST, "message": reason})

    def _on_engine_restarted(self, attempt: int) -> None:
        self.banner.hide()
        self.status.showMessage(f"The engine was restarted (attempt {attempt}).", 6000)

    def _on_engine_failed(self, reason: str) -> None:
        self.banner.show_message(
            f"The search engine could not be started: {reason} Restart Needle to try again.",
            severe=True,
        )
        self.status.set_engine_text("Engine unavailable")
        show_error({"kind": ErrorKind.ENGINE_FAILED, "message": reason}, self)

    def _on_notification(self, topic: str, data: dict[str, Any]) -> None:
        if topic == Topic.INDEX:
            self.status.set_index_progress(data)
            self.folders_panel.set_progress(data)
        elif topic == Topic.INDEX_CHANGED:
            self.folders_panel.set_progress(None)
            self.refresh_folders()
            self.refresh_status()
            if self.query_bar.mode == SEARCH and self.query_bar.text:
                self.run_search(self.query_bar.text, self.query_bar.search_filters())
        elif topic == Topic.OLLAMA:
            self._apply_ollama(data)
        elif topic == Topic.ERROR:
            show_error(data, self)

    # -- refreshing state from the engine ------------------------------------------------------

    def refresh_settings(self) -> None:
        operations.get_settings(self.client, self._apply_settings, self._log)

    def _apply_settings(self, snapshot: SettingsSnapshot) -> None:
        settings = snapshot.values
        self.engine_settings = settings
        self.status.set_model(settings.model)
        if not self.store.contains("query/level"):
            self.query_bar.set_level(settings.default_level)
        self._update_ollama_panel()

    def refresh_folders(self) -> None:
        operations.list_folders(self.client, self._apply_folders, self._log)

    def _apply_folders(self, folders: list[FolderInfo]) -> None:
        rows = [FolderRow.from_info(folder) for folder in folders]
        self.folders = [row.path for row in rows]
        self._folders_known = True
        self.folders_panel.set_folders(rows)
        self.query_bar.set_folders(self.folders)
        self._show_center()

    def refresh_status(self) -> None:
        operations.get_status(self.client, self._apply_status, self._log)

    def _apply_status(self, report: StatusReport) -> None:
        self.status.set_index_summary(report.total_files, report.chunks, len(report.problems))

    def refresh_ollama(self) -> None:
        operations.ollama_status(self.client, self._apply_ollama, self._log)

    def _apply_ollama(self, data: Any) -> None:
        self.ollama_state = dict(data) if isinstance(data, Mapping) else None
        self.status.set_ollama(self.ollama_state)
        self._update_ollama_panel()

    def _update_ollama_panel(self) -> None:
        if self.ollama_state is None:
            return
        settings = self.engine_settings
        model = settings.model if settings is not None else ""
        host = settings.server_url if settings is not None else ""
        needs_help = self.ollama_panel.set_status(self.ollama_state, model, host)
        self.ollama_panel.setVisible(needs_help)

    def show_engine_error(self, error: Any) -> None:
        show_error(error, self)

    def _log(self, error: Any) -> None:
        plain = plain_error(error)
        log.warning("request failed: %s: %s", plain.kind, plain.message)
        self.status.showMessage(plain.message, 8000)

    # -- modes and centre ----------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        self.query_bar.set_mode(mode)

    def _on_mode_changed(self, _mode: str) -> None:
        self._show_center()

    def _show_center(self) -> None:
        if self.query_bar.mode == ASK:
            self.center.setCurrentWidget(self._answer_page)
        elif self._folders_known and not self.folders:
            self.center.setCurrentWidget(self.welcome)
        else:
            self.center.setCurrentWidget(self.results_view)
            if not self.query_bar.text:
                self.results_view.show_message(
                    "Type to search. Words match in any form (notes, noting), quotes match a "
                    'phrase ("exact words"), and ext:pdf limits the type.'
                )

    # -- search --------------------------------------------------------------------------------

    def run_search(self, query: str, filters: dict[str, Any]) -> None:
        """Results as you type: a newer query makes the older one stale, so cancel it."""
        if self._search_handle is not None:
            self._search_handle.cancel()
        self.center.setCurrentWidget(self.results_view)
        self._search_handle = operations.search(
            self.client, query, SEARCH_LIMIT, filters, self._show_results, self._search_failed
        )

    def _show_results(self, result: SearchResult) -> None:
        self._search_handle = None
        self.results_view.show_results(result)

    def _search_failed(self, error: Any) -> None:
        # While typing, a half-written query is normal: say it inline, never in a dialog.
        self._search_handle = None
        plain = plain_error(error)
        hint = f" {plain.hint}" if plain.hint else ""
        self.results_view.show_message(f"{plain.title}: {plain.message}{hint}")

    def _on_hit_selected(self, hit: dict[str, Any]) -> None:
        self.sources_panel.show_hit(hit)
        self.side_tabs.setCurrentIndex(SOURCES_TAB)
        self.query_bar.set_selected_file(str(hit.get("path", "")) or None)

    # -- ask -----------------------------------------------------------------------------------

    def run_ask(self, question: str, level: str, scope: dict[str, Any]) -> None:
        if self._ask_handle is not None:
            self._ask_handle.cancel()
        self.set_mode(ASK)
        self._answer_done = False
        self.answer_view.start(question)
        self.steps_panel.clear_steps()
        self.sources_panel.clear_sources()
        self.side_tabs.setCurrentIndex(STEPS_TAB)
        self.query_bar.set_running(True)
        self._ask_handle = operations.ask(
            self.client,
            question,
            level,
            scope,
            self.handle_ask_event,
            self._ask_finished,
            self._ask_failed,
        )

    def handle_ask_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self.steps_panel.add_event(event)
        if kind == "answer_delta":
            self.answer_view.append_delta(str(event.get("text", "")))
        elif kind == "answer":
            self._show_answer(event)
        elif kind == "error":
            self.answer_view.fail(event)
        else:
            if kind == "level":
                self.answer_view.drop_streamed_text(
                    "The previous level did not find a supported answer; "
                    f"Level {int(event.get('level', 0))} is looking further…"
                )
            elif kind == "grounding" and not event.get("grounded"):
                self.answer_view.drop_streamed_text(
                    "That draft was not supported by its passages; looking further…"
                )
            self.answer_view.set_status(self.steps_panel.timeline.progress_text)

    def _show_answer(self, answer: Mapping[str, Any]) -> None:
        self._answer_done = True
        self.answer_view.finish(answer)
        if answer.get("citations") or answer.get("found", True):
            self.sources_panel.set_citations(
                answer.get("citations") or [], bool(answer.get("citations_inferred"))
            )
        else:
            self.sources_panel.set_closest(answer.get("candidates") or [])
        self.steps_panel.render_now()
        if answer.get("citations"):
            self.side_tabs.setCurrentIndex(SOURCES_TAB)

    def _ask_finished(self, result: Any) -> None:
        self._ask_handle = None
        self.query_bar.set_running(False)
        if not self._answer_done and isinstance(result, Mapping) and "text" in result:
            self.steps_panel.add_event({**result, "type": "answer"})
            self._show_answer(result)

    def _ask_failed(self, error: Any) -> None:
        self._ask_handle = None
        self.query_bar.set_running(False)
        plain = plain_error(error)
        self.steps_panel.add_event(
            {"type": "error", "kind": plain.kind, "message": plain.message, "hint": plain.hint}
        )
        self.steps_panel.render_now()
        self.answer_view.fail({"kind": plain.kind, "message": plain.message, "hint": plain.hint})

    def stop(self) -> None:
        """Esc / Stop: the running question is dropped at once; the engine is told to stop."""
        if self._ask_handle is None:
            return
        self._ask_handle.cancel()
        self._ask_handle = None
        self.query_bar.set_running(False)
        self.answer_view.stopped()
        self.steps_panel.add_event(
            {"type": "error", "kind": ErrorKind.CANCELLED, "message": "Stopped by you."}
        )
        self.steps_panel.render_now()

    def select_citation(self, number: int) -> None:
        if self.sources_panel.select_citation(number):
            self.side_tabs.setCurrentIndex(SOURCES_TAB)

    def open_source(self, path: str, page: Any) -> None:
        if not open_file(path, page if isinstance(page, int) else None):
            show_error(
                {
                    "kind": ErrorKind.OPEN_FAILED,
                    "message": f"{path} could not be opened.",
                    "hint": "It may have been moved or deleted; Needle updates the index "
                    "when it notices.",
                },
                self,
            )

    # -- folders -------------------------------------------------------------------------------

    def add_folder(self, path: str) -> None:
        self.status.set_engine_text(f"Adding {path}…")
        operations.add_folder(
            self.client, path, lambda _folder: self._folder_added(), self.show_engine_error
        )

    def _folder_added(self) -> None:
        self.refresh_folders()
        # The engine follows a finished run with an `index_changed` notification, which
        # refreshes every view; refreshing here as well would ask for everything twice.
        operations.run_index(self.client, self._on_index_progress, self.show_engine_error)

    def _on_index_progress(self, progress: dict[str, Any]) -> None:
        self.status.set_index_progress(progress)
        self.folders_panel.set_progress(progress)

    def remove_folder(self, path: str) -> None:
        operations.remove_folder(self.client, path, self.show_engine_error)

    def show_problems(self, folder: str) -> None:
        operations.list_problems(
            self.client,
            None,
            lambda records: self._open_problems(folder, records),
            self.show_engine_error,
        )

    def _open_problems(self, folder: str, records: list[FileRecord]) -> None:
        dialog = ProblemsDialog(folder, problem_rows(records, folder), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.problems_dialog = dialog

    # -- model ---------------------------------------------------------------------------------

    def pull_model(self) -> None:
        self.ollama_panel.pull_started()
        model = self.engine_settings.model if self.engine_settings is not None else None
        self._pull_handle = operations.pull_model(
            self.client,
            model,
            self.ollama_panel.set_pull_progress,
            self._pull_done,
            self._pull_failed,
        )

    def _pull_done(self, _result: Any) -> None:
        self._pull_handle = None
        self.ollama_panel.pull_finished("The model is ready.")
        self.refresh_ollama()

    def _pull_failed(self, error: Any) -> None:
        self._pull_handle = None
        plain = plain_error(error)
        self.ollama_panel.pull_finished(f"{plain.title}: {plain.message} {plain.hint}".strip())

    def _cancel_pull(self) -> None:
        if self._pull_handle is not None:
            self._pull_handle.cancel()
            self._pull_handle = None
        self.ollama_panel.pull_finished("Download cancelled.")

    # -- dialogs -------------------------------------------------------------------------------

    def open_settings(self) -> None:
        operations.get_settings(self.client, self._open_settings_dialog, self.show_engine_error)

    def _open_settings_dialog(self, snapshot: SettingsSnapshot) -> None:
        models = (self.ollama_state or {}).get("models") or []
        dialog = SettingsDialog(snapshot, self, models=list(models))
        dialog.apply_requested.connect(lambda changes: self._save_settings(dialog, changes))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.settings_dialog = dialog

    def _save_settings(self, dialog: SettingsDialog, changes: dict[str, Any]) -> None:
        def saved(snapshot: SettingsSnapshot) -> None:
            dialog.saved(snapshot)
            self._apply_settings(snapshot)
            self.refresh_ollama()

        operations.update_settings(self.client, changes, saved, dialog.show_problem)

    def run_doctor(self) -> None:
        self.status.showMessage("Checking the setup…", 4000)
        operations.run_doctor(self.client, self._open_doctor_dialog, self.show_engine_error)

    def _open_doctor_dialog(self, report: DoctorReport) -> None:
        dialog = DoctorDialog(report, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.doctor_dialog = dialog

    def show_about(self) -> None:
        dialog = AboutDialog(self.client.engine_info, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- layout persistence --------------------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = self.store.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.store.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = self.store.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.query_bar.set_mode(str(self.store.value("query/mode", SEARCH)))
        if self.store.contains("query/level"):
            self.query_bar.set_level(str(self.store.value("query/level")))

    def save_layout(self) -> None:
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState())
        self.store.setValue("window/splitter", self.splitter.saveState())
        self.store.setValue("query/mode", self.query_bar.mode)
        self.store.setValue("query/level", self.query_bar.level)
        self.store.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.watchdog.stop()
        if self._ask_handle is not None:
            self._ask_handle.cancel()
        super().closeEvent(event)
