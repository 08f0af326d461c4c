"""The inputs of the Flax models, checked by the one rule set of `bert_common.inputs`.

This module only describes numpy / jax arrays (`describe`) and hands them to the shared rules, whose
messages name the argument and the offending value; then it converts them to the jax arrays the linen
modules take. Shapes and dtypes are always checked (they are static, also under `jax.jit`); values (ids
inside their tables, 0/1 masks, label ids) only for concrete arrays: inside `jax.jit` they are tracers,
and JAX would silently turn an out-of-range id into NaN embeddings, so the eager call is where users get
a clear error.

Shape legend: B batch, C choices, T new positions, P cached positions, K key positions (P + T, or the
decoding cache's size), S encoder length, H hidden size, N attention heads, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_common.inputs import (
    EncoderGeometry,
    TensorInfo,
    check_encoder_inputs,
    check_labels,
    resolve_label_aliases,
)
from bert_flax.cache import CacheGeometry, check_fits

Array = jax.Array | np.ndarray


def is_concrete(x: object) -> bool:
    """True for an array whose values can be read now (not a tracer inside jit/grad/vmap)."""
    return not isinstance(x, jax.core.Tracer)


def as_array(name: str, value: object) -> Array:
    """numpy / jax arrays pass through; lists and scalars become numpy arrays.

    Raises:
        TypeError: anything else (a string, a dict, a torch tensor ...).
    """
    if isinstance(value, (np.ndarray, jax.Array)):
        return value
    if isinstance(value, (list, tuple, int, float, bool, np.generic)):
        return np.asarray(value)
    raise TypeError(f"{name} must be an array (numpy or jax), got {type(value).__name__}")


def _kind(dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "bool"
    if jnp.issubdtype(dtype, jnp.integer):
        return "int"
    if jnp.issubdtype(dtype, jnp.floating):
        return "float"
    return "other"


def describe(name: str, value: object) -> TensorInfo:
    """The TensorInfo of the argument `name` for the shared rules (values readable unless a tracer).

    Raises:
        TypeError: `value` is not an array, a list or a scalar.
    """
    array = as_array(name, value)
    dtype = np.dtype(array.dtype)
    read = (lambda: np.asarray(array)) if is_concrete(array) else None
    return TensorInfo(tuple(int(d) for d in array.shape), _kind(dtype), str(dtype), read)


def check_inputs(
    config: BertConfig,
    *,
    input_ids: ArrayLike | None = None,
    attention_mask: ArrayLike | None = None,
    token_type_ids: ArrayLike | None = None,
    position_ids: ArrayLike | None = None,
    head_mask: ArrayLike | None = None,
    inputs_embeds: ArrayLike | None = None,
    encoder_hidden_states: ArrayLike | None = None,
    encoder_attention_mask: ArrayLike | None = None,
    cache: CacheGeometry | None = None,
    rank: int = 2,
) -> tuple[dict[str, jax.Array | None], EncoderGeometry]:
    """Check the inputs of a model call (`bert_common.inputs.check_encoder_inputs`) and convert them.

    input_ids: [B, T] (or [B, C, T] with rank=3) integer ids; inputs_embeds: [B, T, H] floats.
    attention_mask: [B, K] or [B, T, K], 0/1. head_mask: [N] or [L, N].
    encoder_hidden_states / encoder_attention_mask: [B, S, H] / [B, S] or [B, T, S].
    cache: the geometry of the decoding cache given with the inputs (bert_flax.cache): the attention mask
        then covers its K positions, P of them filled (P unknown under jit), and the new tokens must fit.

    Returns (the module's keyword inputs as jax arrays, ids as int32 and position_ids broadcast to the
    input shape; the geometry: batch shape, T, P, K).

    Raises:
        TypeError: an argument that is not an array, or of the wrong dtype.
        ValueError: a shape or value the shared rules refuse (see check_encoder_inputs); new tokens that
            do not fit the cache.
    """
    given = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
        "position_ids": position_ids,
        "head_mask": head_mask,
        "inputs_embeds": inputs_embeds,
        "encoder_hidden_states": encoder_hidden_states,
        "encoder_attention_mask": encoder_attention_mask,
    }
    arrays = {name: None if value is None else as_array(name, value) for name, value in given.items()}
    described = {name: None if value is None else describe(name, value) for name, value in arrays.items()}
    geometry = check_encoder_inputs(
        config,
        **described,
        past_length=0 if cache is None or cache.filled is None else cache.filled,
        mask_length=-1 if cache is None else cache.size,
        rank=rank,
    )
    if cache is not None:
        check_fits(cache, geometry.batch, geometry.length)
    ints = ("input_ids", "token_type_ids", "position_ids")
    converted = {
        name: None if value is None else jnp.asarray(value, dtype=jnp.int32 if name in ints else None)
        for name, value in arrays.items()
    }
    if converted["position_ids"] is not None:  # [1, T] positions serve every row
        ids, embeds = arrays["input_ids"], arrays["inputs_embeds"]
        shape = tuple(ids.shape) if ids is not None else tuple(embeds.shape[:-1])
        converted["position_ids"] = jnp.broadcast_to(converted["position_ids"], shape)
    return converted, geometry


def check_head_labels(
    head_name: str,
    config: BertConfig,
    labels: Mapping[str, ArrayLike | None],
    num_choices: int | None = None,
) -> dict[str, jax.Array]:
    """The label arguments given to the head `head_name`, checked and keyed by their canonical names.

    labels: label argument name -> value (None when not given); aliases (NSP's `next_sentence_label`) are
    renamed to the label they stand for. Integer labels must lie inside their class range or be -100
    (`bert_common.inputs.check_labels`; values only when concrete). Returns name -> jax array.

    Raises:
        TypeError: a label argument the head does not take, or a label that is not an array.
        ValueError: an integer label outside its range; a label given twice (under its name and an alias).
    """
    head = get_head(head_name)
    arrays: dict[str, Array] = {
        name: as_array(name, value) for name, value in resolve_label_aliases(head, labels).items()
    }
    check_labels(head, config, {name: describe(name, value) for name, value in arrays.items()}, num_choices)
    return {name: jnp.asarray(value) for name, value in arrays.items()}
