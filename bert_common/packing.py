"""Padding-free execution: which tokens of a padded batch the dense layers run on, and how many.

Shape legend: B batch, T new (query) positions, K key positions, M packed tokens (the kept tokens,
padded up to a bucket under jit/XLA), H hidden size.

A padded batch [B, T] holds padding wherever `attention_mask` is 0. The dense layers (embeddings, the
Q/K/V and output projections, the feed-forward block, the LayerNorms) treat every position on its own,
so they can run on the kept tokens only, packed to [M, H]; the attention itself scatters queries, keys
and values back to [B, T, ...] and runs the usual masked attention there, so its numbers (and the
attention probabilities, head masks, relative positions, causal masks) are unchanged.

The rules, shared by the three twins:

- **kept tokens** (`kept_positions`): the attended ones (`attention_mask != 0`) plus position 0 of
  every row, which the pooler reads ([CLS]; with left padding a padded position whose hidden state the
  padded path computes from the [PAD] embedding -- kept, so `pooler_output` equals the padded path's).
  Every other position comes out as zeros.
- **the order** (`pack_order`): the flat indices b * T + t of the kept tokens first, in reading order,
  then the others (a stable sort); the first M entries gather a packed batch, and scatter it back.
  Written for any numpy-like namespace (`xp=numpy` or `xp=jax.numpy`), so jit can trace it.
- **M**: exact in eager PyTorch (`pack_index`); under jit/XLA the shapes must be static, so M is the
  smallest of `bucket_sizes(B * T)` (eighths of B * T, rounded up to a multiple of 8) that holds the
  kept tokens (`bucket_for`): at most 8 compiled sizes per input shape. The extra slots hold padded
  positions, whose outputs are discarded (zeros).
- **when it pays** (`worth_packing`): the dense layers' work shrinks by the padding fraction, the gather
  and scatters add a little; at a padding fraction below `MIN_PADDING_FRACTION` (swept on bert-base and
  all-MiniLM-L6-v2, see docs/padding-free.md) the padded path is as fast, so callers that choose per
  batch (pipelines) pack only above it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Above this fraction of padded positions, padding-free is faster than the padded path. Measured by
# scripts/sweep_padding_threshold.py (PyTorch, 2-core CPU; docs/padding-free.md, "The threshold"): at no
# padding the gather / scatter cost 2-5%, at 2-3% padding the two paths tie, from 5% on padding-free wins
# on bert-base 8 x 128 and all-MiniLM-L6-v2 32 x 64 (0.88-0.95 of the padded time) and ties on MiniLM 8 x 16.
MIN_PADDING_FRACTION = 0.05
# Under jit/XLA, M is one of the eighths of B * T (so at most 8 compiled sizes per input shape) ...
JIT_BUCKET_STEPS = 8
# ... rounded up to a multiple of this many tokens (keeps GEMM shapes friendly).
JIT_BUCKET_MULTIPLE = 8


def check_padding_free(value: Any, allow_none: bool = False) -> bool | None:
    """`value` when it is a valid `padding_free` switch: a bool (the model's setting, every twin's
    constructor and from_pretrained), or None too for a call argument (None = the model's setting).

    Raises:
        TypeError: anything else (1, "yes", numpy bools included: the switch picks a program, not data).
    """
    if isinstance(value, bool) or (allow_none and value is None):
        return value
    raise TypeError(f"padding_free must be a bool{' or None' if allow_none else ''}, got {value!r}")


def check_packing_mask(attention_mask: Any) -> tuple[int, int]:
    """(B, T) of a padding-free `attention_mask`, which must be 2-D [B, T] (1 = token, 0 = padding).

    Raises:
        ValueError: a mask of another rank (a per-query [B, T, K] mask says nothing about which tokens
            exist) or with an empty axis.
    """
    shape = tuple(attention_mask.shape)
    if len(shape) != 2:
        raise ValueError(
            f"padding_free needs a 2-D attention_mask [batch, length] (1 = token, 0 = padding), got shape {shape}"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"padding_free needs a non-empty attention_mask, got shape {shape}")
    return int(shape[0]), int(shape[1])


def kept_positions(attention_mask: Any, xp: Any = np) -> Any:
    """bool [B, T]: the tokens the padding-free path computes, the attended ones and position 0 of
    every row (what the pooler reads). `xp`: numpy or jax.numpy.

    Raises:
        ValueError: see check_packing_mask.
    """
    check_packing_mask(attention_mask)
    kept = attention_mask != 0
    first = xp.arange(attention_mask.shape[1]) == 0  # [T]
    return xp.logical_or(kept, first[None, :])


def pack_order(attention_mask: Any, xp: Any = np) -> tuple[Any, Any]:
    """(order int32 [B * T], count int32 scalar): the flat indices b * T + t of the kept tokens in
    reading order, then those of the other positions; count is the number of kept tokens.

    `order[:M]` gathers a packed batch (x.reshape(B * T, ...)[order[:M]]) and scatters it back.
    Works with xp=numpy and with xp=jax.numpy (traceable: no data-dependent shapes).

    Raises:
        ValueError: see check_packing_mask.
    """
    kept = kept_positions(attention_mask, xp).reshape(-1)
    dropped = xp.logical_not(kept).astype(xp.int8)
    order = xp.argsort(dropped, stable=True).astype(xp.int32)
    return order, kept.sum().astype(xp.int32)


def pack_index(attention_mask: np.ndarray) -> np.ndarray:
    """int64 [M]: the flat indices of exactly the kept tokens (eager frameworks; M = their number).

    Raises:
        ValueError: see check_packing_mask.
    """
    order, count = pack_order(np.asarray(attention_mask))
    return order[: int(count)].astype(np.int64)


def bucket_sizes(total: int) -> tuple[int, ...]:
    """The static packed sizes for a [B, T] batch of `total` = B * T positions under jit/XLA: k/8 of
    `total` for k = 1..8, rounded up to a multiple of 8 (capped at `total`), without repeats.

    Raises:
        ValueError: total < 1.
    """
    if total < 1:
        raise ValueError(f"total must be at least 1, got {total}")
    sizes = []
    for step in range(1, JIT_BUCKET_STEPS + 1):
        size = bucket_size(total, step)
        if size not in sizes:
            sizes.append(size)
    return tuple(sizes)


def bucket_size(total: Any, step: int, minimum: Any = min) -> Any:
    """The step-th (1..JIT_BUCKET_STEPS) bucket of bucket_sizes(total) before repeats are dropped: step/8 of
    `total`, rounded up to a multiple of 8, capped at `total`. `total` may be a Python int or a traced
    integer scalar (give `minimum`, e.g. tf.minimum: an XLA compile folds it to a constant).
    """
    size = -(-total * step // JIT_BUCKET_STEPS)  # -(-a // b) = ceil(a / b), exact on integers
    return minimum(total, -(-size // JIT_BUCKET_MULTIPLE) * JIT_BUCKET_MULTIPLE)


def bucket_for(count: int, total: int) -> int:
    """The smallest of bucket_sizes(total) that holds `count` kept tokens.

    Raises:
        ValueError: count outside [0, total].
    """
    if not 0 <= count <= total:
        raise ValueError(f"count must be in [0, {total}], got {count}")
    return next(size for size in bucket_sizes(total) if size >= count)


def bucket_index(count: Any, total: int, xp: Any = np) -> Any:
    """The position of bucket_for(count, total) in bucket_sizes(total), for a traced `count` (int32
    scalar): what jax.lax.switch picks. xp: numpy or jax.numpy."""
    sizes = xp.asarray(bucket_sizes(total), dtype=xp.int32)
    return xp.sum(sizes < count).astype(xp.int32)


def padding_fraction(attention_mask: Any) -> float:
    """The fraction of the [B, T] positions that are padding (attention_mask == 0), in [0, 1].

    Raises:
        ValueError: see check_packing_mask.
    """
    batch, length = check_packing_mask(attention_mask)
    mask = np.asarray(attention_mask)
    return float((mask == 0).sum()) / (batch * length)


def worth_packing(attention_mask: Any, threshold: float = MIN_PADDING_FRACTION) -> bool:
    """Whether padding-free pays for this batch: a 2-D mask with more than `threshold` (default
    MIN_PADDING_FRACTION) of its positions padded. A 3-D mask or None never packs.

    Raises:
        ValueError: threshold outside [0, 1).
    """
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if attention_mask is None or len(tuple(attention_mask.shape)) != 2 or 0 in tuple(attention_mask.shape):
        return False
    return padding_fraction(attention_mask) > threshold
