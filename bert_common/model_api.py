"""Framework-neutral rules of the model API the three twins share (Transformers' `PreTrainedModel` names).

- `resized_vocab_size`: the vocabulary size `resize_token_embeddings(new_num_tokens, pad_to_multiple_of)`
  gives, with its argument checks;
- `resized_rows`: the [V_new, H] matrix after a resize (old rows kept, new rows at the mean of the old
  ones, as bert_pt's `mean_resizing=True` default), written on numpy so every twin calls it;
- `count_parameters`: the rule of `num_parameters(only_trainable, exclude_embeddings)`;
- `MAIN_INPUT_NAME` and `can_generate`: class-level facts of every twin.

Shape legend: V vocabulary size, H hidden size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MAIN_INPUT_NAME = "input_ids"

# The head models that run `generate` (a left-to-right decoder with a language-model head).
GENERATING_HEADS = frozenset({"BertLMHeadModel"})


def can_generate(head_name: str) -> bool:
    """True for the heads with a `generate` method (BertLMHeadModel), as Transformers' `can_generate`."""
    return head_name in GENERATING_HEADS


def _positive_int(name: str, value: object) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def resized_vocab_size(old_size: int, new_num_tokens: int | None, pad_to_multiple_of: int | None) -> int:
    """The vocabulary size after `resize_token_embeddings`: `new_num_tokens` (default the current size)
    rounded up to a multiple of `pad_to_multiple_of` when given.

    Raises:
        ValueError: new_num_tokens or pad_to_multiple_of that is not a positive int.
    """
    rows = old_size if new_num_tokens is None else _positive_int("new_num_tokens", new_num_tokens)
    if pad_to_multiple_of is not None:
        multiple = _positive_int("pad_to_multiple_of", pad_to_multiple_of)
        rows = math.ceil(rows / multiple) * multiple
    return rows


def resized_rows(
    old: np.ndarray, rows: int, mean_resizing: bool = True, std: float = 0.02, seed: int | None = None
) -> np.ndarray:
    """old: [V_old, H] -> [rows, H]: the first min(rows, V_old) rows of `old`, then new rows at the
    mean of the old rows (mean_resizing, computed in float32, so new tokens do not skew the MLM
    softmax) or drawn from N(0, std) (numpy generator of `seed`), in old's dtype.
    A 1-D `old` [V_old] (a decoder bias) is padded with zeros instead."""
    old = np.asarray(old)
    kept = min(rows, old.shape[0])
    new = np.zeros((rows, *old.shape[1:]), dtype=old.dtype)
    new[:kept] = old[:kept]
    if rows > kept and old.ndim == 2:
        if mean_resizing:
            new[kept:] = old.astype(np.float32).mean(axis=0).astype(old.dtype)
        else:
            new[kept:] = np.random.default_rng(seed).normal(0.0, std, new[kept:].shape).astype(old.dtype)
    return new


def count_parameters(
    entries: Iterable[tuple[int, bool, bool]], only_trainable: bool = False, exclude_embeddings: bool = False
) -> int:
    """`num_parameters`: the sum of the sizes of distinct parameters, given as (size, trainable,
    is_embedding) once each (a tied decoder is the word-embedding matrix, counted once).
    exclude_embeddings drops the embedding tables (word, position, token type); only_trainable the
    frozen ones."""
    return sum(
        size
        for size, trainable, embedding in entries
        if (trainable or not only_trainable) and not (embedding and exclude_embeddings)
    )
