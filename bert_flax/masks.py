"""Attention masks: from the users' 0/1 masks to the additive biases the attention adds to its scores.

Masks are combined as booleans first (padding, per-query rows, the causal rule) and turned into one
additive bias: 0 where a query may attend, `finfo(dtype).min` where it may not, in the computation dtype,
as in the other twins. A fully masked row then gets finite (uniform) probabilities instead of NaN.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (P + T, or the
decoding cache's fixed size), S encoder length, L layers, N attention heads.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax.typing import Dtype

from bert_common import packing
from bert_common.config import BertConfig


def _allowed(mask: jax.Array | None, batch: int, key_length: int) -> jax.Array:
    """[B, K] (or per query [B, T, K]) 0/1 mask -> boolean [B, 1, 1|T, K] that broadcasts over heads."""
    if mask is None:
        return jnp.ones((batch, 1, 1, key_length), dtype=bool)
    mask = mask.astype(bool)
    if mask.ndim == 2:
        return mask[:, None, None, :]
    return mask[:, None, :, :]


def _bias(allowed: jax.Array, dtype: Dtype) -> jax.Array:
    """0 where `allowed` is true, `finfo(dtype).min` where it is false, in `dtype`."""
    return jnp.where(allowed, jnp.zeros((), dtype), jnp.asarray(jnp.finfo(dtype).min, dtype))


def self_attention_mask(
    attention_mask: jax.Array | None,
    batch: int,
    query_length: int,
    key_length: int,
    *,
    offset: jax.Array | int = 0,
    causal: bool = False,
    dtype: Dtype = jnp.float32,
) -> jax.Array:
    """The additive self-attention bias [B, 1, 1, K] (or [B, 1, T, K] for a decoder or a per-query mask).

    attention_mask: [B, K] or [B, T, K], 1 = attend, 0 = masked (None: every key). With a decoding cache K
        is the cache size and the mask covers all of it.
    offset: P, the absolute position of the first query (the cache index while decoding).
    causal: a decoder's rule, query t (at position P + t) sees the keys 0 .. P + t.
    """
    allowed = _allowed(attention_mask, batch, key_length)  # [B, 1, 1|T, K]
    if causal:
        query_positions = offset + jnp.arange(query_length)  # [T]
        visible = jnp.arange(key_length)[None, :] <= query_positions[:, None]  # [T, K]
        allowed = jnp.logical_and(allowed, visible[None, None])  # [B, 1, T, K]
    return _bias(allowed, dtype)


def cross_attention_mask(
    encoder_attention_mask: jax.Array | None, batch: int, source_length: int, dtype: Dtype = jnp.float32
) -> jax.Array:
    """The additive cross-attention bias [B, 1, 1, S] (or [B, 1, T, S] from a per-query mask).

    encoder_attention_mask: [B, S] or [B, T, S], 1 for the encoder's real tokens, 0 for its padding
    (None: every encoder position).
    """
    return _bias(_allowed(encoder_attention_mask, batch, source_length), dtype)


def head_mask(mask: jax.Array | None, config: BertConfig) -> jax.Array | None:
    """Per-layer head multipliers [L, N] from a `head_mask` of shape [N] (every layer) or [L, N]
    (1 keeps a head, 0 silences it); None stays None.

    Raises:
        ValueError: a mask of another shape.
    """
    if mask is None:
        return None
    L, N = config.num_hidden_layers, config.num_attention_heads
    if mask.shape == (N,):
        return jnp.broadcast_to(mask, (L, N))
    if mask.shape != (L, N):
        raise ValueError(f"head_mask has shape {tuple(mask.shape)}, expected ({N},) or ({L}, {N})")
    return mask


# The padding-free layout (bert_common.packing): (index int32 [M], valid bool [M], kept bool [B, T]).
# index: flat positions b * T + t of the packed tokens; valid: the slots that hold a kept token (the
# others fill a jit bucket with padded positions, whose results are discarded); kept: its shape gives
# (B, T). A tuple of arrays, so nn.scan / nn.remat / jax.jit carry it like any input.
Packing = tuple[jax.Array, jax.Array, jax.Array]


def make_packing(attention_mask: jax.Array, size: int) -> Packing:
    """The layout of `size` (M, static) packed tokens for a 0/1 [B, T] mask (traceable under jit).

    Raises:
        ValueError: a mask that is not 2-D (bert_common.packing.check_packing_mask).
    """
    order, count = packing.pack_order(attention_mask, xp=jnp)
    kept = packing.kept_positions(attention_mask, xp=jnp)
    return order[:size], jnp.arange(size) < count, kept


def pack(x: jax.Array, layout: Packing) -> jax.Array:
    """[B, T, ...] (or [1, T, ...], broadcast over the batch) -> [1, M, ...]."""
    index, _, kept = layout
    batch, length = kept.shape
    x = jnp.broadcast_to(x, (batch, *x.shape[1:]))
    return x.reshape(batch * length, *x.shape[2:])[index][None]


def unpack(x: jax.Array, layout: Packing) -> jax.Array:
    """[1, M, E] -> [B, T, E], zeros at the positions not packed (and for the bucket's filler slots)."""
    index, valid, kept = layout
    batch, length = kept.shape
    rows = x.reshape(index.shape[0], -1)
    rows = jnp.where(valid[:, None], rows, jnp.zeros((), rows.dtype))
    out = jnp.zeros((batch * length, rows.shape[1]), rows.dtype).at[index].set(rows, unique_indices=True)
    return out.reshape(batch, length, -1)
