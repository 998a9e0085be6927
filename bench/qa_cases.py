"""Question-answering cases and the haystack they are planted in (data for bench/qa_bench.py).

A *case* is a question, the sentences planted in the haystack that answer it (`facts`, each in its
own document, in the language given), sentences planted beside it that are on the topic but do
not answer it (`decoys`), and the strings an answer must contain. Unanswerable cases have no
facts, only decoys: the library talks about the subject, never about what is asked.

The haystack is real text from ../shared/corpora (English essays and notes, Chinese articles, a
Chinese novel, PDFs), drawn by seed, so the same seed gives the same files with the same facts in
the same places. Nothing here imports the engine: the cases and the haystack are reusable by any
checkout (retrieval-recall scripts, the lead's experiments) and survive engine refactors.

    from bench.qa_cases import CASES, build_haystack
    manifest = build_haystack(Path("/tmp/hay"), size_tokens=1_100_000, seed=7)
    manifest.fact_files["The access code for the Halvorsen greenhouse is 4417."]  # -> its file
"""

from __future__ import annotations

import json
import random
import re
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

KINDS = (
    "keyword",  # the question repeats the planted sentence's words
    "paraphrase",  # the question shares no content word with the planted sentence
    "two_hop",  # two sentences in two documents; the second is found through the first
    "multi",  # three sentences in three documents together answer it
    "cross_lingual",  # the question is in one language, the only fact in the other
    "instruction",  # the question is wrapped in instructions about the answer's form
    "unanswerable",  # on-topic decoys are in the library, the asked fact is not
)


@dataclass(frozen=True)
class Fact:
    text: str
    lang: str  # "en" | "zh": which documents it is planted in


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    lang: str  # the question's language
    question: str
    # Every group must be matched by one of its spellings (see `matches`); empty when unanswerable.
    expected: tuple[tuple[str, ...], ...]
    facts: tuple[Fact, ...] = ()
    decoys: tuple[Fact, ...] = ()
    # The sub-questions a careful planner would ask (two-hop), and search terms a careful model
    # would add (translations for cross-lingual cases): used only by the fake oracle model.
    hops: tuple[str, ...] = ()
    oracle_terms: tuple[str, ...] = ()
    note: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.facts)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def en(text: str) -> Fact:
    return Fact(text, "en")


def zh(text: str) -> Fact:
    return Fact(text, "zh")


