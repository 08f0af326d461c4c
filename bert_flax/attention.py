"""Multi-head attention of BERT: self-attention (optionally causal, with a decoding cache), cross-attention;
pruning heads (`prune_params`, and the wrapper's `prune_heads` with the layer-stack API of
`FlaxStackApiMixin`).

Numerics follow the other twins exactly: scores = q·kᵀ (+ relative-position scores), divided by sqrt(D),
plus the additive mask of `bert_flax.masks` (`finfo(dtype).min` on masked positions), softmax, dropout,
head mask, then probs·v.

Decoding cache (decoders only): the "cache" collection of each self-attention holds
`cached_key` / `cached_value` [B, K, N, D] (K the cache size) and `cache_index` [] (P, the positions filled
so far). It is created by calling the model with `init_cache=True` on inputs of length K (see
`bert_flax.cache.init_cache`), and updated in place when the model is applied with `mutable=["cache"]`.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (T, or the cache size),
S encoder length, H hidden size, N attention heads, D head size (H / N). N_l: the heads of layer l's
self-attention, N minus those `config.pruned_heads` removes (`prune_heads` returns params whose
projections are [H, N_l * D]; the module reads N_l from the config).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common import packing
from bert_common.config import BertConfig
from bert_common.model_api import (
    check_gradient_checkpointing_kwargs,
    check_heads_to_prune,
    kept_head_index,
    layer_head_counts,
    merged_pruned_heads,
)
from bert_flax import masks
from bert_flax.initialization import BertModuleBase, dense, embed, layer_norm
from conversion.flax import scan_layers, unscan_layers

RELATIVE = ("relative_key", "relative_key_query")


def attention_softmax(scores: jax.Array) -> jax.Array:
    """Softmax over the last axis, computed in float32 when the scores are in a lower precision."""
    if jnp.finfo(scores.dtype).bits < 32:
        return jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(scores.dtype)
    return jax.nn.softmax(scores, axis=-1)


def head_count(config: BertConfig, layer_index: int | None) -> int:
    """N_l: the heads of layer `layer_index`'s self-attention (config.pruned_heads removed); N when None.

    Raises:
        ValueError: config.pruned_heads removes every head of a layer.
    """
    if layer_index is None:
        return config.num_attention_heads
    counts = layer_head_counts(config.num_hidden_layers, config.num_attention_heads, config.pruned_heads)
    return counts[layer_index]


def pruned_attention_params(
    params: Mapping[str, Any],
    num_heads: int,
    head_size: int,
    already_pruned: Iterable[int],
    heads: Iterable[int],
) -> dict[str, Any]:
    """The params of one FlaxBertAttention (`{"self": ..., "output": ...}`) without `heads` (numbered as in
    the unpruned model of N = num_heads; `already_pruned` are gone already): query / key / value kernels
    [H, N_l * D] lose the heads' columns and their biases the entries, the output kernel [N_l * D, H] the
    rows. A new tree; the arrays keep their dtype.
    """
    index = jnp.asarray(kept_head_index(num_heads, head_size, already_pruned, heads))
    self_params = dict(params["self"])
    for name in ("query", "key", "value"):
        projection = self_params[name]
        self_params[name] = {
            "kernel": jnp.take(projection["kernel"], index, axis=1),
            "bias": jnp.take(projection["bias"], index, axis=0),
        }
    output = dict(params["output"])
    output["dense"] = {**output["dense"], "kernel": jnp.take(output["dense"]["kernel"], index, axis=0)}
    return {**params, "self": self_params, "output": output}


class FlaxBertSelfAttention(BertModuleBase):
    """Scaled dot-product attention with `query`, `key`, `value` projections (and `distance_embedding`
    for relative positions). Returns (context [B, T, H], probabilities [B, N, T, K] or None).

    causal: a decoder's self-attention (causal mask, and the decoding cache when one is present).
    position_embedding_type: the config's for self-attention; cross-attention is always "absolute",
    as in the other twins.
    layer_index: the layer whose `config.pruned_heads` entry gives this block's N_l heads (projections
    [H, N_l * D]); None (cross-attention) keeps all N.
    """

    causal: bool = False
    position_embedding_type: str = "absolute"
    layer_index: int | None = None

    def setup(self) -> None:
        c = self.config
        # config
        self.num_heads = head_count(c, self.layer_index)
        self.head_size = c.attention_head_size
        inner = self.num_heads * self.head_size  # H unless heads were pruned
        # layers
        self.query = dense(self, inner)
        self.key = dense(self, inner)
        self.value = dense(self, inner)
        if self.position_embedding_type in RELATIVE:
            self.distance_embedding = embed(self, 2 * c.max_position_embeddings - 1, c.attention_head_size)
        self.dropout = nn.Dropout(rate=c.attention_probs_dropout_prob)

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
        packing: masks.Packing | None = None,
    ) -> tuple[jax.Array, jax.Array | None]:
        """hidden_states: [B, T, H] queries (and keys/values for self-attention); [1, M, H] with `packing`
            (padding-free: the projections run on the M packed tokens, the attention on their scatter
            to [B, T], zeros elsewhere; the context comes back packed, [1, M, N_l * D]).
        attention_mask: 0/1, [B, K] or [B, T, K] for self-attention (K the cache size with a cache),
            [B, S] or [B, T, S] for cross-attention; None attends everywhere.
        layer_head_mask: [N] multipliers of each head's probabilities (1 keeps, 0 drops the head).
        key_value_states: [B, S, H] encoder states: cross-attention.
        init_cache: create the decoding cache (the dummy call of `init_cache`). deterministic: no dropout.
        """
        unpack = (lambda x: x) if packing is None else (lambda x: masks.unpack(x, packing))
        source_unpack = unpack if key_value_states is None else (lambda x: x)
        source = hidden_states if key_value_states is None else key_value_states
        query = self._split_heads(unpack(self.query(hidden_states)))  # [B, T, N, D]
        key = self._split_heads(source_unpack(self.key(source)))  # [B, K, N, D]
        value = self._split_heads(source_unpack(self.value(source)))  # [B, K, N, D]
        batch, query_length = query.shape[:2]

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
        context = context.reshape(batch, query_length, self.num_heads * self.head_size)  # [B, T, N_l * D]
        if packing is not None:
            context = masks.pack(context, packing)  # [1, M, N_l * D]
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
    layer_index: int | None = None  # see FlaxBertSelfAttention

    def setup(self) -> None:
        # layers
        self.self = FlaxBertSelfAttention(
            **self.fields,
            causal=self.causal,
            position_embedding_type=self.position_embedding_type,
            layer_index=self.layer_index,
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
        packing: masks.Packing | None = None,
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
            packing=packing,
        )
        return self.output(context, hidden_states, deterministic=deterministic), probs


def prune_params(
    config: BertConfig, params: Mapping[str, Any], heads_to_prune: Any, scanned: bool
) -> tuple[dict[str, Any], dict[int, list[int]]]:
    """(the parameter tree without the heads, the config's new pruned_heads) for `prune_heads`, changing
    neither: the tree of a model built from `config` (its layers already lack `config.pruned_heads`;
    scanned trees are unscanned, pruned and scanned again).

    heads_to_prune: {layer: [heads]}, numbered as in the unpruned model (checked whole first by
    `bert_common.model_api.check_heads_to_prune`).

    Raises:
        TypeError: not a mapping of int -> list of ints.
        ValueError: a layer or head that does not exist, pruning every head of a layer, or (scanned) layers
            left with different head counts.
    """
    L, N = config.num_hidden_layers, config.num_attention_heads
    new = check_heads_to_prune(heads_to_prune, L, N, config.pruned_heads)
    pruned = merged_pruned_heads(config.pruned_heads, new)
    counts = layer_head_counts(L, N, pruned)
    if scanned and len(set(counts)) > 1:
        raise ValueError(
            f"prune_heads would leave the layers {counts} heads, which a scan_layers=True model cannot run "
            "(one layer shape L times); load it with scan_layers=False to prune layers differently"
        )
    tree = unscan_layers(params) if scanned else dict(params)
    base = dict(tree["bert"]) if "bert" in tree else tree
    encoder = dict(base["encoder"])
    layers = dict(encoder["layer"])
    for layer_index, heads in new.items():
        layer = dict(layers[str(layer_index)])
        before = config.pruned_heads.get(layer_index, [])
        layer["attention"] = pruned_attention_params(
            layer["attention"], N, config.attention_head_size, before, heads
        )
        layers[str(layer_index)] = layer
    encoder["layer"] = layers
    base["encoder"] = encoder
    if "bert" in tree:
        tree["bert"] = base
    return (scan_layers(tree) if scanned else tree), pruned


class FlaxStackApiMixin:
    """Transformers' model API that edits or switches the layer stack, on a FlaxBert wrapper (mixed into
    FlaxBertPreTrainedModel, which supplies config, params, the module and its rebuild): `prune_heads`,
    and the PyTorch names of gradient checkpointing that the other twins share
    (`gradient_checkpointing_enable`, ...; the Flax names are `enable_gradient_checkpointing`, ...), and
    the `padding_free` switch. None is saved as a flag: pruned heads live in `config.pruned_heads`, checkpointing is not saved
    (as in Transformers)."""

    supports_gradient_checkpointing: ClassVar[bool] = True

    def gradient_checkpointing_enable(
        self, gradient_checkpointing_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        """`enable_gradient_checkpointing` (nn.remat of each layer, same gradients).

        Raises:
            ValueError: kwargs other than None, {} or {"use_reentrant": False}.
        """
        check_gradient_checkpointing_kwargs(gradient_checkpointing_kwargs)
        self.enable_gradient_checkpointing()  # type: ignore[attr-defined]

    def gradient_checkpointing_disable(self) -> None:
        """`disable_gradient_checkpointing`."""
        self.disable_gradient_checkpointing()  # type: ignore[attr-defined]

    @property
    def is_gradient_checkpointing(self) -> bool:
        return bool(self.gradient_checkpointing)  # type: ignore[attr-defined]

    @property
    def padding_free(self) -> bool:
        """Run ragged batches padding-free by default (docs/padding-free.md); set at construction or
        `from_pretrained(..., padding_free=True)`, overridden per call by `padding_free=`. Setting it
        rebuilds the module (a new jit). Not a config field: save_pretrained does not store it.
        Setting it raises TypeError for a non-bool."""
        return self._padding_free  # type: ignore[attr-defined]

    @padding_free.setter
    def padding_free(self, value: bool) -> None:
        self._padding_free = packing.check_padding_free(value)
        self._build_module()  # type: ignore[attr-defined]

    def prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> dict[str, Any]:
        """Remove attention heads, {layer: [heads]} numbered as in the unpruned model, as bert_pt does:
        sets and returns the new params tree, records the union in `config.pruned_heads` (the module
        reads each layer's N_l from it, so a saved pruned model loads pruned) and rebuilds the module.

        Raises:
            TypeError, ValueError: see `prune_params` (nothing changes then); ValueError also for a model
                built with _do_init=False and no params set.
        """
        model: Any = self
        params, model.config.pruned_heads = prune_params(
            model.config, model.params, heads_to_prune, model.scan_layers
        )
        model._build_module()
        model.params_shape_tree = jax.eval_shape(
            lambda key: model._random_params(key, model.input_shape), model.key
        )
        model.params = params
        return model.params
