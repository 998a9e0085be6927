"""The look of the app in one place: palette, fonts and the style sheet every widget shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

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
# Shipped beside this module (package data); a missing file only loses the arrow, not the combo.
CHEVRON = (Path(__file__).resolve().parent / "chevron-down.svg").as_posix()


@dataclass(frozen=True)
class Colors:
    window: str = "#f6f7f9"
    surface: str = "#ffffff"
    border: str = "#dde1e7"
    text: str = "#1f2430"
    muted: str = "#667085"
    accent: str = "#3b5bdb"
    accent_soft: str = "#e8edff"
    mark: str = "#ffe58f"  # highlighted terms and spans
    good: str = "#2f9e44"
    warn: str = "#e8590c"
    bad: str = "#c92a2a"
    selection: str = "#d0dbff"


COLORS = Colors()


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


def style_sheet(colors: Colors = COLORS) -> str:
    c = colors
    return f"""
QMainWindow, QDialog {{ background: {c.window}; }}
QWidget {{ color: {c.text}; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; padding: 4px; }}
QLineEdit, QComboBox, QSpinBox, QPlainTextEdit, QDateEdit {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px; padding: 4px 8px;
    selection-background-color: {c.selection}; selection-color: {c.text};
}}
QComboBox::drop-down {{
    subcontrol-origin: padding; subcontrol-position: center right; width: 22px; border: none;
}}
QComboBox::down-arrow {{ image: url("{CHEVRON}"); width: 12px; height: 12px; }}
QComboBox QAbstractItemView {{
    background: {c.surface}; border: 1px solid {c.border};
    selection-background-color: {c.selection}; selection-color: {c.text};
}}
QLineEdit:focus, QComboBox:focus, QSpinBox:focus, QPlainTextEdit:focus {{
    border: 1px solid {c.accent};
}}
QLineEdit#queryEdit {{ font-size: 13pt; padding: 7px 12px; border-radius: 8px; }}
QPushButton {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px; padding: 5px 12px;
}}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: white; border: 1px solid {c.accent}; }}
QPushButton#primary:disabled {{ background: {c.accent_soft}; border-color: {c.accent_soft}; }}
QPushButton#stop {{ color: {c.bad}; }}
QPushButton#modeButton {{ border-radius: 0px; padding: 6px 16px; min-width: 56px; }}
QPushButton#modeButton:checked {{ background: {c.accent_soft}; border-color: {c.accent};
    color: {c.accent}; font-weight: 600; }}
QTabWidget::pane {{ border: 1px solid {c.border}; border-radius: 6px; background: {c.surface}; }}
QTabBar::tab {{ padding: 6px 16px; border: none; color: {c.muted}; }}
QTabBar::tab:selected {{
    color: {c.accent}; border-bottom: 2px solid {c.accent};
}}
QListWidget, QTreeWidget, QTextBrowser, QScrollArea#panelScroll {{
    background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px;
}}
QListWidget::item {{ padding: 2px; }}
QListWidget::item:selected, QTreeWidget::item:selected {{
    background: {c.selection}; color: {c.text};
}}
QLabel#sectionTitle {{ font-weight: 600; color: {c.muted}; font-size: 9pt; letter-spacing: 1px; }}
QLabel#muted {{ color: {c.muted}; }}
QFrame#card {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px; }}
QFrame#card[selected="true"] {{ border: 2px solid {c.accent}; background: #fbfcff; }}
QFrame#banner {{ background: #fff4e6; border: 1px solid #ffd8a8; border-radius: 6px; }}
QFrame#errorBanner {{ background: #fff5f5; border: 1px solid #ffc9c9; border-radius: 6px; }}
QFrame#onboarding {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 10px; }}
QStatusBar {{ background: {c.surface}; border-top: 1px solid {c.border}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QProgressBar {{ border: 1px solid {c.border}; border-radius: 4px; background: {c.window};
    text-align: center; max-height: 14px; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 3px; }}
QSplitter::handle {{ background: {c.window}; }}
"""


def palette(colors: Colors = COLORS) -> QPalette:
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(colors.window))
    pal.setColor(QPalette.ColorRole.Base, QColor(colors.surface))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(colors.window))
    pal.setColor(QPalette.ColorRole.Text, QColor(colors.text))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(colors.text))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(colors.text))
    pal.setColor(QPalette.ColorRole.Button, QColor(colors.surface))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(colors.selection))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(colors.text))
    pal.setColor(QPalette.ColorRole.Link, QColor(colors.accent))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(colors.muted))
    return pal


def apply_theme(app: QApplication) -> None:
    """Fusion gives the same widgets on every platform, so the style sheet looks as designed."""
    app.setStyle("Fusion")
    app.setFont(ui_font())
    app.setPalette(palette())
    app.setStyleSheet(style_sheet())
