"""Fixtures of the tokenizer tests (test_tokenization*.py): every test that takes `kind` or `tok` runs
on both tokenizers, the slow `BertTokenizer` and the fast `BertTokenizerFast`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bert_common.files import default_model_dir
from tests.common.tokenizer_helpers import CASED_VOCAB, CLASSES, line_ids


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return default_model_dir()


@pytest.fixture(scope="module")
def ids(model_dir: Path) -> dict[str, int]:
    """Uncased vocabulary ids, read line by line."""
    return line_ids(model_dir / "vocab.txt")


@pytest.fixture(scope="module")
def cased_ids() -> dict[str, int]:
    return line_ids(CASED_VOCAB)


@pytest.fixture(scope="module")
def uncased(model_dir: Path) -> dict[str, object]:
    return {name: cls.from_pretrained(model_dir) for name, cls in CLASSES.items()}


@pytest.fixture(params=["slow", "fast"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tok(kind: str, uncased: dict[str, object]):
    return uncased[kind]
