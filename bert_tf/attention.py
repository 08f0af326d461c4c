"""Multi-head attention of BERT: self-attention (optionally causal, cached) and cross-attention.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (P + T for
self-attention, S for cross-attention), S encoder length, H hidden size, N heads, D head size (H / N).
N_l: the heads of layer l's self-attention, N minus the heads `config.pruned_heads` removed (`prune_heads`
narrows the query / key / value projections to N_l * D outputs and the output projection's inputs).

Numerics follow Transformers' eager attention: scores = q k^T (+ relative-position terms), divided by
sqrt(D), plus the additive mask, softmax over K. The mask and the softmax are computed in float32 even
under a mixed-precision policy: the mask holds finfo(float32).min, which in float16 would overflow to -inf
and turn a fully padded row into NaN. In float32 models this is exactly the reference computation.
Cross-attention always uses absolute positions (no relative-distance table), as in Transformers and the
other twins, whatever `config.position_embedding_type` says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.model_api import kept_head_index, layer_head_counts
from bert_tf import masks
from bert_tf.base import ConfigLayer
from bert_tf.embeddings import TFBertEmbeddingTable
from bert_tf.initialization import dense, layer_norm

KeyValue = tuple[tf.Tensor, tf.Tensor]

RELATIVE_TYPES = ("relative_key", "relative_key_query")


def head_count(config: BertConfig, layer_index: int | None) -> int:
    """N_l: the heads of the self-attention of layer `layer_index` (config.pruned_heads removed); N for
    cross-attention and blocks outside the stack (`layer_index` None).

    Raises:
        ValueError: config.pruned_heads removes every head of a layer.
    """
    if layer_index is None:
        return config.num_attention_heads
    counts = layer_head_counts(config.num_hidden_layers, config.num_attention_heads, config.pruned_heads)
    return counts[layer_index]


def reshape_variable(variable: Any, value: np.ndarray) -> None:
    """Give a built Keras variable a new value, of a new shape when it changes (pruned heads, a resized
    vocabulary).

    Keras variables have a fixed shape; the variable keeps its path (the checkpoint name) and identity,
    so the layers and the optimizer still find it, and gets a new backing tensor of the new shape.
    """
    value = np.asarray(value, dtype=variable.dtype)
    if tuple(variable.shape) == value.shape:
        variable.assign(value)
        return
    variable._shape = tuple(value.shape)  # Keras offers no public reshape
    variable._initialize(value)


def _numpy(variable: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable))


class TFBertSelfAttention(ConfigLayer):
    """Scaled dot-product attention over N heads, with `query`, `key`, `value` projections.

    For `position_embedding_type` "relative_key" / "relative_key_query" it owns `distance_embedding`,
    a [2 * max_position_embeddings - 1, D] table of learned relative-distance vectors (Shaw et al.);
    never as cross-attention (`is_cross_attention=True`), which uses absolute positions.
    """

    autocast_inputs = False

    config_arguments = ("is_cross_attention", "layer_index")

    def __init__(
        self,
        config: BertConfig,
        is_cross_attention: bool = False,
        layer_index: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        num_heads = head_count(config, layer_index)
        all_head_size = num_heads * config.attention_head_size
        position_embedding_type = "absolute" if is_cross_attention else config.position_embedding_type
        # layers
        self.query = dense(config, all_head_size, "query", self.dtype_policy)
        self.key = dense(config, all_head_size, "key", self.dtype_policy)
        self.value = dense(config, all_head_size, "value", self.dtype_policy)
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob, dtype=self.dtype_policy)
        self.distance_embedding = None
        if position_embedding_type in RELATIVE_TYPES:
            self.distance_embedding = TFBertEmbeddingTable(
                2 * config.max_position_embeddings - 1,
                config.attention_head_size,
                config.initializer_range,
                name="distance_embedding",
                dtype=self.dtype_policy,
            )
        # config
        self.is_cross_attention = is_cross_attention
        self.layer_index = layer_index
        self.num_heads = num_heads
        self.head_size = config.attention_head_size
        self.all_head_size = all_head_size
        self.position_embedding_type = position_embedding_type
        self.is_decoder = config.is_decoder

    def build(self, input_shape: Any = None) -> None:
        hidden = self.config.hidden_size
        self.query.build((None, None, hidden))
        self.key.build((None, None, hidden))
        self.value.build((None, None, hidden))
        if self.distance_embedding is not None:
            self.distance_embedding.build()

    def _split_heads(self, x: tf.Tensor, heads_shape: tf.Tensor) -> tf.Tensor:
        """[B, K, N*D] -> [B, N, K, D]; heads_shape: the int32 tensor [B, K, N, D] (`_heads_shape`)."""
        return tf.transpose(tf.reshape(x, heads_shape), (0, 2, 1, 3))

    def _heads_shape(self, x: tf.Tensor) -> tf.Tensor:
        """[B, K, N, D] as an int32 tensor, for x [B, K, N*D]: computed once per source of keys, as
        the graph of a traced model builds every op it is asked for."""
        return tf.concat([tf.shape(x)[:2], [self.num_heads, self.head_size]], 0)

    def call(
        self,
        hidden_states: tf.Tensor,
        attention_mask: tf.Tensor | None = None,
        head_mask: tf.Tensor | None = None,
        encoder_hidden_states: tf.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        training: bool = False,
        packing: masks.Packing | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, KeyValue]:
        """Attend from `hidden_states` to itself, or to `encoder_hidden_states` for cross-attention.

        hidden_states: [B, T, H] queries (and keys/values for self-attention).
        attention_mask: [B, 1, T or 1, K] float32 additive mask (0 = attend, finfo.min = masked).
        head_mask: [1, N, 1, 1] multiplier of the attention probabilities per head, or None.
        encoder_hidden_states: [B, S, H] keys/values of cross-attention.
        past_key_value: cached (key, value), each [B, N, P, D] ([B, N, S, D] for cross-attention). For
            self-attention the new keys are appended; for cross-attention the cache is reused as is.
        packing: the padding-free layout (bert_tf.masks.Packing): hidden_states are [1, M, H], the
            projections run on the M packed tokens, the attention on their scatter to [B, T] (zeros
            elsewhere), and the context comes back packed, [1, M, N_l * D].
        Returns (context [B, T, H], probabilities [B, N, T, K], (key, value) to cache).
        """
        unpack = (lambda x: x) if packing is None else (lambda x: masks.unpack(x, packing))
        projected = unpack(self.query(hidden_states))  # [B, T, N*D]
        heads_shape = self._heads_shape(projected)
        query = self._split_heads(projected, heads_shape)  # [B, N, T, D]
        past_length: int | tf.Tensor = 0
        if self.is_cross_attention and past_key_value is not None:
            key, value = past_key_value
        elif self.is_cross_attention:
            source_key = self.key(encoder_hidden_states)  # [B, S, N*D]
            source_shape = self._heads_shape(source_key)
            key = self._split_heads(source_key, source_shape)  # [B, N, S, D]
            value = self._split_heads(self.value(encoder_hidden_states), source_shape)
        else:
            key = self._split_heads(unpack(self.key(hidden_states)), heads_shape)  # [B, N, T, D]
            value = self._split_heads(unpack(self.value(hidden_states)), heads_shape)
            if past_key_value is not None:
                past_length = tf.shape(past_key_value[0])[2]
                key = tf.concat([tf.cast(past_key_value[0], key.dtype), key], axis=2)  # [B, N, K, D]
                value = tf.concat([tf.cast(past_key_value[1], value.dtype), value], axis=2)

        scores = tf.matmul(query, key, transpose_b=True)  # [B, N, T, K]
        if self.distance_embedding is not None:
            scores = scores + self._relative_scores(query, key, past_length)
        scores = scores / tf.cast(math.sqrt(self.head_size), scores.dtype)
        scores = tf.cast(scores, tf.float32)
        if attention_mask is not None:
            scores = scores + attention_mask
        probs = tf.cast(tf.nn.softmax(scores, axis=-1), self.compute_dtype)  # [B, N, T, K]
        probs = self.dropout(probs, training=training)
        if head_mask is not None:
            probs = probs * tf.cast(head_mask, probs.dtype)
        context = tf.matmul(probs, value)  # [B, N, T, D]
        context = tf.transpose(context, (0, 2, 1, 3))  # [B, T, N, D]
        context = tf.reshape(context, tf.shape(projected))  # [B, T, N*D], the query projection's shape
        if packing is not None:
            context = masks.pack(context, packing)  # [1, M, N_l * D]
        return context, probs, (key, value)

    def _relative_scores(self, query: tf.Tensor, key: tf.Tensor, past_length: int | tf.Tensor) -> tf.Tensor:
        """Relative-position terms of the scores, [B, N, T, K].

        A query at absolute position `P + l` and a key at position r are `distance = P + l - r` apart;
        the table row is `distance + max_position_embeddings - 1`. Without a cache this is
        Transformers' `arange(T)`; with one and a single new token it is its `K - 1`.
        """
        query_length, key_length = tf.shape(query)[2], tf.shape(key)[2]
        position_l = tf.range(query_length)[:, tf.newaxis] + tf.cast(past_length, tf.int32)  # [T, 1]
        position_r = tf.range(key_length)[tf.newaxis, :]  # [1, K]
        distance = position_l - position_r  # [T, K]
        positional = self.distance_embedding(distance + self.config.max_position_embeddings - 1)  # [T, K, D]
        positional = tf.cast(positional, query.dtype)
        relative = tf.einsum("bhld,lrd->bhlr", query, positional)
        if self.position_embedding_type == "relative_key_query":
            relative = relative + tf.einsum("bhrd,lrd->bhlr", key, positional)
        return relative


class TFBertSelfOutput(ConfigLayer):
    """Projection of the attention context, dropout, and LayerNorm around the residual connection."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.hidden_size, "dense", self.dtype_policy)
        self.LayerNorm = layer_norm(config, "LayerNorm", self.dtype_policy)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob, dtype=self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        # input_shape: the context's, [B, T, N_l * D] (pruned heads narrow it); H when not given
        width = self.config.hidden_size if input_shape is None else input_shape[-1]
        self.dense.build((None, None, width))
        self.LayerNorm.build((None, None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor, input_tensor: tf.Tensor, training: bool = False) -> tf.Tensor:
        """hidden_states: [B, T, N_l * D] attention context; input_tensor: [B, T, H] the residual. -> [B, T, H]."""
        hidden_states = self.dropout(self.dense(hidden_states), training=training)
        return self.LayerNorm(hidden_states + input_tensor)


class TFBertAttention(ConfigLayer):
    """`self` (the attention proper) followed by `output` (projection + residual + LayerNorm)."""

    autocast_inputs = False

    config_arguments = ("is_cross_attention", "layer_index")

    def __init__(
        self,
        config: BertConfig,
        is_cross_attention: bool = False,
        layer_index: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        # layers
        self.self = TFBertSelfAttention(
            config,
            is_cross_attention=is_cross_attention,
            layer_index=layer_index,
            name="self",
            dtype=self.dtype_policy,
        )
        # Keras reserves the attribute `output` (and skips it when saving), so the sublayer is stored as
        # `_output_sublayer` and reached as `attention.output`, the name of the Transformers tree.
        self._output_sublayer = TFBertSelfOutput(config, name="output", dtype=self.dtype_policy)
        # config
        self.is_cross_attention = is_cross_attention
        self.layer_index = layer_index

    @property
    def output(self) -> TFBertSelfOutput:
        """The `output` sublayer: projection of the context, dropout, residual LayerNorm."""
        return self._output_sublayer

    def build(self, input_shape: Any = None) -> None:
        self.self.build()
        self.output.build((None, None, self.self.all_head_size))

    def prune_heads(self, heads: Iterable[int]) -> None:
        """Remove self-attention heads (numbered as in the unpruned model; checked before by
        `bert_common.model_api.check_heads_to_prune`; those of `config.pruned_heads` are gone already):
        query / key / value kernels [H, N_l*D] lose the heads' columns, their biases the entries, the
        output kernel [N_l*D, H] the rows. The variables keep their paths (checkpoint names).
        """
        attention = self.self
        before = self.config.pruned_heads.get(self.layer_index, [])
        index = kept_head_index(self.config.num_attention_heads, attention.head_size, before, heads)
        for projection in (attention.query, attention.key, attention.value):
            reshape_variable(projection.kernel, np.take(_numpy(projection.kernel), index, axis=1))
            reshape_variable(projection.bias, np.take(_numpy(projection.bias), index, axis=0))
            projection.units = int(index.size)
        dense = self.output.dense
        reshape_variable(dense.kernel, np.take(_numpy(dense.kernel), index, axis=0))
        dense.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: int(index.size)})
        attention.num_heads = int(index.size) // attention.head_size
        attention.all_head_size = int(index.size)

    def call(
        self,
        hidden_states: tf.Tensor,
        attention_mask: tf.Tensor | None = None,
        head_mask: tf.Tensor | None = None,
        encoder_hidden_states: tf.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        training: bool = False,
        packing: masks.Packing | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, KeyValue]:
        """Arguments as in TFBertSelfAttention.call. Returns (output [B, T, H] ([1, M, H] with
        `packing`), attention probabilities [B, N, T, K], (key, value) to cache)."""
        context, probs, present = self.self(
            hidden_states,
            attention_mask=attention_mask,
            head_mask=head_mask,
            encoder_hidden_states=encoder_hidden_states,
            past_key_value=past_key_value,
            training=training,
            packing=packing,
        )
        return self.output(context, hidden_states, training=training), probs, present
