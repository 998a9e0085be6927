"""The main window: folders and the question history on the left, the query bar on top, results or
the answer in the centre, Sources and Steps on the right, engine and model state at the bottom.

A question goes into the thread on screen (a follow-up, understood from its earlier questions)
until New thread; reopening a thread from the history shows its stored answers, sources and steps.

It talks to the engine only through an EngineClient-like object (`request` plus signals), and only
asynchronously: every reply arrives as a callback on the UI thread, so nothing here ever waits.

Every view says what is true now: a failed request to the model server re-checks the server at
once, an error that is no longer true is replaced when the state changes, a status message lasts
as long as its action, and an engine restart keeps what the user chose (level, scope)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import operations
from desktop.about import APP_NAME, AboutDialog
from desktop.answer_view import AnswerView, missing_sources
from desktop.ask_progress import AskProgress
from desktop.diagnostics import open_folder
from desktop.doctor_dialog import DoctorDialog
from desktop.errors import MODEL_SERVER_KINDS, plain_error, show_error
from desktop.folders_panel import FolderRow, FoldersPanel, ProblemsDialog, problem_rows
from desktop.history_panel import HistoryPanel, stored_answer
from desktop.i18n import tr
from desktop.icon import app_icon
from desktop.onboarding import OllamaPanel, WelcomePanel
from desktop.open_file import copy_path, open_file, show_in_folder
from desktop.preferences import (
    Preferences,
    autostart_supported,
    set_start_at_login,
)
from desktop.query_bar import ASK, SEARCH, QueryBar
from desktop.responsiveness import UiWatchdog
from desktop.results_view import ResultsView
from desktop.settings_dialog import SettingsDialog
from desktop.sources_panel import SourcesPanel
from desktop.status_bar import NeedleStatusBar
from desktop.steps_panel import StepsPanel
from desktop.theme import apply_theme
from desktop.tray import TrayIcon, tray_available
from engine.errors import ErrorKind
from engine.models import (
    DoctorReport,
    FileRecord,
    FolderInfo,
    IndexSummary,
    SearchResult,
    StatusReport,
)
from engine.service.protocol import Topic
from engine.settings import Settings, SettingsSnapshot
from engine.threads import Thread, ThreadSummary, Turn

log = logging.getLogger("needle.desktop")

SEARCH_LIMIT = 50
SEARCH_LIMIT_MAX = 500  # the protocol's largest page
SOURCES_TAB, STEPS_TAB = 0, 1


class Handle(Protocol):
    def cancel(self) -> None: ...


class AskHandle(Handle, Protocol):
    def stop_reading(self) -> None: ...


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
    """A one-line notice over the window: the engine restarting, or gone (with Retry)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName(tr("Notice"))
        self.retry_button = QPushButton(tr("Retry"))
        self.retry_button.hide()
        self.close_button = QPushButton(tr("Dismiss"))
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button)
        layout.addWidget(self.close_button)
        self.hide()

    def show_message(self, text: str, *, severe: bool = False, retry: bool = False) -> None:
        self.setObjectName("errorBanner" if severe else "banner")
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.retry_button.setVisible(retry)
        self.show()


