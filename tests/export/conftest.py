"""Fixtures of the export tests: tiny checkpoints of every head (random weights of realistic size, so the
differences mean something) and the embedded all-MiniLM-L6-v2.

Shape legend: B batch, C choices, T positions, H hidden size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bert_common.files import default_model_dir
from bert_zoo.equivalence import random_canonical_weights
from conversion.checkpoint import write_weights
from tests.common.head_spec import HEAD_NAMES, head_config

# Every head, and the causal LM once more with cross-attention (two more graph inputs).
CASES = [*HEAD_NAMES, "BertLMHeadModel+cross"]


def case_head(case: str) -> str:
    return case.split("+")[0]


@pytest.fixture(autouse=True, scope="session")
def _quiet_loading_reports():
    logger = logging.getLogger("bert_zoo")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Case -> a directory with config.json (head in `architectures`) and model.safetensors: the tiny
    config of tests/common/head_spec.py with N(0, 0.2) weights."""
    root = tmp_path_factory.mktemp("tiny")
    made = {}
    for seed, case in enumerate(CASES):
        head = case_head(case)
        config = head_config(head, add_cross_attention=case.endswith("+cross"))
        config.architectures = [head]
        directory = root / case.replace("+", "_")
        write_weights(
            random_canonical_weights(config, head, seed), directory, "safetensors", model_class=head
        )
        config.save_pretrained(directory)
        made[case] = directory
    return made


@pytest.fixture(scope="session")
def minilm() -> Path:
    """The embedded all-MiniLM-L6-v2 (a BertModel checkpoint with its tokenizer files)."""
    return default_model_dir()


def staging_leftovers(out: Path) -> list[str]:
    """Hidden staging folders an export to `out` left beside it (there must be none)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))
