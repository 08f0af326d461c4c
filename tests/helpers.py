"""Shared test data and helpers: the tiny config, the golden reference cases, the real-checkpoint slices,
and the one output flattener of the tests (`fields`, `worst_diff`).

The reference files under tests/fixtures/reference/ were produced once by Hugging Face Transformers
4.57.1 (an independent implementation) with tests/fixtures/reference/make_reference.py, run outside the
project; the tests only read them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bert_zoo.equivalence import TINY

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = FIXTURES / "reference"

# fp32 agreement bound between twins and against the reference (DESIGN.md numerics contract).
ATOL = 1e-5

# The unit-test model (hidden 32, 2 layers, 4 heads, vocab 99): the library's one copy, which the
# equivalence grid uses too.
TINY_CONFIG = TINY


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


# Tuple fields of the output classes; flattened to `name.i` (the reference files' keys).
TUPLE_FIELDS = ("hidden_states", "attentions", "cross_attentions")


def to_numpy(value: Any) -> np.ndarray:
    """A numpy array of a torch / TensorFlow / JAX tensor or array, in its dtype (bf16 torch tensors as
    float32, which numpy cannot hold otherwise)."""
    if hasattr(value, "detach"):  # torch.Tensor, without importing torch here
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf.Tensor / tf.Variable
        return np.asarray(value.numpy())
    return np.asarray(value)


def fields(output: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every tensor of a model output as numpy, tuples flattened to `name.i`; None fields and the decoder
    cache (`past_key_values`) are left out."""
    out: dict[str, np.ndarray] = {}
    for name, value in output.items():
        if value is None or name == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            out.update({f"{name}.{i}": to_numpy(item) for i, item in enumerate(value)})
        else:
            out[name] = to_numpy(value)
    return out


def worst_diff(got: Mapping[str, Any], expected: Mapping[str, Any]) -> tuple[float, str]:
    """(largest max-abs-diff, its field) over the fields of `expected`; `got` must hold each of them.

    A NaN or Inf on either side makes that field's diff NaN, and a NaN is the worst (so `<= ATOL` fails)."""
    from bert_zoo.verify import worst_field

    diffs = {}
    for key, value in expected.items():
        a, b = np.asarray(to_numpy(got[key]), np.float64), np.asarray(to_numpy(value), np.float64)
        diff = max_abs_diff(a, b)  # raises on a shape difference
        diffs[key] = diff if np.isfinite(a).all() and np.isfinite(b).all() else float("nan")
    key, diff = worst_field(diffs)
    return diff, key
