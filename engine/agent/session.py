"""One question's shared state: the index and model it uses, the event sink, cancellation, and
the usage totals. Every model call of every level goes through `Session.chat`, so the budget check,
the LlmCall event, the usage sums and the choice of model (the reader model for Level 2's reads,
when one is set) happen in exactly one place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.agent.events import Event, LlmCall
from engine.cancel import NEVER, CancelToken
from engine.llm.budget import PromptBudget
from engine.llm.types import ChatModel, ChatResult, Message, Usage
from engine.models import SearchFilters, SearchHit
from engine.settings import Settings

EventSink = Callable[[Event], None]
READ_PURPOSE = "read"  # Level 2's one-passage reads: the calls a reader model takes over


class AgentIndex(Protocol):
    """The part of engine.search.index.ChunkIndex the agent uses."""

    def search_keywords(
        self, keywords: Sequence[str], *, limit: int = ..., filters: SearchFilters | None = ...
    ) -> list[SearchHit]: ...

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[SearchHit]: ...

    def scope_chunks(
        self, filters: SearchFilters | None, *, limit: int | None = ...
    ) -> list[SearchHit]: ...

    def count(self, filters: SearchFilters | None = ...) -> int: ...


@dataclass(frozen=True)
class AgentOptions:
    """Switches that change how the agent works, kept so their effect can be measured."""

    parse_mode: str = "structured"  # structured | two_call
    compress_context: bool = False  # drop sentences that share nothing with the question
    score_gap: bool = True  # Level 1 packs only the hits the BM25 scores support


@dataclass
class Session:
    """Everything a level needs. `usage` and `timings` are summed over all levels of a question."""

    index: AgentIndex
    model: ChatModel
    settings: Settings
    budget: PromptBudget
    on_event: EventSink
    cancel: CancelToken = NEVER
    # Set when the user asks for an answer from what was found so far: reading stops (the reads
    # in flight are aborted), and the level answers from the quotes it kept.
    stop_reading: CancelToken = NEVER
    options: AgentOptions = field(default_factory=AgentOptions)
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)
    reader: ChatModel | None = None  # a separate model for Level 2's reads
    # The chunks the thread's earlier answers cited: offered as context after a follow-up's own
    # hits, so an answer may rest on a source an earlier turn found.
    prior: tuple[SearchHit, ...] = ()

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _emit_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def emit(self, event: Event) -> None:
        # Level 2's reader threads emit too; a sink never sees two events at once.
        with self._emit_lock:
            self.on_event(event)

    def model_for(self, purpose: str) -> ChatModel:
        """The reader model for reads when one is set; the main model for everything else."""
        if purpose == READ_PURPOSE and self.reader is not None:
            return self.reader
        return self.model

    @property
    def read_concurrency(self) -> int:
        """Reads at once: what the reading model takes (the sum over its servers when it is a
        pool), else the setting."""
        slots = getattr(self.model_for(READ_PURPOSE), "max_concurrency", None)
        if isinstance(slots, int) and slots > 0:
            return slots
        return max(1, self.settings.parallel_requests)

    def chat(
        self,
        messages: list[Message],
        *,
        purpose: str,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        on_delta: Callable[[str], None] | None = None,
        max_tokens: int | None = None,
        cancel: CancelToken | None = None,
    ) -> ChatResult:
        """One model call: refuse prompts over the window, record usage, emit LlmCall.
        `cancel` overrides the session's token (Level 2 passes a child token)."""
        token = cancel or self.cancel
        token.raise_if_cancelled()
        self.budget.check(messages, tools)
        started = time.monotonic()
        result = self.model_for(purpose).chat(
            messages,
            json_schema=json_schema,
            tools=tools,
            on_delta=on_delta,
            max_tokens=max_tokens,
            cancel=token,
        )
        seconds = result.seconds or (time.monotonic() - started)
        with self._lock:
            self.usage.add(result, purpose)
        self.emit(LlmCall(purpose, result.prompt_tokens, result.completion_tokens, seconds))
        return result

    @property
    def reads(self) -> int:
        """Chunks the model has read for this question so far (cached verdicts cost nothing)."""
        with self._lock:
            return self.usage.by_purpose.get(READ_PURPOSE, 0)

    def add_time(self, name: str, seconds: float) -> None:
        with self._lock:
            self.timings[name] = self.timings.get(name, 0.0) + seconds


class Stopwatch:
    """`with Stopwatch(session, "retrieval"):` adds the block's wall time to session.timings."""

    def __init__(self, session: Session, name: str) -> None:
        self._session = session
        self._name = name
        self._started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self._started
        self._session.add_time(self._name, self.seconds)
