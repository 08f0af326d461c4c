"""Shared by the tokenizer tests: the vocabularies they use, a builder for the cased tokenizers, and the
fixed sample of strings drawn from every Unicode category.

The uncased vocabulary is the all-MiniLM-L6-v2 checkpoint's vocab.txt; ids are read with a plain line
reader (`line_ids`), independent of the code under test. tests/common/conftest.py turns these into
fixtures (`model_dir`, `ids`, `cased_ids`, `uncased`, `kind`, `tok`).
"""

from __future__ import annotations

import functools
import random
import unicodedata
from pathlib import Path
from typing import Any

from bert_common.tokenization import BertTokenizer, BertTokenizerFast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASED_VOCAB = FIXTURES / "cased_vocab.txt"
CLASSES = {"slow": BertTokenizer, "fast": BertTokenizerFast}
ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def line_ids(path: Path) -> dict[str, int]:
    """{token: line number} of a vocab.txt."""
    with open(path, encoding="utf-8") as handle:
        return {line.rstrip("\n"): i for i, line in enumerate(handle)}


def cased(kind: str, **options: Any) -> Any:
    """A `kind` ("slow" or "fast") tokenizer on the small cased vocabulary (do_lower_case=False)."""
    return CLASSES[kind](CASED_VOCAB, do_lower_case=options.pop("do_lower_case", False), **options)


@functools.lru_cache(maxsize=1)
def category_pools() -> dict[str, list[int]]:
    """Every code point but the surrogates, grouped by Python's general category (Cn: unassigned)."""
    pools: dict[str, list[int]] = {}
    for cp in range(0x110000):
        category = unicodedata.category(chr(cp))
        if category != "Cs":
            pools.setdefault(category, []).append(cp)
    return pools


def unicode_sample(count: int = 2029, seed: int = 13) -> list[str]:
    """`count` strings of 1-12 characters: each character is an ASCII letter (25%), a space (10%), or a
    code point of a general category chosen uniformly among the 29 (all but Cs), so every category,
    unassigned code points included, is drawn about equally often. The same strings for the same seed."""
    pools = category_pools()
    categories = sorted(pools)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.25:
                chars.append(rng.choice(ASCII_LETTERS))
            elif r < 0.35:
                chars.append(" ")
            else:
                chars.append(chr(rng.choice(pools[rng.choice(categories)])))
        out.append("".join(chars))
    return out
