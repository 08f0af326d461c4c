"""Shared test data: the tiny config, the golden reference cases and the real-checkpoint slices.

The reference files under tests/fixtures/reference/ were produced once by Hugging Face Transformers
4.57.1 (an independent implementation) with tests/fixtures/reference/make_reference.py, run outside the
project; the tests only read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = FIXTURES / "reference"

# fp32 agreement bound between twins and against the reference (DESIGN.md numerics contract).
ATOL = 1e-5

# The unit-test model: small enough to build in milliseconds, big enough to exercise every path.
TINY_CONFIG = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    type_vocab_size=2,
)


def tiny_config(**changes):
    from bert_common import BertConfig

    return BertConfig(**{**TINY_CONFIG, **changes})


@dataclass
class ReferenceCase:
    """A tiny model saved by Transformers with its inputs and every output field it produced."""

    name: str
    directory: Path
    model_class: str
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    extra: dict[str, np.ndarray]

    def output_list(self, field: str) -> list[np.ndarray]:
        """`hidden_states` / `attentions` / `cross_attentions` as a list ordered by layer."""
        keys = sorted(
            (k for k in self.outputs if k.startswith(field + ".")), key=lambda k: int(k.rsplit(".", 1)[1])
        )
        return [self.outputs[k] for k in keys]


def reference_case_names() -> list[str]:
    return sorted(p.name for p in (REFERENCE / "tiny").iterdir() if p.is_dir())


def load_reference_case(name: str) -> ReferenceCase:
    directory = REFERENCE / "tiny" / name
    data = np.load(directory / "outputs.npz")
    inputs = {k.split(".", 1)[1]: data[k] for k in data.files if k.startswith("input.")}
    outputs = {k.split(".", 1)[1]: data[k] for k in data.files if k.startswith("output.")}
    extra = {k: data[k] for k in data.files if not k.startswith(("input.", "output."))}
    model_class = json.loads((directory / "case.json").read_text())["class"]
    return ReferenceCase(name, directory, model_class, inputs, outputs, extra)


def minilm_golden() -> dict[str, np.ndarray]:
    """Token ids and output slices of all-MiniLM-L6-v2 on three sentences (see make_reference.py)."""
    data = np.load(REFERENCE / "minilm_golden.npz")
    return {k: data[k] for k in data.files}


MINILM_SENTENCES = [
    "A man is eating food.",
    "The quick brown fox jumps over the lazy dog, doesn't it?",
    "Plants create energy through photosynthesis.",
]


def max_abs_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0