CASES: tuple[Case, ...] = (
    # ------------------------------------------------------------------ keyword
    Case(
        "en_keyword_code",
        "keyword",
        "en",
        "What is the access code for the Halvorsen greenhouse?",
        (("4417",),),
        (en("The access code for the Halvorsen greenhouse is 4417."),),
    ),
    Case(
        "en_keyword_beehives",
        "keyword",
        "en",
        "How many beehives does Corwin Ashby keep on his allotment?",
        (("19", "nineteen"),),
        (en("Corwin Ashby keeps nineteen beehives on his allotment by the canal."),),
    ),
    Case(
        "zh_keyword_library",
        "keyword",
        "zh",
        "青石镇图书馆每天几点开门？",
        (("九点", "9点", "9:00", "9时", "九时", "9am", "9a.m."),),
        (zh("青石镇图书馆每天上午九点开门。"),),
    ),
    Case(
        "zh_keyword_gate",
        "keyword",
        "zh",
        "海棠苑小区的门禁密码是多少？",
        (("605218",),),
        (zh("海棠苑小区的门禁密码是605218。"),),
    ),
    # ------------------------------------------------------------------ paraphrase
    Case(
        "en_paraphrase_key",
        "paraphrase",
        "en",
        "Where is the duplicate way into the hut for rowing craft kept?",
        (("oak",),),
        (en("The spare boathouse key is hidden inside the hollow oak beside the jetty."),),
        note="duplicate way into the hut for rowing craft = spare boathouse key",
    ),
    Case(
        "en_paraphrase_sheep",
        "paraphrase",
        "en",
        "Who looked after the sick sheep while the shepherd was in hospital?",
        (("Oonagh",),),
        (
            en(
                "While Farmer Dalgleish recovered from surgery, his niece Oonagh tended the "
                "ailing ewes."
            ),
        ),
    ),
    Case(
        "en_paraphrase_trek",
        "paraphrase",
        "en",
        "How far did the retired postman walk on his charity trek?",
        (("1240",),),
        (
            en(
                "After leaving the mail service, Idris Penhallow hiked 1,240 km along the "
                "shoreline to raise money for the hospice."
            ),
        ),
    ),
    Case(
        "zh_paraphrase_key",
        "paraphrase",
        "zh",
        "那位姓林的姑娘多配的开门工具，被她藏到了什么地方？",
        (("井",),),
        (zh("林晓把备用钥匙压在后院旧井的石板底下。"),),
        note="多配的开门工具 = 备用钥匙",
    ),
    Case(
        "zh_paraphrase_doctor",
        "paraphrase",
        "zh",
        "姓钟的那位已经不再工作的医生，现在天亮时会去水边做什么？",
        (("太极",),),
        (zh("退休的外科大夫钟秉文如今每天清晨在湖畔教人打太极拳。"),),
    ),
    Case(
        "zh_paraphrase_tea",
        "paraphrase",
        "zh",
        "那位种茶的师傅上一季总共收获了多少春茶？",
        (("三百六十斤", "360斤", "三百六十", "360"),),
        (zh("茶农阮秋生去年一共采摘了三百六十斤明前龙井。"),),
    ),
    # ------------------------------------------------------------------ two-hop
    Case(
        "en_two_hop_bridge",
        "two_hop",
        "en",
        "In which town was the designer of the Kestrel Bridge born?",
        (("Pirano",),),
        (
            en("The Kestrel Bridge was designed by the engineer Ilse Varga."),
            en("Ilse Varga was born in the harbour town of Pirano."),
        ),
        hops=("Who designed the Kestrel Bridge?", "Where was Ilse Varga born?"),
    ),
    Case(
        "en_two_hop_year",
        "two_hop",
        "en",
        "In what year was the company that makes the Lumen-7 storm lantern founded?",
        (("1958",),),
        (
            en("The Lumen-7 storm lantern is made by Brackwater Instruments."),
            en("Brackwater Instruments was founded in 1958 in a former rope works."),
        ),
        hops=("Which company makes the Lumen-7 storm lantern?", "When was Brackwater founded?"),
    ),
    Case(
        "zh_two_hop_bridge",
        "two_hop",
        "zh",
        "白鹭桥的设计者出生在哪里？",
        (("乌镇",),),
        (zh("白鹭桥是由工程师周文澜设计的。"), zh("周文澜出生在江南小城乌镇。")),
        hops=("白鹭桥是谁设计的？", "周文澜出生在哪里？"),
    ),
    Case(
        "zh_two_hop_school",
        "two_hop",
        "zh",
        "《雾港手记》的作者毕业于哪所学校？",
        (("沧澜",),),
        (zh("《雾港手记》的作者是散文家柏云舟。"), zh("柏云舟毕业于沧澜师范学院中文系。")),
        hops=("《雾港手记》的作者是谁？", "柏云舟毕业于哪所学校？"),
    ),
    # ------------------------------------------------------------------ multi-needle
    Case(
        "en_multi_tour",
        "multi",
        "en",
        "Which cities are on Elena Marsh's concert tour?",
        (("Lisbon", "Lissabon", "Lisboa"), ("Tallinn",), ("Osaka",)),
        (
            en("The first city on Elena Marsh's concert tour is Lisbon."),
            en("The second city on Elena Marsh's concert tour is Tallinn."),
            en("The final city on Elena Marsh's concert tour is Osaka."),
        ),
    ),
    Case(
        "zh_multi_trip",
        "multi",
        "zh",
        "陈默的旅行去了哪些城市？",
        (("大理",), ("敦煌",), ("哈尔滨",)),
        (
            zh("陈默的旅行第一站是大理。"),
            zh("陈默的旅行第二站是敦煌。"),
            zh("陈默的旅行最后一站是哈尔滨。"),
        ),
    ),
    # ------------------------------------------------------------------ cross-lingual
    Case(
        "xl_en_q_zh_pump",
        "cross_lingual",
        "en",
        "What is the start-up password of the irrigation pump in Song Jiahe's greenhouse?",
        (("7391",),),
        (zh("宋嘉禾温室里灌溉水泵的启动密码是7391。"),),
        oracle_terms=("宋嘉禾", "温室", "灌溉", "水泵", "密码"),
    ),
    Case(
        "xl_en_q_zh_rooms",
        "cross_lingual",
        "en",
        "How many guest rooms does the Yunxi Tea House inn have?",
        (("14", "fourteen", "十四"),),
        (zh("云溪茶舍的客栈一共有十四间客房。"),),
        oracle_terms=("云溪茶舍", "客栈", "客房"),
    ),
    Case(
        "xl_zh_q_en_mirror",
        "cross_lingual",
        "zh",
        "哈洛韦天文台望远镜的镜面直径是多少厘米？",
        (("86",),),
        (en("The telescope mirror at the Halloway Observatory is 86 centimetres across."),),
        oracle_terms=("Halloway", "Observatory", "telescope", "mirror"),
    ),
    Case(
        "xl_zh_q_en_starter",
        "cross_lingual",
        "zh",
        "马洛街面包店的老面酵头叫什么名字？",
        (("Gertrude", "格特鲁德", "格特魯德", "葛楚德", "格楚德"),),
        (en("At the Marlowe Street bakery, the sourdough starter is called Gertrude."),),
        oracle_terms=("Marlowe", "bakery", "sourdough", "starter"),
    ),
    # ------------------------------------------------------------------ instruction-wrapped
    Case(
        "en_instruction_marina",
        "instruction",
        "en",
        "Answer in one sentence, in English; my question is: what is the gate code of the "
        "Brennholt marina?",
        (("2086",),),
        (en("The gate code of the Brennholt marina is 2086."),),
    ),
    Case(
        "en_instruction_vet",
        "instruction",
        "en",
        "I'm writing a note for my sister, so keep it short (ten words at most) and don't use "
        "bullet points. What I need to know: which vet does Tobias Renner take his parrot to?",
        (("Falke",),),
        (en("Tobias Renner takes his parrot Bixby to the vet Dr. Anouk Falke in Lindenau."),),
    ),
    Case(
        "zh_instruction_books",
        "instruction",
        "zh",
        "请用一句话、用英文回答。我的问题是：青松书院的藏书一共有多少册？",
        (("42000", "四万二千", "4.2万", "42thousand", "forty-twothousand", "fortytwothousand"),),
        (zh("青松书院的藏书一共有四万二千册。"),),
    ),
    Case(
        "zh_instruction_ferry",
        "instruction",
        "zh",
        "只回答时间，不要解释，也不要列出处。我想知道：东沙渡口末班轮渡几点开？",
        (("18:40", "18点40", "十八点四十", "6:40", "六点四十", "下午六点四十", "傍晚六点四十"),),
        (zh("东沙渡口的末班轮渡在傍晚六点四十分开出。"),),
    ),
    # ------------------------------------------------------------------ unanswerable
    Case(
        "en_unanswerable_boathouse",
        "unanswerable",
        "en",
        "What is the access code for the Halvorsen boathouse?",
        (),
        decoys=(en("The Halvorsen boathouse was repainted dark green last spring."),),
        note="the Halvorsen greenhouse's code (4417) is in the library; the boathouse's is not",
    ),
    Case(
        "en_unanswerable_honey",
        "unanswerable",
        "en",
        "How many kilograms of honey did Corwin Ashby's bees produce last summer?",
        (),
        decoys=(en("Corwin Ashby sells his honey at the Saturday market in Brixley."),),
        note="his hive count and where he sells honey are in the library; the yield is not",
    ),
    Case(
        "en_unanswerable_varga",
        "unanswerable",
        "en",
        "In what year did the engineer Ilse Varga die?",
        (),
        decoys=(en("Ilse Varga spent her last years restoring old mills in the Carso hills."),),
        note="her bridge, birthplace and last years are in the library; no year of death",
    ),
    Case(
        "zh_unanswerable_library",
        "unanswerable",
        "zh",
        "青石镇图书馆每天几点关门？",
        (),
        decoys=(zh("青石镇图书馆的借书证可以在一楼服务台免费办理。"),),
        note="the opening time (九点) is in the library; the closing time is not",
    ),
    Case(
        "zh_unanswerable_zhou",
        "unanswerable",
        "zh",
        "工程师周文澜是哪一年出生的？",
        (),
        decoys=(zh("周文澜晚年常在乌镇的老宅里修复旧式木桥的模型。"),),
        note="his birthplace and his bridge are in the library; no year",
    ),
    Case(
        "zh_unanswerable_tea",
        "unanswerable",
        "zh",
        "茶农阮秋生的茶园有多少亩？",
        (),
        decoys=(zh("阮秋生的茶园在龙坞村的山坡上，每年清明前开采。"),),
        note="his harvest and the garden's village are in the library; not its area",
    ),
)

