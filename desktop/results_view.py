"""Search results: title, path, page or heading, and a snippet with the matched terms highlighted.
Rendered as one rich-text document, so long snippets wrap naturally and many hits stay cheap."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.rich_text import (
    escape,
    file_name,
    format_count,
    highlight_html,
    location_label,
    short_path,
)
from desktop.theme import COLORS, css_font_stack
from engine.models import SearchHit, SearchResult

HIT_SCHEME = "hit"
OPEN_SCHEME = "open"


def hit_title(hit: SearchHit) -> str:
    return hit.title or file_name(hit.path)


def result_html(index: int, hit: SearchHit) -> str:
    c = COLORS
    location = location_label(hit.page, list(hit.heading), hit.ocr)
    where = f' <span style="color:{c.muted};">· {escape(location)}</span>' if location else ""
    snippet = hit.snippet or hit.text
    highlights = hit.snippet_highlights if hit.snippet else hit.highlights
    spans = [[h.start, h.end] for h in highlights]
    return (
        '<table width="100%" cellspacing="0" cellpadding="0" style="margin-bottom:14px;"><tr><td>'
        f'<a href="{HIT_SCHEME}:{index}" style="color:{c.accent}; text-decoration:none; '
        f'font-size:11pt; font-weight:600;">{escape(hit_title(hit))}</a>{where}'
        f'&nbsp;&nbsp;<a href="{OPEN_SCHEME}:{index}" style="color:{c.muted}; font-size:9pt;">'
        "Open</a><br>"
        f'<span style="color:{c.muted}; font-size:9pt;">'
        f"{escape(short_path(hit.path))}</span><br>"
        f'<span style="line-height:140%;">{highlight_html(snippet, spans or ())}</span>'
        "</td></tr></table>"
    )


def results_html(hits: Sequence[SearchHit], query: str, seconds: float | None = None) -> str:
    c = COLORS
    if not hits:
        body = (
            f'<p style="color:{c.muted};">No matches for <b>{escape(query)}</b>.</p>'
            f'<p style="color:{c.muted};">Try fewer or different words, remove a filter, or check '
            "that the folder holding the document is watched and indexed.</p>"
        )
    else:
        timing = f" in {seconds * 1000:.0f} ms" if seconds is not None else ""
        count = format_count(len(hits))
        header = (
            f'<p style="color:{c.muted}; font-size:9pt;">{count} '
            f"result{'s' if len(hits) != 1 else ''}{timing}</p>"
        )
        body = header + "".join(result_html(i, hit) for i, hit in enumerate(hits))
    return f'<div style="font-family:{css_font_stack()};">{body}</div>'


class ResultsView(QTextBrowser):
    """Shows search hits; clicking a title selects the hit, "Open" asks to open its file."""

    hit_selected = Signal(dict)
    open_requested = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultsView")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self._hits: list[SearchHit] = []
        self.document().setDocumentMargin(14)

    @property
    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def show_results(self, result: SearchResult) -> None:
        self._hits = list(result.hits)
        self.setHtml(results_html(self._hits, result.query, result.seconds))

    def show_message(self, text: str) -> None:
        self._hits = []
        self.setHtml(
            f'<div style="font-family:{css_font_stack()}; color:{COLORS.muted};">'
            f"<p>{escape(text)}</p></div>"
        )

    def select_hit(self, index: int) -> None:
        if 0 <= index < len(self._hits):
            self.hit_selected.emit(self._hits[index].to_dict())

    def _on_anchor(self, url: QUrl) -> None:
        scheme, _, number = url.toString().partition(":")
        if not number.isdigit() or int(number) >= len(self._hits):
            return
        # The sources panel shows hits and citations alike, in their wire form.
        hit = self._hits[int(number)].to_dict()
        if scheme == HIT_SCHEME:
            self.hit_selected.emit(hit)
        elif scheme == OPEN_SCHEME:
            self.open_requested.emit(hit)
