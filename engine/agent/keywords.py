"""Keywords taken from text itself, without a model: the fallback when the parse call returns
junk, the keywords of Level 3's sub-questions, and the words of Level 2's broad prefilter."""

from __future__ import annotations

import re
from functools import lru_cache

from engine.lang import CJK_CHAR, han_count, has_han

_LATIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9'\-]*[A-Za-z0-9]|[A-Za-z]|[0-9]+(?:\.[0-9]+)?")
_CJK_RUN_RE = re.compile(f"[{CJK_CHAR}]+")

_ENGLISH_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just let me more most my myself neither no nor not now of off on once only
    or other our ours ourselves out over own please same she should so some such tell than that
    the their theirs them themselves then there these they this those through to too under
    until up us very was we were what when where which while who whom whose why will with would
    you your yours yourself yourselves give show list find explain describe briefly answer
    words sentence sentences short long using use one two three many much s t don doesn didn
    isn wasn aren weren
"""

ENGLISH_STOPWORDS = frozenset(_ENGLISH_STOPWORD_TEXT.split())

_CHINESE_STOPWORD_TEXT = """
    的 了 是 在 和 与 及 或 吗 呢 吧 啊 呀 么 什么 哪 哪里 哪个 哪些 谁 怎么 怎样 如何
    为什么 多少 几 这 那 这个 那个 这些 那些 有 没有 我 你 他 她 它 我们 你们 他们 请
    告诉 一下 一个 中 上 下 吗 能 可以 会 要 就 都 也 还 被 把 给 对 从 到 以 用 为 之 其
    所 等 关于 文档 笔记 回答 简要 说明 解释 列出 用中文 用英文 一句话 请问
"""

CHINESE_STOPWORDS = frozenset(_CHINESE_STOPWORD_TEXT.split())


def is_chinese(text: str) -> bool:
    """True when Han characters outweigh Latin words: the question's language for replies."""
    han = han_count(text)
    latin = len(re.findall(r"[A-Za-z]+", text))
    return han > 0 and han >= latin


def english_keywords(text: str, limit: int = 12) -> list[str]:
    """Latin words and numbers of `text`, stopwords removed, first occurrence order."""
    found: list[str] = []
    for word in _LATIN_WORD_RE.findall(text):
        lowered = word.lower().strip("'-")
        if lowered and lowered not in ENGLISH_STOPWORDS and lowered not in found:
            found.append(lowered)
    return found[:limit]


def chinese_keywords(text: str, limit: int = 12) -> list[str]:
    """Chinese words of `text` (jieba segmentation), stopwords and single particles removed."""
    found: list[str] = []
    for run in _CJK_RUN_RE.findall(text):
        for word in _segment(run):
            if word in CHINESE_STOPWORDS or not has_han(word):
                continue
            if len(word) == 1 and len(run) > 1:
                continue  # lone characters are mostly particles once a run is segmented
            if word not in found:
                found.append(word)
    return found[:limit]


def text_keywords(text: str) -> tuple[list[str], list[str]]:
    """(English, Chinese) keywords of `text`."""
    return english_keywords(text), chinese_keywords(text)


@lru_cache(maxsize=4096)
def _segment(run: str) -> tuple[str, ...]:
    import jieba  # loaded lazily: its dictionary costs a second the first time

    jieba.setLogLevel(60)
    return tuple(w.strip() for w in jieba.lcut(run) if w.strip())
