"""User settings: one JSON file in the config folder, read and written by the engine only.

Each setting is declared once, below, as a typed field of `Settings` with its metadata (label,
doc, bounds, choices, whether changing it needs a new indexer). Everything else derives from that
declaration: `Settings.problems` (validation), the `settings.get` reply (values plus `FIELDS`, so
the desktop's Settings dialog builds its rows and ranges from them), `needle settings --help` and
the table in docs/cli.md (a test keeps it in step).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from engine.endpoints import BACKEND_LABELS, endpoint_problems, url_problem
from engine.jsonfile import write_json_atomic

log = logging.getLogger(__name__)

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_OPENAI_URL = "http://127.0.0.1:8000/v1"
DEFAULT_MODEL = "qwen2:7b-instruct"
LEVELS = ("auto", "1", "2", "3")
PARSE_MODES: tuple[str, ...] = ("structured", "two_call")  # how Level 1 reads the question

FieldKind = Literal["int", "float", "text", "choice", "text_list", "secret"]


@dataclass(frozen=True)
class SettingField:
    """What there is to know about one setting besides its value.

    `minimum`/`maximum` bound a number (inclusive, unless `above` says the minimum itself is not
    allowed); `choices` are (value, label) pairs; `editable` is False for settings changed
    elsewhere (folders); `rebuilds_indexer` means a change takes a new indexer and is applied to
    the files already indexed; `optional` lets a text be empty; `placeholder` is what an empty
    editor shows. A "secret" (the API key) is not a field of `Settings`: its value is kept by
    engine/secrets.py, never in settings.json, and `SettingsSnapshot.secrets_set` says whether
    it is set.
    """

    name: str
    kind: FieldKind
    label: str
    doc: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False
    step: float | None = None
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    editable: bool = True
    rebuilds_indexer: bool = False
    optional: bool = False
    placeholder: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["choices"] = [list(choice) for choice in self.choices]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SettingField:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["choices"] = tuple((str(v), str(label)) for v, label in data.get("choices", ()))
        return cls(**values)

    def bounds_text(self) -> str:
        """The allowed values in words, e.g. "2048 to 131072 tokens" or "auto, 1, 2 or 3"."""
        if self.choices:
            values = [value for value, _ in self.choices]
            return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
        unit = f" {self.unit}" if self.unit else ""
        low = _number_text(self.minimum)
        high = _number_text(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            if self.above:
                return f"more than {low} and at most {high}{unit}"
            return f"{low} to {high}{unit}"
        if self.minimum is not None:
            return f"more than {low}{unit}" if self.above else f"at least {low}{unit}"
        if self.maximum is not None:
            return f"at most {high}{unit}"
        return ""

    def problem(self, value: Any) -> str | None:
        """Why `value` cannot be this setting (type, finite, bounds, choices), or None."""
        if self.kind == "text_list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return f"{self.name} must be a list of text."
            return None
        if self.kind in ("text", "choice", "secret"):
            if not isinstance(value, str):
                return f"{self.name} must be text, not {value!r}."
            if self.choices and value not in {v for v, _ in self.choices}:
                return f"{self.name} must be one of {self.bounds_text()}, not {value!r}."
            if not value.strip() and not (self.optional or self.kind == "secret"):
                return f"{self.name} must not be empty."
            return None
        return self._number_problem(value)

    def _number_problem(self, value: Any) -> str | None:
        whole = self.kind == "int"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return (
                f"{self.name} must be {'a whole number' if whole else 'a number'}, not {value!r}."
            )
        if whole and not isinstance(value, int):
            return f"{self.name} must be a whole number, not {value!r}."
        if not math.isfinite(value):
            return f"{self.name} must be a finite number, not {value!r}."
        too_low = self.minimum is not None and (
            value <= self.minimum if self.above else value < self.minimum
        )
        too_high = self.maximum is not None and value > self.maximum
        if too_low or too_high:
            return f"{self.name} must be {self.bounds_text()}, not {_number_text(value)}."
        return None


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def setting(default: Any, **meta: Any) -> Any:
    """A `Settings` field: its default and its metadata (the keywords of `SettingField`)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"setting": meta})
    return field(default=default, metadata={"setting": meta})


ENDPOINT_PLACEHOLDER = "One server per line, e.g.\nhttp://gpu-box:8000/v1 x8\nhttp://laptop:11434"


