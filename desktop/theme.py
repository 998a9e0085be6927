"""The look of the app in one place: palettes (light and dark), fonts and the style sheet every
widget shares.

The colour scheme follows the system (Qt's `styleHints().colorScheme()`) and switches live when
the system does; a preference can pin it to light or dark. Views that draw rich text read
`colors()` each time they render and re-render on `theme_events().changed`, so nothing keeps
the colours of the scheme it was drawn in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop.i18n import QT_TR_NOOP

# Latin fonts first so English keeps its usual shapes; the CJK family follows so that Chinese
# glyphs come from a font made for them instead of whatever fontconfig happens to pick.
UI_FAMILIES = [
    "Inter",
    "Segoe UI",
    "Helvetica Neue",
    "Noto Sans",
    "DejaVu Sans",
    "Noto Sans CJK SC",
]
MONO_FAMILIES = ["JetBrains Mono", "Consolas", "DejaVu Sans Mono", "Noto Sans Mono CJK SC"]
UI_POINT_SIZE = 10
# Shipped beside this module (package data); a missing file only loses the arrow, not the widget.
ASSETS = Path(__file__).resolve().parent
SYSTEM, LIGHT, DARK = "system", "light", "dark"
# (value, label) of the appearance preference, translated where shown.
APPEARANCES: tuple[tuple[str, str], ...] = (
    (SYSTEM, QT_TR_NOOP("Same as the system")),
    (LIGHT, QT_TR_NOOP("Light")),
    (DARK, QT_TR_NOOP("Dark")),
)


@dataclass(frozen=True)
class Colors:
    name: str
    window: str
    surface: str
    raised: str  # a card drawn on a surface (selected result, selected source)
    border: str
    text: str
    muted: str
    accent: str
    accent_soft: str
    on_accent: str  # text on an accent-coloured button
    mark: str  # highlighted terms and spans
    good: str
    warn: str
    bad: str
    selection: str
    banner: str
    banner_border: str
    error_banner: str
    error_banner_border: str

    @property
    def dark(self) -> bool:
        return self.name == DARK

    def asset(self, stem: str) -> str:
        """An SVG drawn for this scheme (`chevron-down` -> chevron-down-dark.svg in dark)."""
        suffix = "-dark" if self.dark else ""
        return (ASSETS / f"{stem}{suffix}.svg").as_posix()


LIGHT_COLORS = Colors(
    name=LIGHT,
    window="#f6f7f9",
    surface="#ffffff",
    raised="#f7f9ff",
    border="#dde1e7",
    text="#1f2430",
    muted="#667085",
    accent="#3b5bdb",
    accent_soft="#e8edff",
    on_accent="#ffffff",
    mark="#ffe58f",
    good="#2f9e44",
    warn="#d9480f",
    bad="#c92a2a",
    selection="#d0dbff",
    banner="#fff4e6",
    banner_border="#ffd8a8",
    error_banner="#fff5f5",
    error_banner_border="#ffc9c9",
)
# Contrast checked against the surface: text 13:1, muted 6:1, accent 5.6:1, marks keep the text
# colour readable (the highlight is a dark amber, not the light theme's pale yellow).
DARK_COLORS = Colors(
    name=DARK,
    window="#15171c",
    surface="#1d2027",
    raised="#242936",
    border="#343a46",
    text="#e6e8ee",
    muted="#a0a8b8",
    accent="#8ea2ff",
    accent_soft="#27304d",
    on_accent="#0d1020",
    mark="#7a5d00",
    good="#69db7c",
    warn="#ffa94d",
    bad="#ff8787",
    selection="#33406b",
    banner="#3a2a12",
    banner_border="#6b4a1b",
    error_banner="#3b1c1f",
    error_banner_border="#6e2b31",
)

_current = LIGHT_COLORS


def colors() -> Colors:
    """The palette in use now; read it at render time, never keep it."""
    return _current


def ui_font(point_size: int = UI_POINT_SIZE) -> QFont:
    font = QFont()
    font.setFamilies(UI_FAMILIES)
    font.setPointSize(point_size)
    return font


def mono_font(point_size: int = UI_POINT_SIZE - 1) -> QFont:
    font = QFont()
    font.setFamilies(MONO_FAMILIES)
    font.setPointSize(point_size)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


def css_font_stack() -> str:
    """The same families for rich text (QTextBrowser HTML), which does not inherit setFamilies."""
    return ", ".join(f"'{family}'" for family in UI_FAMILIES) + ", sans-serif"


def style_sheet(c: Colors) -> str:
    chevron = c.asset("chevron-down")
    up, down = c.asset("spin-up"), c.asset("spin-down")
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QWidget {{ color: {c.text}; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox, QPlainTextEdit, QDateEdit {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px; padding: 4px 8px;
    selection-background-color: {c.selection}; selection-color: {c.text};
}}
QComboBox::drop-down {{
    subcontrol-origin: padding; subcontrol-position: center right; width: 22px; border: none;
}}
QComboBox::down-arrow {{ image: url("{chevron}"); width: 12px; height: 12px; }}
QComboBox QAbstractItemView {{
    background: {c.surface}; border: 1px solid {c.border};
    selection-background-color: {c.selection}; selection-color: {c.text};
}}
QSpinBox, QDoubleSpinBox {{ padding-right: 24px; min-height: 20px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{
    subcontrol-origin: border; subcontrol-position: top right; width: 22px;
    border: none; border-left: 1px solid {c.border}; border-top-right-radius: 6px;
}}
QSpinBox::down-button, QDoubleSpinBox::down-button {{
    subcontrol-origin: border; subcontrol-position: bottom right; width: 22px;
    border: none; border-left: 1px solid {c.border}; border-bottom-right-radius: 6px;
}}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover,
QSpinBox::down-button:hover, QDoubleSpinBox::down-button:hover {{ background: {c.accent_soft}; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url("{up}"); width: 10px; height: 10px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{
    image: url("{down}"); width: 10px; height: 10px;
}}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QDoubleSpinBox:focus, QPlainTextEdit:focus {{
    border: 1px solid {c.accent};
}}
QLineEdit#queryEdit {{ font-size: 13pt; padding: 7px 12px; border-radius: 8px; }}
QPushButton {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px; padding: 5px 12px;
}}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton:focus {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{
    background: {c.accent}; color: {c.on_accent}; border: 1px solid {c.accent};
}}
QPushButton#primary:disabled {{ background: {c.accent_soft}; border-color: {c.accent_soft};
    color: {c.muted}; }}
QPushButton#stop {{ color: {c.bad}; }}
QPushButton#link {{ border: none; background: transparent; color: {c.accent}; padding: 2px 4px;
    text-decoration: underline; }}
QPushButton#modeButton {{ border-radius: 0px; padding: 6px 16px; min-width: 56px; }}
QPushButton#modeButton:checked {{ background: {c.accent_soft}; border-color: {c.accent};
    color: {c.accent}; font-weight: 600; }}
QTabWidget::pane {{ border: 1px solid {c.border}; border-radius: 6px; background: {c.surface}; }}
QTabBar::tab {{ padding: 6px 16px; border: none; color: {c.muted}; }}
QTabBar::tab:selected {{
    color: {c.accent}; border-bottom: 2px solid {c.accent};
}}
QListWidget, QListView, QTreeWidget, QTextBrowser, QScrollArea#panelScroll {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px;
}}
QListWidget::item {{ padding: 2px; }}
QListWidget::item:selected, QTreeWidget::item:selected {{
    background: {c.selection}; color: {c.text};
}}
QHeaderView::section {{ background: {c.window}; color: {c.muted}; border: none;
    border-bottom: 1px solid {c.border}; padding: 4px 6px; }}
QMenuBar {{ background: {c.window}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {c.selection}; color: {c.text}; }}
QMenu {{ background: {c.surface}; border: 1px solid {c.border}; }}
QLabel#sectionTitle {{ font-weight: 600; color: {c.muted}; font-size: 9pt; letter-spacing: 1px; }}
QLabel#muted {{ color: {c.muted}; }}
QLabel#warning {{ color: {c.warn}; }}
QLabel#error {{ color: {c.bad}; }}
QFrame#banner {{ background: {c.banner}; border: 1px solid {c.banner_border}; border-radius: 6px; }}
QFrame#errorBanner {{ background: {c.error_banner}; border: 1px solid {c.error_banner_border};
    border-radius: 6px; }}
QFrame#onboarding {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 10px; }}
QStatusBar {{ background: {c.surface}; border-top: 1px solid {c.border}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QProgressBar {{ border: 1px solid {c.border}; border-radius: 4px; background: {c.window};
    text-align: center; max-height: 14px; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
QSplitter::handle {{ background: {c.window}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 4px; min-height: 24px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0px; }}
"""


