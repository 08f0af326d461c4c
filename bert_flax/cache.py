"""The decoding cache of a Flax decoder: building it, reading its geometry, checking what is fed to it.

The cache is the "cache" variable collection of the model: per self-attention `cached_key` and
`cached_value` [B, K, N, D] and `cache_index` [] (P, the positions filled so far), stacked on a leading
[L] axis when the layers are scanned. Its size K is fixed when it is built (`init_cache(model, B, K)`),
so that every decoding step has the same shapes and compiles once; the attention mask given with it
covers all K positions.

Framework-only: PyTorch and Keras grow their caches step by step, JAX needs a fixed-size buffer.

Shape legend: B batch, T new positions, P cached positions, K the cache size, N attention heads,
D head size, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from bert_common.config import BertConfig

Cache = Mapping[str, Any]


class CacheOwner(Protocol):
    """What `init_cache` needs of a wrapper (FlaxBertPreTrainedModel)."""

    config: BertConfig
    module: nn.Module

    def dummy_inputs(self, input_shape: tuple[int, ...]) -> dict[str, jax.Array]: ...


@dataclass(frozen=True)
class CacheGeometry:
    """batch: B; size: K; filled: P, or None when not readable now (inside jit)."""

    batch: int
    size: int
    filled: int | None


def _flat(cache: Cache) -> dict[str, Any]:
    return traverse_util.flatten_dict(dict(cache), sep="/")


def init_cache(model: CacheOwner, batch_size: int, max_length: int) -> dict[str, Any]:
    """An empty decoding cache for `batch_size` sequences of up to `max_length` tokens (decoders only).

    Raises:
        ValueError: the model is not a decoder; sizes that are not positive ints; max_length beyond
            max_position_embeddings.
    """
    config = model.config
    if not config.is_decoder:
        raise ValueError("init_cache needs a decoder: the config has is_decoder=False")
    for name, value in (("batch_size", batch_size), ("max_length", max_length)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if max_length > config.max_position_embeddings:
        raise ValueError(
            f"max_length={max_length} exceeds max_position_embeddings={config.max_position_embeddings}"
        )
    inputs = model.dummy_inputs((batch_size, max_length))
    shapes = jax.eval_shape(lambda: model.module.init(jax.random.key(0), **inputs, init_cache=True))
    return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), dict(shapes["cache"]))


def cache_offset(cache: Cache | None) -> jax.Array | int:
    """P, the positions a decoding cache already holds (its `cache_index`); 0 without a cache."""
    if not cache:
        return 0
    for path, leaf in _flat(cache).items():
        if path.endswith("cache_index"):
            return jnp.reshape(leaf, (-1,))[0]  # scanned caches stack one index per layer
    return 0


def cache_geometry(cache: object, config: BertConfig) -> CacheGeometry:
    """B, K and P of a cache given as `past_key_values` to a model of `config`.

    Raises:
        TypeError: not a mapping.
        ValueError: the model is not a decoder; a mapping without cached_key / cache_index entries.
    """
    if not config.is_decoder:
        raise ValueError("past_key_values given, but the config has is_decoder=False")
    if not isinstance(cache, Mapping):
        raise TypeError(f"past_key_values must be the cache dict from init_cache, got {type(cache).__name__}")
    flat = _flat(cache)
    keys = [v for p, v in flat.items() if p.endswith("cached_key")]
    index = [v for p, v in flat.items() if p.endswith("cache_index")]
    if not keys or not index:
        raise ValueError(
            "past_key_values is not a decoding cache (no cached_key/cache_index); build it with init_cache"
        )
    batch, size = tuple(keys[0].shape)[-4:-2]  # [..., B, K, N, D]
    first = index[0]
    filled = None if isinstance(first, jax.core.Tracer) else int(np.reshape(np.asarray(first), (-1,))[0])
    return CacheGeometry(int(batch), int(size), filled)


def check_fits(geometry: CacheGeometry, batch: int | None, length: int | None) -> None:
    """The new tokens [B, T] fit the cache: the same batch, and P + T <= K when P is known.

    Raises:
        ValueError: another batch size, or more tokens than the cache has room for.
    """
    if batch is not None and batch != geometry.batch:
        raise ValueError(f"input batch {batch} does not match the cache batch {geometry.batch}")
    if geometry.filled is not None and length is not None and geometry.filled + length > geometry.size:
        raise ValueError(
            f"the cache holds {geometry.filled} of {geometry.size} positions and has no room for "
            f"{length} more; build a larger one with init_cache"
        )