@dataclass
class Settings:
    backend: str = setting(
        "ollama",
        kind="choice",
        label="Model server",
        doc="What serves the model: Ollama, or a server with the OpenAI API (llama.cpp's "
        "llama-server, LM Studio, vLLM, SGLang, LocalAI).",
        choices=tuple(BACKEND_LABELS.items()),
    )
    ollama_host: str = setting(
        DEFAULT_HOST,
        kind="text",
        label="Ollama host",
        doc="URL of the Ollama server ($OLLAMA_HOST when this is left at the default).",
    )
    openai_url: str = setting(
        DEFAULT_OPENAI_URL,
        kind="text",
        label="OpenAI-compatible URL",
        doc="Base URL of the OpenAI-compatible server, usually ending in /v1.",
    )
    model: str = setting(
        DEFAULT_MODEL,
        kind="text",
        label="Model",
        doc="The model that plans and answers, as the server names it, e.g. qwen2:7b-instruct.",
    )
    endpoints: list[str] = setting(
        [],
        kind="text_list",
        label="More servers",
        doc="Other servers with the same model that share the work (Level 2 spreads its reads "
        "over all of them), one per line: a URL, then xN for N requests at once (default: "
        "Parallel requests). A URL ending in /v1 is OpenAI-compatible, any other an Ollama.",
        placeholder=ENDPOINT_PLACEHOLDER,
    )
    reader_model: str = setting(
        "",
        kind="text",
        label="Reader model (Level 2)",
        doc="A smaller, faster model for Level 2's passage-by-passage reading, e.g. "
        "qwen2.5:1.5b; empty: the main model reads too.",
        optional=True,
        placeholder="the main model",
    )
    reader_endpoints: list[str] = setting(
        [],
        kind="text_list",
        label="Reader servers",
        doc="Where the reader model runs, one per line as for More servers; empty: the same "
        "servers as the main model.",
        placeholder=ENDPOINT_PLACEHOLDER,
    )
    context_window: int = setting(
        8192,
        kind="int",
        label="Context window",
        doc="Tokens the model reads at once (num_ctx); prompts are sized to fit it.",
        minimum=2048,
        maximum=131072,
        step=1024,
        unit="tokens",
    )
    answer_reserve: int = setting(
        1024,
        kind="int",
        label="Answer reserve",
        doc="Tokens kept free for the answer; under half the context window.",
        minimum=1,
        maximum=65536,
        step=256,
        unit="tokens",
    )
    parallel_requests: int = setting(
        4,
        kind="int",
        label="Parallel requests",
        doc="Model calls the main server takes at once (Level 2 reads in parallel).",
        minimum=1,
        maximum=32,
        step=1,
    )
    read_budget: int = setting(
        300,
        kind="int",
        label="Read budget (Level 2)",
        doc="Chunks Level 2 may read for one question.",
        minimum=1,
        maximum=100_000,
        step=50,
        unit="chunks",
    )
    max_steps: int = setting(
        6,
        kind="int",
        label="Step limit (Level 3)",
        doc="Sub-questions Level 3 asks before it answers with what it has.",
        minimum=1,
        maximum=20,
        step=1,
        unit="steps",
    )
    default_level: str = setting(
        "auto",
        kind="choice",
        label="Default level",
        doc="The level a question is asked at unless another is chosen.",
        choices=(
            ("auto", "Auto"),
            ("1", "Level 1 · quick keyword answer"),
            ("2", "Level 2 · read the scope closely"),
            ("3", "Level 3 · step by step"),
        ),
    )
    request_timeout: float = setting(
        300.0,
        kind="float",
        label="Request timeout",
        doc="Seconds one model call may take.",
        minimum=0,
        above=True,
        maximum=86_400,
        step=30,
        unit="seconds",
    )
    max_file_mb: float = setting(
        64.0,
        kind="float",
        label="Largest file",
        doc="Larger files are listed as too large instead of read.",
        minimum=0,
        above=True,
        maximum=100_000,
        step=16,
        unit="MB",
        rebuilds_indexer=True,
    )
    ignore_patterns: list[str] = setting(
        [],
        kind="text_list",
        label="Ignore patterns",
        doc="Files and folders never indexed: .gitignore-style patterns such as *.log or drafts/.",
        rebuilds_indexer=True,
    )
    folders: list[str] = setting(
        [],
        kind="text_list",
        label="Folders",
        doc="The folders Needle indexes (changed with `needle folders`, not here).",
        editable=False,
    )

    def problems(self) -> list[str]:
        """Plain-language problems with these values; empty when they are usable."""
        found = [p for f in VALUE_FIELDS if (p := f.problem(getattr(self, f.name))) is not None]
        if not found and self.answer_reserve >= self.context_window // 2:
            found.append("The answer reserve must be under half the context window.")
        if not found and not self.ollama_host.startswith(("http://", "https://")):
            found.append("The Ollama host must start with http:// or https://.")
        if not found and (problem := url_problem(self.openai_url)) is not None:
            found.append(f"The OpenAI-compatible URL: {problem}")
        if not found:
            found += endpoint_problems(self.endpoints) + endpoint_problems(self.reader_endpoints)
        return found

    @property
    def server_url(self) -> str:
        """The URL of the main model server, whichever backend is chosen."""
        return self.openai_url if self.backend == "openai" else self.ollama_host

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Unknown keys are ignored and missing keys take defaults, so old files keep loading."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Settings whose values live outside settings.json (engine/secrets.py), each shown after the
# setting named beside it.
SECRET_FIELDS: tuple[tuple[str, SettingField], ...] = (
    (
        "openai_url",
        SettingField(
            name="api_key",
            kind="secret",
            label="API key",
            doc="Sent as a Bearer token to OpenAI-compatible servers that want one; kept in the "
            "system keyring (or a file only you can read), never in settings.json. Empty: none.",
            default="",
            placeholder="none",
        ),
    ),
)
SECRET_NAMES = frozenset(declared.name for _, declared in SECRET_FIELDS)


