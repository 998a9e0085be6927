"""Help → Check setup: the engine's `doctor` checks (index, folders, Ollama, model, disk), each with
what is wrong and the fix in the app's terms, so a confusing local-model setup explains itself.
The engine words its fixes for the command line; here they become buttons and menu entries."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from desktop.errors import APP_HINTS, without_commands
from desktop.i18n import QT_TR_NOOP, tr
from desktop.rich_text import escape
from desktop.theme import colors, css_font_stack
from engine.errors import ErrorKind
from engine.models import Check, DoctorReport

CHECK_NAMES = {
    "data folder": QT_TR_NOOP("Data folder"),
    "settings": QT_TR_NOOP("Settings"),
    "catalog": QT_TR_NOOP("Catalog"),
    "index": QT_TR_NOOP("Index"),
    "folders": QT_TR_NOOP("Folders"),
    "ollama": QT_TR_NOOP("Ollama"),
}
# The fix of a failed or warned check, as the app does it (None: the engine's words will do).
APP_FIXES: dict[str, str] = {
    "folders": QT_TR_NOOP("Add a folder of notes or PDFs with Add folder… (Ctrl+O)."),
    "catalog": QT_TR_NOOP("Add a folder, or click Rescan now in the File menu."),
    "index": QT_TR_NOOP("Click Rescan now in the File menu."),
}
FOLDER_FIX = QT_TR_NOOP(
    "Reconnect the drive or put the folder back, or select it in Folders and click Remove."
)


def check_name(check: Check) -> str:
    if check.name.startswith("folder "):
        return tr("Folder {path}").format(path=check.name[len("folder ") :])
    return tr(CHECK_NAMES[check.name]) if check.name in CHECK_NAMES else check.name


def app_fix(check: Check) -> str:
    """What to do about a check, without command lines."""
    if check.status == "ok":
        return ""
    if check.name in APP_FIXES:
        return tr(APP_FIXES[check.name])
    if check.name.startswith("folder "):
        return tr(FOLDER_FIX)
    if check.name == "ollama":
        missing = "pulled" in check.message or "not installed" in check.message
        kind = ErrorKind.MODEL_MISSING if missing else ErrorKind.OLLAMA_UNREACHABLE
        return tr(APP_HINTS[kind])
    return without_commands(check.hint)


def checks_html(report: DoctorReport) -> str:
    c = colors()
    marks = {"ok": ("✓", c.good), "warn": ("!", c.warn), "fail": ("✕", c.bad)}
    rows = []
    for check in report.checks:
        mark, color = marks.get(check.status, ("?", c.muted))
        hint = app_fix(check)
        fix = (
            f'<div style="color:{c.muted};">'
            + escape(tr("What to do: {hint}").format(hint=hint))
            + "</div>"
            if hint
            else ""
        )
        rows.append(
            "<tr>"
            f'<td width="22" valign="top" style="color:{color}; font-weight:700;">{mark}</td>'
            f'<td valign="top" style="padding-bottom:8px;"><b>{escape(check_name(check))}'
            f"</b><div>{escape(check.message.replace('`', ''))}</div>{fix}</td>"
            "</tr>"
        )
    table = f'<table width="100%" cellspacing="0" cellpadding="2">{"".join(rows)}</table>'
    return f'<div style="font-family:{css_font_stack()};">{table}</div>'


def checks_text(report: DoctorReport) -> str:
    """The checks as plain text, for the diagnostics a bug report carries."""
    lines = []
    for check in report.checks:
        lines.append(f"[{check.status}] {check.name}: {check.message}")
        if check.hint:
            lines.append(f"    fix: {check.hint}")
    return "\n".join(lines)


def summary_text(report: DoctorReport) -> str:
    checks = report.checks
    failed = sum(1 for c in checks if c.status == "fail")
    warned = sum(1 for c in checks if c.status == "warn")
    if failed:
        return tr("{failed} of {total} checks failed. Each says what to do.").format(
            failed=failed, total=len(checks)
        )
    if warned:
        text = (
            tr("Everything needed works; 1 check to look at.")
            if warned == 1
            else tr("Everything needed works; {n} checks to look at.")
        )
        return text.format(n=warned)
    return tr("All {n} checks passed.").format(n=len(checks))


class DoctorDialog(QDialog):
    def __init__(self, report: DoctorReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Check setup"))
        self.resize(620, 420)
        self.summary = QLabel(summary_text(report))
        self.summary.setStyleSheet("font-weight: 600;")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setAccessibleName(tr("Setup checks"))
        self.browser.setHtml(checks_html(report))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
