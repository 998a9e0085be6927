"""The Sources tab: every chunk an answer cites (or the search hit being looked at), with its file,
page or heading, the text as it reads (lines joined, Markdown syntax gone) with the supporting
words marked, and a way to open the file. Showing a hit scrolls to its first match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.i18n import tr
from desktop.passage import readable
from desktop.rich_text import (
    MATCH_ANCHOR,
    escape,
    file_name,
    highlight_html,
    location_label,
    short_path,
)
from desktop.theme import colors, css_font_stack, theme_events

OPEN_SCHEME = "open"
FOLDER_SCHEME = "folder"


@dataclass(frozen=True)
class SourceItem:
    number: int  # the [n] of a citation; 0 for a search hit shown on its own
    path: str
    title: str
    text: str
    highlights: tuple[tuple[int, int], ...]
    page: int | None
    location: str
    state: str = ""  # a stored answer's source: current | changed | vanished

    @classmethod
    def from_citation(cls, data: Mapping[str, Any]) -> SourceItem:
        return cls(
            number=int(data.get("number", 0)),
            path=str(data.get("path", "")),
            title=str(data.get("title") or file_name(str(data.get("path", "")))),
            text=str(data.get("text", "")),
            highlights=_spans(data.get("highlights")),
            page=data.get("page"),
            location=location_label(data.get("page"), data.get("heading"), data.get("ocr")),
            state=str(data.get("state") or ""),
        )

    @classmethod
    def from_hit(cls, data: Mapping[str, Any], number: int = 0) -> SourceItem:
        """A SearchHit dict: its `highlights` index the whole chunk text."""
        return cls.from_citation({**data, "number": number})


def _spans(raw: Any) -> tuple[tuple[int, int], ...]:
    if not raw:
        return ()
    return tuple((int(s[0]), int(s[1])) for s in raw if len(s) >= 2)


def source_html(item: SourceItem, index: int, selected: bool, anchor: str = "") -> str:
    c = colors()
    background = c.raised if selected else c.surface
    border = c.accent if selected else c.border
    mark = f"[{item.number}] " if item.number else ""
    # A Markdown file's top heading is often its title: say it once.
    shown_location = item.location if item.location != item.title else ""
    location = (
        f'<span style="color:{c.muted};">{escape(shown_location)}</span><br>'
        if shown_location
        else ""
    )
    text = readable(item.text, item.highlights)
    stale = ""
    if item.state in ("changed", "vanished"):
        why = (
            tr("⚠ Source changed since this answer: it may no longer say this.")
            if item.state == "changed"
            else tr("⚠ File gone since this answer.")
        )
        stale = f'<br><span style="color:{c.bad}; font-weight:600;">{escape(why)}</span>'
    open_label, folder_label = escape(tr("Open")), escape(tr("Show in folder"))
    return (
        f'<a name="source-{index}"></a>'
        f'<table width="100%" cellspacing="0" cellpadding="10" bgcolor="{background}" '
        f'style="border: 1px solid {border}; border-style: solid; margin-bottom: 10px;"><tr><td>'
        f'<span style="font-weight:600; color:{c.accent};">{escape(mark)}</span>'
        f'<span style="font-weight:600;">{escape(item.title)}</span>'
        f'&nbsp;&nbsp;<a href="{OPEN_SCHEME}:{index}" style="color:{c.accent};">'
        f"{open_label}</a>"
        f'&nbsp;&nbsp;<a href="{FOLDER_SCHEME}:{index}" style="color:{c.muted};">'
        f"{folder_label}</a><br>"
        f"{location}"
        f'<span style="color:{c.muted}; font-size:9pt;">{escape(short_path(item.path))}</span>'
        f"{stale}"
        f'<p style="margin-top:6px; line-height:140%;">'
        f"{highlight_html(text.text, text.spans, anchor=anchor)}</p>"
        "</td></tr></table>"
    )


def sources_html(
    items: Sequence[SourceItem],
    selected: int | None,
    inferred: bool = False,
    missing: Sequence[int] = (),
    closest: bool = False,
) -> str:
    c = colors()
    notes = []
    if closest and items:
        notes.append(
            tr(
                "No answer: these are the passages that came closest, but none of them states "
                "the answer."
            )
        )
    elif inferred and items:
        notes.append(
            tr(
                "Probable sources: the model did not cite these explicitly; they are the passages "
                "that best match its answer."
            )
        )
    if missing:
        marks = ", ".join(f"[{n}]" for n in missing)
        notes.append(
            tr(
                "The answer cites {marks}, but no passage came with that number: treat what it "
                "says there as unsupported."
            ).format(marks=marks)
        )
    note = "".join(f'<p style="color:{c.warn};">{escape(text)}</p>' for text in notes)
    if not items:
        body = note or (
            f'<p style="color:{c.muted};">'
            + escape(
                tr(
                    "Sources appear here: the passages an answer cites, or the search result you "
                    "open with Enter."
                )
            )
            + "</p>"
        )
    else:
        body = note + "".join(
            source_html(item, i, i == selected, MATCH_ANCHOR if i == selected else "")
            for i, item in enumerate(items)
        )
    return f'<div style="font-family:{css_font_stack()};">{body}</div>'


class SourcesPanel(QTextBrowser):
    """Cited chunks. `select_citation(n)` marks and scrolls to the chunk behind [n]."""

    open_requested = Signal(str, object)  # path, page or None
    show_in_folder_requested = Signal(str)
    citation_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesPanel")
        self.setAccessibleName(tr("Sources"))
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.document().setDocumentMargin(10)
        self._items: list[SourceItem] = []
        self._selected: int | None = None
        self._inferred = False
        self._missing: list[int] = []
        theme_events().changed.connect(self._render)
        self._closest = False
        self._render()

    @property
    def items(self) -> list[SourceItem]:
        return list(self._items)

    @property
    def selected_item(self) -> SourceItem | None:
        return self._items[self._selected] if self._selected is not None else None

    @property
    def missing(self) -> list[int]:
        return list(self._missing)

    def clear_sources(self) -> None:
        self._inferred = self._closest = False
        self._items = []
        self._missing = []
        self._selected = None
        self._render()

    def set_citations(
        self,
        citations: Sequence[Mapping[str, Any]],
        inferred: bool = False,
        missing: Sequence[int] = (),
    ) -> None:
        """`inferred`: the model cited nothing and the engine picked the probable sources.
        `missing`: numbers the answer cites that no passage came with."""
        ordered = sorted(citations, key=lambda c: int(c.get("number", 0)))
        self._items = [SourceItem.from_citation(c) for c in ordered]
        self._inferred = inferred
        self._missing = list(missing)
        self._closest = False
        self._selected = None
        self._render()

    def set_closest(self, candidates: Sequence[Mapping[str, Any]]) -> None:
        """No answer was supported: show the passages that came closest, without [n] marks
        (the answer claims nothing from them)."""
        self._items = [SourceItem.from_citation({**c, "number": 0}) for c in candidates]
        self._inferred = False
        self._missing = []
        self._closest = True
        self._selected = None
        self._render()

    def show_hit(self, hit: Mapping[str, Any]) -> None:
        """A search result the user chose: its whole chunk on its own, scrolled to the match."""
        self._items = [SourceItem.from_hit(hit)]
        self._inferred = False
        self._missing = []
        self._closest = False
        self._selected = 0
        self._render()
        self._scroll_to_match()

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

    def _scroll_to_match(self) -> None:
        # After the layout of the new text: scroll the first match into view, with some of the
        # text before it for context.
        def scroll() -> None:
            self.scrollToAnchor(MATCH_ANCHOR)
            bar = self.verticalScrollBar()
            if bar.value() > 0:
                bar.setValue(max(0, bar.value() - self.viewport().height() // 4))

        if self._items and self._items[0].highlights:
            QTimer.singleShot(0, scroll)

    def _render(self) -> None:
        self.setHtml(
            sources_html(self._items, self._selected, self._inferred, self._missing, self._closest)
        )

    def _on_anchor(self, url: QUrl) -> None:
        scheme, _, number = url.toString().partition(":")
        if not number.isdigit() or int(number) >= len(self._items):
            return
        item = self._items[int(number)]
        if scheme == OPEN_SCHEME:
            self.open_requested.emit(item.path, item.page)
        elif scheme == FOLDER_SCHEME:
            self.show_in_folder_requested.emit(item.path)
