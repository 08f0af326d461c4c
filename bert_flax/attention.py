"""Multi-head attention of BERT: self-attention (optionally causal, with a decoding cache), cross-attention.

Numerics follow the other twins exactly: scores = q·kᵀ (+ relative-position scores), divided by sqrt(D),
plus the additive mask of `bert_flax.masks` (`finfo(dtype).min` on masked positions), softmax, dropout,
head mask, then probs·v.

Decoding cache (decoders only): the "cache" collection of each self-attention holds
`cached_key` / `cached_value` [B, K, N, D] (K the cache size) and `cache_index` [] (P, the positions filled
so far). It is created by calling the model with `init_cache=True` on inputs of length K (see
`bert_flax.cache.init_cache`), and updated in place when the model is applied with `mutable=["cache"]`.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (T, or the cache size),
S encoder length, H hidden size, N attention heads, D head size (H / N).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_flax import masks
from bert_flax.initialization import BertModuleBase, dense, embed, layer_norm

RELATIVE = ("relative_key", "relative_key_query")


def attention_softmax(scores: jax.Array) -> jax.Array:
    """Softmax over the last axis, computed in float32 when the scores are in a lower precision."""
    if jnp.finfo(scores.dtype).bits < 32:
        return jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(scores.dtype)
    return jax.nn.softmax(scores, axis=-1)


class FlaxBertSelfAttention(BertModuleBase):
    """Scaled dot-product attention with `query`, `key`, `value` projections (and `distance_embedding`
    for relative positions). Returns (context [B, T, H], probabilities [B, N, T, K] or None).

    causal: a decoder's self-attention (causal mask, and the decoding cache when one is present).
    position_embedding_type: the config's for self-attention; cross-attention is always "absolute",
    as in the other twins.
    """

    causal: bool = False
    position_embedding_type: str = "absolute"

    def setup(self) -> None:
        c = self.config
        # layers
        self.query = dense(self, c.hidden_size)
        self.key = dense(self, c.hidden_size)
        self.value = dense(self, c.hidden_size)
        if self.position_embedding_type in RELATIVE:
            self.distance_embedding = embed(self, 2 * c.max_position_embeddings - 1, c.attention_head_size)
        self.dropout = nn.Dropout(rate=c.attention_probs_dropout_prob)
        # config
        self.num_heads = c.num_attention_heads
        self.head_size = c.attention_head_size

    def _split_heads(self, x: jax.Array) -> jax.Array:
        return x.reshape(*x.shape[:2], self.num_heads, self.head_size)  # [B, T, N, D]

    @nn.compact
    def _concatenate_to_cache(
        self, key: jax.Array, value: jax.Array
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Write this step's keys/values into the cache; returns (keys [B, K, N, D], values, offset P)."""
        is_initialized = self.has_variable("cache", "cached_key")
        cached_key = self.variable("cache", "cached_key", jnp.zeros, key.shape, key.dtype)
        cached_value = self.variable("cache", "cached_value", jnp.zeros, value.shape, value.dtype)
        cache_index = self.variable("cache", "cache_index", lambda: jnp.array(0, dtype=jnp.int32))
        if not is_initialized:  # the init_cache call itself: run on the full-length dummy input
            return key, value, jnp.array(0, dtype=jnp.int32)
        offset = cache_index.value
        num_new = key.shape[1]
        key = jax.lax.dynamic_update_slice(
            cached_key.value, key.astype(cached_key.value.dtype), (0, offset, 0, 0)
        )
        value = jax.lax.dynamic_update_slice(
            cached_value.value, value.astype(cached_value.value.dtype), (0, offset, 0, 0)
        )
        cached_key.value = key
        cached_value.value = value
        cache_index.value = offset + num_new
        return key, value, offset

    def __call__(
        self,
        hidden_states: jax.Array,
        attention_mask: jax.Array | None,
        layer_head_mask: jax.Array | None = None,
        key_value_states: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
    ) -> tuple[jax.Array, jax.Array | None]:
        """hidden_states: [B, T, H] queries (and keys/values for self-attention).
        attention_mask: 0/1, [B, K] or [B, T, K] for self-attention (K the cache size with a cache),
            [B, S] or [B, T, S] for cross-attention; None attends everywhere.
        layer_head_mask: [N] multipliers of each head's probabilities (1 keeps, 0 drops the head).
        key_value_states: [B, S, H] encoder states: cross-attention.
        init_cache: create the decoding cache (the dummy call of `init_cache`). deterministic: no dropout.
        """
        batch, query_length = hidden_states.shape[:2]
        source = hidden_states if key_value_states is None else key_value_states
        query = self._split_heads(self.query(hidden_states))  # [B, T, N, D]
        key = self._split_heads(self.key(source))  # [B, K, N, D]
        value = self._split_heads(self.value(source))  # [B, K, N, D]

        offset = jnp.array(0, dtype=jnp.int32)
        if self.causal and (self.has_variable("cache", "cached_key") or init_cache):
            key, value, offset = self._concatenate_to_cache(key, value)
        key_length = key.shape[1]

        scores = jnp.einsum("btnd,bknd->bntk", query, key, precision=self.precision)  # [B, N, T, K]
        if self.position_embedding_type in RELATIVE:
            query_pos = offset + jnp.arange(query_length)  # [T]
            key_pos = jnp.arange(key_length)  # [K]
            distance = query_pos[:, None] - key_pos[None, :]  # [T, K]
            table = self.distance_embedding(distance + self.config.max_position_embeddings - 1)  # [T, K, D]
            table = table.astype(query.dtype)
            scores = scores + jnp.einsum("btnd,tkd->bntk", query, table, precision=self.precision)
            if self.position_embedding_type == "relative_key_query":
                scores = scores + jnp.einsum("bknd,tkd->bntk", key, table, precision=self.precision)
        scores = scores / jnp.asarray(math.sqrt(self.head_size), scores.dtype)

        if key_value_states is None:
            bias = masks.self_attention_mask(
                attention_mask,
                batch,
                query_length,
                key_length,
                offset=offset,
                causal=self.causal,
                dtype=scores.dtype,
            )
        else:
            bias = masks.cross_attention_mask(attention_mask, batch, key_length, scores.dtype)
        scores = scores + bias  # [B, N, T, K]

        probs = attention_softmax(scores)  # [B, N, T, K]
        probs = self.dropout(probs, deterministic=deterministic)
        if layer_head_mask is not None:
            probs = probs * layer_head_mask.astype(probs.dtype)[None, :, None, None]
        context = jnp.einsum("bntk,bknd->btnd", probs, value.astype(probs.dtype), precision=self.precision)
        context = context.reshape(batch, query_length, self.config.hidden_size)  # [B, T, H]
        return context, (probs if output_attentions else None)