def palette(c: Colors) -> QPalette:
    pal = QPalette()
    roles = QPalette.ColorRole
    for role, value in (
        (roles.Window, c.window),
        (roles.Base, c.surface),
        (roles.AlternateBase, c.window),
        (roles.Text, c.text),
        (roles.WindowText, c.text),
        (roles.ButtonText, c.text),
        (roles.Button, c.surface),
        (roles.Highlight, c.selection),
        (roles.HighlightedText, c.text),
        (roles.Link, c.accent),
        (roles.LinkVisited, c.accent),
        (roles.PlaceholderText, c.muted),
        (roles.ToolTipBase, c.surface),
        (roles.ToolTipText, c.text),
        (roles.Mid, c.border),
    ):
        pal.setColor(role, QColor(value))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return pal


def system_is_dark(app: QGuiApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


class ThemeController(QObject):
    """Applies the palette for the preference and the system scheme, again whenever the system
    scheme changes, and then tells the rich-text views (`theme_events().changed`)."""

    def __init__(self, app: QApplication, preference: str = SYSTEM) -> None:
        super().__init__(app)
        self._app = app
        self._preference = preference
        app.styleHints().colorSchemeChanged.connect(self._on_system_scheme)
        self.apply()

    @property
    def preference(self) -> str:
        return self._preference

    def set_preference(self, preference: str) -> None:
        self._preference = preference if preference in (LIGHT, DARK) else SYSTEM
        self.apply()

    def apply(self, system_dark: bool | None = None) -> Colors:
        global _current
        if self._preference == SYSTEM:
            dark = system_is_dark(self._app) if system_dark is None else system_dark
        else:
            dark = self._preference == DARK
        chosen = DARK_COLORS if dark else LIGHT_COLORS
        changed = chosen is not _current
        _current = chosen
        self._app.setPalette(palette(chosen))
        self._app.setStyleSheet(style_sheet(chosen))
        if changed:
            theme_events().changed.emit()
        return chosen

    def _on_system_scheme(self, scheme: Qt.ColorScheme) -> None:
        if self._preference == SYSTEM:
            self.apply(scheme == Qt.ColorScheme.Dark)


class ThemeEvents(QObject):
    """`changed` fires after the palette changed; rich-text views render again on it."""

    changed = Signal()


_events: ThemeEvents | None = None
_controller: ThemeController | None = None


def theme_events() -> ThemeEvents:
    global _events
    if _events is None:
        _events = ThemeEvents()
    return _events


def apply_theme(app: QApplication, preference: str = SYSTEM) -> ThemeController:
    """Fusion gives the same widgets on every platform, so the style sheet looks as designed.
    One controller per application; calling again changes its preference."""
    global _controller
    app.setStyle("Fusion")
    app.setFont(ui_font())
    if _controller is None or _controller.parent() is not app:
        _controller = ThemeController(app, preference)
    else:
        _controller.set_preference(preference)
    return _controller
