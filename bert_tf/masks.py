"""Attention masks and head masks in the form the attention layers consume.

Shape legend: B = batch, T = query length, S = key length (cached + new tokens), L = layers, N = heads.
A 0/1 padding mask becomes an additive float32 mask: 0 where a key may be attended, finfo(float32).min
where it may not (Transformers' `get_extended_attention_mask` / `invert_attention_mask`). A fully padded
row then gives a uniform softmax, never NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

MASK_DTYPE = tf.float32
MASK_MIN = float(np.finfo(np.float32).min)


def extended_attention_mask(attention_mask: tf.Tensor, query_length: Any, is_decoder: bool) -> tf.Tensor:
    """Self-attention mask.

    attention_mask: [B, S] 1 for tokens to attend, 0 for padding (S includes cached positions).
    query_length: T, the number of new tokens (the last T of the S positions).
    is_decoder: also hide future positions: query t (absolute position S - T + t) sees keys <= itself.
    Returns [B, 1, T or 1, S] additive float32 mask.
    """
    mask = tf.cast(attention_mask, MASK_DTYPE)[:, tf.newaxis, tf.newaxis, :]  # [B, 1, 1, S]
    if is_decoder:
        key_length = tf.shape(attention_mask)[1]
        query_positions = tf.range(query_length) + (key_length - query_length)  # [T]
        causal = tf.range(key_length)[tf.newaxis, :] <= query_positions[:, tf.newaxis]  # [T, S]
        mask = mask * tf.cast(causal, MASK_DTYPE)[tf.newaxis, tf.newaxis]  # [B, 1, T, S]
    return (1.0 - mask) * MASK_MIN


def inverted_encoder_mask(encoder_attention_mask: tf.Tensor) -> tf.Tensor:
    """Cross-attention mask: [B, S_enc] 0/1 -> [B, 1, 1, S_enc] additive float32 mask."""
    mask = tf.cast(encoder_attention_mask, MASK_DTYPE)[:, tf.newaxis, tf.newaxis, :]
    return (1.0 - mask) * MASK_MIN


def layer_head_masks(
    head_mask: tf.Tensor | None, num_layers: int, num_heads: int
) -> list[tf.Tensor | None] | None:
    """Per-layer multipliers of the attention probabilities.

    head_mask: [N] (the same for every layer) or [L, N], 1 keeps a head and 0 silences it.
    Returns None, or L tensors of shape [1, N, 1, 1].
    """
    if head_mask is None:
        return None
    expected = {1: (num_heads,), 2: (num_layers, num_heads)}
    rank = head_mask.shape.rank
    if rank not in expected or any(
        have is not None and have != want for have, want in zip(head_mask.shape, expected[rank])
    ):
        raise ValueError(
            f"head_mask must have shape ({num_heads},) or ({num_layers}, {num_heads}), got {tuple(head_mask.shape)}"
        )
    head_mask = tf.cast(head_mask, MASK_DTYPE)
    if rank == 1:
        head_mask = tf.broadcast_to(head_mask[tf.newaxis, :], (num_layers, num_heads))
    return [head_mask[i][tf.newaxis, :, tf.newaxis, tf.newaxis] for i in range(num_layers)]
