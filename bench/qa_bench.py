"""Question-answering benchmark: needles in haystacks built from ../shared/corpora.

    python bench/qa_bench.py --host http://127.0.0.1:11434 --model qwen2.5-coder:0.5b \
        --sizes 32k --levels 1,2 --langs en,zh --read-budget 24
    python bench/qa_bench.py --fake --sizes 32k,128k,1m --levels 1,2,3

For every (language, size) it writes a haystack folder of real documents up to the size in
tokens, plants facts in documents spread through it (a keyword needle, a paraphrased needle whose
question shares no keywords with it, three needles answering one question, and a two-hop pair),
indexes it with the real engine, then asks each question at each level through `Engine.ask` — the
same path the CLI and the desktop use. Per level it reports accuracy (every expected string in
the answer), LLM calls, prompt tokens and wall time per question, and the fraction of the
haystack's chunks that were put in front of the model.

`--fake` runs against tests/helpers/fake_ollama.py with an *oracle* responder (it answers from the
planted facts it sees in prompts, reads chunks as relevant exactly when they contain a planted
fact, and plans the two hops by script). Its accuracy only shows that the agent's plumbing carries
a fact from the index to the answer; its call and token counts are what each level costs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.agent.events import ChunkVerdict, Event, Hits, LlmCall, ScopeChosen  # noqa: E402
from engine.api import Engine  # noqa: E402
from engine.errors import NeedleError  # noqa: E402
from engine.tokens import estimate_tokens  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
SIZES = {"32k": 32_000, "128k": 128_000, "1m": 1_000_000}
SOURCES = {
    "en": ("pg-essays", "til"),
    "zh": ("weekly", "novels-zh"),
}
MAX_FILE_TOKENS = 40_000  # split the novels so a haystack is many documents, as notes are


@dataclass(frozen=True)
class Question:
    name: str  # keyword | paraphrase | multi | two_hop
    text: str
    expected: tuple[str, ...]  # every one must appear in the answer
    facts: tuple[str, ...]  # sentences planted in the haystack, one per document
    hops: tuple[str, ...] = ()  # the sub-questions a reasoning model would ask (fake oracle)


QUESTIONS = {
    "en": (
        Question(
            "keyword",
            "What is the access code for the Halvorsen greenhouse?",
            ("4417",),
            ("The access code for the Halvorsen greenhouse is 4417.",),
        ),
        Question(
            "paraphrase",
            "Where did Mirela put the extra way into the shed for rowing boats?",
            ("oak",),
            ("Mirela hid the spare boathouse key inside the hollow oak beside the jetty.",),
        ),
        Question(
            "multi",
            "Which cities are on Elena Marsh's concert tour?",
            ("Lisbon", "Tallinn", "Osaka"),
            (
                "The first city on Elena Marsh's concert tour is Lisbon.",
                "The second city on Elena Marsh's concert tour is Tallinn.",
                "The final city on Elena Marsh's concert tour is Osaka.",
            ),
        ),
        Question(
            "two_hop",
            "In which town was the designer of the Kestrel Bridge born?",
            ("Pirano",),
            (
                "The Kestrel Bridge was designed by the engineer Ilse Varga.",
                "Ilse Varga was born in the harbour town of Pirano.",
            ),
            ("Who designed the Kestrel Bridge?", "Where was Ilse Varga born?"),
        ),
    ),
    "zh": (
        Question(
            "keyword",
            "青石镇图书馆的开放时间是几点？",
            ("九点",),
            ("青石镇图书馆的开放时间是每天上午九点。",),
        ),
        Question(
            "paraphrase",
            "林晓家多出来的那把开门用的东西放在哪里？",
            ("井",),
            ("林晓把备用钥匙藏在院子里那口旧井的石板下面。",),
        ),
        Question(
            "multi",
            "陈默的旅行去了哪些城市？",
            ("大理", "敦煌", "哈尔滨"),
            (
                "陈默的旅行第一站是大理。",
                "陈默的旅行第二站是敦煌。",
                "陈默的旅行最后一站是哈尔滨。",
            ),
        ),
        Question(
            "two_hop",
            "白鹭桥的设计者出生在哪里？",
            ("乌镇",),
            ("白鹭桥是由工程师周文澜设计的。", "周文澜出生在江南小城乌镇。"),
            ("白鹭桥是谁设计的？", "周文澜出生在哪里？"),
        ),
    ),
}


# ------------------------------------------------------------------------------ haystacks


def source_files(lang: str) -> Iterator[Path]:
    for folder in SOURCES[lang]:
        base = CORPORA / folder
        yield from sorted(p for p in base.rglob("*") if p.suffix in (".md", ".txt"))


def split_long(text: str) -> list[str]:
    """Cut a novel into documents of at most MAX_FILE_TOKENS at paragraph boundaries."""
    parts, current, tokens = [], [], 0
    for paragraph in text.split("\n\n"):
        cost = estimate_tokens(paragraph)
        if current and tokens + cost > MAX_FILE_TOKENS:
            parts.append("\n\n".join(current))
            current, tokens = [], 0
        current.append(paragraph)
        tokens += cost
    if current:
        parts.append("\n\n".join(current))
    return parts


def build_haystack(lang: str, size: int, folder: Path) -> tuple[list[Path], int]:
    """Real documents in `folder` until `size` tokens; returns the files and the total tokens."""
    folder.mkdir(parents=True)
    written: list[Path] = []
    total = 0
    for source in source_files(lang):
        for part_no, text in enumerate(split_long(source.read_text("utf-8", errors="replace"))):
            if total >= size:
                return written, total
            budget = size - total
            if estimate_tokens(text) > budget:
                text = text[: max(200, int(len(text) * budget / estimate_tokens(text)))]
            target = folder / f"{source.parent.name}-{source.stem}-{part_no}{source.suffix}"
            target.write_text(text, "utf-8")
            written.append(target)
            total += estimate_tokens(text)
    return written, total


def plant_facts(files: list[Path], questions: tuple[Question, ...], seed: int) -> None:
    """Each fact goes into its own document, between two paragraphs, spread through the haystack."""
    rng = random.Random(seed)
    facts = [fact for question in questions for fact in question.facts]
    chosen = rng.sample(range(len(files)), k=min(len(facts), len(files)))
    for fact, file_index in zip(facts, chosen, strict=False):
        path = files[file_index]
        paragraphs = path.read_text("utf-8").split("\n\n")
        at = rng.randint(1, max(1, len(paragraphs) - 1))
        paragraphs.insert(at, fact)
        path.write_text("\n\n".join(paragraphs), "utf-8")


# ------------------------------------------------------------------------------ running


@dataclass
class Trial:
    lang: str
    size: str
    level: str
    question: str
    correct: float  # share of expected strings found in the answer
    llm_calls: int
    prompt_tokens: int
    seconds: float
    read_fraction: float
    error: str = ""
    answer: str = ""


@dataclass
class EventTally:
    llm_calls: int = 0
    prompt_tokens: int = 0
    chunks_seen: set[str] = field(default_factory=set)
    scope_read: int = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, LlmCall):
            self.llm_calls += 1
            self.prompt_tokens += event.prompt_tokens
        elif isinstance(event, Hits) and event.purpose == "context":
            self.chunks_seen.update(hit.chunk_id for hit in event.hits)
        elif isinstance(event, ChunkVerdict):
            self.chunks_seen.add(event.chunk.chunk_id)
        elif isinstance(event, ScopeChosen):
            self.scope_read += event.read_chunks


def score(answer: str, expected: tuple[str, ...]) -> float:
    found = sum(1 for item in expected if item.lower() in answer.lower())
    return found / len(expected)


def ask_once(
    engine: Engine,
    question: Question,
    level: str,
    lang: str,
    size: str,
    total_chunks: int,
    parse_mode: str = "structured",
    compress: bool = False,
) -> Trial:
    tally = EventTally()
    started = time.monotonic()
    try:
        answer = engine.ask(
            question.text,
            level=level,
            on_event=tally,
            parse_mode=parse_mode,
            compress_context=compress,
        )
        text, error = answer.text, ""
    except NeedleError as failure:
        text, error = "", f"{failure.kind}: {failure.message}"
    seconds = time.monotonic() - started
    return Trial(
        lang,
        size,
        level,
        question.name,
        score(text, question.expected),
        tally.llm_calls,
        tally.prompt_tokens,
        seconds,
        len(tally.chunks_seen) / max(1, total_chunks),
        error,
        text[:300],
    )


def run_haystack(args: argparse.Namespace, lang: str, size_name: str, work: Path) -> list[Trial]:
    questions = tuple(q for q in QUESTIONS[lang] if q.name in args.questions)
    files, tokens = build_haystack(lang, SIZES[size_name], work / f"haystack-{lang}-{size_name}")
    plant_facts(files, questions, seed=args.seed)
    engine = Engine.open(work / f"home-{lang}-{size_name}", writer=True)
    trials: list[Trial] = []
    try:
        engine.update_settings(
            {
                "ollama_host": args.host,
                "model": args.model,
                "read_budget": args.read_budget,
                "parallel_requests": args.parallel,
            }
        )
        engine.add_folder(str(files[0].parent))
        started = time.monotonic()
        summary = engine.index()
        chunks = engine.status().to_dict().get("chunks", 0)
        print(
            f"\n## {lang} {size_name}: {len(files)} documents, ~{tokens:,} tokens, {chunks:,} "
            f"chunks, indexed in {time.monotonic() - started:.1f} s ({summary.errors} errors)",
            flush=True,
        )
        for level in args.levels:
            for question in questions:
                trial = ask_once(
                    engine, question, level, lang, size_name, int(chunks),
                    args.parse_mode, args.compress,
                )  # fmt: skip
                trials.append(trial)
                print(
                    f"  L{level:<4} {question.name:<10} correct={trial.correct:.2f} "
                    f"calls={trial.llm_calls:<3} prompt_tok={trial.prompt_tokens:<7} "
                    f"{trial.seconds:6.1f}s read={trial.read_fraction:.4f} "
                    f"{trial.error or trial.answer[:90]!r}",
                    flush=True,
                )
    finally:
        engine.close()
    return trials


def summarize(trials: list[Trial]) -> str:
    lines = [
        "| lang | size | level | accuracy | LLM calls / q | prompt tokens / q | seconds / q "
        "| haystack read |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(t.lang, t.size, t.level) for t in trials}, key=lambda k: (k[0], SIZES[k[1]], k[2])
    )
    for lang, size, level in keys:
        group = [t for t in trials if (t.lang, t.size, t.level) == (lang, size, level)]
        lines.append(
            f"| {lang} | {size} | {level} | {statistics.mean(t.correct for t in group):.2f} "
            f"| {statistics.mean(t.llm_calls for t in group):.1f} "
            f"| {statistics.mean(t.prompt_tokens for t in group):,.0f} "
            f"| {statistics.mean(t.seconds for t in group):.1f} "
            f"| {100 * statistics.mean(t.read_fraction for t in group):.2f}% |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------ fake oracle


def oracle_responder(questions: list[Question]) -> Any:
    """A responder for tests/helpers/fake_ollama.py that behaves like a model that reads
    carefully."""
    from tests.helpers.fake_ollama import Reply, example_for_schema, last_user_message

    facts = [fact for question in questions for fact in question.facts]
    words = re.compile(r"[A-Za-z][A-Za-z'-]+|[\u4e00-\u9fff]{2,}")

    def planted_in(text: str, among: list[str] = facts) -> list[str]:
        flat = " ".join(text.split())
        return [fact for fact in among if fact in flat]

    def asked_about(text: str) -> Question | None:
        for question in questions:
            if question.text in text or any(hop in text for hop in question.hops):
                return question
        return None

    def respond(request: dict[str, Any]) -> Reply:
        prompt = last_user_message(request)
        conversation = json.dumps(request.get("messages", []), ensure_ascii=False)
        question = asked_about(conversation)
        schema = request.get("format")
        if isinstance(schema, dict):
            properties = schema.get("properties", {})
            if "quotes" in properties:
                quotes = planted_in(prompt, list(question.facts) if question else facts)
                return Reply({"relevant": bool(quotes), "quotes": quotes})
            reply = example_for_schema(schema)
            terms = [w for w in words.findall(prompt) if len(w) > 3 or not w.isascii()][:8]
            for key in reply:
                if key.startswith("keywords"):
                    reply[key] = terms
            if "multi_hop" in reply:
                reply["multi_hop"] = bool(question and question.hops)
            if "information" in reply:
                reply["information"] = question.text if question else prompt[-200:]
            return Reply(reply)
        if request.get("tools") and question:
            hops = question.hops or (question.text,)
            asked = sum(1 for m in request.get("messages", []) if m.get("role") == "tool")
            if asked < len(hops):
                call = {"name": "read_documents", "arguments": {"question": hops[asked]}}
                return Reply("", (call,))
            prompt = conversation
        found = planted_in(prompt, list(question.facts) if question else facts)
        if not found:
            return Reply("NOT_FOUND\nThe documents do not say.")
        numbers = re.findall(r'<document id="(\d+)"|\[(\d+)\]', prompt)
        first = next((a or b for a, b in numbers), "1")
        return Reply(" ".join(found) + f" [{first}]")

    return respond


# ------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="http://127.0.0.1:11434")
    parser.add_argument("--model", default="qwen2:7b-instruct")
    parser.add_argument("--fake", action="store_true", help="use the fake server's oracle model")
    parser.add_argument("--sizes", default="32k", help="comma list of 32k,128k,1m")
    parser.add_argument("--langs", default="en,zh")
    parser.add_argument("--levels", default="1,2,3", help="comma list of 1,2,3,auto")
    parser.add_argument("--questions", default="keyword,paraphrase,multi,two_hop")
    parser.add_argument("--read-budget", type=int, default=300, help="Level 2 chunks per question")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--parse-mode", default="structured", choices=("structured", "two_call"))
    parser.add_argument("--compress", action="store_true", help="compress context sentences")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write every trial as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the haystack folders")
    args = parser.parse_args(argv)
    args.sizes = [s.strip().lower() for s in args.sizes.split(",")]
    args.langs = [s.strip() for s in args.langs.split(",")]
    args.levels = [s.strip() for s in args.levels.split(",")]
    args.questions = [s.strip() for s in args.questions.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CORPORA.is_dir():
        print(f"corpora not found at {CORPORA}", file=sys.stderr)
        return 2
    fake = None
    if args.fake:
        from tests.helpers.fake_ollama import FakeOllama

        every_question = [q for lang in args.langs for q in QUESTIONS[lang]]
        fake = FakeOllama(responder=oracle_responder(every_question)).start()
        args.host = fake.url
    print(
        f"qa_bench: host={args.host} model={args.model} fake={args.fake} "
        f"read_budget={args.read_budget} parallel={args.parallel} "
        f"parse={args.parse_mode} compress={args.compress}"
    )
    work = Path(tempfile.mkdtemp(prefix="needle-qa-"))
    trials: list[Trial] = []
    try:
        for lang in args.langs:
            for size in args.sizes:
                trials += run_haystack(args, lang, size, work)
    finally:
        if fake is not None:
            if fake.rejections:
                print(f"!! the fake server rejected {len(fake.rejections)} over-budget prompts")
            fake.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + summarize(trials))
    if args.out:
        args.out.write_text(json.dumps([t.__dict__ for t in trials], indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
