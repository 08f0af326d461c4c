"""Helpers of the Flax tests: cached reference models, output fields, tiny batches."""

from __future__ import annotations

import functools

import jax
import numpy as np

import bert_flax
from tests.helpers import load_reference_case, max_abs_diff, tiny_config


def tiny(**changes):
    """The tiny config (hidden 32, 2 layers, 4 heads, vocab 99) with dropout off unless asked for."""
    base = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return tiny_config(**{**base, **changes})


def batch(config, batch_size: int = 2, length: int = 9, seed: int = 0, pad: int = 3) -> dict[str, np.ndarray]:
    """input_ids / attention_mask / token_type_ids; row 1 has its last `pad` positions padded."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(5, config.vocab_size, (batch_size, length)).astype(np.int32)
    attention_mask = np.ones((batch_size, length), np.int32)
    if pad and batch_size > 1:
        attention_mask[1, length - pad :] = 0
        input_ids[1, length - pad :] = 0
    token_type_ids = np.zeros((batch_size, length), np.int32)
    token_type_ids[:, length // 2 :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


@functools.cache
def case(name: str):
    return load_reference_case(name)


@functools.cache
def case_model(name: str, scan_layers: bool = False):
    """The Flax wrapper of reference case `name`, loaded once per test session (its jit cache too)."""
    ref = case(name)
    model, info = bert_flax.MODEL_CLASSES[ref.model_class].from_pretrained(
        ref.directory, scan_layers=scan_layers, output_loading_info=True
    )
    return model, info


def fields(output) -> dict[str, np.ndarray]:
    """Every array of an output, tuples flattened to `name.i` (the reference files' keys)."""
    out = {}
    for name, value in output.items():
        if name in ("hidden_states", "attentions", "cross_attentions"):
            out.update({f"{name}.{i}": np.asarray(v) for i, v in enumerate(value)})
        elif name != "past_key_values":
            out[name] = np.asarray(value)
    return out


def worst_diff(got: dict, expected: dict) -> tuple[float, str]:
    """(largest max-abs-diff, its field) over the fields of `expected`; `got` must hold each of them."""
    diffs = {k: max_abs_diff(got[k], v) for k, v in expected.items()}
    key = max(diffs, key=diffs.get)
    return diffs[key], key


def tree_max_diff(a, b) -> float:
    """Largest absolute difference between two pytrees of the same structure."""
    diffs = jax.tree_util.tree_map(
        lambda x, y: max_abs_diff(np.asarray(x, np.float32), np.asarray(y, np.float32)), a, b
    )
    return max(jax.tree_util.tree_leaves(diffs))
