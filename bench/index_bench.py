"""Indexing and search benchmark of the whole pipeline, through the same Engine the CLI uses.

    .venv/bin/python bench/index_bench.py CORPUS_DIR [--baseline-budget 120] [--json out.json]

In a temporary NEEDLE_HOME it measures:
- cold index time of CORPUS_DIR, as MB/s of source files and of extracted text, and files/s;
- index size / extracted text size;
- re-scan time when nothing changed;
- search latency p50/p95 over a fixed set of English and Chinese queries, both the search-box
  syntax (`Engine.search`) and the agent's keyword search (`ChunkIndex.search_keywords`);
- peak RSS of this process and of its children (the extraction pool);
- PDF pages/s with PDFium and with pypdf, the share of the sample PDFs (CORPUS_DIR/pdfs) that
  become searchable with and without OCR, and OCR pages/s (bench/pdf_ocr.py; --no-pdfs skips);
- the reference implementation's way of answering the same queries: rank_bm25's BM25Okapi
  rebuilt from every chunk text on every query, with pure-Python tokenization (lower case, split
  on non-word characters, CJK one character per token), timed per query and given as a ratio.
  The baseline takes seconds per query on a large corpus, so it runs on as many queries of the
  set as fit in --baseline-budget seconds (alternating English and Chinese) and says how many.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rank_bm25 import BM25Okapi

from bench import pdf_ocr
from engine.api import Engine
from engine.search.index import ChunkIndex

ENGLISH_QUERIES = (
    "git rebase interactive",
    "docker compose volumes",
    "postgres index performance",
    "python virtual environment",
    "ssh key agent forwarding",
    "kubernetes deployment rollout",
    "javascript async await promise",
    "css grid layout",
    "sqlite full text search",
    "startup founders fundraising",
    "investors seed round",
    "how to do great work",
    "programming language design lisp",
    "essay writing and thinking",
    "pdf form fields",
)
CHINESE_QUERIES = (
    "前端工程师",
    "人工智能 模型",
    "开源软件 许可证",
    "程序员 职业",
    "数据库 性能",
    "孙悟空 金箍棒",
    "猪八戒 师父",
    "观音菩萨",
    "贾宝玉 林黛玉",
    "王熙凤",
    "大观园",
    "每周分享 科技",
    "电动汽车 电池",
    "搜索引擎",
    "互联网 公司",
)
SEARCH_REPEATS = 5  # each query is timed this many times after one warm-up
TOP_K = 10

_WORD_RE = re.compile(r"\w+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass
class Latency:
    """Wall-clock latency, and the CPU time of the calling thread, which other processes on a
    busy machine disturb much less than the wall clock."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    max_ms: float
    cpu_p50_ms: float
    cpu_p95_ms: float

    @classmethod
    def of(cls, samples: Sequence[tuple[float, float]]) -> Latency:
        wall = sorted(w * 1000 for w, _ in samples)
        cpu = sorted(c * 1000 for _, c in samples)
        return cls(
            p50_ms=round(percentile(wall, 50), 3),
            p95_ms=round(percentile(wall, 95), 3),
            mean_ms=round(statistics.fmean(wall), 3),
            max_ms=round(wall[-1], 3),
            cpu_p50_ms=round(percentile(cpu, 50), 3),
            cpu_p95_ms=round(percentile(cpu, 95), 3),
        )


@dataclass
class BaselineResult:
    queries: list[str]
    seconds_per_query: list[float]
    top10_overlap: float  # mean share of the baseline's top 10 chunks that Needle also ranks top 10
    note: str

    @property
    def mean_seconds(self) -> float:
        return statistics.fmean(self.seconds_per_query) if self.seconds_per_query else 0.0


@dataclass
class Report:
    corpus: str
    files: int
    indexed_files: int
    problem_files: int
    chunks: int
    source_mb: float
    text_mb: float
    cold_seconds: float
    source_mb_per_s: float
    text_mb_per_s: float
    files_per_s: float
    index_mb: float
    index_to_text: float
    rescan_seconds: float
    rescan_changed: int
    search: Latency
    search_keywords: Latency
    peak_rss_mb_self: float
    peak_rss_mb_children: float
    baseline_seconds_per_query: float = 0.0
    baseline_queries: int = 0
    speedup_vs_baseline: float = 0.0
    baseline_top10_overlap: float = 0.0
    notes: list[str] = field(default_factory=list)


