"""A deterministic ChatModel for agent tests.

Replies come from rules: a predicate on the request (its messages, schema, tools) and a reply that
may be fixed text or a function of the prompt ("answer by quoting the first document that contains
X"). Every call is recorded, its prompt is counted with the same estimate the budgeter uses, and
the model ASSERTS that prompt plus reply cap fits its context window, so no test can pass with an
oversized prompt. A request no rule matches fails the test loudly."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.agent import prompts
from engine.cancel import NEVER, CancelToken
from engine.errors import Cancelled, OllamaError
from engine.llm.budget import count_prompt_tokens
from engine.llm.types import ChatResult, Message, ToolCall
from engine.tokens import estimate_tokens

_DOCUMENT_RE = re.compile(r'<document id="(\d+)"([^>]*)>\n(.*?)\n</document>', re.DOTALL)
_QUESTION_RE = re.compile(r"<question>\n(.*?)\n</question>", re.DOTALL)
_REQUEST_RE = re.compile(r"<request>\n(.*?)\n</request>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>\n(.*?)\n</answer>", re.DOTALL)


@dataclass(frozen=True)
class Doc:
    """A document block as it appears in a prompt."""

    number: int
    attributes: str
    text: str


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    json_schema: dict[str, Any] | None
    tools: tuple[dict[str, Any], ...] | None
    max_tokens: int | None
    prompt_tokens: int

    @property
    def system(self) -> str:
        return next((m.content for m in self.messages if m.role == "system"), "")

    @property
    def user(self) -> str:
        """The last user message."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def text(self) -> str:
        return "\n".join(m.content for m in self.messages)

    @property
    def question(self) -> str:
        """The text inside <question> (answer/read prompts) or <request> (parse prompts)."""
        match = _QUESTION_RE.search(self.user) or _REQUEST_RE.search(self.user)
        return match.group(1) if match else ""

    @property
    def documents(self) -> list[Doc]:
        return [
            Doc(int(m.group(1)), m.group(2), m.group(3)) for m in _DOCUMENT_RE.finditer(self.user)
        ]

    @property
    def tool_results(self) -> list[str]:
        return [m.content for m in self.messages if m.role == "tool"]

    # What kind of call this is, judged the way a server would see it.
    @property
    def is_parse(self) -> bool:
        return self.system in (prompts.PARSE_SYSTEM, prompts.SPLIT_SYSTEM)

    @property
    def is_rewrite(self) -> bool:
        """A follow-up rewrite (engine/agent/followup.py)."""
        return self.system == prompts.REWRITE_SYSTEM

    @property
    def conversation(self) -> str:
        """The earlier turns a rewrite prompt shows."""
        match = re.search(r"<conversation>\n(.*?)\n</conversation>", self.user, re.DOTALL)
        return match.group(1) if match else ""

    @property
    def is_keywords(self) -> bool:
        return self.system == prompts.KEYWORDS_SYSTEM

    @property
    def is_read(self) -> bool:
        return self.system == prompts.READ_SYSTEM

    @property
    def is_answer(self) -> bool:
        return self.system == prompts.ANSWER_SYSTEM

    @property
    def is_pick(self) -> bool:
        return self.system == prompts.PICK_SYSTEM

    @property
    def claims(self) -> list[str]:
        """The numbered sentences a pick call shows, in order."""
        return re.findall(r"^\[\d+\] (.*)$", self.user, re.MULTILINE)

    @property
    def is_expand(self) -> bool:
        return self.system == prompts.EXPAND_SYSTEM

    @property
    def is_verify(self) -> bool:
        return self.system == prompts.VERIFY_SYSTEM

    @property
    def proposed_answer(self) -> str:
        """The answer a verification read checks (inside <answer>)."""
        match = _ANSWER_RE.search(self.user)
        return match.group(1) if match else ""

    @property
    def is_plan(self) -> bool:
        return self.system in (prompts.PLAN_SYSTEM_TOOLS, prompts.PLAN_SYSTEM_TEXT)


@dataclass(frozen=True)
class Reply:
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


ReplySource = str | Reply | Callable[[Request], "str | Reply"]


