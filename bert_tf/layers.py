"""The encoder stack: feed-forward blocks, `TFBertLayer`, `TFBertEncoder` and the pooler.

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T), S encoder length,
H hidden size, I intermediate size, N heads, D head size, L layers. Keras variable paths follow the
"tf_h5" names of conversion.names, e.g. `bert/encoder/layer_._0/intermediate/dense/kernel`.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from bert_common.config import BertConfig
from bert_tf.activations import get_activation
from bert_tf.attention import KeyValue, TFBertAttention
from bert_tf.base import ConfigLayer
from bert_tf.initialization import dense, layer_norm
from bert_tf.inputs import LayerCache


class TFBertIntermediate(ConfigLayer):
    """`dense` H -> I followed by the configured activation."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.intermediate_size, "dense", self.dtype_policy)
        # config
        self.activation = get_activation(config.hidden_act)

    def build(self, input_shape: Any = None) -> None:
        self.dense.build((None, None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        """[B, T, H] -> [B, T, I]."""
        return self.activation(self.dense(hidden_states))


class TFBertOutput(ConfigLayer):
    """`dense` I -> H, dropout, and LayerNorm around the residual connection."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.hidden_size, "dense", self.dtype_policy)
        self.LayerNorm = layer_norm(config, "LayerNorm", self.dtype_policy)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob, dtype=self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        self.dense.build((None, None, self.config.intermediate_size))
        self.LayerNorm.build((None, None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor, input_tensor: tf.Tensor, training: bool = False) -> tf.Tensor:
        """hidden_states: [B, T, I]; input_tensor: [B, T, H] the residual. -> [B, T, H]."""
        hidden_states = self.dropout(self.dense(hidden_states), training=training)
        return self.LayerNorm(hidden_states + input_tensor)


class TFBertLayer(ConfigLayer):
    """One transformer block: `attention`, (decoders with cross-attention) `crossattention`,
    `intermediate` and `output`."""

    autocast_inputs = False

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.attention = TFBertAttention(config, name="attention", dtype=self.dtype_policy)
        self.crossattention = None
        if config.add_cross_attention:
            self.crossattention = TFBertAttention(
                config, is_cross_attention=True, name="crossattention", dtype=self.dtype_policy
            )
        self.intermediate = TFBertIntermediate(config, name="intermediate", dtype=self.dtype_policy)
        # Stored as `_output_sublayer` because Keras reserves `output`; reached as `layer.output`.
        self._output_sublayer = TFBertOutput(config, name="output", dtype=self.dtype_policy)
        # config
        self.is_decoder = config.is_decoder
        self.add_cross_attention = config.add_cross_attention

    @property
    def output(self) -> TFBertOutput:
        """The `output` sublayer: dense I -> H, dropout, residual LayerNorm."""
        return self._output_sublayer

    def build(self, input_shape: Any = None) -> None:
        self.attention.build()
        if self.crossattention is not None:
            self.crossattention.build()
        self.intermediate.build()
        self.output.build()

    def call(
        self,
        hidden_states: tf.Tensor,
        attention_mask: tf.Tensor | None = None,
        head_mask: tf.Tensor | None = None,
        encoder_hidden_states: tf.Tensor | None = None,
        encoder_attention_mask: tf.Tensor | None = None,
        past_key_value: LayerCache | None = None,
        training: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None, LayerCache]:
        """Run the block.

        hidden_states: [B, T, H]; attention_mask: [B, 1, T or 1, K] additive float32 mask;
        encoder_hidden_states: [B, S, H] and encoder_attention_mask: [B, 1, T or 1, S] for
        cross-attention (with a cache holding the encoder's keys and values, the states may be None);
        past_key_value: this layer's cache, 2 or 4 tensors of [B, N, P, D] ([B, N, S, D] cross).
        Returns (output [B, T, H], self-attention probabilities [B, N, T, K], cross-attention
        probabilities [B, N, T, S] or None, this layer's new cache).
        """
        self_past: KeyValue | None = None
        cross_past: KeyValue | None = None
        if past_key_value is not None:
            self_past = (past_key_value[0], past_key_value[1])
            if len(past_key_value) == 4:
                cross_past = (past_key_value[2], past_key_value[3])
        attention_output, self_probs, present = self.attention(
            hidden_states,
            attention_mask=attention_mask,
            head_mask=head_mask,
            past_key_value=self_past,
            training=training,
        )
        cross_probs = None
        if self.crossattention is not None and (encoder_hidden_states is not None or cross_past is not None):
            attention_output, cross_probs, cross_present = self.crossattention(
                attention_output,
                attention_mask=encoder_attention_mask,
                head_mask=head_mask,
                encoder_hidden_states=encoder_hidden_states,
                past_key_value=cross_past,
                training=training,
            )
            present = present + cross_present
        layer_output = self.output(self.intermediate(attention_output), attention_output, training=training)
        return layer_output, self_probs, cross_probs, present


class TFBertEncoder(ConfigLayer):
    """The stack of `config.num_hidden_layers` blocks, `layer[0]` ... `layer[L-1]`."""

    autocast_inputs = False

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers: named "layer_._{i}", as in Transformers' TF checkpoints
        self.layer = [
            TFBertLayer(config, name=f"layer_._{i}", dtype=self.dtype_policy)
            for i in range(config.num_hidden_layers)
        ]

    def build(self, input_shape: Any = None) -> None:
        for block in self.layer:
            block.build()

    def call(
        self,
        hidden_states: tf.Tensor,
        attention_mask: tf.Tensor | None = None,
        head_mask: list[tf.Tensor | None] | None = None,
        encoder_hidden_states: tf.Tensor | None = None,
        encoder_attention_mask: tf.Tensor | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        training: bool = False,
    ) -> dict[str, tf.Tensor | tuple | None]:
        """Run every block; returns a dict with `last_hidden_state` [B, T, H] and, as requested,
        `past_key_values` (L layer caches), `hidden_states` (L + 1 of [B, T, H]), `attentions` (L of
        [B, N, T, K]) and `cross_attentions` (L of [B, N, T, S])."""
        all_hidden = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        with_cross = self.config.add_cross_attention and (
            encoder_hidden_states is not None
            or (past_key_values is not None and len(past_key_values[0]) == 4)
        )
        all_cross = [] if output_attentions and with_cross else None
        presents = [] if use_cache else None
        for i, block in enumerate(self.layer):
            hidden_states, probs, cross_probs, present = block(
                hidden_states,
                attention_mask=attention_mask,
                head_mask=head_mask[i] if head_mask is not None else None,
                encoder_hidden_states=encoder_hidden_states,
                encoder_attention_mask=encoder_attention_mask,
                past_key_value=past_key_values[i] if past_key_values is not None else None,
                training=training,
            )
            if all_hidden is not None:
                all_hidden.append(hidden_states)
            if all_attentions is not None:
                all_attentions.append(probs)
            if all_cross is not None:
                all_cross.append(cross_probs)
            if presents is not None:
                presents.append(present)
        return {
            "last_hidden_state": hidden_states,
            "past_key_values": tuple(presents) if presents is not None else None,
            "hidden_states": tuple(all_hidden) if all_hidden is not None else None,
            "attentions": tuple(all_attentions) if all_attentions is not None else None,
            "cross_attentions": tuple(all_cross) if all_cross is not None else None,
        }


class TFBertPooler(ConfigLayer):
    """tanh(`dense`(hidden state of the first token)): the [CLS] summary used by sentence-level heads."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.hidden_size, "dense", self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        self.dense.build((None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        """[B, T, H] -> [B, H]."""
        return tf.tanh(self.dense(hidden_states[:, 0]))
