"""`pad`: padding already-tokenized examples, the way `DataCollatorWithPadding`-style collate code calls it.

Takes what a collate function holds: a list of examples (dicts of columns, as a dataset yields them)
or one dict of columns (a batch, or a single example), with python lists, numpy arrays or framework
tensors as values. The token columns are padded (input_ids with the pad id, token_type_ids and
attention_mask with 0, special_tokens_mask with 1, offset_mapping with (0, 0)); an attention_mask is
added when there is none; every other column (labels, ...) is passed through untouched and converted
with its own dtype.

Where Transformers 4.57's `pad` differs: it leaves offset_mapping (and an attention_mask given with
return_attention_mask=False) unpadded and returns numpy object arrays for unpadded ragged rows; here
every token column is padded and a ragged column asked for as a tensor is a ValueError naming it. An
empty list of examples is a ValueError (an IndexError in Transformers).

Shape legend: B = examples, T = tokens per row (after padding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bert_common.tokenization.batch import BatchEncoding, to_tensor
from bert_common.tokenization.options import VERY_LARGE_INTEGER
from bert_common.tokenization.request import PADDING_STRATEGIES, check_bool, check_int, check_tensor_kind

# the token columns and their pad values
PAD_VALUES: dict[str, Any] = {
    "input_ids": None,  # the tokenizer's pad id
    "token_type_ids": 0,
    "attention_mask": 0,
    "special_tokens_mask": 1,
    "offset_mapping": (0, 0),
}
_KINDS = {"numpy": "np", "torch": "pt", "tensorflow": "tf", "jax": "jax", "jaxlib": "jax"}


def _as_lists(value: Any) -> tuple[Any, str | None]:
    """A column value as python lists, and the tensor kind it came as (None for python lists)."""
    if isinstance(value, (list, tuple)):
        if value and not isinstance(value[0], (int, float, list, tuple, np.integer, np.floating)):
            rows = [_as_lists(v) for v in value]
            return [r for r, _ in rows], rows[0][1]
        return list(value), None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        kind = _KINDS.get(type(value).__module__.split(".")[0])
        if kind is None and hasattr(value, "numpy"):  # tf eager tensors
            kind, value = "tf", value.numpy()
        return value.tolist(), kind
    if hasattr(value, "numpy"):
        return value.numpy().tolist(), "tf"
    return value, None


def _convert(value: Any, kind: str, key: str) -> Any:
    """A column as a `kind` tensor: token columns as `to_tensor` makes them, others with their own dtype."""
    if key in PAD_VALUES:
        return to_tensor(value, kind, key)
    if isinstance(value, list) and value and isinstance(value[0], list) and len({len(r) for r in value}) > 1:
        to_tensor(value, kind, key)  # raises the ragged-column error
    if kind == "np":
        return np.asarray(value)
    if kind == "pt":
        import torch

        return torch.tensor(value)
    if kind == "tf":
        import tensorflow as tf

        return tf.constant(value)
    import jax.numpy as jnp

    return jnp.asarray(value)


def pad_inputs(
    encoded_inputs: Any,
    pad_id: int,
    model_max_length: int,
    padding: bool | str = True,
    max_length: int | None = None,
    pad_to_multiple_of: int | None = None,
    padding_side: str = "right",
    return_attention_mask: bool | None = None,
    return_tensors: str | None = None,
) -> BatchEncoding:
    """Pad examples to the longest (or to max_length, rounded up to pad_to_multiple_of).

    encoded_inputs: a list of examples (dicts with the same keys, input_ids [T] each), or a dict of
        columns (input_ids [B, T] ragged, or [T] for one example); values as python lists, numpy
        arrays or framework tensors.
    padding: True / "longest", "max_length" (max_length, else model_max_length), False / "do_not_pad".
    return_tensors: None keeps python lists, unless the input_ids came as tensors, whose kind is kept.
    Returns a BatchEncoding ([B, T] columns, [T] for one example given as a dict of flat lists).
    Raises TypeError for inputs of another kind, ValueError for no examples, no input_ids, examples with
    different keys, a token column whose rows do not match input_ids, an unknown strategy, or
    "max_length" without any length.
    """
    if isinstance(encoded_inputs, Sequence) and not isinstance(encoded_inputs, (str, bytes)):
        if not encoded_inputs:
            raise ValueError("pad() needs at least one example; got an empty list")
        if not all(isinstance(example, Mapping) for example in encoded_inputs):
            raise TypeError("pad() takes a list of examples (dicts of columns) or one dict of columns")
        keys = list(encoded_inputs[0])
        for i, example in enumerate(encoded_inputs):
            if set(example) != set(keys):
                raise ValueError(
                    f"pad(): example {i} has keys {sorted(example)} but example 0 has {sorted(keys)}; every "
                    "example needs the same columns"
                )
        columns = {key: [example[key] for example in encoded_inputs] for key in keys}
    elif isinstance(encoded_inputs, Mapping):
        columns = dict(encoded_inputs)
    else:
        raise TypeError(
            f"pad() takes a list of examples or a dict of columns, got {type(encoded_inputs).__name__}"
        )
    if "input_ids" not in columns:
        raise ValueError(f"pad() needs input_ids among the columns; got {sorted(columns)}")
    converted = {key: _as_lists(value) for key, value in columns.items()}
    data = {key: value for key, (value, _) in converted.items()}
    kind = check_tensor_kind(return_tensors) or converted["input_ids"][1]
    single = not data["input_ids"] or not isinstance(data["input_ids"][0], (list, tuple))
    if single:
        data = {key: [value] if key in PAD_VALUES else value for key, value in data.items()}

    max_length = check_int("max_length", max_length, 1)
    pad_to_multiple_of = check_int("pad_to_multiple_of", pad_to_multiple_of, 1)
    return_attention_mask = check_bool("return_attention_mask", return_attention_mask, allow_none=True)
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
    rows = data["input_ids"]
    if padding is True or padding == "longest":
        length: int | None = max((len(row) for row in rows), default=0)
    elif padding == "max_length":
        length = max_length if max_length is not None else model_max_length
        if length >= VERY_LARGE_INTEGER:
            raise ValueError("padding='max_length' needs max_length: this tokenizer has no model_max_length")
    elif padding is False or padding is None or padding == "do_not_pad":
        length = None
    else:
        raise ValueError(
            f"unknown padding strategy {padding!r}; expected True, False or one of {list(PADDING_STRATEGIES)}"
        )
    if length is not None and pad_to_multiple_of and length % pad_to_multiple_of:
        length += pad_to_multiple_of - length % pad_to_multiple_of

    if "attention_mask" not in data and return_attention_mask is not False:
        data["attention_mask"] = [[1] * len(row) for row in rows]
    for key, fill in PAD_VALUES.items():
        if key not in data:
            continue
        column = data[key]
        for b, (row, ids) in enumerate(zip(column, rows)):
            if len(row) != len(ids):
                raise ValueError(
                    f"pad(): row {b} of {key} has {len(row)} values but its input_ids {len(ids)}"
                )
        if length is not None:
            value = pad_id if fill is None else fill
            data[key] = [
                ([value] * (length - len(row)) + list(row)) if padding_side == "left" else list(row) + [value] * (length - len(row))
                for row in column
            ]  # fmt: skip
    if single:
        data = {key: value[0] if key in PAD_VALUES else value for key, value in data.items()}
    if kind is not None:
        data = {key: _convert(value, kind, key) for key, value in data.items()}
    return BatchEncoding(data, n_sequences=None)
