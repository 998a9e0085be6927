"""The one token budgeter: every prompt the agent sends is sized here, so none exceeds the window.

How the agent uses it, for every model call:

    budget = PromptBudget.for_model(model, settings.answer_reserve)
    room = budget.available_for_context(system, instructions, question)
    fitted = budget.fit(chunk_texts_best_first, room, per_item_overhead=8)
    messages = [...built from fitted.texts...]
    budget.check(messages)   # raises NeedleError("prompt_too_large") rather than overflow
    model.chat(messages, max_tokens=budget.answer_reserve)

Counts are the model's own tokens plus the Qwen2 chat template's (ChatML markers around every
message, the tool instructions when tools are offered). For Qwen models the text is counted
exactly with the Qwen vocabulary (engine/llm/qwen/tokenizer.py); for other models with
`engine.tokens.estimate_tokens`, multiplied by a calibration ratio learned from the server's
`prompt_eval_count` (see engine/llm/calibration.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ErrorKind, NeedleError
from engine.lang import sentence_breaks
from engine.llm.calibration import MAX_RATIO, MIN_RATIO
from engine.llm.qwen.tokenizer import count_qwen_tokens, is_qwen_model
from engine.llm.types import ChatModel, Message, ToolCall
from engine.tokens import estimate_tokens

TokenCounter = Callable[[str], int]

# "<|im_start|>" + role + "\n" before the content and "<|im_end|>" + "\n" after it.
MESSAGE_OVERHEAD = 5
# "<|im_start|>assistant\n": the template opens the reply the model is about to write.
REPLY_PRIMER = 3
# Qwen2's template explains tool calling in the system turn ("# Tools … <tools></tools> …
# <tool_call>…</tool_call>") around the tools' JSON: 76 real tokens in Qwen2.5's template,
# counted high so the estimate of a prompt with tools stays above the real count.
TOOLS_PREAMBLE = 90
# Qwen2 templates insert a default system prompt when none is given ("You are Qwen, created by
# Alibaba Cloud. You are a helpful assistant.": 16 real tokens).
DEFAULT_SYSTEM_PROMPT = 16
# "<tool_response>\n … \n</tool_response>" around a tool result, and
# "<tool_call>\n … \n</tool_call>" around each call the assistant made.
TOOL_RESPONSE_WRAP = 8
TOOL_CALL_WRAP = 8

DEFAULT_SAFETY_MARGIN = 64
MIN_PARTIAL_TOKENS = 48  # a truncated item shorter than this carries too little to be worth it


def counter_for_model(name: str) -> TokenCounter:
    """Exact counts for Qwen models, the calibrated estimate for every other model."""
    return count_qwen_tokens if is_qwen_model(name) else estimate_tokens


def count_message_tokens(message: Message, counter: TokenCounter = estimate_tokens) -> int:
    """Raw (uncalibrated) tokens of one message as the Qwen2 template renders it."""
    tokens = MESSAGE_OVERHEAD + counter(message.content)
    if message.role == "tool":
        tokens += TOOL_RESPONSE_WRAP
    for call in message.tool_calls:
        tokens += TOOL_CALL_WRAP + _tool_call_tokens(call, counter)
    return tokens


def count_tools_tokens(
    tools: Sequence[dict[str, Any]] | None, counter: TokenCounter = estimate_tokens
) -> int:
    """Raw tokens the offered tools add to the system turn (0 when no tools are offered)."""
    if not tools:
        return 0
    listed = sum(counter(json.dumps(tool, ensure_ascii=False)) for tool in tools)
    return TOOLS_PREAMBLE + listed


def count_prompt_tokens(
    messages: Sequence[Message],
    tools: Sequence[dict[str, Any]] | None = None,
    counter: TokenCounter = estimate_tokens,
) -> int:
    """Raw tokens of a whole prompt: every message, the tools, the reply primer, and the default
    system prompt the template adds when the messages have none. The fake server and the
    calibration use this same count, so all three agree on what "a token" is."""
    tokens = REPLY_PRIMER + count_tools_tokens(tools, counter)
    tokens += sum(count_message_tokens(message, counter) for message in messages)
    if not any(message.role == "system" for message in messages):
        tokens += DEFAULT_SYSTEM_PROMPT + (0 if tools else MESSAGE_OVERHEAD)
    return tokens


def _tool_call_tokens(call: ToolCall, counter: TokenCounter) -> int:
    rendered = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return counter(rendered)


@dataclass(frozen=True)
class FitResult:
    """What `PromptBudget.fit` kept. `indices` are positions in the input (priority order);
    `texts` are the kept texts in the same order — equal to the inputs except that the last one
    is cut at a sentence boundary when `truncated` is True. `tokens` is their calibrated cost
    including per-item overhead."""

    indices: list[int]
    texts: list[str]
    truncated: bool
    tokens: int


@dataclass(frozen=True)
class PromptBudget:
    """Sizes prompts for one model window.

    - `context_window`: the model's `num_ctx` (8192 by default in Needle).
    - `answer_reserve`: tokens kept free for the reply; pass it as `max_tokens` to `chat`.
    - `calibration`: the server-measured ratio of real to estimated tokens (>= 0.5); every count
      here is `ceil(raw_estimate * calibration)`.
    - `safety_margin`: tokens left unused on top of the reserve, for estimate error.
    - `counter`: how text is counted: exactly for Qwen models, else the estimate.

    A prompt fits when its calibrated count is at most `limit`."""

    context_window: int
    answer_reserve: int
    calibration: float = 1.0
    safety_margin: int = DEFAULT_SAFETY_MARGIN
    counter: TokenCounter = field(default=estimate_tokens, compare=False)

    @classmethod
    def for_model(
        cls,
        model: ChatModel,
        answer_reserve: int,
        *,
        context_window: int | None = None,
        safety_margin: int = DEFAULT_SAFETY_MARGIN,
    ) -> PromptBudget:
        """The budget for `model`'s window (capped by `context_window`, the user's setting, when
        that is smaller). A Qwen model's prompts are counted exactly; any other model's are
        estimated and calibrated by its learned token ratio when it has one
        (OllamaChatModel.token_ratio; test doubles without it count 1:1), kept within the
        calibration's sane range."""
        window = model.context_window
        if context_window is not None:
            window = min(window, context_window)
        counter = counter_for_model(model.name)
        if counter is not estimate_tokens:
            return cls(window, answer_reserve, 1.0, safety_margin, counter)
        ratio = getattr(model, "token_ratio", 1.0)
        calibration = float(ratio) if isinstance(ratio, int | float) else 1.0
        calibration = min(max(calibration, MIN_RATIO), MAX_RATIO)
        return cls(window, answer_reserve, calibration, safety_margin)

    def __post_init__(self) -> None:
        if self.answer_reserve <= 0 or self.answer_reserve >= self.context_window:
            raise ValueError(
                f"answer_reserve ({self.answer_reserve}) must be positive and below the "
                f"context window ({self.context_window})"
            )
        if not 0.1 <= self.calibration <= 10.0:
            raise ValueError(f"calibration ratio {self.calibration} is not a sane token ratio")

    @property
    def limit(self) -> int:
        """The most tokens a prompt may have: the window minus the answer reserve."""
        return self.context_window - self.answer_reserve

    def calibrated(self, raw_tokens: int) -> int:
        return math.ceil(raw_tokens * self.calibration)

    def tokens(self, text: str) -> int:
        """Calibrated tokens of a piece of text (without any message overhead)."""
        return self.calibrated(self.counter(text))

    def prompt_tokens(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """Calibrated tokens of a whole prompt, template overhead included."""
        return self.calibrated(count_prompt_tokens(messages, tools, self.counter))

    def available_for_context(
        self,
        system: str,
        instructions: str,
        question: str,
        *,
        history: Sequence[Message] = (),
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> int:
        """Tokens left for retrieved text in a prompt made of a system message (`system`), earlier
        turns (`history`), and one user message holding `instructions`, the context and `question`.
        Everything else — template overhead, tools, reserve and safety margin — is subtracted.
        Never negative: 0 means no context fits."""
        skeleton = [
            *([Message("system", system)] if system else []),
            *history,
            Message("user", f"{instructions}\n\n{question}"),
        ]
        used = self.prompt_tokens(skeleton, tools)
        # The context is pasted between instructions and question: two more blank-line joins.
        return max(0, self.limit - self.safety_margin - used - self.tokens("\n\n"))

    def fit(
        self,
        items: Sequence[str],
        available: int,
        *,
        per_item_overhead: int = 0,
        allow_truncate: bool = True,
    ) -> FitResult:
        """Greedily keep `items` (best first) while they fit in `available` tokens, each costing
        its calibrated tokens plus `per_item_overhead` (its header, e.g. "[3] notes.md p.2").
        An item that does not fit is skipped so a smaller later one can still be used; if at
        least MIN_PARTIAL_TOKENS remain when an item does not fit and `allow_truncate` is set,
        that item is cut at a sentence boundary, kept, and fitting stops (`truncated` = True)."""
        indices: list[int] = []
        texts: list[str] = []
        used = 0
        for index, text in enumerate(items):
            cost = self.tokens(text) + per_item_overhead
            if used + cost <= available:
                indices.append(index)
                texts.append(text)
                used += cost
                continue
            room = available - used - per_item_overhead
            if allow_truncate and room >= MIN_PARTIAL_TOKENS:
                head = self.truncate(text, room)
                if head:
                    indices.append(index)
                    texts.append(head)
                    used += self.tokens(head) + per_item_overhead
                    return FitResult(indices, texts, True, used)
        return FitResult(indices, texts, False, used)

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest head of `text` that ends at a sentence boundary and costs at most
        `max_tokens`; when even the first sentence is too long, the longest head cut at a word
        boundary (or, for unspaced CJK text, a character). Empty when nothing fits."""
        if self.tokens(text) <= max_tokens:
            return text
        kept = ""
        for end in sentence_breaks(text):
            candidate = text[:end].rstrip()
            if self.tokens(candidate) > max_tokens:
                break
            kept = candidate
        return kept or self._cut_by_characters(text, max_tokens)

    def _cut_by_characters(self, text: str, max_tokens: int) -> str:
        low, high = 0, len(text)
        while low < high:  # the longest prefix whose cost fits
            middle = (low + high + 1) // 2
            if self.tokens(text[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        head = text[:low]
        space = head.rfind(" ")
        if space > len(head) // 2 and low < len(text) and not text[low].isspace():
            head = head[:space]  # do not end on half a word
        return head.rstrip()

    def check(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """The calibrated token count of this prompt; raises NeedleError("prompt_too_large") when
        it is over `limit`, so an oversized prompt is never sent. Call before every model call."""
        needed = self.prompt_tokens(messages, tools)
        if needed > self.limit:
            raise NeedleError(
                ErrorKind.PROMPT_TOO_LARGE,
                f"The prompt needs about {needed} tokens but only {self.limit} fit "
                f"({self.context_window}-token window minus {self.answer_reserve} reserved "
                "for the answer).",
                "Ask about a smaller scope, or raise the context window in Settings if your "
                "model supports it.",
            )
        return needed

    def reply_room(
        self, messages: Sequence[Message], tools: Sequence[dict[str, Any]] | None = None
    ) -> int:
        """Tokens left in the window after this prompt: a safe `max_tokens` for the reply."""
        return max(0, self.context_window - self.prompt_tokens(messages, tools))
