"""One ChatModel over several servers with the same model: Level 2's hundreds of independent reads
spread over every endpoint, so the agent never knows there is more than one.

Each endpoint takes `slots` calls at once (its own ChatModel enforces the same bound). A call goes
to the healthy endpoint with the lowest load (calls in flight per slot); when every slot is busy
it waits, cancellably. A call that fails in a way another server could fix (unreachable, dropped
connection, timeout, a server error, a model the server lacks) moves to another endpoint, unless
text already reached the caller; the failed endpoint is taken out for `cooldown` seconds and then
health-checked (`probe`) before it gets work again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.cancel import NEVER, CancelToken
from engine.endpoints import Endpoint
from engine.errors import ErrorKind, OllamaError
from engine.llm.status import ServerStatus
from engine.llm.types import ChatModel, ChatResult, Message

COOLDOWN = 10.0  # seconds an endpoint that failed rests before its health is checked again
# Failures that say something about one server, not about the request: another may succeed.
MOVABLE = frozenset(
    {
        ErrorKind.OLLAMA_UNREACHABLE,
        ErrorKind.CONNECTION_LOST,
        ErrorKind.TIMEOUT,
        ErrorKind.BAD_REPLY,
        ErrorKind.OLLAMA_ERROR,
        ErrorKind.MODEL_MISSING,
        ErrorKind.AUTH_FAILED,
    }
)

Prober = Callable[[Endpoint], ServerStatus]


@dataclass(eq=False)
class Member:
    """One endpoint with its own model and its load."""

    endpoint: Endpoint
    model: ChatModel
    in_flight: int = 0
    calls: int = 0
    failures: int = 0
    down_until: float = 0.0  # 0: healthy
    checking: bool = False  # a health check is running
    last_error: OllamaError | None = field(default=None, repr=False)

    @property
    def load(self) -> float:
        return self.in_flight / self.endpoint.slots


class PooledChatModel:
    """`ChatModel` over `members` (endpoints serving the same model). `probe` checks an endpoint
    that failed before it is used again; `cooldown` is how long it rests first."""

    def __init__(
        self,
        members: Sequence[Member],
        *,
        probe: Prober | None = None,
        cooldown: float = COOLDOWN,
    ) -> None:
        if not members:
            raise ValueError("a pool needs at least one endpoint")
        self.members = list(members)
        self._probe = probe
        self._cooldown = cooldown
        self._changed = threading.Condition()

    @property
    def name(self) -> str:
        return self.members[0].model.name

    @property
    def context_window(self) -> int:
        return min(member.model.context_window for member in self.members)

    @property
    def max_concurrency(self) -> int:
        return sum(member.endpoint.slots for member in self.members)

    @property
    def token_ratio(self) -> float:
        ratio = getattr(self.members[0].model, "token_ratio", 1.0)
        return float(ratio) if isinstance(ratio, int | float) else 1.0

    def take_down(self, member: Member, error: OllamaError) -> None:
        """Mark `member` failed: it rests for the cooldown, then is health-checked."""
        with self._changed:
            member.failures += 1
            member.last_error = error
            member.down_until = time.monotonic() + self._cooldown
            self._changed.notify_all()

    def close(self) -> None:
        for member in self.members:
            close = getattr(member.model, "close", None)
            if callable(close):
                close()

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
        """One call on the least-loaded healthy endpoint, moved to another when it fails there
        before any text was shown. Raises the last endpoint's error when none could answer."""
        tried: set[int] = set()
        emitted = False

        def forward(text: str) -> None:
            nonlocal emitted
            emitted = True
            if on_delta is not None:
                on_delta(text)

        while True:
            member = self._acquire(tried, cancel)
            tried.add(id(member))
            try:
                result = member.model.chat(
                    messages,
                    json_schema=json_schema,
                    tools=tools,
                    on_delta=forward if on_delta is not None else None,
                    max_tokens=max_tokens,
                    cancel=cancel,
                )
            except OllamaError as error:
                self._release(member)
                if error.kind not in MOVABLE or emitted:
                    raise
                self.take_down(member, error)
                continue
            except BaseException:
                self._release(member)
                raise
            self._release(member, succeeded=True)
            return result

    # -- choosing an endpoint ------------------------------------------------------------------

    def _acquire(self, tried: set[int], cancel: CancelToken) -> Member:
        while True:
            cancel.raise_if_cancelled()
            with self._changed:
                now = time.monotonic()
                untried = [m for m in self.members if id(m) not in tried]
                if not untried:
                    raise self._exhausted()
                # A server whose rest is over is checked first, so it takes work again as
                # soon as it is back.
                recheck = next(
                    (m for m in untried if 0.0 < m.down_until <= now and not m.checking), None
                )
                free = [
                    m for m in untried if m.down_until == 0.0 and m.in_flight < m.endpoint.slots
                ]
                if recheck is None and free:
                    # Ties go to the first server: sequential calls stay on one server, whose
                    # prompt cache then still holds the shared prefix.
                    chosen = min(free, key=lambda m: (m.load, self.members.index(m)))
                    chosen.in_flight += 1
                    return chosen
                if recheck is None and all(m.down_until > 0.0 for m in untried):
                    # Every endpoint left is resting: check the one that rested longest now
                    # rather than fail a call that one of them may well serve.
                    waiting = [m for m in untried if not m.checking]
                    if not waiting:
                        self._changed.wait(0.05)
                        continue
                    recheck = min(waiting, key=lambda m: m.down_until)
                if recheck is not None:
                    recheck.checking = True
                else:
                    self._changed.wait(0.05)
                    continue
            self._health_check(recheck, tried)

    def _health_check(self, member: Member, tried: set[int]) -> None:
        status = self._probe(member.endpoint) if self._probe is not None else None
        with self._changed:
            member.checking = False
            if status is None or status.ready:
                member.down_until = 0.0
            else:
                member.last_error = OllamaError(_kind_of(status), status.message, status.hint)
                member.down_until = time.monotonic() + self._cooldown
                tried.add(id(member))  # down for this call: do not wait for it
            self._changed.notify_all()

    def _release(self, member: Member, *, succeeded: bool = False) -> None:
        with self._changed:
            member.in_flight -= 1
            if succeeded:
                member.calls += 1
            self._changed.notify_all()

    def _exhausted(self) -> OllamaError:
        failed = [m for m in self.members if m.last_error is not None]
        if not failed:
            return OllamaError(ErrorKind.OLLAMA_ERROR, "No model server could take the call.")
        last = max(failed, key=lambda m: m.down_until)
        assert last.last_error is not None
        if len(self.members) == 1:
            return last.last_error
        return OllamaError(
            last.last_error.kind,
            f"None of the {len(self.members)} model servers could answer; the last said: "
            f"{last.last_error.message}",
            last.last_error.hint,
        )


def _kind_of(status: ServerStatus) -> ErrorKind:
    return {
        "not_running": ErrorKind.OLLAMA_UNREACHABLE,
        "model_missing": ErrorKind.MODEL_MISSING,
    }.get(status.state, ErrorKind.OLLAMA_ERROR)
