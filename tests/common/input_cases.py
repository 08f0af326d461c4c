"""Bad inputs every twin must refuse the same way: one table, run by `tests/<twin>/test_inputs.py`.

Each case takes the numpy batch of `head_spec.batch` for the tiny config (B=3, T=7) and breaks one rule of
`bert_common.inputs`; the twin converts the arrays to its own tensors, calls its base model, and must
raise the exception type with a first line matching the pattern (the one message of the shared rule set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InputCase:
    name: str
    change: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    error: type[Exception]
    match: str


def _with(**changes):
    return lambda inputs: {**inputs, **changes}


def _without(*names):
    return lambda inputs: {k: v for k, v in inputs.items() if k not in names}


def _set(name, fn):
    return lambda inputs: {**inputs, name: fn(inputs[name])}


def _mask_value(value):
    def change(mask):
        mask = mask.copy()
        mask[0, 0] = value
        return mask

    return change


INPUT_CASES: tuple[InputCase, ...] = (
    InputCase(
        "neither ids nor embeddings",
        _without("input_ids"),
        ValueError,
        "pass exactly one of input_ids and inputs_embeds, got neither",
    ),
    InputCase(
        "both ids and embeddings",
        lambda x: {**x, "inputs_embeds": np.zeros((3, 7, 32), np.float32)},
        ValueError,
        "pass exactly one of input_ids and inputs_embeds, got both",
    ),
    InputCase(
        "float ids",
        _set("input_ids", lambda a: a.astype(np.float32)),
        TypeError,
        "input_ids must hold integer ids",
    ),
    InputCase(
        "uint8 ids",
        _set("input_ids", lambda a: a.astype(np.uint8)),
        TypeError,
        r"input_ids must hold integer ids \(int32 or int64\), got dtype",
    ),
    InputCase(
        "ids of rank 1",
        _set("input_ids", lambda a: a[0]),
        ValueError,
        r"input_ids must have shape \[batch, sequence\]",
    ),
    InputCase(
        "id outside the vocabulary",
        _set("input_ids", lambda a: np.where(a == a[0, 0], 99, a).astype(a.dtype)),
        ValueError,
        r"input_ids holds 99, outside \[0, 99\)",
    ),
    InputCase(
        "negative id",
        _set("input_ids", lambda a: np.where(a == a[0, 0], -1, a).astype(a.dtype)),
        ValueError,
        r"input_ids holds -1, outside \[0, 99\)",
    ),
    InputCase(
        "empty sequence",
        lambda x: {k: v[:, :0] for k, v in x.items()},
        ValueError,
        "the input sequence is empty",
    ),
    InputCase(
        "longer than the position table",
        lambda x: {k: np.tile(v, (1, 10)) for k, v in x.items()},
        ValueError,
        "sequence of 70 positions is longer than max_position_embeddings=64",
    ),
    InputCase(
        "mask of the wrong length",
        _set("attention_mask", lambda a: a[:, :5]),
        ValueError,
        r"attention_mask has shape \(3, 5\), expected",
    ),
    InputCase(
        "mask holding 2",
        _set("attention_mask", _mask_value(2)),
        ValueError,
        r"attention_mask must hold only 0 \(masked\) and 1 \(attend\), got values \[2\]",
    ),
    InputCase(
        "mask holding -1",
        _set("attention_mask", _mask_value(-1)),
        ValueError,
        r"attention_mask must hold only 0 \(masked\) and 1 \(attend\), got values \[-1\]",
    ),
    InputCase(
        "token type outside the table",
        _set("token_type_ids", lambda a: a + 1),
        ValueError,
        r"token_type_ids holds 2, outside \[0, 2\)",
    ),
    InputCase(
        "token types of the wrong shape",
        _set("token_type_ids", lambda a: a[:2]),
        ValueError,
        r"token_type_ids has shape \(2, 7\), expected \(3, 7\)",
    ),
    InputCase(
        "float token types",
        _set("token_type_ids", lambda a: a.astype(np.float32)),
        TypeError,
        "token_type_ids must hold integer ids",
    ),
    InputCase(
        "position outside the table",
        lambda x: {**x, "position_ids": np.full((3, 7), 64, np.int32)},
        ValueError,
        r"position_ids holds 64, outside \[0, 64\)",
    ),
    InputCase(
        "positions of the wrong shape",
        lambda x: {**x, "position_ids": np.zeros((3, 6), np.int32)},
        ValueError,
        r"position_ids has shape \(3, 6\), expected",
    ),
    InputCase(
        "head mask of the wrong shape",
        lambda x: {**x, "head_mask": np.ones((3,), np.float32)},
        ValueError,
        r"head_mask has shape \(3,\), expected \(4,\) or \(2, 4\)",
    ),
    InputCase(
        "encoder states without cross-attention",
        lambda x: {**x, "encoder_hidden_states": np.zeros((3, 5, 32), np.float32)},
        ValueError,
        "encoder_hidden_states was given but the model has no cross-attention layers",
    ),
    InputCase(
        "encoder mask without encoder states",
        lambda x: {**x, "encoder_attention_mask": np.ones((3, 5), np.int32)},
        ValueError,
        "encoder_attention_mask was given without encoder_hidden_states",
    ),
)