CASES_BY_NAME = {case.name: case for case in CASES}


# ------------------------------------------------------------------------------ scoring

_DIGIT_GROUP = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")


def normalize(text: str) -> str:
    """Case-folded, full-width folded (NFKC), without whitespace or digit-group commas."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _DIGIT_GROUP.sub("", folded)
    return "".join(folded.split())


def matches(answer: str, expected: tuple[tuple[str, ...], ...]) -> bool:
    """Every group has a spelling that occurs in the answer."""
    flat = normalize(answer)
    return all(any(normalize(spelling) in flat for spelling in group) for group in expected)


def is_correct(case: Case, answer: str, found: bool) -> bool:
    if not case.answerable:
        return not found
    return found and matches(answer, case.expected)


def is_confabulation(case: Case, answer: str, found: bool) -> bool:
    """Shown as found, and wrong (always wrong when the library does not hold the fact)."""
    return found and not is_correct(case, answer, found)


# ------------------------------------------------------------------------------ case checks

_STOPWORD_TEXT = (
    "a an the is are was were be been of in on at to for by with from into his her their its "
    "what which who whom where when how many much did does do while after as and or that "
    "this there has have had some someone far kept keep"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def shared_content(question: str, fact: str) -> set[str]:
    """English content words (lightly stemmed) and Chinese character pairs the two share."""
    q_low, f_low = question.lower(), fact.lower()
    q_words = {_stem(w) for w in _WORD.findall(q_low) if w not in _STOPWORDS}
    f_words = {_stem(w) for w in _WORD.findall(f_low) if w not in _STOPWORDS}
    q_pairs = {run[i : i + 2] for run in _HAN.findall(question) for i in range(len(run) - 1)}
    f_pairs = {run[i : i + 2] for run in _HAN.findall(fact) for i in range(len(run) - 1)}
    return (q_words & f_words) | (q_pairs & f_pairs)


def check_cases(cases: tuple[Case, ...] = CASES) -> list[str]:
    """Problems with the case data itself (empty when it is sound)."""
    problems: list[str] = []
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        problems.append("duplicate case names")
    texts = [f.text for case in cases for f in case.facts]
    if len(set(texts)) != len(texts):
        problems.append("a fact sentence is used by two cases")
    for case in cases:
        if case.kind not in KINDS:
            problems.append(f"{case.name}: unknown kind {case.kind}")
        if case.answerable != bool(case.expected):
            problems.append(f"{case.name}: expected strings and facts disagree")
        joined = " ".join(f.text for f in case.facts)
        if case.answerable and not matches(joined, case.expected):
            problems.append(f"{case.name}: its facts do not contain the expected strings")
        if case.kind == "paraphrase":
            for fact in case.facts:
                if shared := shared_content(case.question, fact.text):
                    problems.append(f"{case.name}: shares {sorted(shared)} with its fact")
        if case.kind == "cross_lingual" and any(f.lang == case.lang for f in case.facts):
            problems.append(f"{case.name}: a fact is in the question's language")
        if not case.answerable and not case.decoys:
            problems.append(f"{case.name}: an unanswerable case needs on-topic decoys")
    return problems


# ------------------------------------------------------------------------------ haystack

# Shares of the haystack's text tokens; the PDFs are added whole on top for sizes of 1M and up.
MIX = (
    ("pg-essays", "en", 0.15),
    ("til", "en", 0.30),
    ("weekly", "zh", 0.35),
    ("novels-zh", "zh", 0.20),
)
PDF_MIN_SIZE = 1_000_000
MAX_DOC_TOKENS = 12_000  # a novel is cut into documents of about this size, as chapters
MIN_DOCS_PER_SIZE = 50  # small haystacks cut documents smaller, so every fact has its own
MANIFEST = "haystack.json"

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_DIGIT = re.compile(r"[0-9]")
_SYMBOL = re.compile(r"[^\sA-Za-z0-9\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """A Qwen2-like token count: ~0.9 per CJK character, ~1.2 per English word, 1 per digit,
    ~0.5 per symbol. Only sizes the haystack; the engine counts its own prompts."""
    words = _LATIN_WORD.findall(text)
    long_extra = sum(max(0, len(w) - 6) for w in words) * 0.2
    total = (
        0.9 * len(_CJK.findall(text))
        + 1.15 * len(words)
        + long_extra
        + len(_DIGIT.findall(text))
        + 0.5 * len(_SYMBOL.findall(text))
    )
    return round(total)


@dataclass
class Manifest:
    seed: int
    size_tokens: int
    text_tokens: int = 0
    files: list[str] = field(default_factory=list)  # relative to the haystack folder
    pdfs: list[str] = field(default_factory=list)
    fact_files: dict[str, str] = field(default_factory=dict)  # planted sentence -> file

    def save(self, folder: Path) -> None:
        (folder.parent / f"{folder.name}.{MANIFEST}").write_text(
            json.dumps(asdict(self), ensure_ascii=False, indent=1), "utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        path = folder.parent / f"{folder.name}.{MANIFEST}"
        if not path.is_file() or not folder.is_dir():
            return None
        return cls(**json.loads(path.read_text("utf-8")))


def _split_paragraphs(text: str, max_tokens: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    tokens = 0
    for paragraph in re.split(r"\n\s*\n", text):
        cost = estimate_tokens(paragraph)
        if current and tokens + cost > max_tokens:
            parts.append("\n\n".join(current))
            current, tokens = [], 0
        current.append(paragraph)
        tokens += cost
    if current:
        parts.append("\n\n".join(current))
    return parts


def _documents(source: str, rng: random.Random, max_tokens: int) -> Iterator[tuple[str, str]]:
    """(file name, text) of one corpus folder in a seeded order, long texts cut at paragraphs
    into documents of at most `max_tokens` (a novel into consecutive chapters). Lazy: a small
    haystack reads only the files it takes."""
    base = CORPORA / source
    paths = sorted(p for p in base.rglob("*") if p.suffix in (".md", ".txt") and p.is_file())
    if source == "novels-zh":
        novel = paths[rng.randrange(len(paths))]
        parts = _split_paragraphs(novel.read_text("utf-8", errors="replace"), max_tokens)
        start = rng.randrange(max(1, len(parts) // 2))  # consecutive chapters, as a reader has
        for i in range(start, len(parts)):
            yield f"{novel.stem}-{i:03d}.txt", parts[i]
        return
    rng.shuffle(paths)
    for path in paths:
        name = str(path.relative_to(base)).replace("/", "-")
        parts = _split_paragraphs(path.read_text("utf-8", errors="replace"), max_tokens)
        if len(parts) == 1:
            yield name, parts[0]
        else:
            for i, part in enumerate(parts):
                yield f"{path.stem}-{i:02d}{path.suffix}", part


def _insertion_points(paragraphs: list[str]) -> list[int]:
    """Paragraph boundaries outside Markdown code fences, never before the first paragraph."""
    points = []
    fences = 0
    for index, paragraph in enumerate(paragraphs):
        if index > 0 and fences % 2 == 0:
            points.append(index)
        fences += paragraph.count("```")
    return points or [len(paragraphs)]


def build_haystack(
    folder: Path, size_tokens: int, seed: int, cases: tuple[Case, ...] = CASES
) -> Manifest:
    """Write the haystack into `folder` (reused when its manifest matches) and plant every case's
    facts and decoys, each in its own document of the fact's language."""
    existing = Manifest.load(folder)
    sentences = [f for case in cases for f in (*case.facts, *case.decoys)]
    if (
        existing
        and existing.seed == seed
        and existing.size_tokens == size_tokens
        and set(existing.fact_files) == {f.text for f in sentences}
    ):
        return existing
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    manifest = Manifest(seed, size_tokens)
    by_lang: dict[str, list[Path]] = {"en": [], "zh": []}
    max_doc_tokens = max(300, min(MAX_DOC_TOKENS, size_tokens // MIN_DOCS_PER_SIZE))
    for source, lang, share in MIX:
        budget = size_tokens * share
        used = 0
        target_dir = folder / source
        target_dir.mkdir()
        for name, text in _documents(source, rng, max_doc_tokens):
            if used >= budget:
                break
            target = target_dir / name
            target.write_text(text, "utf-8")
            used += estimate_tokens(text)
            by_lang[lang].append(target)
            manifest.files.append(str(target.relative_to(folder)))
        manifest.text_tokens += used
    if size_tokens >= PDF_MIN_SIZE and (CORPORA / "pdfs").is_dir():
        for pdf in sorted((CORPORA / "pdfs").rglob("*.pdf")):
            target = folder / "pdfs" / pdf.relative_to(CORPORA / "pdfs")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pdf, target)
            manifest.pdfs.append(str(target.relative_to(folder)))
    _plant(folder, manifest, sentences, by_lang, rng)
    manifest.save(folder)
    return manifest


def _weighted_sample(documents: list[Path], k: int, rng: random.Random) -> list[Path]:
    """k distinct documents, each drawn with a chance proportional to its length: a fact lands in
    a long essay or a novel chapter as often as the text there warrants, not mostly in tiny notes
    (Efraimidis-Spirakis keys)."""
    keyed = [
        (rng.random() ** (1.0 / max(1, estimate_tokens(doc.read_text("utf-8")))), doc)
        for doc in documents
    ]
    return [doc for _, doc in sorted(keyed, key=lambda pair: pair[0], reverse=True)[:k]]


def _plant(
    folder: Path,
    manifest: Manifest,
    sentences: list[Fact],
    by_lang: dict[str, list[Path]],
    rng: random.Random,
) -> None:
    unique = list(dict.fromkeys(sentences))
    for lang in ("en", "zh"):
        planted = [f for f in unique if f.lang == lang]
        hosts = _weighted_sample(by_lang[lang], len(planted), rng)
        if len(hosts) < len(planted):
            raise ValueError(f"the haystack has too few {lang} documents for {len(planted)} facts")
        for fact, host in zip(planted, hosts, strict=True):
            paragraphs = re.split(r"\n\s*\n", host.read_text("utf-8"))
            paragraphs.insert(rng.choice(_insertion_points(paragraphs)), fact.text)
            host.write_text("\n\n".join(paragraphs), "utf-8")
            manifest.fact_files[fact.text] = str(host.relative_to(folder))


if __name__ == "__main__":
    import sys

    found = check_cases()
    for problem in found:
        print(problem)
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.kind] = counts.get(case.kind, 0) + 1
    print(f"{len(CASES)} cases: {counts}")
    sys.exit(1 if found else 0)
