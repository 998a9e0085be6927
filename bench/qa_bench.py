"""Question-answering benchmark: the cases of bench/qa_cases.py against one or more checkouts.

    python bench/qa_bench.py --checkout baseline=../baseline --checkout new=. \\
        --host http://127.0.0.1:11436 --model qwen2.5-coder:1.5b --levels auto \\
        --timeout 900 --results /tmp/qa.jsonl
    python bench/qa_bench.py --fake --checkout baseline=../baseline --checkout new=. \\
        --sizes 32k,128k,1m --levels 1,2,3,auto --results /tmp/qa-fake.jsonl

It writes a haystack of real documents from ../shared/corpora with every case's sentences
planted in it (deterministic by --seed; 1m is ~1.1M tokens of English essays and notes, Chinese
articles and a novel, plus the corpus PDFs), then, for every checkout, indexes it into that
checkout's own data folder with that checkout's `needle` command (`folders add`, `index`) and
asks each case with `needle ask --json`, in a subprocess whose PYTHONPATH is the checkout. The
trials interleave: case 1 at level L on every checkout, then the next, so a change in machine
load falls on all checkouts alike. Every trial is appended to --results (JSONL) as it finishes; a
run that is stopped continues where it left off when started again with the same file.

Per trial it records, from the JSON event stream: the answer, `found`, `grounded` and its reason
(when the checkout emits them), citations, the levels run and why, model calls, prompt and
completion tokens, chunks read (chunk verdicts) and marked relevant, how many of those hold a
planted fact (Level-2 precision), whether a planted fact reached the context or a citation, and
wall time. A question over --timeout is stopped and recorded as a timeout, with what it had done.

Scoring (bench/qa_cases.py): an answerable case is correct when `found` is true and every
expected string occurs in the answer (case-, width- and whitespace-insensitive); an unanswerable
one when `found` is false. A *confabulation* is an answer shown as found that is not correct.

`--fake` serves tests/helpers/fake_ollama.py with an *oracle* model instead of a real one: it
answers from the planted sentences it sees, marks a chunk relevant exactly when it holds one of the
asked case's sentences, and plans two hops by script. Its accuracy shows only that the plumbing
carries a fact from the index to the answer; its calls, tokens and chunks read are each level's
cost at sizes a real model on this machine cannot read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.qa_cases import (  # noqa: E402
    CASES,
    CASES_BY_NAME,
    CORPORA,
    KINDS,
    Case,
    build_haystack,
    check_cases,
    is_confabulation,
    is_correct,
    normalize,
)

SIZES = {"32k": 32_000, "128k": 128_000, "1m": 1_100_000, "2m": 2_200_000}
LEVELS = ("1", "2", "3", "auto")
DEFAULT_FAKE_MODEL = "qwen2:7b-instruct"
STOP_GRACE_SECONDS = 15  # after SIGINT, before SIGKILL
ANSWER_PREVIEW = 600


# ------------------------------------------------------------------------------ checkouts


@dataclass(frozen=True)
class Checkout:
    """A source tree of Needle, run with `python` and PYTHONPATH set to it."""

    label: str
    path: Path
    python: str
    entry: str  # "module:function" of the `needle` console script in the checkout's pyproject
    commit: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("NEEDLE_HOME", "OLLAMA_HOST")}
        env["PYTHONPATH"] = str(self.path)
        env["NO_COLOR"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def needle(self, data_dir: Path, *args: str) -> list[str]:
        module, function = self.entry.split(":")
        code = f"import sys; from {module} import {function} as main; sys.exit(main())"
        return [self.python, "-c", code, "--data-dir", str(data_dir), *args]

    def run(self, data_dir: Path, *args: str, cwd: Path, timeout: float = 1800) -> str:
        """Run a `needle` command to completion; its stdout (raises with stderr on failure)."""
        done = subprocess.run(
            self.needle(data_dir, *args),
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"[{self.label}] needle {' '.join(args[:3])} failed ({done.returncode}): "
                f"{done.stderr.strip()[-800:]}"
            )
        return done.stdout


def resolve_checkout(spec: str, python: str, cwd: Path) -> Checkout:
    """LABEL=PATH -> a Checkout whose CLI entry comes from its own pyproject.toml, verified to
    import from the checkout (PYTHONPATH must win over any installed copy)."""
    label, _, raw_path = spec.partition("=")
    if not raw_path:
        raise SystemExit(f"--checkout wants LABEL=PATH, got {spec!r}")
    path = Path(raw_path).expanduser().resolve()
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        raise SystemExit(f"{path} has no pyproject.toml: not a Needle checkout")
    scripts = tomllib.loads(pyproject.read_text("utf-8")).get("project", {}).get("scripts", {})
    entry = scripts.get("needle", "engine.cli:main")
    module = entry.split(":")[0]
    probe = subprocess.run(
        [python, "-c", f"import {module} as m; print(m.__file__)"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
    )
    imported = Path(probe.stdout.strip() or "/nonexistent").resolve()
    if probe.returncode != 0 or path not in imported.parents:
        raise SystemExit(
            f"[{label}] {module} imports from {imported}, not from {path}: "
            f"{probe.stderr.strip()[-400:]}"
        )
    commit = subprocess.run(
        ["git", "-C", str(path), "describe", "--always", "--dirty", "--abbrev=10"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Checkout(label, path, python, entry, commit or "unknown")


# ------------------------------------------------------------------------------ libraries


@dataclass
class Library:
    """One checkout's data folder over one haystack, and where the planted facts landed."""

    checkout: Checkout
    data_dir: Path
    chunks: int = 0
    index_seconds: float = 0.0
    index_summary: dict[str, Any] = field(default_factory=dict)
    fact_chunks: dict[str, set[str]] = field(default_factory=dict)  # planted sentence -> ids


