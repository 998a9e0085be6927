"""The tray icon shown while Needle keeps watching in the background: it says what Needle is doing,
brings the window back, and quits. Only where the desktop has a system tray; elsewhere the option
to keep watching is offered only as "start at login" (a second launch still raises the window)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.about import APP_NAME
from desktop.i18n import tr
from desktop.icon import app_icon


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class TrayIcon(QObject):
    show_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.menu = QMenu()
        self.show_action = QAction(tr("Show Needle"), self.menu)
        self.show_action.triggered.connect(self.show_requested)
        self.status_action = QAction("", self.menu)
        self.status_action.setEnabled(False)
        self.quit_action = QAction(tr("Quit Needle"), self.menu)
        self.quit_action.triggered.connect(self.quit_requested)
        self.menu.addAction(self.show_action)
        self.menu.addAction(self.status_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.set_status(tr("Watching your folders"))

    def set_status(self, text: str) -> None:
        self.status_action.setText(text)
        self.icon.setToolTip(f"{APP_NAME} — {text}")

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    def notify(self, title: str, message: str) -> None:
        if self.icon.supportsMessages():
            self.icon.showMessage(title, message, app_icon(), 8000)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_requested.emit()