@dataclass
class Rule:
    when: Callable[[Request], bool]
    reply: ReplySource
    name: str = ""
    times: int | None = None  # fire at most this often, then let later rules match
    fired: int = 0


@dataclass
class ScriptedModel:
    rules: list[Rule]
    model_name: str = "scripted:test"
    window: int = 8192
    supports_tools: bool = True
    delay: float = 0.0  # seconds each call takes (interruptible by cancel)
    calls: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.model_name

    @property
    def context_window(self) -> int:
        return self.window

    def calls_where(self, predicate: Callable[[Request], bool]) -> list[Request]:
        with self._lock:
            return [c for c in self.calls if predicate(c)]

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
        cancel.raise_if_cancelled()
        if tools and not self.supports_tools:
            raise OllamaError(
                "tools_unsupported",
                f"registry.ollama.ai/library/{self.name} does not support tools",
            )
        prompt_tokens = count_prompt_tokens(messages, tools)
        assert prompt_tokens + (max_tokens or 0) <= self.window, (
            f"prompt of {prompt_tokens} tokens + reply cap {max_tokens} exceeds the "
            f"{self.window}-token window"
        )
        request = Request(
            tuple(messages), json_schema, tuple(tools) if tools else None, max_tokens, prompt_tokens
        )
        with self._lock:
            self.calls.append(request)
            rule = self._match(request)
        if self.delay and cancel.wait(self.delay):
            raise Cancelled()
        reply = _resolve(rule.reply, request)
        if on_delta is not None:
            for piece in _pieces(reply.content):
                on_delta(piece)
        return ChatResult(
            content=reply.content,
            tool_calls=reply.tool_calls,
            prompt_tokens=prompt_tokens,
            completion_tokens=estimate_tokens(reply.content),
            seconds=0.001,
            done_reason="stop",
        )

    def _match(self, request: Request) -> Rule:
        for rule in self.rules:
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if rule.when(request):
                rule.fired += 1
                return rule
        raise AssertionError(
            f"no scripted rule for this request (system: {request.system[:60]!r}, "
            f"user: {request.user[:200]!r})"
        )


def _resolve(source: ReplySource, request: Request) -> Reply:
    value = source(request) if callable(source) else source
    return value if isinstance(value, Reply) else Reply(content=value)


def _pieces(text: str, size: int = 7) -> list[str]:
    """Stream in small pieces, as a server does, so marker handling across pieces is exercised."""
    return [text[i : i + size] for i in range(0, len(text), size)]


# ---------------------------------------------------------------- reply helpers for rules


def parse_json(
    information: str = "",
    instruction: str = "",
    keywords_en: list[str] | None = None,
    keywords_zh: list[str] | None = None,
    multi_hop: bool = False,
) -> Callable[[Request], str]:
    """A structured parse reply; `information` defaults to the question itself."""
    import json

    def reply(request: Request) -> str:
        return json.dumps(
            {
                "information": information or request.question,
                "instruction": instruction,
                "keywords_en": keywords_en or [],
                "keywords_zh": keywords_zh or [],
                "multi_hop": multi_hop,
            },
            ensure_ascii=False,
        )

    return reply


def answer_from_document_containing(
    *needles: str, template: str = "{sentence} [{number}]"
) -> Callable[[Request], str]:
    """Answer by quoting the sentence of the first document that contains all `needles`
    (a model that reads one document at a time); NOT_FOUND when none does."""

    def reply(request: Request) -> str:
        for doc in request.documents:
            if all(n.lower() in doc.text.lower() for n in needles):
                sentence = next(
                    s
                    for s in re.split(r"(?<=[.!?。！？])\s*", doc.text)
                    if needles[0].lower() in s.lower()
                )
                return template.format(sentence=sentence.strip(), number=doc.number)
        return f"{prompts.NOT_FOUND_MARKER}\nThe documents do not say."

    return reply


def verdict_quoting(*needles: str, answer: str = "") -> Callable[[Request], str]:
    """A Level-2 reader: the passage answers when it contains any of `needles`, quoting the
    sentences that contain them (at most two); the short answer is `answer` or the first needle
    found."""
    import json

    def reply(request: Request) -> str:
        doc = request.documents[0]
        sentences = re.split(r"(?<=[.!?。！？])\s*", doc.text)
        quotes = [s.strip() for s in sentences if any(n.lower() in s.lower() for n in needles)]
        found = next((n for n in needles if n.lower() in doc.text.lower()), "")
        return json.dumps(
            {
                "quotes": quotes[:2],
                "answer": (answer or found) if quotes else "",
                "verdict": "answers" if quotes else "no",
            },
            ensure_ascii=False,
        )

    return reply


