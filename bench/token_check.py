"""Exact Qwen token counts against llama.cpp's tokenizer of the real GGUF, and the estimate's
error on the same samples.

    ~/.cache/needle-eval/venv/bin/python bench/token_check.py ../shared/corpora

Needs `llama_cpp` (the ollama-compat venv has it) and the GGUF that
`../shared/tools/ollama-compat/setup.sh` assembles; only the vocabulary is loaded.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.llm.qwen.tokenizer import count_qwen_tokens  # noqa: E402
from engine.tokens import estimate_tokens  # noqa: E402

CORPORA = {
    "pg-essays": "pg-essays/**/*",
    "til": "til/**/*.md",
    "weekly": "weekly/**/*.md",
    "novels-zh": "novels-zh/**/*",
}
SAMPLE_CHARS = (200, 800, 2000)
GGUF = Path.home() / ".cache/needle-eval/qwen2.5-coder-0.5b-instruct.gguf"


def samples_of(files: list[Path], count: int, rng: random.Random) -> list[str]:
    """`count` random slices of the files' text, of the lengths in SAMPLE_CHARS."""
    taken: list[str] = []
    while len(taken) < count:
        text = rng.choice(files).read_text(errors="ignore")
        if len(text) < 50:
            continue
        start = rng.randrange(0, max(1, len(text) - 2000))
        taken.append(text[start : start + rng.choice(SAMPLE_CHARS)])
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", type=Path)
    parser.add_argument("--per-corpus", type=int, default=120)
    parser.add_argument("--gguf", type=Path, default=GGUF)
    args = parser.parse_args()
    import llama_cpp

    vocabulary = llama_cpp.Llama(model_path=str(args.gguf), vocab_only=True, verbose=False)
    rng = random.Random(1)
    print("corpus      samples  exact=real  estimate<real  estimate/real min  median")
    for name, pattern in CORPORA.items():
        files = [f for f in args.corpora.glob(pattern) if f.is_file()]
        if not files:
            continue
        equal = 0
        ratios: list[float] = []
        for text in samples_of(files, args.per_corpus, rng):
            real = len(vocabulary.tokenize(text.encode(), add_bos=False, special=False))
            equal += count_qwen_tokens(text) == real
            ratios.append(estimate_tokens(text) / max(1, real))
        ratios.sort()
        below = sum(ratio < 1 for ratio in ratios)
        print(
            f"{name:<11} {len(ratios):>7}  {equal:>10}  {below:>13}  "
            f"{ratios[0]:>17.2f}  {ratios[len(ratios) // 2]:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
