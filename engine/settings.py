"""User settings: one JSON file in the config folder, read and written by the engine only."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.jsonfile import write_json_atomic

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_MODEL = "qwen2:7b-instruct"
LEVELS = ("auto", "1", "2", "3")
PARSE_MODES: tuple[str, ...] = ("structured", "two_call")  # how Level 1 reads the question


@dataclass
class Settings:
    folders: list[str] = field(default_factory=list)
    ignore_patterns: list[str] = field(default_factory=list)
    ollama_host: str = DEFAULT_HOST
    model: str = DEFAULT_MODEL
    context_window: int = 8192
    answer_reserve: int = 1024  # tokens kept free for the model's answer
    parallel_requests: int = 4
    read_budget: int = 300  # chunks Level 2 may read per question
    max_steps: int = 6  # Level 3 sub-questions before it answers with what it has
    default_level: str = "auto"
    request_timeout: float = 300.0  # seconds for one model call
    max_file_mb: float = 64.0  # larger files are recorded as too_large, not read

    def validate(self) -> list[str]:
        """Plain-language problems with these values; empty when they are usable."""
        problems = []
        if self.context_window < 2048:
            problems.append("The context window must be at least 2048 tokens.")
        if not 0 < self.answer_reserve < self.context_window // 2:
            problems.append(
                "The answer reserve must be positive and under half the context window."
            )
        if not 1 <= self.parallel_requests <= 32:
            problems.append("Parallel requests must be between 1 and 32.")
        if self.read_budget < 1:
            problems.append("The read budget must be at least 1 chunk.")
        if not 1 <= self.max_steps <= 20:
            problems.append("The step limit must be between 1 and 20.")
        if self.default_level not in LEVELS:
            problems.append(f"The default level must be one of {', '.join(LEVELS)}.")
        if not self.ollama_host.startswith(("http://", "https://")):
            problems.append("The Ollama host must start with http:// or https://.")
        if self.max_file_mb <= 0:
            problems.append("The file size limit must be positive.")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Unknown keys are ignored and missing keys take defaults, so old files keep loading."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def load_settings(path: Path) -> Settings:
    settings = Settings()
    if path.exists():
        settings = Settings.from_dict(json.loads(path.read_text("utf-8")))
    host = os.environ.get("OLLAMA_HOST")
    if host and settings.ollama_host == DEFAULT_HOST:
        settings.ollama_host = normalize_host(host)
    return settings


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