def prepare_library(
    checkout: Checkout, haystack: Path, data_dir: Path, settings: list[str], work: Path
) -> Library:
    library = Library(checkout, data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    checkout.run(data_dir, "settings", *settings, cwd=work)
    listed = json.loads(checkout.run(data_dir, "folders", "list", "--json", cwd=work))
    if not any(Path(f["path"]) == haystack.resolve() for f in listed.get("folders", [])):
        checkout.run(data_dir, "folders", "add", str(haystack), cwd=work)
    started = time.monotonic()
    out = checkout.run(data_dir, "index", "--json", "-q", cwd=work, timeout=3600)
    library.index_seconds = time.monotonic() - started
    library.index_summary = json.loads(out.strip().splitlines()[-1])
    status = json.loads(checkout.run(data_dir, "status", "--json", cwd=work))
    library.chunks = int(status.get("chunks", 0))
    return library


_SEARCH_UNSAFE = re.compile(r"[^\w\u4e00-\u9fff]+")


def locate_facts(library: Library, haystack: Path, fact_files: dict[str, str], work: Path) -> None:
    """The chunk ids that hold each planted sentence, found with the checkout's own search
    restricted to the file it was planted in (chunk ids are the checkout's business)."""
    for sentence, relative in fact_files.items():
        query = _SEARCH_UNSAFE.sub(" ", sentence).strip()
        out = library.checkout.run(
            library.data_dir,
            "search",
            query,
            "-k",
            "1000",
            "--in",
            str(haystack / relative),
            "--json",
            cwd=work,
        )
        hits = json.loads(out).get("hits", [])
        wanted = normalize(sentence)
        holding = {h["chunk_id"] for h in hits if wanted in normalize(h.get("text", ""))}
        if not holding:  # the chunker cut the sentence: count the chunks holding either half
            half = len(wanted) // 2
            holding = {
                h["chunk_id"]
                for h in hits
                if wanted[:half] in normalize(h.get("text", ""))
                or wanted[half:] in normalize(h.get("text", ""))
            }
        library.fact_chunks[sentence] = holding


# ------------------------------------------------------------------------------ one trial


@dataclass
class EventLog:
    """Events read from a running `needle ask --json`, line by line (kept when it is stopped)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    junk: list[str] = field(default_factory=list)

    def read(self, stream: Iterable[str]) -> None:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                self.junk.append(line[:200])


def run_ask(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    log = EventLog()
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # its own process group: a timeout stops it and its children
    )
    reader = threading.Thread(target=log.read, args=(process.stdout,), daemon=True)
    reader.start()
    stderr_lines: list[str] = []
    drain = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or ()), daemon=True)
    drain.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop_group(process)
    except BaseException:  # the bench itself is stopped: leave no question running
        stop_group(process)
        raise
    reader.join(timeout=10)
    drain.join(timeout=10)
    return {
        "events": log.events,
        "junk": log.junk,
        "exit_code": process.returncode,
        "timed_out": timed_out,
        "seconds": time.monotonic() - started,
        "stderr": "".join(stderr_lines)[-1500:],
    }


def stop_group(process: subprocess.Popen[str]) -> None:
    """Ctrl-C first (the CLI cancels its model requests), then kill the group."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_idle_server(host: str, model: str) -> float:
    """A real server that serves one request at a time may still be busy with the requests of a
    stopped question; a one-token request queues behind them. Returns the seconds waited."""
    started = time.monotonic()
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
            "options": {"num_predict": 1, "num_ctx": 512},
        }
    ).encode()
    request = urllib.request.Request(
        f"{host.rstrip('/')}/api/chat", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=1800) as response:
            response.read()
    except OSError as failure:
        print(f"   (could not reach {host} to wait for it: {failure})", flush=True)
    return time.monotonic() - started


