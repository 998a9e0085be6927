"""How far our token estimate is from the server's real count, learned per model.

After every call Ollama reports `prompt_eval_count`, the tokens it actually evaluated. The ratio of
that to our raw estimate of the same prompt (engine.llm.budget.count_prompt_tokens) is averaged per
model and handed to PromptBudget as `calibration`, so budgets follow the real tokenizer."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.jsonfile import write_json_atomic

MIN_RATIO = 0.5
MAX_RATIO = 2.0
SMOOTHING = 0.2  # weight of a new observation once a few have been seen
MIN_SAMPLE_TOKENS = 24  # tiny prompts are dominated by template rounding, not by the text
# A count far below the estimate means the server reused a cached prompt prefix and only counted
# the new tail (Ollama does this); such a sample says nothing about the tokenizer.
CACHE_HIT_RATIO = 0.4
SAVE_EVERY_CHANGE = 0.01  # write the file when the ratio moved at least this much since last save


@dataclass
class _ModelRatio:
    ratio: float = 1.0
    samples: int = 0
    saved_ratio: float = 1.0


class TokenCalibration:
    """Thread-safe per-model ratio (server tokens / estimated tokens), bounded to
    [MIN_RATIO, MAX_RATIO]. The first observations are averaged, later ones folded in as an
    exponential moving average. With `path`, ratios are loaded from and saved to a small JSON file
    (atomically; a missing or corrupt file just starts from 1.0)."""

    def __init__(self, path: Path | None = None, *, smoothing: float = SMOOTHING) -> None:
        self._path = path
        self._smoothing = smoothing
        self._lock = threading.Lock()
        self._models: dict[str, _ModelRatio] = {}
        if path is not None:
            self._models = _load(path)

    def ratio(self, model: str) -> float:
        """The current ratio for `model` (1.0 before any observation)."""
        with self._lock:
            entry = self._models.get(model)
            return entry.ratio if entry else 1.0

    def samples(self, model: str) -> int:
        with self._lock:
            entry = self._models.get(model)
            return entry.samples if entry else 0

    def observe(
        self, model: str, estimated: int, counted: int, *, num_ctx: int | None = None
    ) -> float:
        """Fold one call into the ratio: `estimated` raw tokens, `counted` by the server. Samples
        that cannot be trusted are ignored (too small, a cached prefix, a prompt the server cut at
        `num_ctx`). Returns the ratio after the update."""
        if not self._usable(estimated, counted, num_ctx):
            return self.ratio(model)
        observed = min(MAX_RATIO, max(MIN_RATIO, counted / estimated))
        with self._lock:
            entry = self._models.setdefault(model, _ModelRatio())
            weight = max(self._smoothing, 1.0 / (entry.samples + 1))
            updated = entry.ratio + weight * (observed - entry.ratio)
            entry.ratio = min(MAX_RATIO, max(MIN_RATIO, updated))
            entry.samples += 1
            if abs(entry.ratio - entry.saved_ratio) >= SAVE_EVERY_CHANGE and self._path:
                # Saved under the lock so an older snapshot never overwrites a newer one; this
                # happens only when the ratio moved, a few times per model.
                entry.saved_ratio = entry.ratio
                _save(self._path, {n: (e.ratio, e.samples) for n, e in self._models.items()})
            ratio = entry.ratio
        return ratio

    @staticmethod
    def _usable(estimated: int, counted: int, num_ctx: int | None) -> bool:
        if estimated < MIN_SAMPLE_TOKENS or counted <= 0:
            return False
        if counted < estimated * CACHE_HIT_RATIO:
            return False
        return num_ctx is None or counted < num_ctx


def _load(path: Path) -> dict[str, _ModelRatio]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    models: dict[str, _ModelRatio] = {}
    if not isinstance(data, dict):
        return models
    for name, entry in data.items():
        try:
            ratio = min(MAX_RATIO, max(MIN_RATIO, float(entry["ratio"])))
            samples = int(entry.get("samples", 1))
        except (TypeError, KeyError, ValueError):
            continue
        models[str(name)] = _ModelRatio(ratio, samples, ratio)
    return models


def _save(path: Path, snapshot: dict[str, tuple[float, int]]) -> None:
    data = {
        name: {"ratio": round(ratio, 4), "samples": samples}
        for name, (ratio, samples) in snapshot.items()
    }
    # Calibration is an optimisation: a read-only cache folder must not break answering.
    with contextlib.suppress(OSError):
        write_json_atomic(path, data, sort_keys=True)
