"""The encoder stack: feed-forward blocks, `TFBertLayer`, `TFBertEncoder` and the pooler.

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T), S encoder length,
H hidden size, I intermediate size, N heads, D head size, L layers. Keras variable paths follow the
"tf_h5" names of conversion.names, e.g. `bert/encoder/layer_._0/intermediate/dense/kernel`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import keras
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.model_api import check_heads_to_prune, merged_pruned_heads
from bert_tf import masks
from bert_tf.activations import get_activation
from bert_tf.attention import KeyValue, TFBertAttention
from bert_tf.base import ConfigLayer
from bert_tf.initialization import dense, layer_norm
from bert_tf.inputs import LayerCache

logger = logging.getLogger("bert_zoo")


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
    `intermediate` and `output`. layer_index: its place in the stack, whose `config.pruned_heads` entry
    gives its self-attention N_l heads (None: all N)."""

    autocast_inputs = False

    config_arguments = ("layer_index",)

    def __init__(self, config: BertConfig, layer_index: int | None = None, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.attention = TFBertAttention(
            config, layer_index=layer_index, name="attention", dtype=self.dtype_policy
        )
        self.crossattention = None
        if config.add_cross_attention:
            self.crossattention = TFBertAttention(
                config, is_cross_attention=True, name="crossattention", dtype=self.dtype_policy
            )
        self.intermediate = TFBertIntermediate(config, name="intermediate", dtype=self.dtype_policy)
        # Stored as `_output_sublayer` because Keras reserves `output`; reached as `layer.output`.
        self._output_sublayer = TFBertOutput(config, name="output", dtype=self.dtype_policy)
        # config
        self.layer_index = layer_index
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
        packing: masks.Packing | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None, LayerCache]:
        """Run the block.

        hidden_states: [B, T, H], or [1, M, H] with `packing` (padding-free, bert_tf.masks); attention_mask: [B, 1, T or 1, K] additive float32 mask;
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
            packing=packing,
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
                packing=packing,
            )
            present = present + cross_present
        layer_output = self.output(self.intermediate(attention_output), attention_output, training=training)
        return layer_output, self_probs, cross_probs, present


class TFBertEncoder(ConfigLayer):
    """The stack of `config.num_hidden_layers` blocks, `layer[0]` ... `layer[L-1]`.

    gradient_checkpointing: when True, training calls recompute each block in the backward pass
    (`keras.remat`, i.e. `tf.recompute_grad` on the TensorFlow backend) instead of keeping its
    activations; set by the model's `gradient_checkpointing_enable`.
    """

    autocast_inputs = False

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers: named "layer_._{i}", as in Transformers' TF checkpoints
        self.layer = [
            TFBertLayer(config, layer_index=i, name=f"layer_._{i}", dtype=self.dtype_policy)
            for i in range(config.num_hidden_layers)
        ]
        # config
        self.gradient_checkpointing = False

    def prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        """Remove self-attention heads, {layer: [heads]} numbered as in the unpruned model, and record
        them in `config.pruned_heads` (the argument is checked whole first:
        `bert_common.model_api.check_heads_to_prune`).

        Raises:
            TypeError: not a mapping of int -> list of ints. ValueError: a layer or head that does not
                exist, or pruning every head of a layer.
        """
        config = self.config
        new = check_heads_to_prune(
            heads_to_prune, len(self.layer), config.num_attention_heads, config.pruned_heads
        )
        for layer_index, heads in new.items():
            self.layer[layer_index].attention.prune_heads(heads)  # reads the config before this prune
        config.pruned_heads = merged_pruned_heads(config.pruned_heads, new)

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
        packing: masks.Packing | None = None,
    ) -> dict[str, tf.Tensor | tuple | None]:
        """Run every block; returns a dict with `last_hidden_state` [B, T, H] and, as requested,
        `past_key_values` (L layer caches), `hidden_states` (L + 1 of [B, T, H]), `attentions` (L of
        [B, N, T, K]) and `cross_attentions` (L of [B, N, T, S]). With `packing` (padding-free) the
        embeddings `hidden_states` and every returned hidden state are [1, M, H]."""
        all_hidden = [hidden_states] if output_hidden_states else None
        all_attentions = [] if output_attentions else None
        with_cross = self.config.add_cross_attention and (
            encoder_hidden_states is not None
            or (past_key_values is not None and len(past_key_values[0]) == 4)
        )
        all_cross = [] if output_attentions and with_cross else None
        checkpointing = self.gradient_checkpointing and training
        if checkpointing and use_cache:
            logger.warning(
                "use_cache=True is incompatible with gradient checkpointing; setting use_cache=False"
            )
            use_cache = False
        presents = [] if use_cache else None
        for i, block in enumerate(self.layer):
            inputs = dict(
                attention_mask=attention_mask,
                head_mask=head_mask[i] if head_mask is not None else None,
                encoder_hidden_states=encoder_hidden_states,
                encoder_attention_mask=encoder_attention_mask,
                past_key_value=past_key_values[i] if past_key_values is not None else None,
                packing=packing,
            )
            if checkpointing:
                hidden_states, probs, cross_probs = recomputed_call(block, hidden_states, inputs)
                present = None
            else:
                hidden_states, probs, cross_probs, present = block(hidden_states, **inputs, training=training)
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


def recomputed_call(
    block: TFBertLayer, hidden_states: tf.Tensor, inputs: Mapping[str, Any]
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """`block(hidden_states, **inputs, training=True)` whose activations are recomputed in the backward
    pass (`keras.remat`, `tf.recompute_grad` on TensorFlow: eager, in `fit`'s graph and under XLA).

    Every tensor input is an argument of the recomputed function, so gradients reach it (a tensor
    captured by a closure would get none). Dropout must draw the same masks when the block runs again:
    the states of the block's seed generators are passed in too and restored at its start, so the
    gradients are those of the forward pass (without this, `tf.recompute_grad` draws new masks).
    hidden_states: [B, T, H]; inputs: the block's other arguments (tensors, tuples of them, or None).
    Returns (output [B, T, H], self-attention probabilities [B, N_l, T, K], cross-attention
    probabilities [B, N, T, S] or None); no cache.
    """
    structure = {name: value for name, value in inputs.items() if value is not None}
    flat = tf.nest.flatten(structure)
    generators = [
        layer.seed_generator
        for layer in block._flatten_layers()
        if getattr(layer, "seed_generator", None) is not None
    ]

    def run(hidden: tf.Tensor, *tensors: tf.Tensor) -> tuple[tf.Tensor, ...]:
        named = tf.nest.pack_sequence_as(structure, list(tensors[: len(flat)]))
        for generator, state in zip(generators, tensors[len(flat) :]):
            generator.state.assign(state)
        output, probs, cross_probs, _ = block(hidden, **named, training=True)
        return (output, probs) if cross_probs is None else (output, probs, cross_probs)

    states = [tf.identity(generator.state.value) for generator in generators]
    outputs = keras.remat(run)(hidden_states, *flat, *states)
    return outputs[0], outputs[1], outputs[2] if len(outputs) == 3 else None


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