def tally(case: Case, raw: dict[str, Any], library: Library) -> dict[str, Any]:
    """The measurements of one trial from its events."""
    events = raw["events"]
    needle_ids: set[str] = set()
    for fact in case.facts:
        needle_ids |= library.fact_chunks.get(fact.text, set())
    calls = [e for e in events if e.get("type") == "llm_call"]
    verdicts = [e for e in events if e.get("type") == "chunk_verdict"]
    read_ids = {e["chunk"]["chunk_id"] for e in verdicts}
    relevant_ids = {e["chunk"]["chunk_id"] for e in verdicts if e.get("relevant")}
    context_ids = {
        hit["chunk_id"]
        for e in events
        if e.get("type") == "hits" and e.get("purpose") == "context"
        for hit in e.get("hits", [])
    }
    answer = next((e for e in reversed(events) if e.get("type") == "answer"), None)
    error = next((e for e in reversed(events) if e.get("type") == "error"), None)
    citations = (answer or {}).get("citations", [])
    cited_ids = {c.get("chunk_id", "") for c in citations}
    if raw["timed_out"]:
        status = "timeout"
    elif answer is not None:
        status = "answered"
    else:
        status = "error"
    text = (answer or {}).get("text", "")
    found = bool(answer and answer.get("found", True))
    purposes: dict[str, int] = {}
    for call in calls:
        purposes[call.get("purpose", "?")] = purposes.get(call.get("purpose", "?"), 0) + 1
    return {
        "status": status,
        "answer": text[:ANSWER_PREVIEW],
        # What was streamed (every level's attempt): the only answer text of a stopped question.
        "streamed": "".join(e.get("text", "") for e in events if e.get("type") == "answer_delta")[
            -ANSWER_PREVIEW:
        ],
        "found": found,
        "correct": status == "answered" and is_correct(case, text, found),
        "confabulated": status == "answered" and is_confabulation(case, text, found),
        "grounded": (answer or {}).get("grounded"),
        "grounded_reason": _grounding_reason(answer or {}),
        "answer_level": (answer or {}).get("level"),
        "levels_run": [e.get("level") for e in events if e.get("type") == "level"],
        "level_reasons": [e.get("reason", "") for e in events if e.get("type") == "level"],
        "citations": [
            {"number": c.get("number"), "chunk_id": c.get("chunk_id"), "path": c.get("path")}
            for c in citations
        ],
        "citations_inferred": (answer or {}).get("citations_inferred"),
        "model_calls": len(calls),
        "calls_by_purpose": purposes,
        "prompt_tokens": sum(int(c.get("prompt_tokens", 0)) for c in calls),
        "completion_tokens": sum(int(c.get("completion_tokens", 0)) for c in calls),
        "model_seconds": round(sum(float(c.get("seconds", 0.0)) for c in calls), 2),
        "chunks_read": len(read_ids),
        "verdicts": len(verdicts),
        "verdicts_cached": sum(1 for e in verdicts if e.get("cached")),
        "chunks_relevant": len(relevant_ids),
        "needle_chunks": len(needle_ids),
        "needles_read": len(read_ids & needle_ids),
        # How many chunks were read before the first one holding a planted sentence (1-based):
        # what a reader that stops at the first grounded answer would have paid.
        "first_needle_read_at": next(
            (n for n, e in enumerate(verdicts, 1) if e["chunk"]["chunk_id"] in needle_ids), None
        ),
        "needles_relevant": len(relevant_ids & needle_ids),
        "needle_in_context": bool(context_ids & needle_ids),
        "needle_cited": bool(cited_ids & needle_ids),
        "context_chunks": len(context_ids),
        "queries": [e.get("query", "") for e in events if e.get("type") == "keywords"],
        "sub_questions": [e.get("question", "") for e in events if e.get("type") == "sub_question"],
        "error": f"{error.get('kind')}: {error.get('message')}" if error else "",
        "exit_code": raw["exit_code"],
        "seconds": round(raw["seconds"], 2),
        "stderr_tail": raw["stderr"][-400:] if status == "error" else "",
    }


