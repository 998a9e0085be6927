"""The interface's language: every string the app itself shows goes through `tr()`, and a Qt
translation (`desktop/translations/needle_zh_CN.qm`, made from the `.ts` with Qt Linguist's
`pyside6-lupdate` / `pyside6-lrelease`) supplies the Chinese text. Qt's own `qtbase_zh_CN`
translates the standard dialogs (file picker, message-box buttons).

One translation context (the empty one) for the whole app: `pyside6-lupdate` files a bare
`tr("…")` call under it, wherever the call stands, and a phrase reads the same in every panel.
Strings fixed at import time are marked with `QT_TR_NOOP` and translated where they are shown.

Documents, questions, answers and the engine's own messages keep their language; only the app's
words change."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger("needle.desktop")

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
CATALOG = "needle"
SYSTEM, ENGLISH, CHINESE = "system", "en", "zh_CN"


def tr(text: str) -> str:
    """`text` in the interface's language (itself when there is no translation)."""
    return QCoreApplication.translate("", text)


def QT_TR_NOOP(text: str) -> str:
    """Marks `text` for translation without translating it now (constants made at import)."""
    return text


# (value, label) of the language preference; a language's own name is written in itself.
LANGUAGES: tuple[tuple[str, str], ...] = (
    (SYSTEM, QT_TR_NOOP("Same as the system")),
    (ENGLISH, "English"),
    (CHINESE, "简体中文"),
)

_installed: list[QTranslator] = []
_language = ENGLISH


def system_language(locale: QLocale | None = None) -> str:
    """The language the system asks for, among the ones Needle has: any Chinese locale gets the
    Simplified Chinese interface (the only Chinese one there is), anything else English."""
    languages = (locale or QLocale.system()).uiLanguages()
    for name in languages:
        if name.replace("-", "_").lower().startswith("zh"):
            return CHINESE
        if name.lower().startswith("en"):
            return ENGLISH
    return ENGLISH


def resolve_language(preference: str, locale: QLocale | None = None) -> str:
    if preference in (ENGLISH, CHINESE):
        return preference
    return system_language(locale)


def current_language() -> str:
    return _language


def install_translators(app: QCoreApplication, preference: str = SYSTEM) -> str:
    """Load the app's and Qt's translations for `preference` ("system", "en", "zh_CN") and
    return the language in use. Safe to call again: earlier translators are removed first."""
    global _language
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = resolve_language(preference)
    _language = language
    if language == ENGLISH:
        return language
    own = QTranslator(app)
    if own.load(f"{CATALOG}_{language}", str(TRANSLATIONS_DIR)):
        app.installTranslator(own)
        _installed.append(own)
    else:
        log.warning(
            "no %s translation in %s; the interface stays English", language, TRANSLATIONS_DIR
        )
        _language = ENGLISH
        return ENGLISH
    qt = QTranslator(app)
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(f"qtbase_{language}", qt_folder):
        app.installTranslator(qt)
        _installed.append(qt)
    else:
        log.info("Qt's own %s translation is not in %s", language, qt_folder)
    return language