def pick_containing(*needles: str) -> Callable[[Request], str]:
    """A picker that keeps the claimed sentences holding any of `needles`."""
    import json

    def reply(request: Request) -> str:
        numbers = [
            n
            for n, claim in enumerate(request.claims, start=1)
            if any(needle.lower() in claim.lower() for needle in needles)
        ]
        return json.dumps({"answering": numbers})

    return reply


def expansion(sentence_en: str = "", sentence_zh: str = "", *synonyms: str) -> str:
    """A Level-2 prefilter expansion reply: the imagined answer sentence and synonyms."""
    import json

    return json.dumps(
        {"sentence_en": sentence_en, "sentence_zh": sentence_zh, "synonyms": list(synonyms)},
        ensure_ascii=False,
    )


def verdict_related(*needles: str) -> Callable[[Request], str]:
    """A Level-2 reader that finds the passages holding `needles` about the question's subject
    but not answering it (a two-hop question read on its first hop's passage)."""
    import json

    def reply(request: Request) -> str:
        text = request.documents[0].text.lower()
        related = any(n.lower() in text for n in needles)
        return json.dumps({"quotes": [], "answer": "", "verdict": "related" if related else "no"})

    return reply


def verify_by_words() -> Callable[[Request], str]:
    """A verification reader that supports an answer when the passages hold most of the
    answer's words (a careful model), quoting the sentence that holds the most of them."""
    import json

    common = {"the", "and", "was", "were", "are", "for", "with", "from", "that", "this"}

    def words(text: str) -> set[str]:
        latin = {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}
        han = {
            run[i : i + 2]
            for run in re.findall(r"[\u4e00-\u9fff]+", text)
            for i in range(max(1, len(run) - 1))
        }
        return (latin - common) | han

    def reply(request: Request) -> str:
        wanted = words(re.sub(r"\[\d+\]", "", request.proposed_answer))
        everything = words(" ".join(doc.text for doc in request.documents))
        supported = len(everything & wanted) >= 0.5 * max(1, len(wanted))
        sentences = [
            s.strip()
            for doc in request.documents
            for s in re.split(r"(?<=[.!?。！？])\s*", doc.text)
            if s.strip()
        ]
        best = max(sentences, key=lambda s: len(words(s) & wanted), default="")
        return json.dumps({"quote": best if supported else "", "supported": supported})

    return reply


# ---------------------------------------------------------------- the same rules on the wire


def wire_responder(model: ScriptedModel) -> Callable[[dict[str, Any]], Any]:
    """A tests.helpers.fake_ollama responder that answers Ollama /api/chat bodies with `model`'s
    rules, so one script drives both the in-process tests and the real client over HTTP."""
    from tests.helpers.fake_ollama import Reply as WireReply

    def respond(body: dict[str, Any]) -> WireReply:
        messages = [_message_from_wire(m) for m in body.get("messages", [])]
        schema = body.get("format")
        options = body.get("options") or {}
        result = model.chat(
            messages,
            json_schema=schema if isinstance(schema, dict) else None,
            tools=body.get("tools") or None,
            max_tokens=options.get("num_predict"),
        )
        calls = tuple({"name": c.name, "arguments": c.arguments} for c in result.tool_calls)
        return WireReply(result.content, calls)

    return respond


def _message_from_wire(data: dict[str, Any]) -> Message:
    """A message of either wire format: Ollama's arguments are an object, OpenAI's a JSON
    string."""
    calls = tuple(
        ToolCall(c["function"]["name"], dict(_wire_arguments(c["function"].get("arguments"))))
        for c in data.get("tool_calls") or ()
    )
    return Message(
        data.get("role", "user"),
        str(data.get("content") or ""),
        calls,
        str(data.get("tool_name") or ""),
    )


def _wire_arguments(value: Any) -> dict[str, Any]:
    import json

    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}
