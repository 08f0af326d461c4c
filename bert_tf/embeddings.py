"""Embeddings: word + token-type (+ absolute position) vectors, then LayerNorm and dropout.

Shape legend: B batch, T new positions, P cached positions, H hidden size, V vocabulary size.
Keras variable paths (conversion.names, format "tf_h5"):
    bert/embeddings/word_embeddings/weight             [V, H]
    bert/embeddings/position_embeddings/embeddings     [max_position_embeddings, H]
    bert/embeddings/token_type_embeddings/embeddings   [type_vocab_size, H]
    bert/embeddings/LayerNorm/{gamma,beta}             [H]
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from bert_common.config import BertConfig
from bert_tf.base import ConfigLayer
from bert_tf.initialization import layer_norm, weight_initializer


class TFBertEmbeddingTable(keras.layers.Layer):
    """A lookup table `[rows, width]` whose variable is called `weight_name`.

    Keras' own `Embedding` always names its variable "embeddings"; Transformers' checkpoints call the
    word-embedding matrix "weight", so the table takes the variable name as an argument.
    """

    def __init__(
        self, rows: int, width: int, initializer_range: float, weight_name: str = "embeddings", **kwargs: Any
    ):
        super().__init__(**kwargs)
        # config
        self.rows = rows
        self.width = width
        self.initializer_range = initializer_range
        self.weight_name = weight_name

    def build(self, input_shape: Any = None) -> None:
        self.table = self.add_weight(
            name=self.weight_name,
            shape=(self.rows, self.width),
            initializer=weight_initializer(self.initializer_range),
        )

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        """ids: integer tensor of any shape -> [..., width] rows of the table, in the compute dtype."""
        return tf.gather(tf.cast(self.table, self.compute_dtype), ids)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rows": self.rows,
            "width": self.width,
            "initializer_range": self.initializer_range,
            "weight_name": self.weight_name,
        }


class TFBertEmbeddings(ConfigLayer):
    """Sum of word, token-type and (for `position_embedding_type="absolute"`) position embeddings."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.word_embeddings = TFBertEmbeddingTable(
            config.vocab_size,
            config.hidden_size,
            config.initializer_range,
            weight_name="weight",
            name="word_embeddings",
            dtype=self.dtype_policy,
        )
        self.position_embeddings = TFBertEmbeddingTable(
            config.max_position_embeddings,
            config.hidden_size,
            config.initializer_range,
            name="position_embeddings",
            dtype=self.dtype_policy,
        )
        self.token_type_embeddings = TFBertEmbeddingTable(
            config.type_vocab_size,
            config.hidden_size,
            config.initializer_range,
            name="token_type_embeddings",
            dtype=self.dtype_policy,
        )
        self.LayerNorm = layer_norm(config, "LayerNorm", self.dtype_policy)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob, dtype=self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        self.word_embeddings.build()
        self.position_embeddings.build()
        self.token_type_embeddings.build()
        self.LayerNorm.build((None, None, self.config.hidden_size))

    def call(
        self,
        input_ids: tf.Tensor | None = None,
        token_type_ids: tf.Tensor | None = None,
        position_ids: tf.Tensor | None = None,
        inputs_embeds: tf.Tensor | None = None,
        past_key_values_length: int | tf.Tensor = 0,
        training: bool = False,
    ) -> tf.Tensor:
        """Embed a batch.

        input_ids: [B, T] token ids (or inputs_embeds: [B, T, H] precomputed word vectors).
        token_type_ids: [B, T] segment ids, zeros when None.
        position_ids: [B, T] or [1, T] positions, `P + arange(T)` when None (P = past_key_values_length).
        Returns [B, T, H], the input of the first encoder layer.
        """
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        inputs_embeds = tf.cast(inputs_embeds, self.compute_dtype)
        shape = tf.shape(inputs_embeds)[:-1]  # [B, T]
        if token_type_ids is None:
            token_type_ids = tf.zeros(shape, dtype=tf.int32)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)
        if self.config.position_embedding_type == "absolute":
            if position_ids is None:
                position_ids = tf.range(shape[1]) + tf.cast(past_key_values_length, tf.int32)
                position_ids = position_ids[tf.newaxis, :]  # [1, T], broadcast over the batch
            embeddings = embeddings + self.position_embeddings(position_ids)
        embeddings = self.LayerNorm(embeddings)
        return self.dropout(embeddings, training=training)
