"""Help → Check setup: the engine's `doctor` checks (index, folders, Ollama, model, disk), each with
what is wrong and the fix, so a confusing local-model setup explains itself."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from desktop.rich_text import escape
from desktop.theme import COLORS, css_font_stack
from engine.models import DoctorReport

_MARKS = {"ok": ("✓", COLORS.good), "warn": ("!", COLORS.warn), "fail": ("✕", COLORS.bad)}


def checks_html(report: DoctorReport) -> str:
    rows = []
    for check in report.checks:
        mark, color = _MARKS.get(check.status, ("?", COLORS.muted))
        hint = check.hint
        fix = f'<div style="color:{COLORS.muted};">What to do: {escape(hint)}</div>' if hint else ""
        rows.append(
            "<tr>"
            f'<td width="22" valign="top" style="color:{color}; font-weight:700;">{mark}</td>'
            f'<td valign="top" style="padding-bottom:8px;"><b>{escape(check.name)}'
            f"</b><div>{escape(check.message)}</div>{fix}</td>"
            "</tr>"
        )
    table = f'<table width="100%" cellspacing="0" cellpadding="2">{"".join(rows)}</table>'
    return f'<div style="font-family:{css_font_stack()};">{table}</div>'


def summary_text(report: DoctorReport) -> str:
    checks = report.checks
    failed = sum(1 for c in checks if c.status == "fail")
    warned = sum(1 for c in checks if c.status == "warn")
    if failed:
        return f"{failed} of {len(checks)} checks failed. Each says what to do."
    if warned:
        return f"Everything needed works; {warned} check{'s' if warned != 1 else ''} to look at."
    return f"All {len(checks)} checks passed."


class DoctorDialog(QDialog):
    def __init__(self, report: DoctorReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Check setup")
        self.resize(620, 420)
        self.summary = QLabel(summary_text(report))
        self.summary.setStyleSheet("font-weight: 600;")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(checks_html(report))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
