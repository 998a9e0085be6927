"""The Sources tab: every chunk an answer cites (or the search hit being looked at), with its file,
page or heading, the chunk text with the supporting span highlighted, and a way to open the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.rich_text import escape, file_name, highlight_html, location_label, short_path
from desktop.theme import COLORS, css_font_stack

OPEN_SCHEME = "open"


@dataclass(frozen=True)
class SourceItem:
    number: int  # the [n] of a citation; 0 for a search hit shown on its own
    path: str
    title: str
    text: str
    highlights: tuple[tuple[int, int], ...]
    page: int | None
    location: str

    @classmethod
    def from_citation(cls, data: Mapping[str, Any]) -> SourceItem:
        return cls(
            number=int(data.get("number", 0)),
            path=str(data.get("path", "")),
            title=str(data.get("title") or file_name(str(data.get("path", "")))),
            text=str(data.get("text", "")),
            highlights=_spans(data.get("highlights")),
            page=data.get("page"),
            location=location_label(data.get("page"), data.get("heading")),
        )

    @classmethod
    def from_hit(cls, data: Mapping[str, Any], number: int = 0) -> SourceItem:
        """A SearchHit dict: its `highlights` index the whole chunk text."""
        return cls.from_citation({**data, "number": number})


def _spans(raw: Any) -> tuple[tuple[int, int], ...]:
    if not raw:
        return ()
    return tuple((int(s[0]), int(s[1])) for s in raw if len(s) >= 2)


def source_html(item: SourceItem, index: int, selected: bool) -> str:
    c = COLORS
    background = c.accent_soft if selected else c.surface
    border = c.accent if selected else c.border
    mark = f"[{item.number}] " if item.number else ""
    # A Markdown file's top heading is often its title: say it once.
    shown_location = item.location if item.location != item.title else ""
    location = (
        f'<span style="color:{c.muted};">{escape(shown_location)}</span><br>'
        if shown_location
        else ""
    )
    return (
        f'<a name="source-{index}"></a>'
        f'<table width="100%" cellspacing="0" cellpadding="10" bgcolor="{background}" '
        f'style="border: 1px solid {border}; border-style: solid; margin-bottom: 10px;"><tr><td>'
        f'<span style="font-weight:600; color:{c.accent};">{escape(mark)}</span>'
        f'<span style="font-weight:600;">{escape(item.title)}</span>'
        f'&nbsp;&nbsp;<a href="{OPEN_SCHEME}:{index}" style="color:{c.accent};">Open</a><br>'
        f"{location}"
        f'<span style="color:{c.muted}; font-size:9pt;">{escape(short_path(item.path))}</span>'
        f'<p style="margin-top:6px; line-height:140%;">'
        f"{highlight_html(item.text, item.highlights)}</p>"
        "</td></tr></table>"
    )


def sources_html(
    items: Sequence[SourceItem],
    selected: int | None,
    inferred: bool = False,
    closest: bool = False,
) -> str:
    note = ""
    if closest and items:
        note = (
            f'<p style="color:{COLORS.warn};">No answer: these are the passages that came '
            "closest, but none of them states the answer.</p>"
        )
    elif inferred and items:
        note = (
            f'<p style="color:{COLORS.warn};">Probable sources: the model did not cite these '
            "explicitly; they are the passages that best match its answer.</p>"
        )
    if not items:
        body = (
            f'<p style="color:{COLORS.muted};">Sources appear here: the chunks an answer cites, '
            "or the search result you click.</p>"
        )
    else:
        body = note + "".join(source_html(item, i, i == selected) for i, item in enumerate(items))
    return f'<div style="font-family:{css_font_stack()};">{body}</div>'


class SourcesPanel(QTextBrowser):
    """Cited chunks. `select_citation(n)` marks and scrolls to the chunk behind [n]."""

    open_requested = Signal(str, object)  # path, page or None
    citation_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesPanel")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.document().setDocumentMargin(10)
        self._items: list[SourceItem] = []
        self._selected: int | None = None
        self._inferred = False
        self._closest = False
        self._render()

    @property
    def items(self) -> list[SourceItem]:
        return list(self._items)

    @property
    def selected_item(self) -> SourceItem | None:
        return self._items[self._selected] if self._selected is not None else None

    def clear_sources(self) -> None:
        self._inferred = self._closest = False
        self._items = []
        self._selected = None
        self._render()

    def set_citations(self, citations: Sequence[Mapping[str, Any]], inferred: bool = False) -> None:
        """`inferred`: the model cited nothing and the engine picked the probable sources."""
        ordered = sorted(citations, key=lambda c: int(c.get("number", 0)))
        self._items = [SourceItem.from_citation(c) for c in ordered]
        self._inferred = inferred
        self._closest = False
        self._selected = None
        self._render()

    def set_closest(self, candidates: Sequence[Mapping[str, Any]]) -> None:
        """No answer was supported: show the passages that came closest, without [n] marks
        (the answer claims nothing from them)."""
        self._items = [SourceItem.from_citation({**c, "number": 0}) for c in candidates]
        self._inferred = False
        self._closest = True
        self._selected = None
        self._render()

    def show_hit(self, hit: Mapping[str, Any]) -> None:
        """A search result the user clicked: show its whole chunk on its own."""
        self._items = [SourceItem.from_hit(hit)]
        self._inferred = self._closest = False
        self._selected = 0
        self._render()

    def select_citation(self, number: int) -> bool:
        """True when [number] is among the sources; the chunk is then marked and scrolled to."""
        for index, item in enumerate(self._items):
            if item.number == number:
                self._selected = index
                self._render()
                self.scrollToAnchor(f"source-{index}")
                self.citation_selected.emit(number)
                return True
        return False

    def _render(self) -> None:
        self.setHtml(sources_html(self._items, self._selected, self._inferred, self._closest))

    def _on_anchor(self, url: QUrl) -> None:
        scheme, _, number = url.toString().partition(":")
        if scheme == OPEN_SCHEME and number.isdigit() and int(number) < len(self._items):
            item = self._items[int(number)]
            self.open_requested.emit(item.path, item.page)
