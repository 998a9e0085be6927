"""Several model servers, and cache-friendly read prompts: what Level 2's reads cost.

    .venv/bin/python bench/servers_bench.py scaling --fake [--latency 0.5] [--reads 32]
    .venv/bin/python bench/servers_bench.py scaling --llama [--reads 16] [--threads 1]
    .venv/bin/python bench/servers_bench.py prefix --host http://127.0.0.1:PORT --model NAME

`scaling` reads the same passages (real text from ../shared/corpora/pg-essays, one question) as
Level 2 does — the read prompt, the verdict schema, the reply cap, one thread per slot — through
one PooledChatModel over 1, 2 and 4 endpoints, and prints wall time and speed-up against one
endpoint (the baseline, measured in the same run) next to the ideal (the number of endpoints).
`--fake` uses fake OpenAI-compatible servers (tests/helpers/fake_openai.py) that take one request
at a time and spend `--latency` seconds on each: the scheduling alone. `--llama` starts four real
llama-cpp-python OpenAI servers (`python -m llama_cpp.server`, the 0.5B GGUF, `--threads` each)
from the evaluation venv (~/.cache/needle-eval/venv) on free ports, and stops them at the end.

`prefix --offline` counts the same with the model's own tokenizer (llama-cpp-python's, vocab only,
from the evaluation venv): the tokens a one-slot prompt cache computes per read, exactly and
whatever the machine's load.

`prefix` sends the reads of one question one after another to one server, twice: with the
passage before the question (the old order) and with the question first and repeated after the
passage (the order every read prompt now has), and prints the prompt tokens the server reports
per read, the tokens it reused from its prompt cache (Ollama-compatible `x_prompt_tokens_reused`,
OpenAI `prompt_tokens_details.cached_tokens` or llama.cpp `timings.cache_n`), the tokens it
therefore computed, and seconds per read.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.agent import prompts  # noqa: E402
from engine.endpoints import Endpoint  # noqa: E402
from engine.llm.connect import check_endpoints, open_chat_model, probe_endpoint  # noqa: E402
from engine.llm.types import ChatModel, ChatResult, Message  # noqa: E402
from engine.settings import Settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "pg-essays"
EVAL_HOME = Path(os.environ.get("NEEDLE_EVAL_HOME", Path.home() / ".cache" / "needle-eval"))
QUESTION = "What does the author say makes a good startup idea?"
READ_REPLY_TOKENS = 200
CHUNK_CHARS = 1200


def passages(count: int, chunk_chars: int = 0) -> list[str]:
    """`count` passages of about CHUNK_CHARS characters, cut at paragraph ends, from the essays
    (or made-up text when the corpus is absent)."""
    size = chunk_chars or CHUNK_CHARS
    found: list[str] = []
    files = sorted(CORPUS.glob("*.md")) + sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []
    for path in files:
        current = ""
        for paragraph in path.read_text("utf-8", errors="replace").split("\n\n"):
            current = f"{current}\n\n{paragraph}".strip()
            if len(current) >= size:
                found.append(current[: size * 2])
                current = ""
                if len(found) == count:
                    return found
    while len(found) < count:
        found.append(f"Passage {len(found)}: a paragraph about ideas, growth and users. " * 20)
    return found


def document_first(text: str) -> list[Message]:
    """The read prompt before the question-first order: the passage, then the question."""
    block = prompts.DocumentBlock(1, "essay.md", text)
    user = f"{prompts.render_document(block)}\n\n{prompts.question_section(QUESTION)}"
    return [Message("system", prompts.READ_SYSTEM), Message("user", user)]


def question_first(text: str) -> list[Message]:
    """The order every read now has: what all reads of a question share comes first."""
    block = prompts.DocumentBlock(1, "essay.md", text)
    user = (
        f"{prompts.question_section(QUESTION)}\n\n{prompts.render_document(block)}\n\n"
        f"Question again: {QUESTION}"
    )
    return [Message("system", prompts.READ_SYSTEM), Message("user", user)]


def read(model: ChatModel, messages: list[Message]) -> ChatResult:
    return model.chat(messages, json_schema=prompts.VERDICT_SCHEMA, max_tokens=READ_REPLY_TOKENS)


def read_all(model: ChatModel, texts: list[str], threads: int) -> float:
    """Every passage read, `threads` at a time (Level 2's pool); wall seconds."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda text: read(model, question_first(text)), texts))
    return time.monotonic() - started


# ---------------------------------------------------------------------------------- scaling


def scaling(
    urls: list[str], model_name: str, texts: list[str], label: str
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    baseline = 0.0
    settings = Settings(request_timeout=1800.0)
    for count in (1, 2, 4):
        endpoints = [Endpoint(url, "openai", 1) for url in urls[:count]]
        model = open_chat_model(
            model_name, endpoints, check_endpoints(endpoints, model_name), settings=settings
        )
        seconds = read_all(model, texts, threads=count)
        close = getattr(model, "close", None)
        if callable(close):
            close()
        baseline = baseline or seconds
        row = {
            "servers": label,
            "endpoints": count,
            "reads": len(texts),
            "seconds": round(seconds, 2),
            "speedup": round(baseline / seconds, 2),
            "ideal": count,
            "of_ideal": round(baseline / seconds / count, 2),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


@contextmanager
def fake_servers(count: int, latency: float) -> Iterator[list[str]]:
    from tests.helpers.fake_openai import FakeOpenAI

    fakes = [FakeOpenAI(models=["fake-reader"], latency=latency, slots=1) for _ in range(count)]
    for fake in fakes:
        fake.responder = lambda request: '{"quotes": [], "answer": "", "verdict": "no"}'
        fake.start()
    try:
        yield [fake.url for fake in fakes]
    finally:
        for fake in fakes:
            fake.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_servers(count: int, threads: int, gguf: Path, alias: str) -> Iterator[list[str]]:
    """`count` llama-cpp-python OpenAI servers, one request at a time each, stopped at the end."""
    python = EVAL_HOME / "venv" / "bin" / "python"
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            log = open(f"/tmp/needle-llama-{port}.log", "wb")  # noqa: SIM115
            processes.append(
                subprocess.Popen(
                    [
                        str(python),
                        "-m",
                        "llama_cpp.server",
                        "--model",
                        str(gguf),
                        "--model_alias",
                        alias,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--n_threads",
                        str(threads),
                        "--n_threads_batch",
                        str(threads),
                        "--n_ctx",
                        "8192",
                        "--verbose",
                        "False",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}/v1")
        deadline = time.monotonic() + 300
        for url in urls:
            while not probe_endpoint(Endpoint(url, "openai", 1), alias).ready:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not start; see /tmp/needle-llama-*.log")
                time.sleep(1.0)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


# ---------------------------------------------------------------------------------- prefix


def prefix(host: str, model_name: str, texts: list[str]) -> list[dict[str, object]]:
    backend = "openai" if host.rstrip("/").endswith("/v1") else "ollama"
    endpoint = Endpoint(host.rstrip("/"), backend, 1)
    settings = Settings(request_timeout=1800.0)
    rows = []
    for label, build in (("passage first", document_first), ("question first", question_first)):
        model = open_chat_model(
            model_name, [endpoint], check_endpoints([endpoint], model_name), settings=settings
        )
        # One read of another question first, so the first read of each order starts from a
        # cache that holds nothing of this question (as when a new question is asked).
        model.chat([Message("user", "Say OK.")], max_tokens=2)
        results = []
        started = time.monotonic()
        for text in texts:
            results.append(read(model, build(text)))
        seconds = time.monotonic() - started
        prompt = statistics.mean(r.prompt_tokens for r in results)
        reused = statistics.mean(r.cached_tokens for r in results)
        row = {
            "order": label,
            "reads": len(results),
            "prompt_tokens": round(prompt, 1),
            "reused": round(reused, 1),
            "computed": round(prompt - reused, 1),
            "seconds_per_read": round(seconds / len(results), 2),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


TOKENIZE = """
import json, sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
for prompt in json.load(open(sys.argv[2])):
    print(json.dumps(llm.tokenize(prompt.encode(), add_bos=False, special=True)))
"""


def chatml(messages: list[Message]) -> str:
    """The prompt as Qwen2.5's chat template renders it (system and user turns, reply primer)."""
    turns = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def prefix_offline(texts: list[str], gguf: Path) -> list[dict[str, object]]:
    """What a server with a one-slot prompt cache (llama.cpp's, Ollama's runner, ollama-compat)
    computes for each read: the prompt's tokens, in the model's own tokenizer, minus the prefix it
    shares with the previous read's. Exact and independent of the machine's load."""
    import tempfile

    python = EVAL_HOME / "venv" / "bin" / "python"
    rows = []
    for label, build in (("passage first", document_first), ("question first", question_first)):
        prompts_file = Path(tempfile.mkstemp(suffix=".json")[1])
        prompts_file.write_text(json.dumps([chatml(build(text)) for text in texts]), "utf-8")
        output = subprocess.run(
            [str(python), "-c", TOKENIZE, str(gguf), str(prompts_file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        prompts_file.unlink()
        tokenized = [json.loads(line) for line in output.splitlines() if line.startswith("[")]
        computed, totals, previous = [], [], []
        for tokens in tokenized:
            shared = 0
            for a, b in zip(previous, tokens, strict=False):
                if a != b:
                    break
                shared += 1
            totals.append(len(tokens))
            computed.append(len(tokens) - shared)
            previous = tokens
        later = computed[1:] or computed
        row = {
            "order": label,
            "reads": len(tokenized),
            "prompt_tokens": round(statistics.mean(totals), 1),
            "computed_first_read": computed[0],
            "computed_per_later_read": round(statistics.mean(later), 1),
            "reused_per_later_read": round(
                statistics.mean(totals[1:] or totals) - statistics.mean(later), 1
            ),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    scale = sub.add_parser("scaling")
    where = scale.add_mutually_exclusive_group(required=True)
    where.add_argument("--fake", action="store_true")
    where.add_argument("--llama", action="store_true")
    scale.add_argument("--reads", type=int, default=32)
    scale.add_argument("--latency", type=float, default=0.5)
    scale.add_argument("--threads", type=int, default=1)
    scale.add_argument("--gguf", type=Path, default=EVAL_HOME / "qwen2.5-coder-0.5b-instruct.gguf")
    pre = sub.add_parser("prefix")
    pre.add_argument("--host", help="a server to measure (else: --offline)")
    pre.add_argument("--model")
    pre.add_argument("--reads", type=int, default=8)
    pre.add_argument("--chunk-chars", type=int, default=CHUNK_CHARS)
    pre.add_argument("--offline", action="store_true", help="count with the model's tokenizer")
    pre.add_argument("--gguf", type=Path, default=EVAL_HOME / "qwen2.5-coder-0.5b-instruct.gguf")
    args = parser.parse_args(argv)
    if args.command == "prefix":
        if args.offline:
            prefix_offline(passages(args.reads, args.chunk_chars), args.gguf)
        else:
            prefix(args.host, args.model, passages(args.reads, args.chunk_chars))
        return 0
    texts = passages(args.reads)
    if args.fake:
        with fake_servers(4, args.latency) as urls:
            scaling(urls, "fake-reader", texts, f"fake, {args.latency:g} s per read")
    else:
        with llama_servers(4, args.threads, args.gguf, "qwen2.5-coder-0.5b") as urls:
            scaling(
                urls, "qwen2.5-coder-0.5b", texts, f"llama-cpp-python 0.5B, {args.threads} thread"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
