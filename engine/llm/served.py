"""What every chat model on a model server shares, whichever API it speaks."""

from __future__ import annotations

from abc import ABC, abstractmethod

from engine.cancel import CancelToken
from engine.errors import Cancelled, OllamaError
from engine.llm.calibration import TokenCalibration
from engine.llm.failures import deadline_error
from engine.llm.retry import RetryPolicy, Slots, Transient
from engine.llm.transport import InFlight


class ServedModel(ABC):
    """The model's name, its server, window, slots, retries and token calibration, and how a
    failed streamed call is told apart: the user's cancel, the whole-call deadline, or the
    server (the subclass's `_translate`)."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        context_window: int,
        timeout: float,
        max_concurrency: int,
        retries: int,
        temperature: float,
        calibration: TokenCalibration | None,
        backoff: float,
    ) -> None:
        self._url = url.rstrip("/")
        self._model = model
        self._context_window = context_window
        self._timeout = timeout
        self._temperature = temperature
        self._retry = RetryPolicy(max(0, retries), backoff)
        self._slots = Slots(max_concurrency)
        self.calibration = calibration if calibration is not None else TokenCalibration()

    @property
    def name(self) -> str:
        return self._model

    @property
    def host(self) -> str:
        return self._url

    @property
    def context_window(self) -> int:
        return self._context_window

    @property
    def max_concurrency(self) -> int:
        """Calls this model runs at once; Level 2 reads with as many threads."""
        return self._slots.size

    @property
    def token_ratio(self) -> float:
        """Server tokens per estimated token for this model; give it to PromptBudget."""
        return self.calibration.ratio(self._model)

    def _deadline_error(self) -> OllamaError:
        return deadline_error(self._timeout)

    def _failure(
        self, exc: Exception, cancel: CancelToken, inflight: InFlight
    ) -> Cancelled | OllamaError | Transient:
        """What a streamed call that raised `exc` really met."""
        if cancel.cancelled:  # a cancel shows up as a broken read
            return Cancelled()
        if inflight.aborted:  # so does the deadline, however the bytes were arriving
            return self._deadline_error()
        return self._translate(exc)

    @abstractmethod
    def _translate(self, exc: Exception) -> OllamaError | Transient:
        """`exc` as the error of this backend's server."""
