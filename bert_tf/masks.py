"""Attention masks and head masks in the form the attention layers consume.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (P + T),
S encoder length, L layers, N heads.

A 0/1 mask becomes an additive float32 mask: 0 where a key may be attended, finfo(float32).min where it
may not (Transformers' `get_extended_attention_mask` / `invert_attention_mask`). A fully masked row then
gives a uniform softmax, never NaN. The mask stays float32 under mixed precision (the attention adds it to
float32 scores). Masks may be given per sequence ([B, K]) or per query ([B, T, K]), as in the other twins.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

MASK_DTYPE = tf.float32
MASK_MIN = float(np.finfo(np.float32).min)


def _additive(allowed: tf.Tensor) -> tf.Tensor:
    return (1.0 - allowed) * MASK_MIN


def self_attention_mask(attention_mask: tf.Tensor, query_length: int | tf.Tensor, causal: bool) -> tf.Tensor:
    """Additive self-attention mask.

    attention_mask: [B, K] (1 = attend, 0 = padding; K includes the P cached positions) or [B, T, K] per
        query, ints, floats or bools.
    query_length: T, the number of new positions (the last T of the K).
    causal: also hide future positions (decoders): query t, at absolute position K - T + t, sees keys
        0 .. K - T + t.
    Returns [B, 1, 1, K] (encoder, 2-D mask) or [B, 1, T, K] float32.
    """
    if attention_mask.shape.rank == 3:
        allowed = tf.cast(attention_mask, MASK_DTYPE)[:, tf.newaxis, :, :]  # [B, 1, T, K]
    else:
        allowed = tf.cast(attention_mask, MASK_DTYPE)[:, tf.newaxis, tf.newaxis, :]  # [B, 1, 1, K]
    if causal:
        key_length = tf.shape(attention_mask)[-1]
        query_positions = tf.range(query_length) + (key_length - query_length)  # [T]
        visible = tf.range(key_length)[tf.newaxis, :] <= query_positions[:, tf.newaxis]  # [T, K]
        allowed = allowed * tf.cast(visible, MASK_DTYPE)[tf.newaxis, tf.newaxis]  # [B, 1, T, K]
    return _additive(allowed)


def cross_attention_mask(encoder_attention_mask: tf.Tensor) -> tf.Tensor:
    """Additive cross-attention mask: [B, S] (or [B, T, S] per query) 0/1 -> [B, 1, 1, S] (or
    [B, 1, T, S]) float32."""
    allowed = tf.cast(encoder_attention_mask, MASK_DTYPE)
    if encoder_attention_mask.shape.rank == 3:
        return _additive(allowed[:, tf.newaxis, :, :])
    return _additive(allowed[:, tf.newaxis, tf.newaxis, :])


def head_mask(mask: tf.Tensor | None, num_layers: int, num_heads: int) -> list[tf.Tensor] | None:
    """Per-layer multipliers of the attention probabilities.

    mask: [N] (the same for every layer) or [L, N], 1 keeps a head and 0 silences it (its shape is
        checked by bert_common.inputs before).
    Returns None, or L float32 tensors of shape [1, N, 1, 1].
    """
    if mask is None:
        return None
    mask = tf.cast(mask, MASK_DTYPE)
    if mask.shape.rank == 1:
        mask = tf.broadcast_to(mask[tf.newaxis, :], (num_layers, num_heads))
    return [mask[i][tf.newaxis, :, tf.newaxis, tf.newaxis] for i in range(num_layers)]


# The padding-free layout (bert_common.packing), as in bert_flax.masks: (index int32 [M], valid bool [M],
# kept bool [B, T]). index: flat positions b * T + t of the packed tokens; valid: the slots holding a kept
# token (under XLA the others fill a bucket with padded positions, whose results are discarded); kept:
# its dynamic shape gives (B, T). A tuple of tensors, so tf.switch_case and keras.remat carry it.
Packing = tuple[tf.Tensor, tf.Tensor, tf.Tensor]


def pack_order(attention_mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(order int32 [B * T], count int32 scalar, kept bool [B, T]) of a 0/1 [B, T] mask: the rule of
    bert_common.packing.kept_positions / pack_order (attended tokens plus position 0 of every row, in
    reading order, then the other positions) in TensorFlow ops, for masks of unknown static shape too.
    """
    first = tf.range(tf.shape(attention_mask)[1]) == 0  # [T]
    kept = tf.logical_or(tf.not_equal(attention_mask, 0), first[tf.newaxis, :])  # [B, T]
    dropped = tf.cast(tf.logical_not(tf.reshape(kept, [-1])), tf.int32)  # [B * T]
    order = tf.cast(tf.argsort(dropped, stable=True), tf.int32)
    return order, tf.reduce_sum(1 - dropped), kept


def make_packing(order: tf.Tensor, count: tf.Tensor, kept: tf.Tensor, size: int | tf.Tensor) -> Packing:
    """The layout of the first `size` (M: exact, or a static XLA bucket >= count) entries of `order`."""
    return order[:size], tf.range(size) < count, kept


def pack(x: tf.Tensor, layout: Packing) -> tf.Tensor:
    """[B, T, ...] -> [1, M, ...]."""
    index = layout[0]
    flat = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))  # [B * T, ...]
    return tf.gather(flat, index)[tf.newaxis]


def unpack(x: tf.Tensor, layout: Packing) -> tf.Tensor:
    """[1, M, E] -> [B, T, E], zeros at the positions not packed (and for a bucket's filler slots)."""
    index, valid, kept = layout
    shape = tf.shape(kept)
    rows = tf.where(valid[:, tf.newaxis], x[0], tf.zeros((), x.dtype))  # [M, E]
    size = tf.stack([shape[0] * shape[1], tf.shape(rows)[1]])
    out = tf.scatter_nd(index[:, tf.newaxis], rows, size)  # [B * T, E]
    return tf.reshape(out, tf.concat([shape, [-1]], axis=0))
