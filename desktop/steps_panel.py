"""The Steps tab: the agent's timeline (desktop/steps_timeline.py) rendered as rich text,
re-drawn at most a few times a second however fast events arrive."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.i18n import tr
from desktop.rich_text import escape
from desktop.steps_timeline import Step, StepsTimeline
from desktop.theme import colors, css_font_stack, theme_events

RENDER_INTERVAL_MS = 100


def _tone_color(tone: str) -> str:
    c = colors()
    return {
        "normal": c.text,
        "good": c.good,
        "bad": c.bad,
        "muted": c.muted,
        "accent": c.accent,
    }.get(tone, c.text)


def step_html(step: Step) -> str:
    c = colors()
    color = _tone_color(step.tone)
    details = "".join(
        f'<div style="color:{c.muted}; font-size:9pt; margin-left:2px;">{escape(line)}</div>'
        for line in step.details
        if line
    )
    return (
        "<tr>"
        f'<td width="56" valign="top" style="color:{c.muted}; font-size:8pt; padding-top:2px;">'
        f"+{step.elapsed:.1f} s</td>"
        f'<td width="20" valign="top" style="color:{color}; font-weight:700;">'
        f"{escape(step.glyph)}</td>"
        f'<td valign="top" style="padding-bottom:8px;">'
        f'<span style="color:{color}; font-weight:600;">{escape(step.title)}</span>{details}</td>'
        "</tr>"
    )


def steps_html(steps: Sequence[Step]) -> str:
    if not steps:
        body = (
            f'<p style="color:{colors().muted};">'
            + escape(
                tr(
                    "When you ask a question, each step the agent takes shows here: the parsed "
                    "question, keywords, hits, passages read, sub-questions and model calls."
                )
            )
            + "</p>"
        )
    else:
        rows = "".join(step_html(step) for step in steps)
        body = f'<table width="100%" cellspacing="0" cellpadding="2">{rows}</table>'
    return f'<div style="font-family:{css_font_stack()};">{body}</div>'


class StepsPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] | None = None):
        super().__init__(parent)
        self.setObjectName("stepsPanel")
        self.setAccessibleName(tr("Steps the agent took"))
        self.setOpenLinks(False)
        self.document().setDocumentMargin(10)
        self._clock = clock
        self.timeline = self._new_timeline()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self.render_now)
        theme_events().changed.connect(self.render_now)
        self.render_now()

    def _new_timeline(self) -> StepsTimeline:
        return StepsTimeline(self._clock) if self._clock else StepsTimeline()

    def set_clock(self, clock: Callable[[], float]) -> None:
        """Where step times come from (a replay supplies its recorded time)."""
        self._clock = clock
        self.timeline = self._new_timeline()
        self.render_now()

    def clear_steps(self) -> None:
        self.timeline = self._new_timeline()
        self.render_now()

    def add_event(self, event: Mapping[str, Any]) -> None:
        self.timeline.add(event)
        if not self._timer.isActive():
            self._timer.start()

    def add_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        self.timeline.add_all(events)
        self.render_now()

    def show_recorded(self, events: Sequence[Mapping[str, Any]]) -> None:
        """The steps of a stored answer, timed by its recorded model calls (reads that ran in
        parallel add up, so the times are the model's work, not the wall clock's)."""
        elapsed = [0.0]
        timeline = StepsTimeline(lambda: elapsed[0])
        for event in events:
            if event.get("type") == "llm_call":
                elapsed[0] += float(event.get("seconds", 0.0))
            timeline.add(event)
        self.timeline = timeline
        self.render_now()

    def render_now(self) -> None:
        self._timer.stop()
        scrollbar = self.verticalScrollBar()
        at_bottom = scrollbar.value() >= scrollbar.maximum() - 4
        self.setHtml(steps_html(self.timeline.steps))
        if at_bottom:
            scrollbar.setValue(scrollbar.maximum())
