"""The chat interface the agent talks to. OllamaChatModel and OpenAIChatModel implement it for one
server, PooledChatModel spreads calls over several; tests use a scripted implementation. Nothing
else in the agent knows about HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engine.cancel import NEVER, CancelToken

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_name: str = ""  # for role == "tool": which tool produced this content

    def to_ollama(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {"function": {"name": c.name, "arguments": c.arguments}} for c in self.tool_calls
            ]
        if self.tool_name:
            data["tool_name"] = self.tool_name
        return data


@dataclass(frozen=True)
class ChatResult:
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 0  # as counted by the server (Ollama's prompt_eval_count)
    completion_tokens: int = 0  # Ollama's eval_count
    seconds: float = 0.0
    done_reason: str = ""
    # Prompt tokens the server took from its cache of an earlier prompt's prefix instead of
    # computing them (0 when it does not say).
    cached_tokens: int = 0
    endpoint: str = ""  # the server that answered


@dataclass
class Usage:
    """Running totals over one question; thread-safe updates are the caller's job."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    by_purpose: dict[str, int] = field(default_factory=dict)

    def add(self, result: ChatResult, purpose: str) -> None:
        self.calls += 1
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.cached_tokens += result.cached_tokens
        self.seconds += result.seconds
        self.by_purpose[purpose] = self.by_purpose.get(purpose, 0) + 1


class ChatModel(Protocol):
    """A chat model with a fixed context window."""

    @property
    def name(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    def chat(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        on_delta: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
        cancel: CancelToken = NEVER,
    ) -> ChatResult:
        """One call. `json_schema` asks for structured output (Ollama `format`); `tools` offers
        native tool calls; `on_delta` receives streamed text as it arrives; `max_tokens` caps the
        reply (Ollama `num_predict`, OpenAI `max_tokens`). Raises engine.errors.OllamaError (the
        model server's errors, whichever the backend) or Cancelled."""
        ...