def percentile(ordered: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its (waited-for) children, in MB."""
    to_mb = 1 / 1024 if sys.platform != "darwin" else 1 / (1024 * 1024)  # KB on Linux, B on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb
    return round(own, 1), round(children, 1)


def load_average() -> str:
    """Other processes share the two cores; say how busy the machine was."""
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "unknown"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def reference_tokenize(text: str) -> list[str]:
    """The reference implementation's tokenizer: lower case, words split on non-word characters,
    and every CJK character its own token."""
    tokens: list[str] = []
    for word in _WORD_RE.findall(text.lower()):
        if _CJK_RE.search(word):
            tokens.extend(_split_cjk(word))
        else:
            tokens.append(word)
    return tokens


def _split_cjk(word: str) -> list[str]:
    pieces: list[str] = []
    run = ""
    for char in word:
        if _CJK_RE.match(char):
            if run:
                pieces.append(run)
                run = ""
            pieces.append(char)
        else:
            run += char
    if run:
        pieces.append(run)
    return pieces


def baseline_top_k(chunk_texts: Sequence[str], query: str, k: int = TOP_K) -> list[int]:
    """One question answered the reference way: rebuild BM25 from all chunk texts, then rank."""
    corpus = [reference_tokenize(text) for text in chunk_texts]
    bm25 = BM25Okapi(corpus)
    scores = bm25.get_scores(reference_tokenize(query))
    ranked = sorted(range(len(chunk_texts)), key=lambda i: scores[i], reverse=True)
    return [i for i in ranked[:k] if scores[i] > 0]


def interleaved_queries() -> list[str]:
    mixed: list[str] = []
    for english, chinese in zip(ENGLISH_QUERIES, CHINESE_QUERIES, strict=True):
        mixed += [english, chinese]
    return mixed


def wall_and_cpu(action: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    action()
    return time.perf_counter() - wall, time.thread_time() - cpu


def measure_search(engine: Engine, queries: Sequence[str]) -> Latency:
    samples: list[tuple[float, float]] = []
    for query in queries:
        engine.search(query, limit=TOP_K)  # warm-up: first use of a term loads its postings
        for _ in range(SEARCH_REPEATS):
            samples.append(wall_and_cpu(partial(engine.search, query, limit=TOP_K)))
    return Latency.of(samples)


def measure_keywords(index: ChunkIndex, queries: Sequence[str]) -> Latency:
    samples: list[tuple[float, float]] = []
    for query in queries:
        words = query.split()
        index.search_keywords(words, limit=TOP_K)
        for _ in range(SEARCH_REPEATS):
            samples.append(wall_and_cpu(partial(index.search_keywords, words, limit=TOP_K)))
    return Latency.of(samples)


def run_baseline(
    index: ChunkIndex, queries: Sequence[str], budget_seconds: float
) -> BaselineResult:
    hits = index.scope_chunks(None)
    texts = [hit.text for hit in hits]
    ids = [hit.chunk_id for hit in hits]
    seconds: list[float] = []
    overlaps: list[float] = []
    done: list[str] = []
    started = time.perf_counter()
    for query in queries:
        if done and time.perf_counter() - started > budget_seconds:
            break
        took, ranked = timed(partial(baseline_top_k, texts, query))
        seconds.append(took)
        done.append(query)
        ours = {hit.chunk_id for hit in index.search_keywords(query.split(), limit=TOP_K)}
        theirs = [ids[i] for i in ranked]
        if theirs:
            overlaps.append(sum(1 for c in theirs if c in ours) / len(theirs))
        print(f"  baseline {len(done)}/{len(queries)}: {query!r} {took:.2f} s", flush=True)
    note = (
        f"baseline measured on {len(done)} of {len(queries)} queries "
        f"(time budget {budget_seconds:.0f} s)"
        if len(done) < len(queries)
        else f"baseline measured on all {len(queries)} queries"
    )
    overlap = statistics.fmean(overlaps) if overlaps else 0.0
    return BaselineResult(done, seconds, round(overlap, 3), note)


def source_megabytes(engine: Engine) -> tuple[int, int, int, float]:
    """Files seen, files indexed, files with problems, and MB of source files seen."""
    report = engine.status()
    records_bytes = sum(
        path.stat().st_size
        for folder in engine.settings.folders
        for path in Path(folder).rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.parts)
    )
    counts = report.counts
    return report.total_files, counts["indexed"], len(report.problems), records_bytes / 1e6


def run(corpus: Path, baseline_budget: float) -> Report:
    with tempfile.TemporaryDirectory(prefix="needle-bench-") as home:
        os.environ["NEEDLE_HOME"] = home
        with Engine.open(home) as engine:
            engine.add_folder(corpus)
            print(f"indexing {corpus} cold …", flush=True)
            cold_seconds, summary = timed(engine.index)
            print(f"  {summary.added} files in {cold_seconds:.1f} s", flush=True)
            rescan_seconds, rescan = timed(engine.index)
            changed = rescan.added + rescan.updated + rescan.renamed + rescan.removed
            files, indexed, problems, source_mb = source_megabytes(engine)
            index_mb = engine.status().index_bytes / 1e6
            queries = interleaved_queries()
            print(f"searching {len(queries)} queries × {SEARCH_REPEATS} …", flush=True)
            search_latency = measure_search(engine, queries)
            index = ChunkIndex.open(engine.paths.index_dir, writable=False)
            keyword_latency = measure_keywords(index, queries)
            chunks = index.scope_chunks(None)
            text_mb = sum(len(hit.text.encode("utf-8")) for hit in chunks) / 1e6
            rss_self, rss_children = peak_rss_mb()
            print("baseline: BM25Okapi rebuilt from all chunks per query …", flush=True)
            baseline = run_baseline(index, queries, baseline_budget)
    # The baseline answers a bag of words with OR semantics, like the agent's keyword search.
    speedup = baseline.mean_seconds / (keyword_latency.mean_ms / 1000) if baseline.queries else 0
    return Report(
        corpus=str(corpus),
        files=files,
        indexed_files=indexed,
        problem_files=problems,
        chunks=len(chunks),
        source_mb=round(source_mb, 2),
        text_mb=round(text_mb, 2),
        cold_seconds=round(cold_seconds, 2),
        source_mb_per_s=round(source_mb / cold_seconds, 2),
        text_mb_per_s=round(text_mb / cold_seconds, 2),
        files_per_s=round(files / cold_seconds, 1),
        index_mb=round(index_mb, 2),
        index_to_text=round(index_mb / text_mb, 2) if text_mb else 0.0,
        rescan_seconds=round(rescan_seconds, 3),
        rescan_changed=changed,
        search=search_latency,
        search_keywords=keyword_latency,
        peak_rss_mb_self=rss_self,
        peak_rss_mb_children=rss_children,
        baseline_seconds_per_query=round(baseline.mean_seconds, 3),
        baseline_queries=len(baseline.queries),
        speedup_vs_baseline=round(speedup, 1),
        baseline_top10_overlap=baseline.top10_overlap,
        notes=[baseline.note, f"load average at the end: {load_average()}"],
    )


def describe_latency(latency: Latency) -> str:
    return (
        f"p50 {latency.p50_ms:.1f} ms, p95 {latency.p95_ms:.1f} ms, max {latency.max_ms:.1f} ms"
        f" (CPU p50 {latency.cpu_p50_ms:.1f} ms, p95 {latency.cpu_p95_ms:.1f} ms)"
    )


def print_report(report: Report) -> None:
    lines = [
        f"corpus                {report.corpus}",
        f"files                 {report.files} ({report.indexed_files} indexed, "
        f"{report.problem_files} not searchable), {report.chunks} chunks",
        f"source / text         {report.source_mb:.1f} MB of files, "
        f"{report.text_mb:.1f} MB of text",
        f"cold index            {report.cold_seconds:.1f} s: {report.source_mb_per_s:.2f} MB/s of "
        f"files, {report.text_mb_per_s:.2f} MB/s of text, {report.files_per_s:.0f} files/s",
        f"index size            {report.index_mb:.1f} MB = {report.index_to_text:.2f} × the text",
        f"re-scan, no change    {report.rescan_seconds:.3f} s ({report.rescan_changed} changed)",
        f"search (box syntax)   {describe_latency(report.search)}",
        f"search (keywords)     {describe_latency(report.search_keywords)}",
        f"peak RSS              {report.peak_rss_mb_self:.0f} MB (this process), "
        f"{report.peak_rss_mb_children:.0f} MB (largest child)",
        f"baseline (rank_bm25)  {report.baseline_seconds_per_query:.2f} s per query over "
        f"{report.baseline_queries} queries; Needle is {report.speedup_vs_baseline:,.0f}× faster "
        f"(mean keyword search); top-10 overlap {report.baseline_top10_overlap:.0%}",
    ]
    lines += [f"note                  {note}" for note in report.notes]
    print("\n".join(lines))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path, help="folder of notes and PDFs to index")
    parser.add_argument(
        "--baseline-budget",
        type=float,
        default=120.0,
        help="seconds the rebuilt-BM25 baseline may take in all (default 120)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--no-pdfs", action="store_true", help="skip the PDF and OCR figures (bench/pdf_ocr.py)"
    )
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"index_bench: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    report = run(args.corpus.resolve(), args.baseline_budget)
    print()
    print_report(report)
    figures: dict[str, Any] = asdict(report)
    if not args.no_pdfs and (args.corpus / "pdfs").is_dir():
        pdfs = pdf_ocr.run(args.corpus.resolve())
        print("\n".join(pdf_ocr.describe(pdfs)))
        figures["pdfs"] = asdict(pdfs)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