class MainWindow(QMainWindow):
    def __init__(
        self,
        client: EngineLike,
        settings_store: QSettings,
        parent: QWidget | None = None,
        *,
        watchdog: bool = True,
        preferences: Preferences | None = None,
        logs: Path | None = None,
        data_dir: str | None = None,
        owns_app: bool = False,
        background: bool = False,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.store = settings_store
        self.preferences = preferences or Preferences.load(settings_store)
        self.logs = logs
        self.data_dir = data_dir
        # The app's one window: closing it (unless it goes to the tray) ends the app, which does
        # not quit by itself when its last window closes (a dialog may outlive a hidden window).
        self._owns_app = owns_app
        # Started in the background (at login): closing the window keeps Needle watching.
        self._background = background
        self.engine_settings: Settings | None = None
        self.ollama_state: dict[str, Any] | None = None
        self.folders: list[str] = []
        self._folders_known = False
        self._level_chosen = False  # by the user or a saved layout: the engine's default waits
        self._setting_default_level = False
        self._search_handle: Handle | None = None
        self._search_limit = SEARCH_LIMIT
        self._ask_handle: AskHandle | None = None
        self._last_ask: tuple[str, str, dict[str, Any]] | None = None
        self._ask_progress = AskProgress()
        self.current_thread: str | None = None  # the thread the next question follows up
        self._history_handle: Handle | None = None
        self._thread_handle: Handle | None = None
        self._pull_handle: Handle | None = None
        self._answer_done = False
        self._quitting = False
        self._told_about_tray = False
        self.problems_dialog: ProblemsDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.resize(1320, 820)
        self._build()
        self._build_menus()
        self._connect_client()
        self.restore_layout()
        self.tray: TrayIcon | None = None
        self._update_tray()
        self.watchdog = UiWatchdog(self)
        if watchdog:
            self.watchdog.start()

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = Banner()
        self.banner.retry_button.clicked.connect(self.retry_engine)
        self.query_bar = QueryBar()
        self.folders_panel = FoldersPanel()
        self.folders_panel.setMinimumWidth(180)
        self.history_panel = HistoryPanel()
        self.left_splitter = QSplitter(Qt.Orientation.Vertical)
        self.left_splitter.setObjectName("leftSplitter")
        self.left_splitter.addWidget(self.folders_panel)
        self.left_splitter.addWidget(self.history_panel)
        self.left_splitter.setSizes([330, 400])
        self.left_splitter.setHandleWidth(10)
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
        self.side_tabs.addTab(self.sources_panel, tr("Sources"))
        self.side_tabs.addTab(self.steps_panel, tr("Steps"))
        self.side_tabs.setMinimumWidth(260)
        # Two short tabs always fit; scroll arrows would only hide "Steps".
        self.side_tabs.tabBar().setUsesScrollButtons(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.left_splitter)
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

        self.query_bar.search_requested.connect(self._on_search_requested)
        self.query_bar.ask_requested.connect(self.run_ask)
        self.query_bar.mode_changed.connect(self._on_mode_changed)
        self.query_bar.cleared.connect(self._show_center)
        self.query_bar.down_pressed.connect(self._into_results)
        self.query_bar.folder_changed.connect(self.folders_panel.select_folder)
        self.query_bar.level_combo.currentIndexChanged.connect(self._on_level_chosen)
        self.answer_view.stop_requested.connect(self.stop)
        self.answer_view.answer_now_requested.connect(self.answer_now)
        self.answer_view.retry_requested.connect(self.retry_ask)
        self.answer_view.citation_clicked.connect(self.select_citation)
        self.answer_view.copy_requested.connect(self.copy_answer)
        self.answer_view.turn_requested.connect(self.show_turn)
        self.history_panel.search_changed.connect(lambda _text: self.refresh_history())
        self.history_panel.open_requested.connect(self.open_thread)
        self.history_panel.new_thread_requested.connect(self.new_thread)
        self.history_panel.rename_requested.connect(self._ask_rename)
        self.history_panel.export_requested.connect(self._choose_export)
        self.history_panel.delete_requested.connect(self._confirm_delete)
        self.results_view.hit_selected.connect(self._on_hit_selected)
        self.results_view.open_requested.connect(
            lambda hit: self.open_source(str(hit.get("path", "")), hit.get("page"))
        )
        self.results_view.show_in_folder_requested.connect(
            lambda hit: self.reveal(str(hit.get("path", "")))
        )
        self.results_view.copy_path_requested.connect(
            lambda hit: self._copy_path(str(hit.get("path", "")))
        )
        self.results_view.ask_about_requested.connect(self._ask_about_file)
        self.results_view.more_requested.connect(self.more_results)
        self.results_view.leave_up.connect(self.query_bar.focus_query)
        self.sources_panel.open_requested.connect(self.open_source)
        self.sources_panel.show_in_folder_requested.connect(self.reveal)
        self.folders_panel.add_requested.connect(self.add_folder)
        self.folders_panel.remove_requested.connect(self.remove_folder)
        self.folders_panel.rescan_requested.connect(self.rescan)
        self.folders_panel.problems_requested.connect(self.show_problems)
        self.folders_panel.folder_selected.connect(self.query_bar.set_folder)
        self.folders_panel.show_in_folder_requested.connect(self.reveal)
        self.welcome.add_folder_clicked.connect(self.folders_panel.choose_folder)
        self.ollama_panel.pull_requested.connect(self.pull_model)
        self.ollama_panel.cancel_pull_requested.connect(self._cancel_pull)
        self.ollama_panel.recheck_requested.connect(self.refresh_ollama)
        self.ollama_panel.use_model_requested.connect(self.use_model)

        self.focus_shortcut = QShortcut(QKeySequence("Ctrl+K"), self)
        self.focus_shortcut.activated.connect(self.query_bar.focus_query)
        self.stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.stop_shortcut.activated.connect(self.stop)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("&File"))
        self._action(file_menu, tr("Add folder…"), "Ctrl+O", self.folders_panel.choose_folder)
        self._action(file_menu, tr("Rescan now"), "F5", self.rescan)
        self._action(file_menu, tr("Settings…"), "Ctrl+,", self.open_settings)
        file_menu.addSeparator()
        self._action(file_menu, tr("New thread"), "Ctrl+N", self.new_thread)
        self.export_action = self._action(
            file_menu, tr("Export thread…"), "Ctrl+E", self._export_current
        )
        self.copy_action = self._action(
            file_menu, tr("Copy answer as Markdown"), "Ctrl+Shift+C", self.copy_answer
        )
        file_menu.addSeparator()
        self._action(file_menu, tr("Quit"), "Ctrl+Q", self.quit)
        view_menu = self.menuBar().addMenu(tr("&View"))
        self._action(view_menu, tr("Search"), "Ctrl+1", lambda: self.set_mode(SEARCH))
        self._action(view_menu, tr("Ask"), "Ctrl+2", lambda: self.set_mode(ASK))
        self._action(view_menu, tr("Focus the query"), "Ctrl+K", None)
        view_menu.addSeparator()
        self._action(view_menu, tr("Check Ollama again"), "", self.refresh_ollama)
        help_menu = self.menuBar().addMenu(tr("&Help"))
        self._action(help_menu, tr("Check setup…"), "", self.run_doctor)
        self._action(help_menu, tr("Open logs folder"), "", self.open_logs)
        help_menu.addSeparator()
        self._action(help_menu, tr("About {app}").format(app=APP_NAME), "", self.show_about)

    @staticmethod
    def _action(menu: Any, text: str, shortcut: str, slot: Callable[[], object] | None) -> QAction:
        action: QAction = menu.addAction(text)
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
        return action

    def _connect_client(self) -> None:
        self.client.ready.connect(self._on_engine_ready)
        self.client.notification.connect(self._on_notification)
        self.client.engine_lost.connect(self._on_engine_lost)
        self.client.engine_restarted.connect(self._on_engine_restarted)
        self.client.engine_failed.connect(self._on_engine_failed)
        self.client.protocol_error.connect(lambda message: log.error("protocol error: %s", message))

    # -- engine lifecycle ----------------------------------------------------------------------

    def _on_engine_ready(self) -> None:
        self.banner.hide()
        self.status.set_engine_text(tr("Engine ready"))
        self.refresh_settings()
        self.refresh_folders()
        self.refresh_status()
        self.refresh_ollama()
        self.refresh_history()

    def _on_engine_lost(self, reason: str) -> None:
        self.banner.show_message(
            tr("The search engine stopped ({reason}). Restarting it…").format(reason=reason)
        )
        self.status.set_engine_text(tr("Engine restarting…"))
        if self._ask_handle is not None:
            self._ask_handle = None
            self.query_bar.set_running(False)
            self.answer_view.fail({"kind": ErrorKind.ENGINE_LOST, "message": reason})

    def _on_engine_restarted(self, attempt: int) -> None:
        self.banner.hide()
        self.status.showMessage(
            tr("The engine was restarted (attempt {n}).").format(n=attempt), 6000
        )

    def _on_engine_failed(self, reason: str) -> None:
        plain = plain_error({"kind": ErrorKind.ENGINE_FAILED, "message": reason})
        self.banner.show_message(
            f"{plain.title}: {plain.message} {plain.hint}".strip(), severe=True, retry=True
        )
        self.status.set_engine_text(tr("Engine unavailable"))

    def retry_engine(self) -> None:
        start = getattr(self.client, "start", None)
        if callable(start):
            self.banner.show_message(tr("Starting the search engine…"))
            start()

    def _on_notification(self, topic: str, data: dict[str, Any]) -> None:
        if topic == Topic.INDEX:
            self.status.set_index_progress(data)
            self.folders_panel.set_progress(data)
            self._tray_status()
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
        if not self._level_chosen:
            self._setting_default_level = True
            self.query_bar.set_level(settings.default_level)
            self._setting_default_level = False
        self._update_ollama_panel()

    def _on_level_chosen(self, _index: int) -> None:
        if not self._setting_default_level:
            self._level_chosen = True

    def refresh_folders(self) -> None:
        operations.list_folders(self.client, self._apply_folders, self._log)

    def _apply_folders(self, folders: list[FolderInfo]) -> None:
        rows = [FolderRow.from_info(folder) for folder in folders]
        self.folders = [row.path for row in rows]
        self._folders_known = True
        self.folders_panel.set_folders(rows)
        self.query_bar.set_folders(self.folders)
        self.folders_panel.select_folder(self.query_bar.folder)
        self._show_center()
        self._tray_status()

    def refresh_status(self) -> None:
        operations.get_status(self.client, self._apply_status, self._log)

    def _apply_status(self, report: StatusReport) -> None:
        self.status.set_index_summary(report.total_files, report.chunks, len(report.problems))

    def refresh_ollama(self) -> None:
        self.status.begin("ollama", tr("Checking Ollama…"))
        operations.ollama_status(self.client, self._apply_ollama, self._ollama_check_failed)

    def _ollama_check_failed(self, error: Any) -> None:
        self.status.end("ollama")
        self._log(error)

    def _apply_ollama(self, data: Any) -> None:
        self.status.end("ollama")
        self.ollama_state = dict(data) if isinstance(data, Mapping) else None
        view = self.status.set_ollama(self.ollama_state)
        self._update_ollama_panel()
        error = self.answer_view.error
        if view.ready and error is not None and error.kind in MODEL_SERVER_KINDS:
            # The failure on screen was about the server, which works now: say so.
            self.answer_view.server_back(tr("Ollama is running again."))

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
                    tr(
                        "Type to search. Words match in any form (notes, noting), the last word "
                        'as you type it (sourd: sourdough), quotes match a phrase ("exact words"), '
                        "and ext:pdf limits the type. Down moves into the results; Enter shows "
                        "one in Sources, Ctrl+Enter opens it."
                    )
                )

    # -- search --------------------------------------------------------------------------------

    def _on_search_requested(self, query: str, filters: dict[str, Any], typing: bool) -> None:
        self.run_search(query, filters, typing=typing)

    def run_search(
        self,
        query: str,
        filters: dict[str, Any],
        *,
        typing: bool = False,
        limit: int = SEARCH_LIMIT,
    ) -> None:
        """Results as you type: a newer query makes the older one stale, so cancel it."""
        if self._search_handle is not None:
            self._search_handle.cancel()
        self._search_limit = limit
        self.center.setCurrentWidget(self.results_view)
        self._search_handle = operations.search(
            self.client,
            query,
            limit,
            filters,
            self._show_results,
            self._search_failed,
            prefix=typing,
        )

    def more_results(self) -> None:
        """ "Show more": the same search with a bigger page, the view staying where it was."""
        result = self.results_view.result
        if result is None:
            return
        limit = min(SEARCH_LIMIT_MAX, self._search_limit + SEARCH_LIMIT)
        self.run_search(result.query, self.query_bar.search_filters(), limit=limit)

    def _show_results(self, result: SearchResult) -> None:
        self._search_handle = None
        self.results_view.show_results(result)

    def _search_failed(self, error: Any) -> None:
        # While typing, a half-written query is normal: say it inline, never in a dialog.
        self._search_handle = None
        plain = plain_error(error)
        hint = f" {plain.hint}" if plain.hint else ""
        self.results_view.show_message(f"{plain.title}: {plain.message}{hint}")

    def _into_results(self) -> None:
        self.results_view.focus_first()

    def _on_hit_selected(self, hit: dict[str, Any]) -> None:
        self.sources_panel.show_hit(hit)
        self.side_tabs.setCurrentIndex(SOURCES_TAB)
        self.query_bar.set_selected_file(str(hit.get("path", "")) or None)

    def _ask_about_file(self, hit: dict[str, Any]) -> None:
        path = str(hit.get("path", ""))
        self.query_bar.set_selected_file(path or None)
        self.query_bar.set_scope(f"file:{path}")
        self.set_mode(ASK)
        self.query_bar.focus_query()

    # -- ask -----------------------------------------------------------------------------------

    def run_ask(self, question: str, level: str, scope: dict[str, Any]) -> None:
        if self._ask_handle is not None:
            self._ask_handle.cancel()
        self._last_ask = (question, level, dict(scope))
        self.set_mode(ASK)
        self._answer_done = False
        model = self.engine_settings.model if self.engine_settings is not None else ""
        self._ask_progress = AskProgress(model)
        self.answer_view.start(question)
        self.answer_view.set_status(self._ask_progress.status())
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
            thread_id=self.current_thread,
        )

    def retry_ask(self) -> None:
        """Retry: the same question, level and scope again."""
        if self._last_ask is not None:
            question, level, scope = self._last_ask
            self.run_ask(question, level, scope)

    def handle_ask_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        self.steps_panel.add_event(event)
        self._ask_progress.add(event)
        if kind == "answer_delta":
            self.answer_view.append_delta(str(event.get("text", "")))
        elif kind == "answer":
            self._show_answer(event)
            return
        elif kind == "error":
            self._ask_failed(event)
            return
        elif kind == "follow_up" and event.get("method") != "fallback":
            self.answer_view.set_rewritten(str(event.get("question", "")))
        elif kind == "level":
            self.answer_view.drop_streamed_text(
                tr(
                    "The previous level did not find a supported answer; Level {level} is "
                    "looking further…"
                ).format(level=int(event.get("level", 0)))
            )
        elif kind == "grounding" and not event.get("grounded"):
            self.answer_view.drop_streamed_text(
                tr("That draft was not supported by its passages; looking further…")
            )
        self.answer_view.set_status(self._ask_progress.status())

    def _show_answer(self, answer: Mapping[str, Any]) -> None:
        self._answer_done = True
        if answer.get("thread_id"):
            self.current_thread = str(answer["thread_id"])
            self.history_panel.set_current(self.current_thread)
            self.refresh_history()
        self.answer_view.finish(answer)
        if answer.get("citations") or answer.get("found", True):
            self.sources_panel.set_citations(
                answer.get("citations") or [],
                bool(answer.get("citations_inferred")),
                missing_sources(answer),
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
        """One failure, shown once: in the answer area and as the last step (the same error
        may come as an event of the stream and again as the request's reply)."""
        self._ask_handle = None
        self.query_bar.set_running(False)
        plain = plain_error(error)
        self.steps_panel.add_event(
            {"type": "error", "kind": plain.kind, "message": plain.message, "hint": plain.hint}
        )
        self.steps_panel.render_now()
        if self.answer_view.error is None or self.answer_view.error.same_as != plain.same_as:
            self.answer_view.fail(
                {"kind": plain.kind, "message": plain.message, "hint": plain.hint}
            )
        if plain.kind in MODEL_SERVER_KINDS:
            # The status bar may still say "connected" from its last poll: ask now.
            self.refresh_ollama()

    def stop(self) -> None:
        """Esc / Stop: the running question is dropped at once; the engine is told to stop."""
        if self._ask_handle is None:
            return
        self._ask_handle.cancel()
        self._ask_handle = None
        self.query_bar.set_running(False)
        self.answer_view.stopped()
        self.steps_panel.add_event({"type": "error", "kind": ErrorKind.CANCELLED, "message": ""})
        self.steps_panel.render_now()

    def answer_now(self) -> None:
        """Stop reading and answer from the passages found so far: the question goes on to one
        answer from them, marked as coming from a partial reading."""
        if self._ask_handle is None:
            return
        self._ask_handle.stop_reading()
        self.answer_view.answering_now()

    def select_citation(self, number: int) -> None:
        if self.sources_panel.select_citation(number):
            self.side_tabs.setCurrentIndex(SOURCES_TAB)

    # -- the history ---------------------------------------------------------------------------

    def refresh_history(self) -> None:
        if self._history_handle is not None:
            self._history_handle.cancel()  # a newer search makes the older one stale
        self._history_handle = operations.list_threads(
            self.client, self.history_panel.search_text, self._apply_history, self._log
        )

    def _apply_history(self, summaries: list[ThreadSummary]) -> None:
        self._history_handle = None
        self.history_panel.set_threads(summaries)

    def new_thread(self) -> None:
        """The next question starts a thread of its own."""
        if self._ask_handle is not None:
            self.stop()
        self.current_thread = None
        self.history_panel.set_current(None)
        self.answer_view.show_placeholder()
        self.sources_panel.clear_sources()
        self.steps_panel.clear_steps()
        self.set_mode(ASK)
        self.query_bar.focus_query()

    def open_thread(self, thread_id: str, turn: int = 0) -> None:
        """Show a stored thread: question `turn` (0: its last), its sources and its steps."""
        if self._ask_handle is not None:
            self.stop()
        if self._thread_handle is not None:
            self._thread_handle.cancel()

        def show(thread: Thread) -> None:
            self._thread_handle = None
            self._show_thread(thread, turn)

        def failed(error: Any) -> None:
            self._thread_handle = None
            self.show_engine_error(error)
            self.refresh_history()  # it may be gone: the list must not keep offering it

        self._thread_handle = operations.get_thread(self.client, thread_id, show, failed)

    def show_turn(self, turn: int) -> None:
        if self.current_thread is not None and turn >= 1:
            self.open_thread(self.current_thread, turn)

    def _show_thread(self, thread: Thread, turn: int) -> None:
        self.current_thread = thread.thread_id
        self.history_panel.set_current(thread.thread_id)
        if not thread.turns:
            self.new_thread()
            return
        chosen = next((t for t in thread.turns if t.position == turn), thread.turns[-1])
        self._show_stored_turn(chosen, len(thread.turns))

    def _show_stored_turn(self, turn: Turn, turns: int) -> None:
        self.set_mode(ASK)
        self._answer_done = True
        answer = stored_answer(turn)
        self.answer_view.show_stored(
            turn.question, answer, asked_at=turn.asked_at, stale=turn.stale
        )
        self.answer_view.set_turns(turn.position, turns)
        self.steps_panel.show_recorded([*turn.events, answer])
        if turn.citations:
            self.sources_panel.set_citations(answer["citations"], False, missing_sources(answer))
            self.side_tabs.setCurrentIndex(SOURCES_TAB)
        else:
            self.sources_panel.clear_sources()

    def copy_answer(self) -> None:
        """The answer on screen, with its numbered sources, as Markdown on the clipboard."""
        answer = self.answer_view.answer
        if not answer or not answer.get("thread_id") or not answer.get("turn"):
            self.status.showMessage(tr("There is no finished answer to copy yet."), 4000)
            return

        def copied(text: str) -> None:
            QApplication.clipboard().setText(text)
            self.status.showMessage(tr("Copied the answer as Markdown."), 4000)

        operations.export_thread(
            self.client,
            str(answer["thread_id"]),
            "md",
            copied,
            self.show_engine_error,
            turns=[int(answer["turn"])],
        )

    def _export_current(self) -> None:
        if self.current_thread is None:
            self.status.showMessage(tr("Ask a question or open a thread to export it."), 4000)
            return
        self._choose_export(self.current_thread)

    def _choose_export(self, thread_id: str) -> None:
        markdown, json_filter = tr("Markdown note (*.md)"), tr("JSON (*.json)")
        name = self.history_panel.title_of(thread_id) or "needle-thread"
        safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in name).strip()
        path, chosen = QFileDialog.getSaveFileName(
            self,
            tr("Export thread"),
            str(Path.home() / f"{safe[:60] or 'needle-thread'}.md"),
            f"{markdown};;{json_filter}",
        )
        if path:
            fmt = "json" if chosen == json_filter or path.lower().endswith(".json") else "md"
            self.export_thread(thread_id, path, fmt)

    def export_thread(self, thread_id: str, path: str, fmt: str) -> None:
        """The engine writes the file (no file I/O on the UI thread)."""

        def saved(written: str) -> None:
            self.status.showMessage(tr("Exported to {path}").format(path=written), 6000)

        operations.save_thread(self.client, thread_id, fmt, path, saved, self.show_engine_error)

    def _ask_rename(self, thread_id: str) -> None:
        title, accepted = QInputDialog.getText(
            self,
            tr("Rename thread"),
            tr("Name:"),
            text=self.history_panel.title_of(thread_id),
        )
        if accepted and title.strip():
            self.rename_thread(thread_id, title.strip())

    def rename_thread(self, thread_id: str, title: str) -> None:
        operations.rename_thread(
            self.client,
            thread_id,
            title,
            lambda _thread: self.refresh_history(),
            self.show_engine_error,
        )

    def _confirm_delete(self, thread_id: str) -> None:
        title = self.history_panel.title_of(thread_id)
        answer = QMessageBox.question(
            self,
            tr("Delete thread"),
            tr("Delete “{title}” and its answers from the history? This cannot be undone.").format(
                title=title
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_thread(thread_id)

    def delete_thread(self, thread_id: str) -> None:
        def deleted(_thread_id: str) -> None:
            if self.current_thread == thread_id:
                self.new_thread()
            self.refresh_history()

        operations.delete_thread(self.client, thread_id, deleted, self.show_engine_error)

    # -- files ---------------------------------------------------------------------------------

    def open_source(self, path: str, page: Any) -> None:
        if open_file(path, page if isinstance(page, int) else None):
            return
        self.open_failed(path)

    def open_failed(self, path: str) -> QMessageBox:
        """Opening did not work: say so, and offer what still can be done."""
        gone = not Path(path).exists()
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(APP_NAME)
        box.setText(tr("The file could not be opened"))
        if gone:
            detail = tr(
                "{path} is not there any more: it was moved, renamed or deleted. Needle updates "
                "the index when it notices."
            )
        else:
            detail = tr(
                "No application opened {path}. Show it in its folder and open it from there, or "
                "copy its path."
            )
        box.setInformativeText(detail.format(path=path))
        reveal = box.addButton(tr("Show in folder"), QMessageBox.ButtonRole.ActionRole)
        reveal.setEnabled(Path(path).parent.exists())
        copy = box.addButton(tr("Copy path"), QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setObjectName(f"error:{ErrorKind.OPEN_FAILED}")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def clicked(button: Any) -> None:
            if button is reveal:
                self.reveal(path)
            elif button is copy:
                self._copy_path(path)

        box.buttonClicked.connect(clicked)
        box.open()
        self.open_failed_box = box
        return box

    def reveal(self, path: str) -> None:
        if not show_in_folder(path):
            self.status.showMessage(
                tr("{path} and its folder are not there any more.").format(path=path), 8000
            )

    def _copy_path(self, path: str) -> None:
        copy_path(path)
        self.status.showMessage(tr("Copied {path}").format(path=path), 4000)

    # -- folders -------------------------------------------------------------------------------

    def add_folder(self, path: str) -> None:
        self.status.begin("add", tr("Adding {folder}…").format(folder=path))
        operations.add_folder(
            self.client, path, lambda _folder: self._folder_added(), self._add_failed
        )

    def _add_failed(self, error: Any) -> None:
        self.status.end("add")
        self.show_engine_error(error)

    def _folder_added(self) -> None:
        self.status.end("add")
        self.refresh_folders()
        # The engine follows a finished run with an `index_changed` notification, which
        # refreshes every view; refreshing here as well would ask for everything twice.
        self._index_now()

    def rescan(self) -> None:
        """Rescan now: bring the index up to date with the disk without waiting for the watcher."""
        self._index_now()

    def _index_now(self) -> None:
        self.status.begin("index", tr("Updating the index…"))
        operations.run_index(
            self.client, self._on_index_progress, self._index_failed, lambda _s: self._indexed()
        )

    def _indexed(self) -> None:
        self.status.end("index")

    def _index_failed(self, error: Any) -> None:
        self.status.end("index")
        self.show_engine_error(error)

    def _on_index_progress(self, progress: dict[str, Any]) -> None:
        self.status.set_index_progress(progress)
        self.folders_panel.set_progress(progress)

    def remove_folder(self, path: str) -> None:
        self.status.begin("remove", tr("Removing {folder}…").format(folder=path))

        def removed(_result: Any) -> None:
            self.status.end("remove")
            if self.query_bar.folder == path:
                self.query_bar.set_folder(None)

        def failed(error: Any) -> None:
            self.status.end("remove")
            self.show_engine_error(error)

        operations.remove_folder(self.client, path, failed, removed)

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
        dialog.open_requested.connect(lambda path: self.open_source(path, None))
        dialog.show_in_folder_requested.connect(self.reveal)
        dialog.retry_requested.connect(lambda paths: self._retry_files(dialog, paths))
        dialog.open()
        self.problems_dialog = dialog

    def _retry_files(self, dialog: ProblemsDialog, paths: Sequence[str]) -> None:
        def done(summary: IndexSummary) -> None:
            if self.problems_dialog is not dialog:
                return
            still = len(summary.problems)
            fixed = max(0, len(paths) - still)
            dialog.retried(
                tr("Read again: {fixed} now searchable, {still} still with problems.").format(
                    fixed=fixed, still=still
                )
            )

        def failed(error: Any) -> None:
            if self.problems_dialog is dialog:
                dialog.retried(plain_error(error).as_text())

        operations.retry_files(self.client, list(paths), done, failed)

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
        self.ollama_panel.pull_finished(tr("The model is ready."))
        self.refresh_ollama()

    def _pull_failed(self, error: Any) -> None:
        self._pull_handle = None
        plain = plain_error(error)
        self.ollama_panel.pull_finished(f"{plain.title}: {plain.message} {plain.hint}".strip())

    def _cancel_pull(self) -> None:
        if self._pull_handle is not None:
            self._pull_handle.cancel()
            self._pull_handle = None
        self.ollama_panel.pull_finished(tr("Download cancelled."))

    def use_model(self, model: str) -> None:
        """Answer with a model the server already has, instead of downloading the configured one."""
        if not model:
            return

        def saved(snapshot: SettingsSnapshot) -> None:
            self._apply_settings(snapshot)
            self.refresh_ollama()
            self.status.showMessage(tr("Answers now come from {model}.").format(model=model), 6000)

        operations.update_settings(self.client, {"model": model}, saved, self.show_engine_error)

    # -- dialogs -------------------------------------------------------------------------------

    def open_settings(self) -> None:
        operations.get_settings(self.client, self._open_settings_dialog, self.show_engine_error)

    def _open_settings_dialog(self, snapshot: SettingsSnapshot) -> None:
        models = (self.ollama_state or {}).get("models") or []
        dialog = SettingsDialog(
            snapshot,
            self,
            models=list(models),
            preferences=self.preferences,
            background_available=tray_available(),
            autostart_available=autostart_supported(),
        )
        dialog.apply_requested.connect(lambda changes: self._save_settings(dialog, changes))
        dialog.preferences_changed.connect(self.apply_preferences)
        dialog.models_wanted.connect(lambda host: self._models_at(dialog, host))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.settings_dialog = dialog

    def _models_at(self, dialog: SettingsDialog, host: str) -> None:
        def answered(state: dict[str, Any]) -> None:
            if self.settings_dialog is dialog and dialog.isVisible():
                dialog.show_host_state(host, state)

        def failed(error: Any) -> None:
            if self.settings_dialog is dialog and dialog.isVisible():
                dialog.show_host_state(host, {"state": "error"})

        operations.ollama_status(self.client, answered, failed, host=host)

    def _save_settings(self, dialog: SettingsDialog, changes: dict[str, Any]) -> None:
        def saved(snapshot: SettingsSnapshot) -> None:
            dialog.saved(snapshot)
            self._apply_settings(snapshot)
            self.refresh_ollama()

        operations.update_settings(self.client, changes, saved, dialog.show_problem)

    def apply_preferences(self, preferences: Preferences) -> None:
        previous = self.preferences
        self.preferences = preferences
        preferences.save(self.store)
        app = QApplication.instance()
        if preferences.appearance != previous.appearance and isinstance(app, QApplication):
            apply_theme(app, preferences.appearance)
        if preferences.start_at_login != previous.start_at_login:
            try:
                set_start_at_login(preferences.start_at_login, self.data_dir)
            except OSError as exc:
                show_error(
                    {
                        "kind": ErrorKind.INTERNAL,
                        "message": tr("The login entry could not be written: {why}").format(
                            why=exc
                        ),
                    },
                    self,
                )
        self._update_tray()

    def run_doctor(self) -> None:
        self.status.begin("doctor", tr("Checking the setup…"))
        operations.run_doctor(self.client, self._open_doctor_dialog, self._doctor_failed)

    def _doctor_failed(self, error: Any) -> None:
        self.status.end("doctor")
        self.show_engine_error(error)

    def _open_doctor_dialog(self, report: DoctorReport) -> None:
        self.status.end("doctor")
        dialog = DoctorDialog(report, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.doctor_dialog = dialog

    def request_checks(self, deliver: Callable[[str], None]) -> None:
        """The setup checks as text, for the diagnostics of a bug report."""
        from desktop.doctor_dialog import checks_text

        operations.run_doctor(
            self.client,
            lambda report: deliver(checks_text(report)),
            lambda error: deliver(plain_error(error).as_text()),
        )

    def open_logs(self) -> None:
        folder = self.logs
        if folder is None:
            data = self.client.engine_info.get("data_dir")
            folder = Path(str(data)).parent / "logs" if data else None
        if folder is None or not open_folder(folder):
            self.status.showMessage(tr("The logs folder could not be opened."), 6000)

    def show_about(self) -> None:
        dialog = AboutDialog(self.client.engine_info, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- background, tray and the single window ------------------------------------------------

    def _update_tray(self) -> None:
        wanted = self.preferences.keep_watching and tray_available()
        if wanted and self.tray is None:
            self.tray = TrayIcon(self)
            self.tray.show_requested.connect(self.bring_to_front)
            self.tray.quit_requested.connect(self.quit)
            self._tray_status()
            self.tray.show()
        elif not wanted and self.tray is not None:
            self.tray.hide()
            self.tray = None

    def _tray_status(self) -> None:
        if self.tray is None:
            return
        count = len(self.folders)
        text = tr("Watching 1 folder") if count == 1 else tr("Watching {n} folders").format(n=count)
        self.tray.set_status(text)

    def bring_to_front(self, _arguments: object = None) -> None:
        """Another launch asked for Needle (or the tray icon was clicked): show this window."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Quit for real, also when the window would only hide to the tray."""
        self._quitting = True
        self.close()
        self._quit_app()

    def _quit_app(self) -> None:
        app = QApplication.instance()
        if self._owns_app and app is not None:
            app.quit()

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
        left = self.store.value("window/left_splitter")
        if isinstance(left, QByteArray):
            self.left_splitter.restoreState(left)
        self.query_bar.set_mode(str(self.store.value("query/mode", SEARCH)))
        if self.store.contains("query/level"):
            self.query_bar.set_level(str(self.store.value("query/level")))
            self._level_chosen = True

    def save_layout(self) -> None:
        self.store.setValue("window/geometry", self.saveGeometry())
        self.store.setValue("window/state", self.saveState())
        self.store.setValue("window/splitter", self.splitter.saveState())
        self.store.setValue("window/left_splitter", self.left_splitter.saveState())
        self.store.setValue("query/mode", self.query_bar.mode)
        if self._level_chosen:
            self.store.setValue("query/level", self.query_bar.level)
        self.store.sync()

    @property
    def keeps_running(self) -> bool:
        """Closing the window leaves Needle watching (tray icon, or started in the background)."""
        return self.tray is not None or self._background

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        if self.keeps_running and not self._quitting:
            # Keep watching: the engine stays, the window goes.
            event.ignore()
            self.hide()
            if self.tray is not None and not self._told_about_tray:
                self._told_about_tray = True
                self.tray.notify(
                    APP_NAME,
                    tr(
                        "Needle keeps watching your folders in the background. Click its icon "
                        "to open it; quit it from the icon's menu."
                    ),
                )
            return
        self.watchdog.stop()
        if self._ask_handle is not None:
            self._ask_handle.cancel()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
        self._quit_app()
