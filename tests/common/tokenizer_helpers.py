"""Shared by the tokenizer tests: the vocabularies they use and a builder for the cased tokenizers.

The uncased vocabulary is the all-MiniLM-L6-v2 checkpoint's vocab.txt; ids are read with a plain line
reader (`line_ids`), independent of the code under test. tests/common/conftest.py turns these into
fixtures (`model_dir`, `ids`, `cased_ids`, `uncased`, `kind`, `tok`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bert_common.tokenization import BertTokenizer, BertTokenizerFast

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASED_VOCAB = FIXTURES / "cased_vocab.txt"
CLASSES = {"slow": BertTokenizer, "fast": BertTokenizerFast}


def line_ids(path: Path) -> dict[str, int]:
    """{token: line number} of a vocab.txt."""
    with open(path, encoding="utf-8") as handle:
        return {line.rstrip("\n"): i for i, line in enumerate(handle)}


def cased(kind: str, **options: Any) -> Any:
    """A `kind` ("slow" or "fast") tokenizer on the small cased vocabulary (do_lower_case=False)."""
    return CLASSES[kind](CASED_VOCAB, do_lower_case=options.pop("do_lower_case", False), **options)
