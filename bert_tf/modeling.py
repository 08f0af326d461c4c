"""The base model: `TFBertMainLayer` (embeddings + encoder + pooler) and `TFBertModel`, plus the base of
the head models, which own a `TFBertMainLayer` as `bert`.

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T), S encoder length,
H hidden size, N heads, D head size, L layers.

Every model of bert_tf is a `keras.Model` whose variables are created when it is constructed, with
paths that equal Transformers' TF checkpoint names (`tf_bert_model/bert/encoder/layer_._0/...`), so
`conversion.tf` maps them to canonical weights with the shared name table. `TFBertMainLayer` is a layer
of its own, as in Transformers' TF models, because that checkpoint scope ("bert") is a Keras layer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.ops import control_flow_util  # no public API tells a trace for XLA from others

from bert_common import packing
from bert_common.config import BertConfig
from bert_common.outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    finish_output,
    resolve_output_flags,
)
from bert_tf import losses, masks
from bert_tf.base import ConfigLayer
from bert_tf.embeddings import TFBertEmbeddings
from bert_tf.inputs import (
    CheckedInputs,
    LayerCache,
    check_head_labels,
    check_inputs,
    keras_user_errors,
    unpack_inputs,
)
from bert_tf.layers import TFBertEncoder, TFBertPooler
from bert_tf.pretrained import TFBertPreTrainedModel


class TFBertMainLayer(ConfigLayer):
    """BERT without a head: `embeddings`, `encoder` and (optionally) `pooler`. Named "bert" in models."""

    config_arguments = ("add_pooling_layer",)

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.embeddings = TFBertEmbeddings(config, name="embeddings", dtype=self.dtype_policy)
        self.encoder = TFBertEncoder(config, name="encoder", dtype=self.dtype_policy)
        self.pooler = (
            TFBertPooler(config, name="pooler", dtype=self.dtype_policy) if add_pooling_layer else None
        )
        # config
        self.add_pooling_layer = add_pooling_layer
        self.padding_free = False  # the model's setting (PaddingFreeSwitch)

    def build(self, input_shape: Any = None) -> None:
        self.embeddings.build()
        self.encoder.build()
        if self.pooler is not None:
            self.pooler.build()

    def call(
        self,
        input_ids: tf.Tensor | np.ndarray | None = None,
        attention_mask: tf.Tensor | np.ndarray | None = None,
        token_type_ids: tf.Tensor | np.ndarray | None = None,
        position_ids: tf.Tensor | np.ndarray | None = None,
        head_mask: tf.Tensor | np.ndarray | None = None,
        inputs_embeds: tf.Tensor | np.ndarray | None = None,
        encoder_hidden_states: tf.Tensor | np.ndarray | None = None,
        encoder_attention_mask: tf.Tensor | np.ndarray | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """Encode a batch; the arguments are those of `TFBertModel.call` (always returns the dataclass)."""
        if packing.check_padding_free(padding_free, allow_none=True) is None:
            padding_free = self.padding_free
        config = self.config
        flags = resolve_output_flags(
            config,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            use_cache=use_cache,
        )
        inputs = check_inputs(
            config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values,
        )
        mask = inputs.attention_mask
        if mask is None:
            mask = tf.ones(tf.stack([inputs.batch, inputs.past_length + inputs.length]), dtype=tf.int32)
        states = inputs.encoder_hidden_states
        if states is not None:
            states = tf.cast(states, self.compute_dtype)  # [B, S, H]
        cross_mask = inputs.encoder_attention_mask
        encoder_inputs = dict(
            attention_mask=masks.self_attention_mask(mask, inputs.length, config.is_decoder),
            head_mask=masks.head_mask(inputs.head_mask, config.num_hidden_layers, config.num_attention_heads),
            encoder_hidden_states=states,
            encoder_attention_mask=None if cross_mask is None else masks.cross_attention_mask(cross_mask),
            past_key_values=inputs.past_key_values,
            use_cache=flags.use_cache,
            output_attentions=flags.output_attentions,
            output_hidden_states=flags.output_hidden_states,
            training=training,
        )
        if padding_free and inputs.attention_mask is not None:
            encoded = padding_free_encode(self, inputs, encoder_inputs)
        else:
            embedding_output = self.embeddings(
                input_ids=inputs.input_ids,
                token_type_ids=inputs.token_type_ids,
                position_ids=inputs.position_ids,
                inputs_embeds=inputs.inputs_embeds,
                past_key_values_length=inputs.past_length,
                training=training,
            )
            encoded = self.encoder(embedding_output, **encoder_inputs)
        sequence_output = encoded["last_hidden_state"]  # [B, T, H]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=self.pooler(sequence_output) if self.pooler is not None else None,
            hidden_states=encoded["hidden_states"],
            past_key_values=encoded["past_key_values"],
            attentions=encoded["attentions"],
            cross_attentions=encoded["cross_attentions"],
        )


class PaddingFreeSwitch:
    """The `padding_free` property of every bert_tf model (TFBertModel and the heads)."""

    @property
    def padding_free(self) -> bool:
        """Run ragged batches padding-free by default (docs/padding-free.md); set at construction or
        `from_pretrained(..., padding_free=True)`, overridden per call by call's `padding_free`. Not a
        config field: save_pretrained does not store it (get_config does, for .keras files). Setting it
        raises TypeError for a non-bool."""
        return self.bert.padding_free

    @padding_free.setter
    def padding_free(self, value: bool) -> None:
        self.bert.padding_free = packing.check_padding_free(value)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertModel(PaddingFreeSwitch, TFBertPreTrainedModel):
    """The bare BERT encoder: `bert` (embeddings, encoder, pooler). Returns
    BaseModelOutputWithPoolingAndCrossAttentions.

    config: a BertConfig (or its dict). add_pooling_layer: keep the pooler (default True).
    padding_free: the default of call's `padding_free` (the `padding_free` property), False.
    kwargs: keras.Model's (name, dtype, ...).

    Raises:
        TypeError: config not a BertConfig; padding_free not a bool.
    """

    head_name = "BertModel"

    def __init__(
        self,
        config: BertConfig | dict[str, Any],
        add_pooling_layer: bool = True,
        padding_free: bool = False,
        **kwargs: Any,
    ):
        super().__init__(config, **kwargs)
        # layers
        self.bert = TFBertMainLayer(
            self.config, add_pooling_layer=add_pooling_layer, name="bert", dtype=self.dtype_policy
        )
        # config
        self.add_pooling_layer = add_pooling_layer
        self.padding_free = padding_free
        self.build()

    def build(self, input_shape: Any = None) -> None:
        """Create every variable; models build themselves when constructed, input shapes do not matter."""
        if not self.bert.built:  # Keras calls build again when it loads a saved model
            self.bert.build()

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "add_pooling_layer": self.add_pooling_layer}
        return {**config, "padding_free": self.padding_free}

    @unpack_inputs
    def call(
        self,
        input_ids: tf.Tensor | np.ndarray | Mapping[str, Any] | None = None,
        attention_mask: tf.Tensor | np.ndarray | None = None,
        token_type_ids: tf.Tensor | np.ndarray | None = None,
        position_ids: tf.Tensor | np.ndarray | None = None,
        head_mask: tf.Tensor | np.ndarray | None = None,
        inputs_embeds: tf.Tensor | np.ndarray | None = None,
        encoder_hidden_states: tf.Tensor | np.ndarray | None = None,
        encoder_attention_mask: tf.Tensor | np.ndarray | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[tf.Tensor, ...]:
        """Encode a batch.

        input_ids: [B, T] int32/int64 token ids in [0, V), or a dict of these named inputs (a tokenizer's
            output). Exactly one of it and inputs_embeds: [B, T, H] float word vectors.
        attention_mask: [B, K] (K = P + T) or [B, T, K] per query; 1 = attend, 0 = padding; all ones
            when None. Decoders (config.is_decoder) also hide future positions.
        token_type_ids: [B, T] segment ids (0 = sentence A, 1 = sentence B); zeros when None.
        position_ids: [B, T] or [1, T] absolute positions; P + arange(T) when None.
        head_mask: [N] or [L, N], 1 keeps and 0 silences an attention head.
        encoder_hidden_states: [B, S, H] and encoder_attention_mask: [B, S] (or [B, T, S]), decoders
            with cross-attention only.
        past_key_values: the cache returned by a previous call with use_cache=True (decoders only):
            per layer 2 or 4 tensors of [B, N, P, D].
        use_cache / output_attentions / output_hidden_states / return_dict: config defaults when None.
        training: enables dropout (default False).
        padding_free: run the dense layers only on the tokens attention_mask attends, plus position 0
            of every row (bert_common.packing); None (default) = the model's `padding_free`. Attended
            positions and pooler_output equal the padded path within 1e-5; the other positions of
            last_hidden_state / hidden_states are zeros. Packed size M: exact when eager or in a
            tf.function; under XLA (jit_compile) the smallest of packing.bucket_sizes(B * T) that holds
            the tokens (a tf.switch_case over them). No effect without attention_mask.

        Returns BaseModelOutputWithPoolingAndCrossAttentions: last_hidden_state [B, T, H],
        pooler_output [B, H], and on request hidden_states (L + 1 of [B, T, H]), attentions (L of
        [B, N, T, K]), cross_attentions (L of [B, N, T, S]), past_key_values; a tuple of the fields that
        are not None with return_dict=False.

        Raises:
            ValueError, TypeError: inputs that break bert_common.inputs (the message names the argument):
                wrong shapes or dtypes, ids outside their tables, a mask holding other values than 0/1,
                an empty sequence, P + T > max_position_embeddings, decoder inputs to an encoder;
                padding_free not a bool or None, or with a 3-D attention_mask.
            tf.errors.InvalidArgumentError: inside a graph, the same value checks at run time.
        """
        output = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            training=training,
            padding_free=padding_free,
        )
        return finish_output(output, return_dict, self.config)


class TFBertHeadModel(PaddingFreeSwitch, TFBertPreTrainedModel):
    """The base of the eight head models: `bert` (with the pooler when the head uses it) plus the head's
    own layers, built by `build_head`; the loss comes from the Head table (labels, loss function).

    config: a BertConfig (or its dict). padding_free: the default of call's `padding_free` (the
    `padding_free` property), False. kwargs: keras.Model's (name, dtype, ...).

    Raises:
        TypeError: config not a BertConfig; padding_free not a bool.
    """

    def __init__(self, config: BertConfig | dict[str, Any], padding_free: bool = False, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.bert = TFBertMainLayer(
            self.config, add_pooling_layer=self.head().pooler, name="bert", dtype=self.dtype_policy
        )
        # config
        self.padding_free = padding_free

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding_free": self.padding_free}

    def build(self, input_shape: Any = None) -> None:
        """Create every variable; models build themselves when constructed, input shapes do not matter."""
        if self.bert.built:  # Keras calls build again when it loads a saved model
            return
        self.bert.build()
        self.build_head()

    def build_head(self) -> None:
        """Create the head's own variables. The `cls.*` heads (lm_heads.py) build themselves; the task
        heads override this to build their Dense layers for [.., H] inputs."""
        self.cls.build()

    def _word_embeddings(self) -> tf.Variable:
        """The [V, H] word-embedding matrix (the tied MLM decoder)."""
        return self.bert.embeddings.word_embeddings.table

    def _classifier_dropout(self) -> float:
        rate = self.config.classifier_dropout
        return self.config.hidden_dropout_prob if rate is None else rate

    def _loss(
        self, logits: tuple[tf.Tensor, ...], labels: Mapping[str, Any], num_choices: int | None = None
    ) -> tf.Tensor | None:
        """The head's loss on `logits` when every label of the head is given (None otherwise).

        labels: label argument name -> value, as the call received them (aliases allowed). They are
        checked by bert_tf.inputs.check_head_labels; the loss is `Head.loss_function` of bert_tf.losses.
        """
        head = self.head()
        checked = check_head_labels(head, self.config, labels, num_choices)
        if checked is None:
            return None
        loss_function = getattr(losses, head.loss_function)
        # sequence classification is the one loss that reads the config (problem_type, num_labels)
        config = (self.config,) if head.loss == "sequence_classification" else ()
        with keras_user_errors():
            return loss_function(*logits, *(checked[name] for name in head.labels), *config)


def padding_free_encode(
    main: TFBertMainLayer, inputs: CheckedInputs, encoder_inputs: dict[str, Any]
) -> dict[str, Any]:
    """`main.encoder`'s dict for the kept tokens only (bert_common.packing): the embeddings and the
    encoder run on [1, M, H]; the returned hidden states are [B, T, H], zeros where not computed.

    encoder_inputs: the other arguments of TFBertEncoder.call (masks, flags, training).
    M: exact eagerly and in a tf.function (dynamic shapes); under XLA, which needs static shapes, the
    smallest of packing.bucket_sizes(B * T) that holds the kept tokens, one tf.switch_case branch each.

    Raises:
        ValueError: a 3-D attention_mask.
    """
    mask = inputs.attention_mask
    if mask.shape.rank != 2:
        packing.check_packing_mask(mask)  # raises, naming the problem
    mask = mask[:, inputs.past_length :]  # [B, T]: the new positions (decoders with a cache)
    shape = tf.shape(mask)
    token_type_ids = inputs.token_type_ids
    if token_type_ids is None:
        token_type_ids = tf.zeros(shape, tf.int32)
    position_ids = inputs.position_ids
    if position_ids is None:
        position_ids = tf.range(shape[1])[tf.newaxis] + tf.cast(inputs.past_length, tf.int32)
    position_ids = tf.broadcast_to(position_ids, shape)  # [B, T]
    order, count, kept = masks.pack_order(mask)

    def run(size: int | tf.Tensor) -> dict[str, Any]:
        layout = masks.make_packing(order, count, kept, size)
        arrays = (inputs.input_ids, token_type_ids, position_ids, inputs.inputs_embeds)
        ids, types, positions, embeds = (None if x is None else masks.pack(x, layout) for x in arrays)
        training = encoder_inputs["training"]
        hidden = main.embeddings(ids, types, positions, embeds, training=training)  # [1, M, H]
        encoded = main.encoder(hidden, **encoder_inputs, packing=layout)
        encoded["last_hidden_state"] = masks.unpack(encoded["last_hidden_state"], layout)  # [B, T, H]
        if encoded["hidden_states"] is not None:
            encoded["hidden_states"] = tuple(masks.unpack(h, layout) for h in encoded["hidden_states"])
        return {key: value for key, value in encoded.items() if value is not None}

    if not control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()):
        encoded = run(count)
    else:
        batch, length = mask.shape
        if batch is not None and length is not None:
            sizes = packing.bucket_sizes(batch * length)
        else:  # e.g. predict's batch axis: sizes as tensors, which the XLA compile folds to constants
            total = shape[0] * shape[1]
            steps = range(1, packing.JIT_BUCKET_STEPS + 1)
            sizes = [packing.bucket_size(total, step, tf.minimum) for step in steps]
        index = tf.reduce_sum(tf.cast(tf.stack(sizes) < count, tf.int32))
        encoded = tf.switch_case(index, [functools.partial(run, size) for size in sizes])
    names = ("last_hidden_state", "past_key_values", "hidden_states", "attentions", "cross_attentions")
    return {name: encoded.get(name) for name in names}