def _declared_fields() -> tuple[SettingField, ...]:
    declared = []
    for item in fields(Settings):
        if item.default_factory is not MISSING:
            default: Any = item.default_factory()
        else:
            default = item.default
        declared.append(SettingField(name=item.name, default=default, **item.metadata["setting"]))
        declared += [secret for after, secret in SECRET_FIELDS if after == item.name]
    return tuple(declared)


# Every setting with its metadata, in the order the Settings dialog shows them.
FIELDS: tuple[SettingField, ...] = _declared_fields()
FIELDS_BY_NAME: dict[str, SettingField] = {f.name: f for f in FIELDS}
VALUE_FIELDS = tuple(f for f in FIELDS if f.name not in SECRET_NAMES)  # fields of `Settings`
INDEXER_SETTINGS = frozenset(f.name for f in FIELDS if f.rebuilds_indexer)


@dataclass(frozen=True)
class SettingsSnapshot:
    """The `settings.get` reply: the values and, with them, what each setting is, and which
    secrets are set (never their values)."""

    values: Settings
    fields: tuple[SettingField, ...] = FIELDS
    secrets_set: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": self.values.to_dict(),
            "fields": [f.to_dict() for f in self.fields],
            "secrets_set": list(self.secrets_set),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SettingsSnapshot:
        declared = tuple(SettingField.from_dict(f) for f in data.get("fields", ()))
        secrets = tuple(str(name) for name in data.get("secrets_set", ()))
        return cls(Settings.from_dict(dict(data.get("values", {}))), declared or FIELDS, secrets)


def read_settings(path: Path) -> tuple[Settings, list[str]]:
    """The settings saved in `path` (defaults when there is none) and the problems of the saved
    values: a value its declaration refuses (NaN, out of bounds, empty, wrong type; written by an
    older Needle or by hand) is read as its default, so a damaged file never stops the library
    and `needle settings KEY=VALUE` can always correct it. Raises ValueError when the file is
    not a JSON object at all."""
    if not path.exists():
        return Settings(), []
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("it does not hold a JSON object")
    usable: dict[str, Any] = {}
    problems: list[str] = []
    for declared in FIELDS:
        if declared.name not in data:
            continue
        value = data[declared.name]
        if declared.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = declared.problem(value)
        if problem is None:
            usable[declared.name] = value
        else:
            problems.append(f"{problem} The default {_number_or_text(declared.default)} is used.")
    return Settings.from_dict(usable), problems


def _number_or_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def load_settings(path: Path) -> Settings:
    settings, problems = read_settings(path)
    for problem in problems:
        log.warning("settings file %s: %s", path, problem)
    host = os.environ.get("OLLAMA_HOST")
    if host and settings.ollama_host == DEFAULT_HOST:
        settings.ollama_host = normalize_host(host)
    return settings


def salvage_folders(path: Path) -> list[str]:
    """The folders a settings file lists, when it can be read that far; else none."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    folders = data.get("folders") if isinstance(data, dict) else None
    if isinstance(folders, list) and all(isinstance(f, str) for f in folders):
        return folders
    return []


def save_settings(path: Path, settings: Settings) -> None:
    """Atomic write: a crash mid-save leaves the old file, never half a file."""
    write_json_atomic(path, settings.to_dict())


def normalize_host(host: str) -> str:
    """OLLAMA_HOST may be '0.0.0.0', 'localhost:11434' or a URL; the client wants a URL."""
    host = host.strip().rstrip("/")
    if not host.startswith(("http://", "https://")):
        host = "http://" + host
    scheme, _, rest = host.partition("://")
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]
    if ":" not in rest.split("/", 1)[0]:
        rest = rest + ":11434"
    return f"{scheme}://{rest}"