def _grounding_reason(answer: dict[str, Any]) -> str:
    """The checkout's stated reason for (not) trusting its answer, whatever it calls the field."""
    for key in ("grounded_reason", "grounding_reason", "grounding", "reason", "support"):
        value = answer.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            return str(value.get("reason", value))
    return ""


# ------------------------------------------------------------------------------ results file


def trial_key(record: dict[str, Any]) -> str:
    return json.dumps(
        [record["checkout"], record["case"], record["level"], record["config"]], sort_keys=True
    )


def is_settled(record: dict[str, Any], timeout: float) -> bool:
    """A recorded trial that a resumed run skips: not an error (server down, bad setting), and
    not a timeout under a shorter cap than this run's."""
    if record["status"] == "error":
        return False
    return record["status"] != "timeout" or record.get("timeout_cap", 0) >= timeout


def latest(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last record of every trial (a re-run trial replaces its earlier record)."""
    return list({trial_key(r): r for r in records}.values())


def load_results(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("record") == "trial":
                records.append(record)
    return records


def append_result(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------ summary


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else 0.0


def group_stats(trials: list[dict[str, Any]]) -> dict[str, float]:
    done = [t for t in trials if t["status"] != "error"]
    relevant = sum(t["chunks_relevant"] for t in done)
    needles_relevant = sum(t["needles_relevant"] for t in done)
    return {
        "n": len(trials),
        "errors": len(trials) - len(done),
        "timeouts": sum(1 for t in done if t["status"] == "timeout"),
        "accuracy": _mean([float(t["correct"]) for t in done]),
        "confabulations": sum(1 for t in done if t["confabulated"]),
        "not_found": _mean([float(t["status"] == "answered" and not t["found"]) for t in done]),
        "calls": _mean([t["model_calls"] for t in done]),
        "prompt_tokens": _mean([t["prompt_tokens"] for t in done]),
        "completion_tokens": _mean([t["completion_tokens"] for t in done]),
        "chunks_read": _mean([t["chunks_read"] for t in done]),
        "relevant_per_needle": relevant / needles_relevant if needles_relevant else float("nan"),
        "relevant": relevant,
        "seconds": _mean([t["seconds"] for t in done]),
    }


STAT_COLUMNS = (
    ("accuracy", "accuracy", "{:.0%}"),
    ("confabulations", "confab.", "{:.0f}"),
    ("not_found", "not found", "{:.0%}"),
    ("timeouts", "timeouts", "{:.0f}"),
    ("calls", "calls/q", "{:.1f}"),
    ("prompt_tokens", "prompt tok/q", "{:,.0f}"),
    ("completion_tokens", "compl. tok/q", "{:,.0f}"),
    ("chunks_read", "chunks read/q", "{:.1f}"),
    ("relevant_per_needle", "relevant/needle", "{:.1f}"),
    ("seconds", "s/q", "{:.0f}"),
)
RATIO_COLUMNS = ("calls", "prompt_tokens", "chunks_read", "seconds")


def summarize(trials: list[dict[str, Any]], labels: list[str], levels: list[str]) -> str:
    lines = [
        "| checkout | level | n | " + " | ".join(title for _, title, _ in STAT_COLUMNS) + " |",
        "|---|---|---" + "|---" * len(STAT_COLUMNS) + "|",
    ]
    for level in levels:
        for label in labels:
            group = [t for t in trials if t["checkout"] == label and t["level"] == level]
            if not group:
                continue
            stats = group_stats(group)
            cells = [
                "–" if stats[key] != stats[key] else fmt.format(stats[key])  # NaN: nothing to say
                for key, _, fmt in STAT_COLUMNS
            ]
            errors = f" ({stats['errors']:.0f} errors)" if stats["errors"] else ""
            lines.append(
                f"| {label} | {level} | {stats['n']:.0f}{errors} | " + " | ".join(cells) + " |"
            )
    ratios = _ratio_lines(trials, labels, levels)
    if ratios:
        lines += ["", *ratios]
    return "\n".join(lines)


def _ratio_lines(trials: list[dict[str, Any]], labels: list[str], levels: list[str]) -> list[str]:
    """Each checkout against the first, on the cases both completed at that level."""
    if len(labels) < 2:
        return []
    base = labels[0]
    lines = [
        f"| checkout / {base} | level | same cases | accuracy | confab. | "
        + " | ".join(f"{key} ×" for key in RATIO_COLUMNS)
        + " |",
        "|---|---|---|---|---" + "|---" * len(RATIO_COLUMNS) + "|",
    ]
    for level in levels:
        for label in labels[1:]:
            pairs = _paired(trials, base, label, level)
            if not pairs:
                continue
            ours = group_stats([p[1] for p in pairs])
            theirs = group_stats([p[0] for p in pairs])
            cells = [
                f"{ours[key] / theirs[key]:.2f}" if theirs[key] else "–" for key in RATIO_COLUMNS
            ]
            lines.append(
                f"| {label} | {level} | {len(pairs)} | {theirs['accuracy']:.0%} → "
                f"{ours['accuracy']:.0%} | {theirs['confabulations']:.0f} → "
                f"{ours['confabulations']:.0f} | " + " | ".join(cells) + " |"
            )
    return lines


def _paired(
    trials: list[dict[str, Any]], base: str, label: str, level: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    def by_case(name: str) -> dict[str, dict[str, Any]]:
        return {
            t["case"]: t
            for t in trials
            if t["checkout"] == name and t["level"] == level and t["status"] != "error"
        }

    theirs, ours = by_case(base), by_case(label)
    return [(theirs[c], ours[c]) for c in theirs if c in ours]


def case_matrix(trials: list[dict[str, Any]], labels: list[str], levels: list[str]) -> str:
    """One row per case: ✓ correct, C confabulated, N not found (answerable), T timeout, E
    error; then the level that answered and the chunks read."""
    columns = [
        (label, level)
        for level in levels
        for label in labels
        if any(t["checkout"] == label and t["level"] == level for t in trials)
    ]
    header = "| case | kind | " + " | ".join(f"{lab} L{lev}" for lab, lev in columns) + " |"
    lines = [header, "|---|---" + "|---" * len(columns) + "|"]
    cases = [c for c in CASES if any(t["case"] == c.name for t in trials)]
    index = {(t["checkout"], t["level"], t["case"]): t for t in trials}
    for case in cases:
        cells = []
        for label, level in columns:
            trial = index.get((label, level, case.name))
            cells.append(_cell(trial) if trial else "")
        lines.append(f"| {case.name} | {case.kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(trial: dict[str, Any]) -> str:
    if trial["status"] == "error":
        return "E"
    if trial["status"] == "timeout":
        mark = "T"
    elif trial["correct"]:
        mark = "✓"
    elif trial["confabulated"]:
        mark = "C"
    else:
        mark = "N"
    level = trial.get("answer_level")
    where = f"@{level}" if level is not None and mark != "T" else ""
    read = f" r{trial['chunks_read']}" if trial["chunks_read"] else ""
    return f"{mark}{where}{read} {trial['seconds']:.0f}s"


# ------------------------------------------------------------------------------ fake oracle


def oracle_responder(cases: tuple[Case, ...]) -> Callable[[dict[str, Any]], Any]:
    """A responder for tests/helpers/fake_ollama.py that behaves like a model that reads
    carefully."""
    from tests.helpers.fake_ollama import Reply, example_for_schema, last_user_message

    all_facts = [f.text for case in cases for f in case.facts]
    words = re.compile(r"[A-Za-z][A-Za-z'-]+|[\u4e00-\u9fff]{2,}")

    def planted_in(text: str, among: list[str]) -> list[str]:
        flat = " ".join(text.split())
        return [fact for fact in among if fact in flat]

    def asked_about(text: str) -> Case | None:
        for case in cases:
            if case.question in text or any(hop in text for hop in case.hops):
                return case
        return None

    def respond(request: dict[str, Any]) -> Any:
        prompt = last_user_message(request)
        conversation = json.dumps(request.get("messages", []), ensure_ascii=False)
        case = asked_about(conversation)
        facts = [f.text for f in case.facts] if case else all_facts
        schema = request.get("format")
        if isinstance(schema, dict):
            properties = schema.get("properties", {})
            if "quotes" in properties:  # a chunk read; `relevant` for checkouts before issue 8
                quotes = planted_in(prompt, facts)[:2]
                read = {"relevant": bool(quotes), "quotes": quotes}
                read["answer"] = quotes[0] if quotes else ""
                read["verdict"] = "answers" if quotes else "no"
                return Reply(read)
            if "supported" in properties:  # the verification read of an answer
                quotes = planted_in(prompt, facts)
                proposed = prompt.partition("<answer>")[2].partition("</answer>")[0]
                said = set(words.findall(proposed.lower())) | set(re.findall(r"\d+", proposed))
                numbers = set(re.findall(r"\d+", proposed))
                # The sentence that carries the proposed answer's numbers and most of its words,
                # as a careful model picks.
                quotes.sort(
                    key=lambda q: (
                        -len(numbers & set(re.findall(r"\d+", q))),
                        -len(said & (set(words.findall(q.lower())) | set(re.findall(r"\d+", q)))),
                    )
                )
                return Reply({"quote": quotes[0] if quotes else "", "supported": bool(quotes)})
            if "answering" in properties:  # picking the sentences that answer
                listed = re.findall(r"^\[(\d+)\] (.*)$", prompt, flags=re.M)
                chosen = [int(n) for n, line in listed if planted_in(line, facts)]
                return Reply({"answering": chosen})
            reply = example_for_schema(schema)
            own = [w for w in words.findall(prompt) if len(w) > 3 or not w.isascii()]
            extra = list(case.oracle_terms) if case else []  # what it would translate
            by_script = {
                "keywords_en": [t for t in own + extra if t.isascii()][:8],
                "keywords_zh": [t for t in extra + own if not t.isascii()][:8],
            }
            for key in reply:
                if key.startswith("keywords"):
                    reply[key] = by_script.get(key, (own + extra)[:8])
            if "multi_hop" in reply:
                reply["multi_hop"] = bool(case and case.hops)
            if "information" in reply:
                reply["information"] = case.question if case else prompt[-200:]
            return Reply(reply)
        if request.get("tools") and case:
            hops = case.hops or (case.question,)
            asked = sum(1 for m in request.get("messages", []) if m.get("role") == "tool")
            if asked < len(hops):
                call = {"name": "read_documents", "arguments": {"question": hops[asked]}}
                return Reply("", (call,))
            prompt = conversation
        found = planted_in(prompt, facts)
        if not found:
            return Reply("NOT_FOUND\nThe documents do not say.")
        numbers = re.findall(r'<document id="(\d+)"|\[(\d+)\]', prompt)
        first = next((a or b for a, b in numbers), "1")
        return Reply(" ".join(found) + f" [{first}]")

    return respond


# ------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--checkout",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a Needle source tree to measure (repeat; the first is the baseline of the ratios; "
        "default: this one, as 'here')",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the checkouts")
    parser.add_argument("--host", default="http://127.0.0.1:11434")
    parser.add_argument("--model", help=f"model tag (default: {DEFAULT_FAKE_MODEL} with --fake)")
    parser.add_argument("--fake", action="store_true", help="serve the fake server's oracle")
    parser.add_argument("--sizes", default="1m", help=f"comma list of {','.join(SIZES)}")
    parser.add_argument("--levels", default="auto", help="comma list of 1,2,3,auto")
    parser.add_argument("--cases", default="", help="comma list of case names or kinds (all)")
    parser.add_argument("--read-budget", type=int, default=300, help="setting read_budget")
    parser.add_argument("--parallel", type=int, default=4, help="setting parallel_requests")
    parser.add_argument(
        "--setting", action="append", default=[], metavar="KEY=VALUE", help="another setting"
    )
    parser.add_argument(
        "--ask-arg", action="append", default=[], metavar="ARG", help="extra `ask` argument"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per question")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "needle-qa")
    parser.add_argument("--results", type=Path, help="JSONL of every trial; resumes from it")
    parser.add_argument(
        "--keep-verdicts",
        action="store_true",
        help="keep each library's Level-2 verdict cache between trials (default: cleared)",
    )
    parser.add_argument("--summary", action="store_true", help="only summarize --results")
    parser.add_argument("--list-cases", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    args.levels = [s.strip() for s in args.levels.split(",") if s.strip()]
    for size in args.sizes:
        if size not in SIZES:
            parser.error(f"unknown size {size}")
    for level in args.levels:
        if level not in LEVELS:
            parser.error(f"unknown level {level}")
    args.case_list = select_cases(args.cases)
    if isinstance(args.case_list, str):
        parser.error(args.case_list)
    args.model = args.model or (DEFAULT_FAKE_MODEL if args.fake else "qwen2:7b-instruct")
    return args


def select_cases(spec: str) -> tuple[Case, ...] | str:
    """Cases named (or of the kinds named) in a comma list, in the order listed, so a run that
    may have to stop early can put one case of every kind first; all cases for an empty list.
    An error message for unknown names."""
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in CASES_BY_NAME and w not in KINDS]
    if unknown:
        return f"unknown cases {unknown}"
    chosen: dict[str, Case] = {}
    for name in wanted or [c.name for c in CASES]:
        for case in CASES:
            if case.name == name or case.kind == name:
                chosen.setdefault(case.name, case)
    return tuple(chosen.values())


def run_config(args: argparse.Namespace, size: str) -> dict[str, Any]:
    """What makes two trials comparable; a trial is resumed only under the same config."""
    return {
        "size": size,
        "seed": args.seed,
        "model": "fake-oracle" if args.fake else args.model,
        "read_budget": args.read_budget,
        "parallel": args.parallel,
        "settings": sorted(args.setting),
        "ask_args": args.ask_arg,
    }


def print_summary(records: list[dict[str, Any]], args: argparse.Namespace, labels: list[str]):
    for size in args.sizes:
        config = run_config(args, size)
        names = {c.name for c in args.case_list}
        trials = [
            r
            for r in latest(records)
            if r["config"] == config and r["case"] in names and r["checkout"] in labels
        ]
        if not trials:
            continue
        print(f"\n## {size}, {config['model']}: {len(trials)} trials\n")
        print(summarize(trials, labels, args.levels))
        print()
        print(case_matrix(trials, labels, args.levels))
        commits = {(t["checkout"], t["commit"]) for t in trials}
        for label in labels:
            seen = sorted(commit for name, commit in commits if name == label)
            if len(seen) > 1:
                print(f"!! {label} was measured at several commits: {', '.join(seen)}")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through run_ask, which stops the running question


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = parse_args(argv)
    problems = check_cases()
    if problems or args.list_cases:
        for case in args.case_list:
            print(f"{case.name:28} {case.kind:13} {case.lang}  {case.question}")
        print("\n".join(problems))
        return 1 if problems else 0
    if not CORPORA.is_dir():
        print(f"corpora not found at {CORPORA}", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    specs = args.checkout or [f"here={ROOT}"]
    labels = [spec.partition("=")[0] for spec in specs]
    if len(set(labels)) != len(labels):
        raise SystemExit("checkout labels must differ")
    results = args.results or args.work / "results.jsonl"
    if args.summary:
        print_summary(load_results(results), args, labels)
        return 0
    checkouts = [resolve_checkout(spec, args.python, args.work) for spec in specs]
    fake = None
    if args.fake:
        from tests.helpers.fake_ollama import FakeOllama

        fake = FakeOllama(responder=oracle_responder(CASES)).start()
        args.host = fake.url
    for checkout in checkouts:
        print(f"checkout {checkout.label}: {checkout.path} @ {checkout.commit} ({checkout.entry})")
    print(
        f"qa_bench: host={args.host} model={args.model} fake={args.fake} "
        f"read_budget={args.read_budget} parallel={args.parallel} timeout={args.timeout:.0f}s "
        f"cases={len(args.case_list)} levels={','.join(args.levels)} results={results}",
        flush=True,
    )
    try:
        for size in args.sizes:
            run_size(args, size, checkouts, results)
    finally:
        if fake is not None:
            if fake.rejections:
                print(f"!! the fake server rejected {len(fake.rejections)} over-budget prompts")
            fake.stop()
    print_summary(load_results(results), args, labels)
    return 0


def run_size(args: argparse.Namespace, size: str, checkouts: list[Checkout], results: Path) -> None:
    haystack = args.work / f"haystack-{size}-s{args.seed}"
    manifest = build_haystack(haystack, SIZES[size], args.seed)
    config = run_config(args, size)
    settings = [
        f"ollama_host={args.host}",
        f"model={args.model}",
        f"read_budget={args.read_budget}",
        f"parallel_requests={args.parallel}",
        *args.setting,
    ]
    libraries: dict[str, Library] = {}
    for checkout in checkouts:
        model_kind = "fake" if args.fake else "model"
        data_dir = args.work / f"data-{checkout.label}-{size}-s{args.seed}-{model_kind}"
        library = prepare_library(checkout, haystack, data_dir, settings, args.work)
        locate_facts(library, haystack, manifest.fact_files, args.work)
        libraries[checkout.label] = library
        missing = [s for s, ids in library.fact_chunks.items() if not ids]
        print(
            f"\n## {size} [{checkout.label}]: {len(manifest.files)} text files (~"
            f"{manifest.text_tokens:,} tokens) + {len(manifest.pdfs)} PDFs, "
            f"{library.chunks:,} chunks, indexed in {library.index_seconds:.1f} s "
            f"({library.index_summary.get('errors', 0)} files not indexable); "
            f"{len(manifest.fact_files) - len(missing)}/{len(manifest.fact_files)} planted "
            "sentences located",
            flush=True,
        )
        for sentence in missing:
            print(f"   !! not found in the index: {sentence}")
        append_result(
            results,
            {
                "record": "index",
                "checkout": checkout.label,
                "commit": checkout.commit,
                "config": config,
                "chunks": library.chunks,
                "text_tokens": manifest.text_tokens,
                "files": len(manifest.files),
                "pdfs": len(manifest.pdfs),
                "index_seconds": round(library.index_seconds, 2),
                "index_summary": {
                    k: v for k, v in library.index_summary.items() if k != "problems"
                },
                "time": time.time(),
            },
        )
    if not args.fake:  # a stopped earlier run may have left requests on a one-slot server
        print(f"   waited {wait_for_idle_server(args.host, args.model):.0f} s for the model server")
    done = {trial_key(r) for r in load_results(results) if is_settled(r, args.timeout)}
    for case in args.case_list:
        for level in args.levels:
            for checkout in checkouts:
                record = {"checkout": checkout.label, "case": case.name, "level": level}
                record["config"] = config
                if trial_key(record) in done:
                    continue
                library = libraries[checkout.label]
                trial = ask_case(args, checkout, library, case, level)
                record = {"record": "trial", **record, "commit": checkout.commit, **trial}
                append_result(results, record)
                print(_trial_line(record), flush=True)


def ask_case(
    args: argparse.Namespace, checkout: Checkout, library: Library, case: Case, level: str
) -> dict[str, Any]:
    if not args.keep_verdicts:
        for cached in (library.data_dir / "cache").glob("verdict*"):
            cached.unlink()
    command = checkout.needle(
        library.data_dir,
        "ask",
        "--json",
        "--level",
        level,
        "--host",
        args.host,
        "--model",
        args.model,
        *args.ask_arg,
        case.question,
    )
    load_before = os.getloadavg()[0]
    raw = run_ask(command, checkout.env(), args.work, args.timeout)
    trial = tally(case, raw, library)
    trial["kind"] = case.kind
    trial["lang"] = case.lang
    trial["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    trial["time"] = time.time()
    trial["timeout_cap"] = args.timeout
    if raw["timed_out"] and not args.fake:
        trial["server_busy_after_stop"] = round(wait_for_idle_server(args.host, args.model), 1)
    return trial


def _trial_line(r: dict[str, Any]) -> str:
    mark = _cell(r)
    levels = "→".join(str(level) for level in r["levels_run"]) or "-"
    reason = f" grounded={r['grounded']}" if r["grounded"] is not None else ""
    return (
        f"  {r['checkout']:<10} L{r['level']:<4} {r['case']:<26} {mark:<16} levels={levels:<6} "
        f"calls={r['model_calls']:<3} prompt={r['prompt_tokens']:<7} "
        f"read={r['chunks_read']}/{r['chunks_relevant']}rel{reason} "
        f"{(r['error'] or r['answer'])[:100]!r}"
    )


if __name__ == "__main__":
    sys.exit(main())
