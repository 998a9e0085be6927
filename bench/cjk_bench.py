"""jieba words against character bigrams for the CJK field, measured on the shared corpora.

For each segmentation this builds a fresh index of the Chinese corpora (`weekly`, `novels-zh`)
with planted needles, then reports:
- segmentation speed alone (MB of chunk text per second, one core),
- indexing speed (add_document + commit, MB of chunk text per second) and index size,
- query latency (p50/p95 of `search` and `search_keywords` over a fixed query list),
- recall@1/@5/@10 of the planted needles, queried by keywords and by a paraphrase.
With --all it also indexes every corpus (the whole ~30 MB) once with the chosen segmentation and
reports search latency at that size.

Needles are Chinese sentences inserted into copies of some documents (in a temp folder); the
copies replace the originals in the indexed set, so each needle exists exactly once.

    .venv/bin/python bench/cjk_bench.py [--corpora DIR] [--modes jieba,bigram] [--all] [--json F]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from engine.errors import NeedleError
from engine.ingest.chunk import chunk_document
from engine.ingest.extract import SUPPORTED_EXTENSIONS, extract_file
from engine.models import Chunk, SearchHit
from engine.search.analysis import DEFAULT_SEGMENTATION, SEGMENTATIONS, Segmentation, cjk_field_text
from engine.search.index import ChunkIndex
from engine.textforms import match_form

DEFAULT_CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
CHINESE_CORPORA = ("weekly", "novels-zh")
MAX_FILE_BYTES = 64 * 1024 * 1024
SEED = 20261121
_CPU_SECONDS: dict[str, float] = {}  # index folder name -> CPU seconds (all threads) to build it


@dataclass(frozen=True)
class Needle:
    sentence: str  # planted into one document
    keywords: tuple[str, ...]  # what an agent would search for
    paraphrase: str  # the question a user would type, in other words


NEEDLES: tuple[Needle, ...] = (
    Needle(
        "据说蓝色潜水艇的船长每天早上都要喝三杯桂花乌龙茶。",
        ("潜水艇", "船长", "乌龙茶"),
        "潜艇船长早上喝什么茶",
    ),
    Needle(
        "量子计算机实验室的钥匙藏在图书馆三楼的地球仪里面。",
        ("实验室", "钥匙", "地球仪"),
        "实验室钥匙放在哪里",
    ),
    Needle(
        "小镇的面包师傅发明了一种会发光的萝卜蛋糕，连续卖了九年。",
        ("面包师", "发光", "萝卜蛋糕"),
        "谁发明了发光的蛋糕",
    ),
    Needle(
        "那位天文学家把新发现的彗星命名为“紫藤二号”。",
        ("天文学家", "彗星", "紫藤二号"),
        "新彗星叫什么名字",
    ),
    Needle(
        "我们的Kubernetes集群在凌晨四点因为证书过期而全部宕机。",
        ("Kubernetes", "证书过期", "宕机"),
        "集群为什么凌晨宕机了",
    ),
    Needle(
        "老渔夫说，只有在满月的夜晚，银色鲑鱼才会游进这条河。",
        ("渔夫", "满月", "鲑鱼"),
        "鲑鱼什么时候游进河里",
    ),
    Needle(
        "这台咖啡机的密码是企鹅七七八，千万不要告诉实习生。",
        ("咖啡机", "密码", "企鹅"),
        "咖啡机密码是多少",
    ),
    Needle(
        "火星基地的温室里种出了第一颗重达两公斤的西红柿。",
        ("火星基地", "温室", "西红柿"),
        "火星温室种出了什么",
    ),
    Needle(
        "他用Python脚本统计了全城路灯的数量，一共是一万两千盏。",
        ("Python", "路灯", "数量"),
        "城里有多少盏路灯",
    ),
    Needle(
        "博物馆新展出的青铜鼎上刻着一只戴帽子的猫头鹰。",
        ("青铜鼎", "猫头鹰", "帽子"),
        "青铜器上刻了什么动物",
    ),
    Needle(
        "研究团队证明，每天午睡二十分钟可以让程序员少写百分之十五的错误代码。",
        ("午睡", "程序员", "错误代码"),
        "午睡对程序员有什么好处",
    ),
    Needle(
        "王掌柜的酒坛子里泡着一条据说活了三百年的金色蜈蚣。",
        ("掌柜", "酒坛", "蜈蚣"),
        "酒坛里泡的是什么",
    ),
)

# Typical search-box queries: Chinese words, phrases, English, mixed; run against each index.
LATENCY_QUERIES: tuple[str, ...] = (
    "孙悟空",
    "贾宝玉 林黛玉",
    '"大闹天宫"',
    "人工智能",
    "开源 软件",
    "GitHub 项目",
    "JavaScript 框架",
    "浏览器",
    "观音菩萨",
    "Python 教程",
    "数据库 性能",
    "周刊 -招聘",
    "ext:md 科技",
    "王熙凤",
    "电动汽车 电池",
    "搜索引擎",
    "天",
    "Linux",
    "memory leak",
    "程序员 工作",
)


@dataclass
class ModeResult:
    segmentation: str
    chunks: int = 0
    text_mb: float = 0.0
    segment_mb_per_s: float = 0.0
    index_seconds: float = 0.0
    index_mb_per_s: float = 0.0
    index_cpu_seconds: float = 0.0
    index_mb: float = 0.0
    search_p50_ms: float = 0.0
    search_p95_ms: float = 0.0
    keywords_p50_ms: float = 0.0
    keywords_p95_ms: float = 0.0
    recall: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Corpus:
    documents: list[tuple[str, str, str, list[Chunk]]]  # doc_id, path, title, chunks
    needle_doc_ids: dict[int, str]  # needle number -> doc_id holding it

    @property
    def text_bytes(self) -> int:
        return sum(len(c.text.encode("utf-8")) for d in self.documents for c in d[3])


def _files(corpora: Path, names: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        folder = corpora / name
        files += sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS)
    return files


def _plant(files: list[Path], workdir: Path) -> tuple[list[Path], dict[int, Path]]:
    """Copies of randomly chosen files with one needle each inserted at a paragraph break."""
    rng = random.Random(SEED)
    # The last needles go into the novels (long, with vocabulary like theirs), the rest into
    # randomly chosen issues of the weekly.
    novels = [f for f in files if f.parent.name == "novels-zh"]
    others = [f for f in files if f.suffix in (".md", ".txt") and f not in novels]
    hosts = rng.sample(others, len(NEEDLES) - len(novels)) + novels
    planted: dict[int, Path] = {}
    replaced = dict.fromkeys(files)
    for number, (needle, host) in enumerate(zip(NEEDLES, hosts, strict=True)):
        text = host.read_text("utf-8")
        breaks = [i for i in range(len(text)) if text.startswith("\n\n", i)] or [len(text)]
        cut = breaks[rng.randrange(len(breaks))]
        copy = workdir / f"needle-{number}-{host.name}"
        copy.write_text(text[:cut] + "\n\n" + needle.sentence + "\n\n" + text[cut:], "utf-8")
        planted[number] = copy
        del replaced[host]
        replaced[copy] = None
    return list(replaced), planted


def _load(files: list[Path], planted: dict[int, Path]) -> Corpus:
    documents: list[tuple[str, str, str, list[Chunk]]] = []
    for number, path in enumerate(files):
        try:
            extracted = extract_file(path, max_bytes=MAX_FILE_BYTES)
        except NeedleError:
            continue
        doc_id = f"doc{number:05d}"
        chunks = chunk_document(doc_id, extracted)
        if chunks:
            documents.append((doc_id, str(path), extracted.title, chunks))
    by_path = {d[1]: d[0] for d in documents}
    return Corpus(documents, {n: by_path[str(p)] for n, p in planted.items()})


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _time_calls(calls: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    timings: list[float] = []
    for _ in range(repeats):
        for call in calls:
            began = time.perf_counter()
            call()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def _build(corpus: Corpus, index_dir: Path, segmentation: Segmentation) -> tuple[ChunkIndex, float]:
    index = ChunkIndex.open(index_dir, writable=True, segmentation=segmentation)
    began = time.perf_counter()
    cpu_began = time.process_time()
    for doc_id, path, title, chunks in corpus.documents:
        index.add_document(
            doc_id,
            path,
            title,
            chunks,
            extension=Path(path).suffix,
            modified=0.0,
            size=0,
            kind="text",
        )
    index.commit()
    index.wait_merging()
    _CPU_SECONDS[index_dir.name] = time.process_time() - cpu_began
    return index, time.perf_counter() - began


def _rank(hits: list[SearchHit], doc_id: str, sentence: str) -> int | None:
    """Rank of the chunk holding the needle, compared in the matched form (the index shows the
    file's own punctuation; the needle may be written either way)."""
    opening = match_form(sentence)[:8]
    for rank, hit in enumerate(hits, start=1):
        if hit.doc_id == doc_id and opening in match_form(hit.text):
            return rank
    return None


def _recall(index: ChunkIndex, corpus: Corpus) -> dict[str, dict[str, float]]:
    styles: dict[str, Callable[[Needle], list[SearchHit]]] = {
        "keywords (agent)": lambda n: index.search_keywords(list(n.keywords), limit=10),
        "paraphrase (agent)": lambda n: index.search_keywords([n.paraphrase], limit=10),
        "paraphrase (search box)": lambda n: index.search(n.paraphrase, limit=10),
    }
    result: dict[str, dict[str, float]] = {}
    for style, run in styles.items():
        ranks = [
            _rank(run(needle), corpus.needle_doc_ids[number], needle.sentence)
            for number, needle in enumerate(NEEDLES)
        ]
        result[style] = {
            f"@{k}": sum(1 for r in ranks if r is not None and r <= k) / len(ranks)
            for k in (1, 5, 10)
        }
    return result


def measure_mode(corpus: Corpus, segmentation: Segmentation, workdir: Path) -> ModeResult:
    result = ModeResult(segmentation, chunks=sum(len(d[3]) for d in corpus.documents))
    result.text_mb = corpus.text_bytes / 1e6
    began = time.perf_counter()
    for document in corpus.documents:
        for chunk in document[3]:
            cjk_field_text(chunk.text, segmentation)
    result.segment_mb_per_s = result.text_mb / (time.perf_counter() - began)
    index, seconds = _build(corpus, workdir / f"index-{segmentation}", segmentation)
    result.index_seconds = seconds
    result.index_mb_per_s = result.text_mb / seconds
    result.index_cpu_seconds = _CPU_SECONDS[f"index-{segmentation}"]
    result.index_mb = index.stats().size_bytes / 1e6
    searches = _time_calls([partial(index.search, q, limit=10) for q in LATENCY_QUERIES], 5)
    keyword_calls = [
        partial(index.search_keywords, [n.paraphrase, *n.keywords], limit=10) for n in NEEDLES
    ]
    keywords = _time_calls(keyword_calls, 5)
    result.search_p50_ms = _percentile(searches, 0.5)
    result.search_p95_ms = _percentile(searches, 0.95)
    result.keywords_p50_ms = _percentile(keywords, 0.5)
    result.keywords_p95_ms = _percentile(keywords, 0.95)
    result.recall = _recall(index, corpus)
    index.close()
    return result


def _replicated(corpus: Corpus, copies: int) -> Corpus:
    """`copies` copies of every document under distinct ids and folders, to measure latency
    at a larger index size with the same kind of text."""
    documents = [
        (f"{doc_id}-{copy}", f"/copy{copy}{path}", title, chunks)
        for copy in range(copies)
        for doc_id, path, title, chunks in corpus.documents
    ]
    return Corpus(documents, {})


def _slowest(index: ChunkIndex, queries: Sequence[str]) -> dict[str, float]:
    worst: dict[str, float] = {}
    for query in queries:
        worst[query] = max(_time_calls([partial(index.search, query, limit=10)], 3))
    return dict(sorted(worst.items(), key=lambda item: -item[1])[:3])


def measure_all(
    corpora: Path, segmentation: Segmentation, workdir: Path, copies: int
) -> dict[str, object]:
    """Whole-corpus index (every corpus, `copies` times) with one segmentation: size, speed
    and latency."""
    files = _files(corpora, sorted(p.name for p in corpora.iterdir() if p.is_dir()))
    began = time.perf_counter()
    corpus = _replicated(_load(files, {}), copies)
    load_seconds = time.perf_counter() - began
    index, seconds = _build(corpus, workdir / "index-all", segmentation)
    queries = [partial(index.search, q, limit=10) for q in LATENCY_QUERIES]
    searches = _time_calls(queries, 5)
    keyword_calls = [
        partial(index.search_keywords, [n.paraphrase, *n.keywords], limit=10) for n in NEEDLES
    ]
    keywords = _time_calls(keyword_calls, 5)
    stats = index.stats()
    slowest = _slowest(index, LATENCY_QUERIES)
    index.close()
    return {
        "files": len(files) * copies,
        "chunks": stats.num_chunks,
        "text_mb": corpus.text_bytes / 1e6,
        "extract_chunk_seconds": load_seconds,
        "index_seconds": seconds,
        "index_mb_per_s": corpus.text_bytes / 1e6 / seconds,
        "index_cpu_seconds": _CPU_SECONDS["index-all"],
        "index_mb": stats.size_bytes / 1e6,
        "search_p50_ms": _percentile(searches, 0.5),
        "search_p95_ms": _percentile(searches, 0.95),
        "keywords_p50_ms": _percentile(keywords, 0.5),
        "keywords_p95_ms": _percentile(keywords, 0.95),
        "slowest_queries_ms": slowest,
    }


def _recall_cell(result: ModeResult, *, style: str) -> str:
    return " / ".join(f"{v:.2f}" for v in result.recall[style].values())


def _print_table(results: list[ModeResult]) -> None:
    rows: list[tuple[str, Callable[[ModeResult], str]]] = [
        ("chunks", lambda r: f"{r.chunks}"),
        ("chunk text (MB)", lambda r: f"{r.text_mb:.1f}"),
        ("segmentation alone (MB/s)", lambda r: f"{r.segment_mb_per_s:.2f}"),
        ("indexing incl. commit (MB/s)", lambda r: f"{r.index_mb_per_s:.2f}"),
        ("indexing CPU seconds (all threads)", lambda r: f"{r.index_cpu_seconds:.1f}"),
        ("index size (MB)", lambda r: f"{r.index_mb:.1f}"),
        ("search p50 / p95 (ms)", lambda r: f"{r.search_p50_ms:.1f} / {r.search_p95_ms:.1f}"),
        ("keywords p50 / p95 (ms)", lambda r: f"{r.keywords_p50_ms:.1f} / {r.keywords_p95_ms:.1f}"),
    ]
    for style in results[0].recall:
        rows.append((f"recall@1/5/10 {style}", partial(_recall_cell, style=style)))
    print("| measure | " + " | ".join(r.segmentation for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, show in rows:
        print(f"| {label} | " + " | ".join(show(r) for r in results) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--modes", default=",".join(SEGMENTATIONS))
    parser.add_argument("--all", action="store_true", help="also index every corpus once")
    parser.add_argument("--copies", type=int, default=1, help="index --all this many times over")
    parser.add_argument("--skip-modes", action="store_true", help="only the --all measurement")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if not args.corpora.is_dir():
        print(f"corpora not found at {args.corpora}", file=sys.stderr)
        return 2
    modes = [m for m in SEGMENTATIONS if m in args.modes.split(",")]
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="needle-cjk-bench-") as temp:
        workdir = Path(temp)
        if not args.skip_modes:
            files, planted = _plant(_files(args.corpora, CHINESE_CORPORA), workdir)
            corpus = _load(files, planted)
            results = [measure_mode(corpus, mode, workdir) for mode in modes]
            _print_table(results)
            report["modes"] = [asdict(r) for r in results]
        if args.all:
            whole = measure_all(args.corpora, DEFAULT_SEGMENTATION, workdir, max(1, args.copies))
            print(json.dumps(whole, indent=2))
            report["all_corpora"] = whole
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
