"""Fault campaign: the crash, hostile-file, protocol and model-server trials of issue 9, repeatable.

    .venv/bin/python bench/fault_campaign.py [--kills N] [--hostile-rounds N] [--protocol N]
                                            [--trickles N] [--seed S] [--json out.json]

Every trial runs the real `needle` program (`python -m engine`) in a temporary NEEDLE_HOME and
prints one line; each family ends with "survived/total". A trial survives when:

- kill: `needle index` of a copy of a small generated corpus (notes and PDFs) is killed with
  SIGKILL at a random moment; then `doctor` finds the catalog, the index and the files checks
  clean (the index check compares the index's chunk count with the catalog's), no extraction
  worker outlives the kill, a rerun of `needle index` completes, and every note is searchable.
- hostile: a folder holding one hostile thing (a non-UTF-8 name, a tree 1,000 levels deep, one
  past PATH_MAX, a link out to /etc/passwd, an empty file, binary data named .md, a 5 MB line,
  corrupt / encrypted / crafted PDFs, `max_file_mb=NaN`, `index --watch` over a deep tree)
  beside an ordinary note: indexing ends without a traceback, the note is searchable, nothing
  from outside the folder is, and `doctor`'s library checks pass.
- protocol: a malformed or abusive line sent to `needle serve` (deep JSON, lone surrogates,
  8 MB lines, unknown methods, wrong types, NUL bytes, random bytes, 1 MB queries): the engine
  answers it with an error (or ignores it, for lines that are not requests) and still answers
  `ping` within 5 s.
- trickle: `needle ask` against a fake Ollama (tests/helpers/fake_ollama.py) that trickles one
  byte every 0.1 s and never ends a line, with `request_timeout=3`: `ask` fails with `timeout`
  within 15 s instead of hanging.

The quick default (a few trials each) takes under 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.service.protocol import PROTOCOL_VERSION
from tests.helpers.deep_tree import build_deep_tree, remove_deep_tree
from tests.helpers.fake_ollama import Failure, FakeOllama
from tests.helpers.pdf_factory import (
    write_corrupt_pdf,
    write_heavy_forms_pdf,
    write_pdf,
)

ROOT = Path(__file__).resolve().parents[1]
LIBRARY_CHECKS = ("catalog", "index", "files", "settings", "data folder")
WORDS = (
    *("harbour", "lighthouse", "granite", "meadow", "copper", "lantern", "orchard", "violet"),
    *("thunder", "saffron", "glacier", "marble", "quartz", "willow", "falcon", "pebble", "ember"),
)


@dataclass
class Trial:
    family: str
    name: str
    survived: bool
    seconds: float
    detail: str = ""


@dataclass
class Campaign:
    trials: list[Trial] = field(default_factory=list)

    def record(self, family: str, name: str, run: Callable[[], str]) -> None:
        """Run one trial: `run` returns "" when it survived, else what went wrong."""
        started = time.monotonic()
        try:
            problem = run()
        except Exception as error:  # a trial that breaks the harness counts as not survived
            problem = f"{type(error).__name__}: {error}"
        trial = Trial(family, name, not problem, round(time.monotonic() - started, 2), problem)
        self.trials.append(trial)
        verdict = "survived" if trial.survived else f"FAILED: {problem[:300]}"
        print(f"  {family:9} {name:34} {trial.seconds:6.1f} s  {verdict}", flush=True)

    def summary(self) -> dict[str, tuple[int, int]]:
        families: dict[str, tuple[int, int]] = {}
        for trial in self.trials:
            survived, total = families.get(trial.family, (0, 0))
            families[trial.family] = (survived + trial.survived, total + 1)
        return families


# ---------------------------------------------------------------------------------------------
# Running needle


def needle_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, NEEDLE_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("OLLAMA_HOST", None)
    return env


def needle(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        env=needle_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def crashed(result: subprocess.CompletedProcess[str]) -> str:
    """What looks like a crash in a finished command: a traceback, or an exit code that is none
    of the documented ones (0 done, 1 the work failed, 2 the user's mistake)."""
    if "Traceback (most recent call last)" in result.stderr:
        return "traceback: " + result.stderr.strip().splitlines()[-1]
    if result.returncode not in (0, 1, 2):
        return f"exit code {result.returncode}: {result.stderr.strip()[-200:]}"
    return ""


def library_problems(home: Path) -> str:
    """The failed library checks of `needle doctor` ("" when clean)."""
    result = needle(home, "doctor", "--json")
    try:
        checks = json.loads(result.stdout)["checks"]
    except (ValueError, KeyError):
        return f"doctor gave no report: {crashed(result) or result.stderr[-200:]}"
    failed = [
        f"{c['name']}: {c['message']}"
        for c in checks
        if c["name"] in LIBRARY_CHECKS and c["status"] != "ok"
    ]
    return "; ".join(failed)


def hits(home: Path, query: str) -> int:
    result = needle(home, "search", query, "--json", "-k", "50")
    try:
        return int(json.loads(result.stdout)["count"])
    except (ValueError, KeyError):
        return -1


def add_folder(home: Path, folder: Path) -> str:
    result = needle(home, "folders", "add", str(folder))
    return "" if result.returncode == 0 else f"folders add failed: {result.stderr.strip()[-200:]}"


# ---------------------------------------------------------------------------------------------
# kill -9 during `needle index`


def make_corpus(folder: Path, rng: random.Random, notes: int = 240, pdfs: int = 8) -> None:
    """Notes in a few folders, each with a unique word (`uniqN`) and common ones, and PDFs."""
    for number in range(notes):
        sub = folder / f"topic{number % 6}"
        sub.mkdir(parents=True, exist_ok=True)
        body = " ".join(rng.choice(WORDS) for _ in range(400))
        (sub / f"note{number}.md").write_text(f"# Note {number}\n\nuniq{number} {body}\n", "utf-8")
    for number in range(pdfs):
        pages = [f"uniqpdf{number} page {p} " + " ".join(rng.sample(WORDS, 8)) for p in range(3)]
        write_pdf(folder / f"paper{number}.pdf", pages)


def workers_left(session: int) -> list[int]:
    """Processes of the killed command's session still alive (its extraction workers)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # session id, state
            alive.append(int(entry.name))
    return alive


def kill_trial(corpus: Path, work: Path, rng: random.Random, full_seconds: float) -> str:
    home, notes = work / "home", work / "notes"
    shutil.copytree(corpus, notes)
    if problem := add_folder(home, notes):
        return problem
    command = subprocess.Popen(
        [sys.executable, "-m", "engine", "index", "-q"],
        env=needle_env(home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(rng.uniform(0.2, full_seconds))
    command.send_signal(signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 5
    while workers_left(command.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left := workers_left(command.pid):
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        return f"{len(left)} worker(s) outlived the killed index"
    if problem := library_problems(home):
        return f"after the kill: {problem}"
    rerun = needle(home, "index", "-q")
    if rerun.returncode != 0:
        return f"the rerun failed ({rerun.returncode}): {rerun.stderr.strip()[-200:]}"
    if problem := library_problems(home):
        return f"after the rerun: {problem}"
    last_note = sum(1 for _ in notes.rglob("*.md")) - 1
    for probe in ("uniq0", f"uniq{last_note}", "uniqpdf3"):
        if hits(home, probe) < 1:
            return f"{probe} is not searchable after the rerun"
    return ""


def kill_family(
    campaign: Campaign, trials: int, rng: random.Random, work: Path, notes: int
) -> None:
    corpus = work / "corpus"
    make_corpus(corpus, rng, notes)
    timing = work / "timing"
    shutil.copytree(corpus, timing / "notes")
    add_folder(timing / "home", timing / "notes")
    started = time.monotonic()
    needle(timing / "home", "index", "-q")
    full_seconds = time.monotonic() - started
    print(f"  (an uninterrupted index of the corpus takes {full_seconds:.1f} s)", flush=True)
    for number in range(trials):
        trial_dir = work / f"kill{number}"
        campaign.record(
            "kill",
            f"kill -9 #{number + 1}",
            partial(kill_trial, corpus, trial_dir, rng, full_seconds),
        )
        shutil.rmtree(trial_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Hostile files


def _non_utf8_name(folder: Path) -> str:
    (folder / os.fsdecode(b"caf\xe9 okapi.md")).write_text("latin name zebu", "utf-8")
    return "zebu"  # this word must be found


def _deep_tree(folder: Path) -> str:
    build_deep_tree(folder / "deep", 999, text="bottom yak")
    return "yak"


def _past_path_max(folder: Path) -> str:
    build_deep_tree(folder / "long", 250, name="folder-name-of-twenty", text="unreachable gnu")
    return ""


def _link_out(folder: Path) -> str:
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "proc").symlink_to("/proc/self")
    return ""


def _zero_byte(folder: Path) -> str:
    (folder / "empty.md").write_bytes(b"")
    return ""


def _binary_md(folder: Path) -> str:
    (folder / "binary.md").write_bytes(random.Random(7).randbytes(200_000))
    return ""


def _huge_line(folder: Path) -> str:
    (folder / "line.md").write_text("tapir " + "x" * (5 << 20), "utf-8")
    return ""


def _corrupt_pdf(folder: Path) -> str:
    write_corrupt_pdf(folder / "corrupt.pdf")
    (folder / "truncated.pdf").write_bytes(
        write_pdf(folder / "whole.pdf", ["ibex page"]).read_bytes()[:300]
    )
    return "ibex"


def _encrypted_pdf(folder: Path) -> str:
    write_pdf(folder / "secret.pdf", ["hidden words"], password="s3cret")
    return ""


def _crafted_pdf(folder: Path) -> str:
    write_heavy_forms_pdf(folder / "forms.pdf", operations=20_000, pages=1)
    return ""


HOSTILE: dict[str, Callable[[Path], str]] = {
    "non-UTF-8 name": _non_utf8_name,
    "1,000 levels deep": _deep_tree,
    "past PATH_MAX": _past_path_max,
    "links out (/etc/passwd, /proc)": _link_out,
    "zero-byte file": _zero_byte,
    "binary data as .md": _binary_md,
    "a 5 MB line": _huge_line,
    "corrupt and truncated PDFs": _corrupt_pdf,
    "encrypted PDF": _encrypted_pdf,
    "crafted heavy-forms PDF": _crafted_pdf,
}


def hostile_trial(work: Path, plant: Callable[[Path], str]) -> str:
    home, folder = work / "home", work / "notes"
    folder.mkdir(parents=True)
    (folder / "ordinary.md").write_text("# Ordinary\n\nThe okapi lives in the forest.\n", "utf-8")
    try:
        expected = plant(folder)
        if problem := add_folder(home, folder):
            return problem
        result = needle(home, "index", "--json")
        if problem := crashed(result):
            return f"index: {problem}"
        if hits(home, "okapi") < 1:
            return "the ordinary note is not searchable"
        if expected and hits(home, expected) < 1:
            return f"{expected!r} (a file that should be indexed) is not searchable"
        if hits(home, "root") > 0:
            return "text from outside the folder (/etc/passwd) is searchable"
        return library_problems(home)
    finally:
        for deep in (folder / "deep", folder / "long"):
            remove_deep_tree(deep)


def nan_setting_trial(work: Path) -> str:
    home, folder = work / "home", work / "notes"
    folder.mkdir(parents=True)
    (folder / "ordinary.md").write_text("The okapi lives in the forest.\n", "utf-8")
    if problem := add_folder(home, folder):
        return problem
    for value in ("NaN", "Infinity", "1e400", "-5"):
        refused = needle(home, "settings", f"max_file_mb={value}")
        if refused.returncode != 2 or crashed(refused):
            return f"max_file_mb={value} was not refused (exit {refused.returncode})"
    result = needle(home, "index", "-q")
    if result.returncode != 0:
        return f"index after the refused settings failed: {result.stderr[-200:]}"
    return "" if hits(home, "okapi") == 1 else "the note is not searchable"


def watch_deep_trial(work: Path) -> str:
    """`needle index --watch` over a folder 1,000 levels deep: keeps running and indexes a note
    written beside it, and another after a second deep tree is moved in."""
    home, folder, other = work / "home", work / "notes", work / "other"
    build_deep_tree(folder / "deep", 999, text="bottom yak")
    other.mkdir()
    try:
        if problem := add_folder(home, folder) or add_folder(home, other):
            return problem
        watcher = subprocess.Popen(
            [sys.executable, "-m", "engine", "index", "--watch"],
            env=needle_env(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        try:
            # Changes made before the watch starts are the next reconcile's (`index --watch`
            # indexes, then watches): write the note once it says it is watching.
            assert watcher.stdout is not None
            for line in watcher.stdout:
                if line.startswith("Watching"):
                    break
            else:
                return f"index --watch ended ({watcher.wait()}) before watching"
            threading.Thread(target=watcher.stdout.read, daemon=True).start()
            if hits(home, "yak") < 1:
                return "the note 1,000 levels down is not searchable"
            (folder / "later.md").write_text("written while watching, wapiti", "utf-8")
            if problem := _shows_up(home, watcher, "wapiti"):
                return problem
            # A deep tree moved into the folder watched by events (watchdog walks it on the
            # reader thread the folders share), then a note beside it.
            build_deep_tree(work / "outside", 999, text="moved in yak")
            (work / "outside").rename(other / "moved")
            (other / "after.md").write_text("written after the move, quokka", "utf-8")
            if problem := _shows_up(home, watcher, "quokka"):
                return f"after a deep tree was moved in: {problem}"
        finally:
            watcher.send_signal(signal.SIGINT)
            try:
                _, stderr = watcher.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                watcher.kill()
                return "index --watch did not stop on SIGINT"
        if "Traceback" in stderr:
            return "traceback: " + stderr.strip().splitlines()[-1]
        return ""
    finally:
        remove_deep_tree(folder / "deep")
        remove_deep_tree(other / "moved")
        remove_deep_tree(work / "outside")


def _shows_up(home: Path, watcher: subprocess.Popen[str], word: str) -> str:
    """ "" once `word` is searchable, within 20 s, while `index --watch` keeps running."""
    deadline = time.monotonic() + 20
    while hits(home, word) < 1:
        if watcher.poll() is not None:
            return f"index --watch crashed ({watcher.returncode})"
        if time.monotonic() > deadline:
            return f"a note written while watching ({word}) was not indexed within 20 s"
        time.sleep(0.5)
    return ""


def hostile_family(campaign: Campaign, rounds: int, work: Path, only: list[str]) -> None:
    """`only`: run just the trials whose names contain one of these (all when empty)."""

    def chosen(name: str) -> bool:
        return not only or any(part in name for part in only)

    for round_number in range(rounds):
        for name, plant in HOSTILE.items():
            if not chosen(name):
                continue
            trial_dir = work / f"hostile{round_number}-{len(campaign.trials)}"
            campaign.record("hostile", name, partial(hostile_trial, trial_dir, plant))
            shutil.rmtree(trial_dir, ignore_errors=True)
        for name, run in (
            ("NaN and other bad settings", nan_setting_trial),
            ("index --watch over a deep tree", watch_deep_trial),
        ):
            if not chosen(name):
                continue
            trial_dir = work / f"hostile{round_number}-{len(campaign.trials)}"
            campaign.record("hostile", name, partial(run, trial_dir))
            shutil.rmtree(trial_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Malformed protocol lines against `needle serve`


def _deep_json(rng: random.Random) -> bytes:
    depth = rng.choice((1_000, 10_000, 100_000))
    return b'{"id": 5, "method": "search", "params": ' + b"[" * depth + b"]" * depth + b"}"


def _lone_surrogate(rng: random.Random) -> bytes:
    return b'{"id": 5, "method": "search", "params": {"query": "a\\ud800b"}}'


def _huge_line(rng: random.Random) -> bytes:
    return b'{"id": 5, "method": "search", "params": {"query": "' + b"a" * (8 << 20) + b'"}}'


def _big_query(rng: random.Random) -> bytes:
    words = " ".join(f"w{n}" for n in range(150_000))
    return json.dumps({"id": 5, "method": "search", "params": {"query": words}}).encode()


def _unknown_method(rng: random.Random) -> bytes:
    return json.dumps(
        {"id": 5, "method": rng.choice(("drop_all", "__init__", "", "search "))}
    ).encode()


def _wrong_types(rng: random.Random) -> bytes:
    return rng.choice(
        (
            b'{"id": "5", "method": "search", "params": {"query": "x"}}',
            b'{"id": 5, "method": "search", "params": ["x"]}',
            b'{"id": 5, "method": "search", "params": {"query": 7, "limit": -1}}',
            b'{"id": 5, "method": "search", "params": {"query": "x", "limit": 1e400}}',
            b"[1, 2, 3]",
            b'"just a string"',
            b"null",
        )
    )


def _nul_path(rng: random.Random) -> bytes:
    return b'{"id": 5, "method": "folders.add", "params": {"path": "/tmp/a\\u0000b"}}'


def _not_json(rng: random.Random) -> bytes:
    return rng.choice(
        (b"{", b"{'id': 5}", b"\xff\xfe\xfd", rng.randbytes(200).replace(b"\n", b" "))
    )


PROTOCOL: dict[str, Callable[[random.Random], bytes]] = {
    "deep JSON": _deep_json,
    "lone surrogate": _lone_surrogate,
    "8 MB line": _huge_line,
    "150,000-word query": _big_query,
    "unknown method": _unknown_method,
    "wrong types": _wrong_types,
    "NUL in a path": _nul_path,
    "not JSON": _not_json,
}


class Served:
    """`needle serve` with a reader thread, so a reply can be awaited with a timeout."""

    def __init__(self, home: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve"],
            env=needle_env(home),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 100

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                self.lines.put({"type": "garbage", "line": line[:200].decode("utf-8", "replace")})

    def send(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()

    def call(self, method: str, params: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        self.next_id += 1
        self.send(json.dumps({"id": self.next_id, "method": method, "params": params}).encode())
        return self.reply_to({self.next_id}, timeout)

    def reply_to(self, requests: set[int | None], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if message.get("id") in requests and message.get("type") in ("result", "error"):
                return message
        return {"type": "none"}

    def close(self) -> None:
        with_timeout = 10
        try:
            self.send(b'{"id": 1, "method": "shutdown"}')
            self.process.wait(timeout=with_timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def protocol_trial(served: Served, line: bytes) -> str:
    if served.process.poll() is not None:
        return f"the engine had exited ({served.process.returncode})"
    served.send(line)
    # A request gets its error under its id; a line the engine cannot read as one (too deep,
    # not JSON), under no id.
    answer = served.reply_to({5, None}, 30)
    if answer["type"] == "none" and line.strip() and line.strip() != b"null":
        return "no reply to the malformed line within 30 s"
    if answer["type"] == "result":
        return "a malformed request got a result"
    ping = served.call("ping", {}, timeout=5)
    if ping.get("type") != "result":
        alive = served.process.poll() is None
        return f"no answer to ping afterwards (engine {'alive' if alive else 'gone'})"
    if answer["type"] == "error" and answer["error"]["kind"] == "internal":
        return f"answered `internal`: {answer['error']['message'][:120]}"
    return ""


def protocol_family(campaign: Campaign, trials: int, rng: random.Random, work: Path) -> None:
    home = work / "serve-home"
    (work / "serve-notes").mkdir(parents=True)
    (work / "serve-notes" / "a.md").write_text("The okapi.", "utf-8")
    add_folder(home, work / "serve-notes")
    served = Served(home)
    try:
        hello = served.call("handshake", {"protocol": PROTOCOL_VERSION, "client": "fault-campaign"})
        if hello.get("type") != "result":
            campaign.record("protocol", "handshake", lambda: f"no handshake: {hello}")
            return
        kinds = list(PROTOCOL)
        for number in range(trials):
            name = kinds[number] if number < len(kinds) else rng.choice(kinds)
            line = PROTOCOL[name](rng)
            campaign.record("protocol", name, partial(protocol_trial, served, line))
    finally:
        served.close()


# ---------------------------------------------------------------------------------------------
# A model server that trickles


def trickle_trial(work: Path, fake: FakeOllama) -> str:
    home, folder = work / "home", work / "notes"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("# Okapi\n\nThe okapi lives in the Ituri forest.\n", "utf-8")
    if problem := add_folder(home, folder):
        return problem
    needle(home, "index", "-q")
    settings = needle(
        home, "settings", f"ollama_host={fake.url}", "model=qwen2:7b-instruct", "request_timeout=3"
    )
    if settings.returncode != 0:
        return f"settings refused: {settings.stderr[-200:]}"
    fake.fail_next(Failure(mode="trickle", seconds=60.0), times=20)
    started = time.monotonic()
    try:
        result = needle(home, "ask", "Where does the okapi live?", "--json", timeout=45)
    except subprocess.TimeoutExpired:
        return "ask still running after 45 s"
    took = time.monotonic() - started
    if problem := crashed(result):
        return problem
    if took > 15:
        return f"ask took {took:.0f} s with request_timeout=3"
    if result.returncode == 0:
        return "ask succeeded against a server that never finished a line"
    return (
        ""
        if '"timeout"' in result.stdout or "timeout" in result.stderr
        else (f"failed, but not with `timeout`: {(result.stdout + result.stderr)[-200:]}")
    )


def trickle_family(campaign: Campaign, trials: int, work: Path) -> None:
    with FakeOllama() as fake:
        for number in range(trials):
            trial_dir = work / f"trickle{number}"
            campaign.record(
                "trickle",
                f"trickling server #{number + 1}",
                partial(trickle_trial, trial_dir, fake),
            )
            shutil.rmtree(trial_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------


def run_campaign(
    *,
    kills: int,
    hostile_rounds: int,
    protocol: int,
    trickles: int,
    seed: int,
    notes: int = 240,
    hostile_only: list[str] | None = None,
) -> Campaign:
    rng = random.Random(seed)
    campaign = Campaign()
    with tempfile.TemporaryDirectory(prefix="needle-faults-") as scratch:
        work = Path(scratch)
        if kills:
            print(f"kill -9 during `needle index` ({kills} trials)", flush=True)
            kill_family(campaign, kills, rng, work / "kills", notes)
        if hostile_rounds:
            print(f"hostile files ({hostile_rounds} round(s))", flush=True)
            hostile_family(campaign, hostile_rounds, work / "hostile", hostile_only or [])
        if protocol:
            print(f"malformed protocol lines ({protocol} trials)", flush=True)
            protocol_family(campaign, protocol, rng, work / "protocol")
        if trickles:
            print(f"trickling model server ({trickles} trials)", flush=True)
            trickle_family(campaign, trickles, work / "trickle")
    return campaign


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=6, help="kill -9 trials")
    parser.add_argument("--hostile-rounds", type=int, default=1, help="rounds of hostile files")
    parser.add_argument("--protocol", type=int, default=16, help="malformed protocol lines")
    parser.add_argument("--trickles", type=int, default=1, help="trickling model server trials")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--notes", type=int, default=240, help="notes in the kill corpus")
    parser.add_argument(
        "--hostile-only",
        action="append",
        default=[],
        metavar="TEXT",
        help="run only the hostile trials whose name contains TEXT (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="write every trial here")
    args = parser.parse_args(argv)
    started = time.monotonic()
    campaign = run_campaign(
        kills=args.kills,
        hostile_rounds=args.hostile_rounds,
        protocol=args.protocol,
        trickles=args.trickles,
        seed=args.seed,
        notes=args.notes,
        hostile_only=args.hostile_only,
    )
    print(f"\nsurvived/total (seed {args.seed}, {time.monotonic() - started:.0f} s):")
    for family, (survived, total) in campaign.summary().items():
        print(f"  {family:9} {survived}/{total}")
    if args.json:
        args.json.write_text(json.dumps([asdict(t) for t in campaign.trials], indent=1), "utf-8")
    return 0 if all(t.survived for t in campaign.trials) else 1


if __name__ == "__main__":
    sys.exit(main())
