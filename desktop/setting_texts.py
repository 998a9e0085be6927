"""The engine's settings in the interface's language. The engine declares each setting once, with
its English label, explanation, unit and choices (engine/settings.py); the same English words are
marked here for translation, so the Settings dialog and the level box speak Chinese too. A test
keeps these English strings equal to the engine's, so a changed label cannot go untranslated
unnoticed; a setting the desktop does not know yet shows the engine's English words."""

from __future__ import annotations

from desktop.i18n import QT_TR_NOOP, tr
from engine.settings import SettingField

LABELS: dict[str, str] = {
    "ollama_host": QT_TR_NOOP("Ollama host"),
    "model": QT_TR_NOOP("Model"),
    "context_window": QT_TR_NOOP("Context window"),
    "answer_reserve": QT_TR_NOOP("Answer reserve"),
    "parallel_requests": QT_TR_NOOP("Parallel requests"),
    "read_budget": QT_TR_NOOP("Read budget (Level 2)"),
    "max_steps": QT_TR_NOOP("Step limit (Level 3)"),
    "default_level": QT_TR_NOOP("Default level"),
    "request_timeout": QT_TR_NOOP("Request timeout"),
    "max_file_mb": QT_TR_NOOP("Largest file"),
    "ignore_patterns": QT_TR_NOOP("Ignore patterns"),
    "folders": QT_TR_NOOP("Folders"),
}
DOCS: dict[str, str] = {
    "ollama_host": QT_TR_NOOP(
        "URL of the Ollama server ($OLLAMA_HOST when this is left at the default)."
    ),
    "model": QT_TR_NOOP("The Ollama model that answers, e.g. qwen2:7b-instruct."),
    "context_window": QT_TR_NOOP(
        "Tokens the model reads at once (num_ctx); prompts are sized to fit it."
    ),
    "answer_reserve": QT_TR_NOOP("Tokens kept free for the answer; under half the context window."),
    "parallel_requests": QT_TR_NOOP("Model calls Level 2 runs at once."),
    "read_budget": QT_TR_NOOP("Chunks Level 2 may read for one question."),
    "max_steps": QT_TR_NOOP("Sub-questions Level 3 asks before it answers with what it has."),
    "default_level": QT_TR_NOOP("The level a question is asked at unless another is chosen."),
    "request_timeout": QT_TR_NOOP("Seconds one model call may take."),
    "max_file_mb": QT_TR_NOOP("Larger files are listed as too large instead of read."),
    "ignore_patterns": QT_TR_NOOP(
        "Files and folders never indexed: .gitignore-style patterns such as *.log or drafts/."
    ),
    "folders": QT_TR_NOOP(
        "The folders Needle indexes (add and remove them in the Folders list, not here)."
    ),
}
UNITS: dict[str, str] = {
    "tokens": QT_TR_NOOP("tokens"),
    "chunks": QT_TR_NOOP("chunks"),
    "steps": QT_TR_NOOP("steps"),
    "seconds": QT_TR_NOOP("seconds"),
    "MB": QT_TR_NOOP("MB"),
}
CHOICES: dict[str, str] = {
    "Auto": QT_TR_NOOP("Auto"),
    "Level 1 · quick keyword answer": QT_TR_NOOP("Level 1 · quick keyword answer"),
    "Level 2 · read the scope closely": QT_TR_NOOP("Level 2 · read the scope closely"),
    "Level 3 · step by step": QT_TR_NOOP("Level 3 · step by step"),
}


def _known(table: dict[str, str], key: str, english: str) -> str:
    """The translation when the desktop's English matches the engine's, else the engine's
    English (a newer engine's words are better than an old translation of other words)."""
    ours = table.get(key)
    return tr(ours) if ours == english else english


def label(field: SettingField) -> str:
    return _known(LABELS, field.name, field.label)


def doc(field: SettingField) -> str:
    return _known(DOCS, field.name, field.doc)


def unit(field: SettingField) -> str:
    return _known(UNITS, field.unit, field.unit) if field.unit else ""


def choice(text: str) -> str:
    return _known(CHOICES, text, text)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def bounds(field: SettingField) -> str:
    """The allowed values in words ("2048 to 131072 tokens"), as the engine's bounds_text says
    them, in the interface's language."""
    if field.choices:
        return ""
    shown_unit = f" {unit(field)}" if field.unit else ""
    low, high = _number(field.minimum), _number(field.maximum)
    if field.minimum is not None and field.maximum is not None:
        if field.above:
            return tr("more than {low} and at most {high}").format(low=low, high=high) + shown_unit
        return tr("{low} to {high}").format(low=low, high=high) + shown_unit
    if field.minimum is not None:
        text = tr("more than {low}") if field.above else tr("at least {low}")
        return text.format(low=low) + shown_unit
    if field.maximum is not None:
        return tr("at most {high}").format(high=high) + shown_unit
    return ""
