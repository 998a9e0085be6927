"""The answer, streamed as it is written and rendered as Markdown. Citation marks [n] become links
that select the cited chunk in the Sources tab; Stop cancels the question."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import plain_error
from desktop.rich_text import CITATION_SCHEME, escape, format_count, format_seconds
from desktop.rich_text import linkify_citations as linkify
from desktop.theme import COLORS, ui_font
from engine.errors import ErrorKind

# Re-rendering Markdown on every streamed token is quadratic; coalesce deltas instead.
RENDER_INTERVAL_MS = 60


def answer_summary(answer: Mapping[str, Any]) -> str:
    """The footer line under a finished answer: level, calls, tokens, time."""
    parts = [f"Level {answer.get('level', '?')}"]
    calls = int(answer.get("llm_calls", 0))
    parts.append(f"{calls} model call{'s' if calls != 1 else ''}")
    prompt = int(answer.get("prompt_tokens", 0))
    completion = int(answer.get("completion_tokens", 0))
    parts.append(f"{format_count(prompt)} prompt + {format_count(completion)} answer tokens")
    parts.append(format_seconds(float(answer.get("seconds", 0.0))))
    cited = len(answer.get("citations") or ())
    if answer.get("chunks_read"):
        parts.append(f"{format_count(int(answer['chunks_read']))} passages read")
    if not answer.get("found", True):
        closest = len(answer.get("candidates") or ())
        if closest:
            parts.append(f"{closest} closest passage{'s' if closest != 1 else ''}")
    elif answer.get("citations_inferred") and cited:
        plural = "s" if cited != 1 else ""
        parts.append(f"{cited} probable source{plural}, not cited by the model")
    else:
        parts.append(f"{cited} source{'s' if cited != 1 else ''}")
    return " · ".join(parts)


class AnswerView(QWidget):
    citation_clicked = Signal(int)
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._answer: dict[str, Any] | None = None
        self._running = False
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render)
        # A slow local model can take a minute before its first word: show that time passes.
        self._status_text = ""
        self._started = 0.0
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._show_status)
        self._build()

    def _build(self) -> None:
        self.question_label = QLabel()
        self.question_label.setObjectName("questionLabel")
        self.question_label.setWordWrap(True)
        self.question_label.setFont(ui_font(12))
        self.question_label.setStyleSheet("font-weight: 600;")
        self.question_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        self.status_label.setObjectName("muted")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop this question (Esc)")
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()
        header = QHBoxLayout()
        header.addWidget(self.status_label, 1)
        header.addWidget(self.stop_button)
        self.browser = QTextBrowser()
        self.browser.setObjectName("answerBrowser")
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor)
        self.browser.document().setDefaultFont(ui_font(11))
        self.browser.document().setDocumentMargin(14)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("muted")
        self.summary_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.question_label)
        layout.addLayout(header)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.summary_label)
        self.show_placeholder()

    # -- state ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def text(self) -> str:
        """The answer's Markdown so far (or the final text once it arrived)."""
        return self._text

    @property
    def answer(self) -> dict[str, Any] | None:
        return self._answer

    def show_placeholder(self) -> None:
        self._text = ""
        self._answer = None
        self.question_label.setText("")
        self.question_label.hide()
        self.status_label.setText("")
        self.summary_label.setText("")
        self.browser.setHtml(
            f'<p style="color:{COLORS.muted};">Ask a question about your notes and PDFs. '
            "The answer appears here with numbered citations; click one to see the passage "
            "it comes from.</p>"
        )

    def start(self, question: str, level_label: str = "") -> None:
        self._text = ""
        self._answer = None
        self._running = True
        self.question_label.setText(question)
        self.question_label.show()
        self._started = time.monotonic()
        self._clock_timer.start()
        self.set_status(f"Thinking… {level_label}".strip())
        self.summary_label.setText("")
        self.stop_button.show()
        self.browser.clear()

    def set_status(self, text: str) -> None:
        if self._running:
            self._status_text = text
            self._show_status()

    def _show_status(self) -> None:
        if not self._running:
            self._clock_timer.stop()
            return
        elapsed = int(time.monotonic() - self._started)
        self.status_label.setText(f"{self._status_text} · {elapsed} s")

    def append_delta(self, text: str) -> None:
        if not self._running:
            return
        self._text += text
        if not self._render_timer.isActive():
            self._render_timer.start()

    def drop_streamed_text(self, notice: str) -> bool:
        """What was streamed so far is not the answer — a new level started, or the draft was
        not supported by its passages — so it must not stay on screen as if it were. `notice`
        says what happens instead. True when there was streamed text to drop."""
        if not self._running or not self._text:
            return False
        self._text = ""
        self._render_timer.stop()
        self.browser.setHtml(f'<p style="color:{COLORS.muted};">{escape(notice)}</p>')
        return True

    def finish(self, answer: Mapping[str, Any]) -> None:
        """The final answer is authoritative: it replaces whatever was streamed."""
        self._answer = dict(answer)
        self._text = str(answer.get("text", self._text))
        self._running = False
        self._clock_timer.stop()
        self.stop_button.hide()
        self._render_timer.stop()
        found = answer.get("found", True)
        if found:
            status = "Answered · checked against its sources"
        elif answer.get("candidates"):
            status = "Not supported by your documents · the closest passages are in Sources"
        else:
            status = "The documents do not seem to contain the answer."
        if found and answer.get("citations_inferred"):
            status += " · probable sources: the model did not cite any explicitly"
        self.status_label.setText(status)
        self.summary_label.setText(answer_summary(answer))
        self._render()

    def fail(self, error: Mapping[str, Any]) -> None:
        plain = plain_error(error)
        self._running = False
        self._clock_timer.stop()
        self.stop_button.hide()
        self._render_timer.stop()
        if plain.kind is ErrorKind.CANCELLED:
            self.stopped()
            return
        self.status_label.setText(plain.title)
        hint = f"<p><b>What to do:</b> {escape(plain.hint)}</p>" if plain.hint else ""
        self.browser.setHtml(
            f'<div style="color:{COLORS.bad};"><p><b>{escape(plain.title)}</b></p>'
            f"<p>{escape(plain.message)}</p></div>{hint}"
        )

    def stopped(self) -> None:
        self._running = False
        self._clock_timer.stop()
        self.stop_button.hide()
        self._render_timer.stop()
        self._render()
        self.status_label.setText("Stopped.")

    # -- rendering -----------------------------------------------------------------------------

    def _render(self) -> None:
        started = time.perf_counter()
        scrollbar = self.browser.verticalScrollBar()
        at_bottom = scrollbar.value() >= scrollbar.maximum() - 4
        self.browser.setMarkdown(linkify(self._text))
        if at_bottom and self._running:
            scrollbar.setValue(scrollbar.maximum())
        # A long answer costs more to lay out: render it less often, so streaming never takes
        # more than about a quarter of the UI thread.
        spent_ms = (time.perf_counter() - started) * 1000
        self._render_timer.setInterval(max(RENDER_INTERVAL_MS, int(3 * spent_ms)))

    def _on_anchor(self, url: QUrl) -> None:
        scheme, _, number = url.toString().partition(":")
        if scheme == CITATION_SCHEME and number.isdigit():
            self.citation_clicked.emit(int(number))