class FlaxBertSelfOutput(BertModuleBase):
    """LayerNorm(dropout(dense(context)) + input): the projection after attention. [B, T, H] -> [B, T, H]."""

    def setup(self) -> None:
        # layers
        self.dense = dense(self, self.config.hidden_size)
        self.LayerNorm = layer_norm(self)
        self.dropout = nn.Dropout(rate=self.config.hidden_dropout_prob)

    def __call__(
        self, hidden_states: jax.Array, input_tensor: jax.Array, deterministic: bool = True
    ) -> jax.Array:
        """hidden_states: [B, T, H] attention context; input_tensor: [B, T, H] the attention's input."""
        hidden_states = self.dropout(self.dense(hidden_states), deterministic=deterministic)
        return self.LayerNorm(hidden_states + input_tensor)


class FlaxBertAttention(BertModuleBase):
    """`self` (attention) followed by `output` (projection, residual, LayerNorm).

    Returns (attention output [B, T, H], probabilities [B, N, T, K] or None).
    """

    causal: bool = False
    position_embedding_type: str = "absolute"

    def setup(self) -> None:
        # layers
        self.self = FlaxBertSelfAttention(
            **self.fields, causal=self.causal, position_embedding_type=self.position_embedding_type
        )
        self.output = FlaxBertSelfOutput(**self.fields)

    def __call__(
        self,
        hidden_states: jax.Array,
        attention_mask: jax.Array | None,
        layer_head_mask: jax.Array | None = None,
        key_value_states: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
    ) -> tuple[jax.Array, jax.Array | None]:
        """The arguments of FlaxBertSelfAttention.__call__."""
        context, probs = self.self(
            hidden_states,
            attention_mask,
            layer_head_mask=layer_head_mask,
            key_value_states=key_value_states,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
        )
        return self.output(context, hidden_states, deterministic=deterministic), probs
