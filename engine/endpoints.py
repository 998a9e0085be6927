"""Where the model runs: one or more servers, each an Ollama or an OpenAI-compatible endpoint,
each taking a number of requests at once.

Written by users as one line each, in Settings and on the command line:

    http://127.0.0.1:11434            an Ollama (any URL not ending in /v1)
    http://gpu-box:8000/v1 x8         an OpenAI-compatible server taking 8 requests at once

The OpenAI convention decides the backend: a base URL whose path ends in /v1 is
OpenAI-compatible."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Backend = Literal["ollama", "openai"]
BACKEND_LABELS: dict[str, str] = {
    "ollama": "Ollama",
    "openai": "OpenAI-compatible server (llama.cpp, LM Studio, vLLM, SGLang…)",
}
MAX_SLOTS = 256
_SPEC = re.compile(r"^(?P<url>\S+)(?:\s+[x×*]\s*(?P<slots>\d+))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Endpoint:
    url: str  # normalised: no trailing slash
    backend: Backend
    slots: int  # requests it takes at once

    def spec(self) -> str:
        return f"{self.url} x{self.slots}"


def backend_for_url(url: str) -> Backend:
    """ "openai" for a base URL ending in /v1 (the OpenAI convention), else "ollama"."""
    path = urlsplit(url.strip()).path.rstrip("/")
    return "openai" if path.endswith("/v1") else "ollama"


def url_problem(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http:// or https:// URL."
    return None


def parse_endpoint(text: str, default_slots: int) -> Endpoint:
    """One endpoint line: a URL, optionally followed by ` xN`. Raises ValueError saying what is
    wrong."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text.strip()!r} is not a server: write a URL, optionally followed by xN "
            "(e.g. http://gpu-box:8000/v1 x8)."
        )
    url = match.group("url").rstrip("/")
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    slots = int(match.group("slots")) if match.group("slots") else default_slots
    if not 1 <= slots <= MAX_SLOTS:
        raise ValueError(
            f"{text.strip()!r}: the number of requests at once must be 1 to {MAX_SLOTS}."
        )
    return Endpoint(url, backend_for_url(url), slots)


def endpoint_problems(lines: list[str]) -> list[str]:
    problems = []
    for line in lines:
        try:
            parse_endpoint(line, 1)
        except ValueError as error:
            problems.append(str(error))
    return problems
