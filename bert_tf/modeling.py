"""`TFBertMainLayer` (embeddings + encoder + pooler) and `TFBertModel`, plus the thin base of every model.

Shape legend: B = batch, T = new tokens, P = cached tokens, S = P + T, S_enc = encoder length,
H = hidden size, N = heads, L = layers.

Every model of bert_tf is a `keras.Model` whose variables are created when it is constructed, with
paths that equal Transformers' TF checkpoint names (`tf_bert_model/bert/encoder/layer_._0/...`), so
`conversion.tf` maps them to canonical weights with the shared name table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.heads import Head, get_head
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions, ModelOutput
from bert_tf import outputs as _outputs  # noqa: F401  (registers the output classes with Keras)
from bert_tf.base import ConfigLayer
from bert_tf.embeddings import TFBertEmbeddings
from bert_tf.inputs import prepare_encoder_inputs, to_tensor, unpack_inputs
from bert_tf.layers import LayerCache, TFBertEncoder, TFBertPooler
from bert_tf.masks import extended_attention_mask, inverted_encoder_mask, layer_head_masks
from bert_tf.training import KerasTrainingMixin

logger = logging.getLogger("bert_zoo")


class TFBertMainLayer(ConfigLayer):
    """BERT without a head: `embeddings`, `encoder` and (optionally) `pooler`. Named "bert" in models."""

    config_arguments = ("add_pooling_layer",)

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any):
        super().__init__(config, **kwargs)
        # config
        self.add_pooling_layer = add_pooling_layer
        # layers
        self.embeddings = TFBertEmbeddings(config, name="embeddings", dtype=self.dtype_policy)
        self.encoder = TFBertEncoder(config, name="encoder", dtype=self.dtype_policy)
        self.pooler = (
            TFBertPooler(config, name="pooler", dtype=self.dtype_policy) if add_pooling_layer else None
        )

    def build(self, input_shape: Any = None) -> None:
        self.embeddings.build()
        self.encoder.build()
        if self.pooler is not None:
            self.pooler.build()

    def call(
        self,
        input_ids: tf.Tensor | None = None,
        attention_mask: tf.Tensor | None = None,
        token_type_ids: tf.Tensor | None = None,
        position_ids: tf.Tensor | None = None,
        head_mask: tf.Tensor | None = None,
        inputs_embeds: tf.Tensor | None = None,
        encoder_hidden_states: tf.Tensor | None = None,
        encoder_attention_mask: tf.Tensor | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        training: bool = False,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """Encode a batch; the arguments are those of `TFBertModel.call` (always returns the dataclass)."""
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else bool(output_attentions)
        output_hidden_states = (
            config.output_hidden_states if output_hidden_states is None else bool(output_hidden_states)
        )
        use_cache = (
            (config.use_cache if use_cache is None else bool(use_cache)) if config.is_decoder else False
        )
        inputs = prepare_encoder_inputs(
            config,
            self.compute_dtype,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values,
        )
        head_masks = layer_head_masks(
            to_tensor(head_mask, "head_mask"), config.num_hidden_layers, config.num_attention_heads
        )
        encoder_mask = None
        if inputs.encoder_attention_mask is not None:
            encoder_mask = inverted_encoder_mask(inputs.encoder_attention_mask)

        embedding_output = self.embeddings(
            input_ids=inputs.input_ids,
            token_type_ids=inputs.token_type_ids,
            position_ids=inputs.position_ids,
            inputs_embeds=inputs.inputs_embeds,
            past_key_values_length=inputs.past_length,
            training=training,
        )
        encoded = self.encoder(
            embedding_output,
            attention_mask=extended_attention_mask(
                inputs.attention_mask, inputs.seq_length, config.is_decoder
            ),
            head_mask=head_masks,
            encoder_hidden_states=inputs.encoder_hidden_states,
            encoder_attention_mask=encoder_mask,
            past_key_values=inputs.past_key_values,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            training=training,
        )
        sequence_output = encoded["last_hidden_state"]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=self.pooler(sequence_output) if self.pooler is not None else None,
            hidden_states=encoded["hidden_states"],
            past_key_values=encoded["past_key_values"],
            attentions=encoded["attentions"],
            cross_attentions=encoded["cross_attentions"],
        )


class TFBertPreTrainedModel(KerasTrainingMixin, keras.Model):
    """What every bert_tf model shares: its BertConfig, Keras serialization, and the entry points of
    loading/saving (bert_tf.pretrained), Keras training (bert_tf.training) and export (bert_tf.export).

    head_name: the PyTorch class name of the head (a key of bert_common.heads.HEADS).
    """

    head_name: ClassVar[str] = "BertModel"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        if isinstance(config, dict):
            config = BertConfig.from_dict(config)
        if not isinstance(config, BertConfig):
            raise TypeError(f"{type(self).__name__} needs a BertConfig, got {type(config).__name__}")
        # Inputs are not cast to a mixed-precision compute dtype at the model boundary: float labels
        # (regression, multi-label) keep float32; the layers cast what they compute with.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        # config
        self.config = config

    @classmethod
    def head(cls) -> Head:
        """The head of this class in bert_common.heads (output class, head weights, pooler)."""
        return get_head(cls.head_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Keras takes only tensors (or plain dicts/lists of them) as positional arguments: a tokenizer's
        # BatchEncoding (a dict subclass) becomes a dict, nested Python lists of ids an array.
        if args:
            first = args[0]
            if isinstance(first, Mapping) and type(first) is not dict:
                first = dict(first)
            elif isinstance(first, (list, tuple)):
                first = np.asarray(first)
            args = (first, *args[1:])
        return super().__call__(*args, **kwargs)

    def _finish(self, output: ModelOutput, return_dict: bool | None) -> ModelOutput | tuple[Any, ...]:
        """The dataclass, or (return_dict=False) its tuple of the fields that are not None."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        return output if return_dict else output.to_tuple()

    # ------------------------------------------------------------------ serialization

    def get_config(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_policy.name,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TFBertPreTrainedModel:
        config = dict(config)
        return cls(BertConfig.from_dict(config.pop("config")), **config)

    # ------------------------------------------------------------------ hub / disk

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, **kwargs: Any) -> Any:
        """Load a directory or hub id of canonical weights (see `bert_tf.pretrained.from_pretrained`)."""
        from bert_tf.pretrained import from_pretrained

        return from_pretrained(cls, pretrained_model_name_or_path, **kwargs)

    def save_pretrained(self, save_directory: Any, **kwargs: Any) -> Any:
        """Write config.json + model.safetensors (see `bert_tf.pretrained.save_pretrained`)."""
        from bert_tf.pretrained import save_pretrained

        return save_pretrained(self, save_directory, **kwargs)

    def export(
        self, filepath: Any, format: str = "tf_saved_model", verbose: bool = True, **kwargs: Any
    ) -> None:
        """Write a SavedModel whose `serving_default` takes int32 input_ids, attention_mask and
        token_type_ids of any batch size and length and returns the head's outputs (see bert_tf.export)."""
        from bert_tf.export import export_saved_model

        if format != "tf_saved_model":
            raise ValueError(
                f"{type(self).__name__}.export supports format='tf_saved_model' only, got {format!r}"
            )
        export_saved_model(self, filepath, verbose=verbose, **kwargs)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertModel(TFBertPreTrainedModel):
    """The bare BERT encoder: `bert` (embeddings, encoder, pooler). Returns
    BaseModelOutputWithPoolingAndCrossAttentions."""

    head_name = "BertModel"

    def __init__(self, config: BertConfig | dict[str, Any], add_pooling_layer: bool = True, **kwargs: Any):
        super().__init__(config, **kwargs)
        # config
        self.add_pooling_layer = add_pooling_layer
        # layers
        self.bert = TFBertMainLayer(
            self.config, add_pooling_layer=add_pooling_layer, name="bert", dtype=self.dtype_policy
        )
        self.build()

    def build(self, input_shape: Any = None) -> None:
        """Create every variable; models build themselves when constructed, input shapes do not matter."""
        if not self.bert.built:  # Keras calls build again when it loads a saved model
            self.bert.build()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "add_pooling_layer": self.add_pooling_layer}

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        encoder_hidden_states: Any = None,
        encoder_attention_mask: Any = None,
        past_key_values: Any = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[Any, ...]:
        """Encode a batch.

        input_ids: [B, T] int32/int64 token ids, or a dict of these named inputs (a tokenizer's output).
        attention_mask: [B, S] 1 = attend, 0 = padding; all ones when None.
        token_type_ids: [B, T] segment ids (0 = sentence A, 1 = sentence B); zeros when None.
        position_ids: [B, T] absolute positions; P + arange(T) when None.
        head_mask: [N] or [L, N], 1 keeps and 0 silences an attention head.
        inputs_embeds: [B, T, H] word vectors to use instead of input_ids.
        encoder_hidden_states / encoder_attention_mask: [B, S_enc, H] / [B, S_enc], decoders only.
        past_key_values: the cache returned by a previous call with use_cache=True (decoders only).
        use_cache / output_attentions / output_hidden_states / return_dict: config defaults when None.
        training: enables dropout.
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
        )
        return self._finish(output, return_dict)
