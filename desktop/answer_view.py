"""The answer, streamed as it is written and rendered as Markdown. Citation marks [n] become links
that select the cited chunk in the Sources tab — only marks with a passage behind them; a mark
without one stays plain text and the answer says its source is missing.

While a question runs, a line says what is happening and with which model ("Reading 44 of 236
passages with qwen2:7b-instruct · about 2 min left") over a progress bar, and Stop ends it. After
a failure or a Stop, Retry asks the same question again."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.ask_progress import AskStatus
from desktop.errors import PlainError, plain_error
from desktop.i18n import tr
from desktop.rich_text import (
    CITATION_SCHEME,
    citation_numbers,
    escape,
    format_count,
    format_seconds,
    linkify_citations,
)
from desktop.theme import colors, theme_events, ui_font
from engine.errors import ErrorKind

# Re-rendering Markdown on every streamed token is quadratic; coalesce deltas instead.
RENDER_INTERVAL_MS = 60


def _plural(count: int, one: str, many: str) -> str:
    return (one if count == 1 else many).format(n=format_count(count))


def answer_summary(answer: Mapping[str, Any]) -> str:
    """The footer line under a finished answer: level, calls, tokens, time, sources."""
    parts = [tr("Level {level}").format(level=answer.get("level", "?"))]
    calls = int(answer.get("llm_calls", 0))
    parts.append(_plural(calls, tr("{n} model call"), tr("{n} model calls")))
    prompt = int(answer.get("prompt_tokens", 0))
    completion = int(answer.get("completion_tokens", 0))
    parts.append(
        tr("{prompt} prompt + {answer} answer tokens").format(
            prompt=format_count(prompt), answer=format_count(completion)
        )
    )
    parts.append(format_seconds(float(answer.get("seconds", 0.0))))
    if answer.get("chunks_read"):
        parts.append(
            _plural(int(answer["chunks_read"]), tr("{n} passage read"), tr("{n} passages read"))
        )
    cited = len(answer.get("citations") or ())
    if not answer.get("found", True):
        closest = len(answer.get("candidates") or ())
        if closest:
            parts.append(_plural(closest, tr("{n} closest passage"), tr("{n} closest passages")))
    elif answer.get("citations_inferred") and cited:
        parts.append(
            _plural(
                cited,
                tr("{n} probable source, not cited by the model"),
                tr("{n} probable sources, not cited by the model"),
            )
        )
    else:
        parts.append(_plural(cited, tr("{n} source"), tr("{n} sources")))
    return " · ".join(parts)


def missing_sources(answer: Mapping[str, Any]) -> list[int]:
    """Citation numbers the text uses that no citation came with."""
    known = {int(c.get("number", 0)) for c in answer.get("citations") or ()}
    return [n for n in citation_numbers(str(answer.get("text", ""))) if n not in known]


class AnswerView(QWidget):
    citation_clicked = Signal(int)
    stop_requested = Signal()
    retry_requested = Signal()
    answer_now_requested = Signal()
    copy_requested = Signal()  # Copy as Markdown: the answer with its numbered sources
    turn_requested = Signal(int)  # another question of the thread on screen (1, 2, …)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._answer: dict[str, Any] | None = None
        self._error: PlainError | None = None
        self._notice = ""  # shown instead of streamed text that was dropped
        self._running = False
        self._answering_now = False  # the user asked for the answer from what was found so far
        self._known: set[int] | None = None  # citation numbers with a passage behind them
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render)
        # A slow local model can take minutes before its first word: show that time passes.
        self._status = AskStatus("")
        self._started = 0.0
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._show_status)
        self._turn = 0  # the question of the thread on screen, and how many the thread has
        self._turns = 0
        self._build()
        theme_events().changed.connect(self._rerender)

    def _build(self) -> None:
        self.question_label = QLabel()
        self.question_label.setObjectName("questionLabel")
        self.question_label.setWordWrap(True)
        self.question_label.setFont(ui_font(12))
        self.question_label.setStyleSheet("font-weight: 600;")
        self.question_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rewritten_label = QLabel()
        self.rewritten_label.setObjectName("muted")
        self.rewritten_label.setWordWrap(True)
        self.rewritten_label.hide()
        self.previous_button = QPushButton("‹")
        self.previous_button.setToolTip(tr("The previous question of this thread"))
        self.previous_button.setAccessibleName(tr("Previous question"))
        self.previous_button.setFixedWidth(32)
        self.previous_button.clicked.connect(lambda: self.turn_requested.emit(self._turn - 1))
        self.next_button = QPushButton("›")
        self.next_button.setToolTip(tr("The next question of this thread"))
        self.next_button.setAccessibleName(tr("Next question"))
        self.next_button.setFixedWidth(32)
        self.next_button.clicked.connect(lambda: self.turn_requested.emit(self._turn + 1))
        self.turn_label = QLabel()
        self.turn_label.setObjectName("muted")
        thread_bar = QHBoxLayout()
        thread_bar.setContentsMargins(0, 0, 0, 0)
        thread_bar.addWidget(self.previous_button)
        thread_bar.addWidget(self.turn_label)
        thread_bar.addWidget(self.next_button)
        thread_bar.addStretch(1)
        self.thread_bar = QWidget()
        self.thread_bar.setLayout(thread_bar)
        self.thread_bar.hide()
        self.status_label = QLabel()
        self.status_label.setObjectName("muted")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName(tr("Answer status"))
        self.stop_button = QPushButton(tr("Stop"))
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip(tr("Stop this question (Esc)"))
        self.stop_button.clicked.connect(self.stop_requested)
        self.stop_button.hide()
        self.retry_button = QPushButton(tr("Retry"))
        self.retry_button.setToolTip(tr("Ask the same question again"))
        self.retry_button.clicked.connect(self.retry_requested)
        self.retry_button.hide()
        # Reading a scope with a slow model takes minutes: once some passage states the answer,
        # the user may take the answer from what was found instead of waiting for the rest.
        self.answer_now_button = QPushButton(tr("Answer from what was found"))
        self.answer_now_button.clicked.connect(self.answer_now_requested)
        self.answer_now_button.hide()
        self.copy_button = QPushButton(tr("Copy as Markdown"))
        self.copy_button.setToolTip(
            tr("Copy the answer with its numbered sources, to paste into a note")
        )
        self.copy_button.clicked.connect(self.copy_requested)
        self.copy_button.hide()
        header = QHBoxLayout()
        header.addWidget(self.status_label, 1)
        header.addWidget(self.copy_button)
        header.addWidget(self.retry_button)
        header.addWidget(self.answer_now_button)
        header.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.setAccessibleName(tr("Progress of the question"))
        self.progress.hide()
        self.browser = QTextBrowser()
        self.browser.setObjectName("answerBrowser")
        self.browser.setAccessibleName(tr("Answer"))
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
        layout.addWidget(self.thread_bar)
        layout.addWidget(self.question_label)
        layout.addWidget(self.rewritten_label)
        layout.addLayout(header)
        layout.addWidget(self.progress)
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

    @property
    def error(self) -> PlainError | None:
        """The failure on screen, if the last question failed."""
        return self._error

    def show_placeholder(self) -> None:
        self._text = ""
        self._answer = None
        self._error = None
        self.question_label.setText("")
        self.question_label.hide()
        self.set_rewritten("")
        self.set_turns(0, 0)
        self.status_label.setText("")
        self.summary_label.setText("")
        self.retry_button.hide()
        self.copy_button.hide()
        self.progress.hide()
        self._set_html(
            f'<p style="color:{colors().muted};">'
            + escape(
                tr(
                    "Ask a question about your notes and PDFs. The answer appears here with "
                    "numbered citations; click one to see the passage it comes from."
                )
            )
            + "</p>"
        )

    def start(self, question: str) -> None:
        self._text = ""
        self._notice = ""
        self._answer = None
        self._error = None
        self._known = None
        self._running = True
        self._answering_now = False
        self.question_label.setText(question)
        self.question_label.show()
        self.set_rewritten("")
        self.copy_button.hide()
        self._started = time.monotonic()
        self._clock_timer.start()
        self.set_status(AskStatus(tr("Starting")))
        self.summary_label.setText("")
        self.retry_button.hide()
        self.stop_button.show()
        self.browser.clear()

    def set_status(self, status: AskStatus) -> None:
        if not self._running:
            return
        self._status = status
        self._show_answer_now(status.answering)
        if status.reading:
            self.progress.setRange(0, status.total)
            self.progress.setValue(status.done)
        else:
            self.progress.setRange(0, 0)  # busy: work goes on, with no count to show
        self.progress.show()
        self._show_status()

    def _show_answer_now(self, answering: int) -> None:
        offered = self._running and not self._answering_now and answering > 0
        if offered:
            self.answer_now_button.setToolTip(
                tr(
                    "Stop reading and answer from the passages found so far ({n} state the "
                    "answer); the answer is marked as coming from a partial reading"
                ).format(n=format_count(answering))
            )
        self.answer_now_button.setVisible(offered)

    def answering_now(self) -> None:
        """The engine was asked to stop reading and answer from what it found."""
        if not self._running:
            return
        self._answering_now = True
        self.answer_now_button.hide()
        self._status = AskStatus(tr("Answering from what was found so far"))
        self.progress.setRange(0, 0)
        self._show_status()

    def _show_status(self) -> None:
        if not self._running:
            self._clock_timer.stop()
            return
        elapsed = int(time.monotonic() - self._started)
        text = self._status.text or tr("Working")
        self.status_label.setText(f"{text} · {elapsed} s")

    def append_delta(self, text: str) -> None:
        if not self._running:
            return
        self._text += text
        self._notice = ""
        if not self._render_timer.isActive():
            self._render_timer.start()

    def drop_streamed_text(self, notice: str) -> bool:
        """What was streamed so far is not the answer — a new level started, or the draft was
        not supported by its passages — so it must not stay on screen as if it were. `notice`
        says what happens instead. True when there was streamed text to drop."""
        if not self._running or not self._text:
            return False
        self._text = ""
        self._notice = notice
        self._render_timer.stop()
        self._render()
        return True

    def finish(self, answer: Mapping[str, Any]) -> None:
        """The final answer is authoritative: it replaces whatever was streamed."""
        self._answer = dict(answer)
        self._text = str(answer.get("text", self._text))
        self._notice = ""
        self._known = {int(c.get("number", 0)) for c in answer.get("citations") or ()}
        self._end_running()
        found = answer.get("found", True)
        missing = missing_sources(answer)
        if found:
            status = tr("Answered · checked against its sources")
        elif answer.get("candidates"):
            status = tr("Not supported by your documents · the closest passages are in Sources")
        else:
            status = tr("The documents do not seem to contain the answer.")
        if answer.get("partial"):
            status += " · " + tr(
                "from a partial reading: you stopped it after {n} passages"
            ).format(n=format_count(int(answer.get("chunks_read", 0))))
        if found and answer.get("citations_inferred"):
            status += " · " + tr("probable sources: the model did not cite any explicitly")
        if missing:
            marks = ", ".join(f"[{n}]" for n in missing)
            status += " · " + tr("no passage came with {marks}: that part is unsupported").format(
                marks=marks
            )
        self.status_label.setText(status)
        self.summary_label.setText(answer_summary(answer))
        self.copy_button.setVisible(bool(answer.get("thread_id")))
        if answer.get("rewritten"):
            self.set_rewritten(str(answer["rewritten"]))
        if answer.get("turn"):
            self.set_turns(int(answer["turn"]), max(self._turns, int(answer["turn"])))
        self._render()

    def show_stored(
        self,
        question: str,
        answer: Mapping[str, Any],
        *,
        asked_at: float,
        stale: bool,
    ) -> None:
        """An answer from the history, as it was given; the status says when, and whether a
        source changed since."""
        self.start(question)
        self.finish(answer)
        asked = time.strftime("%Y-%m-%d %H:%M", time.localtime(asked_at))
        status = tr("From your history · asked {when}").format(when=asked)
        if stale:
            status += " · " + tr("a source changed since: the answer may be out of date")
        self.status_label.setText(status)

    def set_rewritten(self, question: str) -> None:
        """The self-contained question a follow-up was understood as ("" hides it)."""
        self.rewritten_label.setText(
            tr("Understood as: {question}").format(question=question) if question else ""
        )
        self.rewritten_label.setVisible(bool(question))

    def set_turns(self, turn: int, turns: int) -> None:
        """Question `turn` of a thread of `turns` is on screen (the bar shows from two on)."""
        self._turn, self._turns = turn, turns
        self.turn_label.setText(
            tr("Question {n} of {count} in this thread").format(n=turn, count=turns)
        )
        self.previous_button.setEnabled(turn > 1)
        self.next_button.setEnabled(turn < turns)
        self.thread_bar.setVisible(turns > 1)

    @property
    def turn(self) -> int:
        return self._turn

    def fail(self, error: Mapping[str, Any]) -> None:
        plain = plain_error(error)
        if plain.kind is ErrorKind.CANCELLED:
            self.stopped()
            return
        self._end_running()
        self._error = plain
        self.status_label.setText(plain.title)
        self.retry_button.show()
        self._render_error()

    def _render_error(self) -> None:
        plain = self._error
        if plain is None:
            return
        c = colors()
        what_to_do = escape(tr("What to do:"))
        hint = f"<p><b>{what_to_do}</b> {escape(plain.hint)}</p>" if plain.hint else ""
        self._set_html(
            f'<div style="color:{c.bad};"><p><b>{escape(plain.title)}</b></p>'
            f"<p>{escape(plain.message)}</p></div>{hint}"
        )

    def server_back(self, message: str) -> bool:
        """The model server the failure was about works again: the old error is no longer the
        truth. True when a stale error was replaced."""
        if self._error is None or self._running:
            return False
        self._error = None
        self.status_label.setText(message)
        self._set_html(
            f'<p style="color:{colors().good};">{escape(message)}</p>'
            f'<p style="color:{colors().muted};">'
            + escape(tr("Click Retry to ask the question again."))
            + "</p>"
        )
        return True

    def stopped(self) -> None:
        self._end_running()
        self._render()
        self.status_label.setText(
            tr("Stopped.") if not self._text else tr("Stopped: the answer above is incomplete.")
        )
        self.retry_button.show()

    def _end_running(self) -> None:
        self._running = False
        self._clock_timer.stop()
        self.stop_button.hide()
        self.answer_now_button.hide()
        self.progress.hide()
        self._render_timer.stop()

    # -- rendering -----------------------------------------------------------------------------

    def _set_html(self, html: str) -> None:
        self.browser.setHtml(html)

    def _rerender(self) -> None:
        if self._error is not None:
            self._render_error()
        elif self._text or self._notice:
            self._render()
        elif not self._running and self._answer is None:
            self.show_placeholder()

    def _render(self) -> None:
        if self._notice and not self._text:
            self._set_html(f'<p style="color:{colors().muted};">{escape(self._notice)}</p>')
            return
        started = time.perf_counter()
        scrollbar = self.browser.verticalScrollBar()
        at_bottom = scrollbar.value() >= scrollbar.maximum() - 4
        # While streaming, the passages are not known yet; marks become links at the end.
        self.browser.setMarkdown(linkify_citations(self._text, self._known or set()))
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
