"""Checking the inputs of a wrapper call before they reach the network.

Shapes and dtypes are always checked (they are static, also under `jax.jit`). Values (ids inside the
vocabulary, 0/1 masks, label ids inside the label set) are checked only for concrete arrays: under
`jax.jit` they are tracers, and JAX would silently turn an out-of-range id into NaN embeddings, so the
eager path is where users get a clear error.

Shape legend: B = batch, C = choices, T = sequence length, M = cache length, S = encoder length,
H = hidden size, N = heads, L = layers.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bert_common.config import BertConfig


def is_concrete(x: Any) -> bool:
    """True for an array whose values can be read now (not a tracer inside jit/grad/vmap)."""
    return not isinstance(x, jax.core.Tracer)


def as_array(name: str, value: Any) -> jax.Array | np.ndarray:
    """numpy / jax arrays pass through; lists and scalars become numpy arrays; anything else is a TypeError."""
    if isinstance(value, (np.ndarray, jax.Array)):
        return value
    if isinstance(value, (list, tuple, int, float, bool, np.generic)):
        return np.asarray(value)
    raise TypeError(f"{name} must be an array (numpy or jax), got {type(value).__name__}")


def _values(x: Any) -> np.ndarray:
    return np.asarray(x)


def check_ids(name: str, x: Any, upper: int, what: str) -> None:
    """Integer dtype; when concrete, every value in [0, upper)."""
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"{name} must hold integer ids, got dtype {x.dtype}")
    if is_concrete(x) and x.size:
        values = _values(x)
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= upper:
            bad = low if low < 0 else high
            raise ValueError(f"{name} holds {bad}, outside [0, {upper}) ({what})")


def check_mask(name: str, x: Any, shape: tuple[int, ...]) -> None:
    """Shape `shape`; numeric or bool; when concrete, only 0 and 1."""
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(x.shape)}")
    if not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == bool):
        raise TypeError(f"{name} must be a 0/1 mask of ints, floats or bools, got dtype {x.dtype}")
    if is_concrete(x) and x.size:
        values = np.unique(_values(x))
        if not np.all(np.isin(values, (0, 1))):
            raise ValueError(
                f"{name} must hold only 0 (masked) and 1 (attend), got values {values[:8].tolist()}"
            )


def prepare_inputs(
    config: BertConfig,
    *,
    rank: int,
    input_ids: Any = None,
    attention_mask: Any = None,
    token_type_ids: Any = None,
    position_ids: Any = None,
    head_mask: Any = None,
    inputs_embeds: Any = None,
    encoder_hidden_states: Any = None,
    encoder_attention_mask: Any = None,
    cache_shape: tuple[int, int] | None = None,
    cache_offset: int | None = None,
) -> dict[str, Any]:
    """Validate and normalize the model inputs; returns the keyword arguments for the module.

    rank: 2 for [B, T] inputs, 3 for multiple choice [B, C, T].
    cache_shape: (B, M) of the decoding cache when one is passed; attention_mask then covers all M
    cache positions. cache_offset: positions already in the cache, when known (concrete).
    """
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError("pass exactly one of input_ids and inputs_embeds")
    if input_ids is not None:
        input_ids = as_array("input_ids", input_ids)
        if input_ids.ndim != rank:
            want = "[batch, choices, seq_len]" if rank == 3 else "[batch, seq_len]"
            raise ValueError(f"input_ids must have shape {want}, got shape {tuple(input_ids.shape)}")
        check_ids("input_ids", input_ids, config.vocab_size, f"vocab_size={config.vocab_size}")
        shape = tuple(input_ids.shape)
    else:
        inputs_embeds = as_array("inputs_embeds", inputs_embeds)
        if inputs_embeds.ndim != rank + 1 or inputs_embeds.shape[-1] != config.hidden_size:
            raise ValueError(
                f"inputs_embeds must have shape [..., seq_len, hidden_size={config.hidden_size}] with "
                f"{rank + 1} axes, got {tuple(inputs_embeds.shape)}"
            )
        if not jnp.issubdtype(inputs_embeds.dtype, jnp.floating):
            raise TypeError(f"inputs_embeds must be floating point, got dtype {inputs_embeds.dtype}")
        shape = tuple(inputs_embeds.shape[:-1])
    length = shape[-1]
    if length == 0:
        raise ValueError(f"the input sequence is empty (shape {shape})")
    start = 0 if cache_offset is None else cache_offset
    if start + length > config.max_position_embeddings:
        raise ValueError(
            f"sequence of length {length}"
            + (f" after {start} cached positions" if start else "")
            + f" is longer than max_position_embeddings={config.max_position_embeddings}"
        )

    if cache_shape is not None:
        if shape[0] != cache_shape[0]:
            raise ValueError(f"input batch {shape[0]} does not match the cache batch {cache_shape[0]}")
        mask_shape = (shape[0], cache_shape[1])
    else:
        mask_shape = shape
    if attention_mask is not None:
        attention_mask = as_array("attention_mask", attention_mask)
        check_mask("attention_mask", attention_mask, mask_shape)
    if token_type_ids is not None:
        token_type_ids = as_array("token_type_ids", token_type_ids)
        if tuple(token_type_ids.shape) != shape:
            raise ValueError(
                f"token_type_ids must have shape {shape} like the input, got {tuple(token_type_ids.shape)}"
            )
        check_ids(
            "token_type_ids",
            token_type_ids,
            config.type_vocab_size,
            f"type_vocab_size={config.type_vocab_size}",
        )
    if position_ids is not None:
        position_ids = as_array("position_ids", position_ids)
        if tuple(position_ids.shape) not in (shape, (1, *shape[1:])):
            raise ValueError(
                f"position_ids must have shape {shape} (or {(1, *shape[1:])}), got {tuple(position_ids.shape)}"
            )
        check_ids("position_ids", position_ids, config.max_position_embeddings, "max_position_embeddings")
        position_ids = jnp.broadcast_to(jnp.asarray(position_ids), shape)
    if head_mask is not None:
        head_mask = as_array("head_mask", head_mask)
        allowed = ((config.num_attention_heads,), (config.num_hidden_layers, config.num_attention_heads))
        if tuple(head_mask.shape) not in allowed:
            raise ValueError(
                f"head_mask must have shape [num_heads]={allowed[0]} or [num_layers, num_heads]={allowed[1]}, "
                f"got {tuple(head_mask.shape)}"
            )
    if encoder_hidden_states is not None:
        if not config.add_cross_attention:
            raise ValueError("encoder_hidden_states given, but the config has add_cross_attention=False")
        encoder_hidden_states = as_array("encoder_hidden_states", encoder_hidden_states)
        if (
            encoder_hidden_states.ndim != 3
            or encoder_hidden_states.shape[0] != shape[0]
            or encoder_hidden_states.shape[2] != config.hidden_size
        ):
            raise ValueError(
                f"encoder_hidden_states must have shape [batch={shape[0]}, src_len, hidden_size={config.hidden_size}], "
                f"got {tuple(encoder_hidden_states.shape)}"
            )
        if encoder_attention_mask is not None:
            encoder_attention_mask = as_array("encoder_attention_mask", encoder_attention_mask)
            check_mask("encoder_attention_mask", encoder_attention_mask, encoder_hidden_states.shape[:2])
    elif encoder_attention_mask is not None:
        raise ValueError("encoder_attention_mask given without encoder_hidden_states")

    to_jax = lambda x, dtype=None: None if x is None else jnp.asarray(x, dtype=dtype)  # noqa: E731
    return dict(
        input_ids=to_jax(input_ids, jnp.int32),
        attention_mask=to_jax(attention_mask),
        token_type_ids=to_jax(token_type_ids, jnp.int32),
        position_ids=to_jax(position_ids, jnp.int32),
        head_mask=to_jax(head_mask),
        inputs_embeds=to_jax(inputs_embeds),
        encoder_hidden_states=to_jax(encoder_hidden_states),
        encoder_attention_mask=to_jax(encoder_attention_mask),
    )


def check_label_ids(name: str, labels: Any, num_classes: int, ignore: int | None = -100) -> None:
    """When concrete: integer labels in [0, num_classes), or `ignore`; float labels are left to the loss."""
    if labels is None or not is_concrete(labels) or not jnp.issubdtype(labels.dtype, jnp.integer):
        return
    values = _values(labels)
    bad = (
        values[(values != ignore) & ((values < 0) | (values >= num_classes))]
        if ignore is not None
        else values[(values < 0) | (values >= num_classes)]
    )
    if bad.size:
        raise ValueError(
            f"{name} holds {int(bad[0])}, outside [0, {num_classes})"
            + (f" and not {ignore}" if ignore is not None else "")
        )
