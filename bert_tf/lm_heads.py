"""The `cls.*` heads: the prediction-head layers, then the models that score the vocabulary or the
next sentence (TFBertForPreTraining, TFBertLMHeadModel, TFBertForMaskedLM, TFBertForNextSentencePrediction).

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T), S encoder length,
H hidden size, V vocabulary, N heads, L layers, D head size.

Keras variable paths follow Transformers' TF checkpoints: the masked-LM head lives under "mlm___cls",
the next-sentence head under "nsp___cls". Every head call takes the inputs of TFBertModel.call
(input_ids [B, T] or a dict, attention_mask [B, K] or [B, T, K], token_type_ids / position_ids [B, T],
head_mask [N] or [L, N], inputs_embeds [B, T, H]), its labels, the output switches, `training` and
`padding_free` (None = the model's), and raises the ValueError / TypeError of bert_common.inputs for bad
inputs or labels. Logits and losses are float32; hidden_states and attentions come back on request."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    finish_output,
)
from bert_tf import generation
from bert_tf.activations import get_activation
from bert_tf.base import ConfigLayer
from bert_tf.initialization import dense, layer_norm
from bert_tf.inputs import LayerCache, unpack_inputs
from bert_tf.modeling import TFBertHeadModel

logger = logging.getLogger("bert_zoo")


class TFBertPredictionHeadTransform(ConfigLayer):
    """`dense` H -> H, the configured activation, `LayerNorm`."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.hidden_size, "dense", self.dtype_policy)
        self.LayerNorm = layer_norm(config, "LayerNorm", self.dtype_policy)
        # config
        self.activation = get_activation(config.hidden_act)

    def build(self, input_shape: Any = None) -> None:
        self.dense.build((None, None, self.config.hidden_size))
        self.LayerNorm.build((None, None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        """[B, T, H] -> [B, T, H]."""
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class TFBertLMPredictionHead(ConfigLayer):
    """Vocabulary scores: `transform`, then the decoder and the output `bias` [V]. The decoder matrix is the
    word-embedding matrix passed to `call` (`config.tie_word_embeddings`, the default), else `decoder`."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.transform = TFBertPredictionHeadTransform(config, name="transform", dtype=self.dtype_policy)
        self.decoder = None  # tied: the word-embedding matrix, given to `call`
        if not config.tie_word_embeddings:
            self.decoder = dense(config, config.vocab_size, "decoder", self.dtype_policy, use_bias=False)

    def build(self, input_shape: Any = None) -> None:
        self.transform.build()
        if self.decoder is not None:
            self.decoder.build((None, None, self.config.hidden_size))
        self.bias = self.add_weight(name="bias", shape=(self.config.vocab_size,), initializer="zeros")

    def call(self, hidden_states: tf.Tensor, word_embeddings: tf.Tensor | None = None) -> tf.Tensor:
        """hidden_states: [B, T, H]; word_embeddings: [V, H] the tied decoder matrix. -> [B, T, V] float32."""
        hidden_states = self.transform(hidden_states)
        if self.decoder is not None:
            scores = self.decoder(hidden_states)
        else:
            if word_embeddings is None:
                raise ValueError("a head with tied word embeddings needs the embedding matrix")
            scores = tf.matmul(hidden_states, tf.cast(word_embeddings, hidden_states.dtype), transpose_b=True)
        return tf.cast(scores + tf.cast(self.bias, scores.dtype), tf.float32)


class TFBertOnlyMLMHead(ConfigLayer):
    """`predictions`: the masked-LM head of BertForMaskedLM and BertLMHeadModel (named "mlm___cls")."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.predictions = TFBertLMPredictionHead(config, name="predictions", dtype=self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        self.predictions.build()

    def call(self, sequence_output: tf.Tensor, word_embeddings: tf.Tensor | None = None) -> tf.Tensor:
        """[B, T, H] -> [B, T, V] float32 vocabulary scores."""
        return self.predictions(sequence_output, word_embeddings=word_embeddings)


class TFBertOnlyNSPHead(ConfigLayer):
    """`seq_relationship`: Dense H -> 2 on the pooled output (named "nsp___cls")."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.seq_relationship = dense(config, 2, "seq_relationship", self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        self.seq_relationship.build((None, self.config.hidden_size))

    def call(self, pooled_output: tf.Tensor) -> tf.Tensor:
        """[B, H] -> [B, 2] float32 scores (0 = sentence B follows A)."""
        return tf.cast(self.seq_relationship(pooled_output), tf.float32)


class TFBertPreTrainingHeads(ConfigLayer):
    """`predictions` (masked LM) and `seq_relationship` (NSP), as in BertForPreTraining; `build` creates their
    variables in the scopes of Transformers' TF checkpoints, "mlm___cls/..." and "nsp___cls/..."."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.predictions = TFBertLMPredictionHead(config, name="predictions", dtype=self.dtype_policy)
        self.seq_relationship = dense(config, 2, "seq_relationship", self.dtype_policy)

    def build(self, input_shape: Any = None) -> None:
        parent = self.path.rpartition("/")[0]
        with keras.name_scope("mlm___cls", override_parent=parent):
            self.predictions.build()
        with keras.name_scope("nsp___cls", override_parent=parent):
            self.seq_relationship.build((None, self.config.hidden_size))

    def call(
        self, sequence_output: tf.Tensor, pooled_output: tf.Tensor, word_embeddings: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns ([B, T, V] vocabulary scores, [B, 2] next-sentence scores), float32."""
        scores = self.predictions(sequence_output, word_embeddings=word_embeddings)
        return scores, tf.cast(self.seq_relationship(pooled_output), tf.float32)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForPreTraining(TFBertHeadModel):
    """BERT with both pretraining heads: `cls.predictions` (masked LM) and `cls.seq_relationship` (NSP)."""

    head_name = "BertForPreTraining"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.cls = TFBertPreTrainingHeads(self.config, name="cls", dtype=self.dtype_policy)
        self.build()

    @unpack_inputs
    def call(
        self,
        input_ids: tf.Tensor | np.ndarray | Mapping[str, Any] | None = None,
        attention_mask: tf.Tensor | np.ndarray | None = None,
        token_type_ids: tf.Tensor | np.ndarray | None = None,
        position_ids: tf.Tensor | np.ndarray | None = None,
        head_mask: tf.Tensor | np.ndarray | None = None,
        inputs_embeds: tf.Tensor | np.ndarray | None = None,
        labels: tf.Tensor | np.ndarray | None = None,
        next_sentence_label: tf.Tensor | np.ndarray | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> BertForPreTrainingOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. labels: [B, T] int masked-LM targets (-100 = not scored);
        next_sentence_label: [B] int (0 = B follows A). Returns BertForPreTrainingOutput (a tuple with
        return_dict=False): prediction_logits [B, T, V], seq_relationship_logits [B, 2], loss (both).

        Raises:
            ValueError, TypeError: inputs or labels that break bert_common.inputs (see TFBertModel.call)."""
        output = self.bert(
            training=training,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            padding_free=padding_free,
        )
        scores = self.cls(output.last_hidden_state, output.pooler_output, self._word_embeddings())
        result = BertForPreTrainingOutput(
            loss=self._loss(scores, {"labels": labels, "next_sentence_label": next_sentence_label}),
            prediction_logits=scores[0],  # [B, T, V]
            seq_relationship_logits=scores[1],  # [B, 2]
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertLMHeadModel(TFBertHeadModel):
    """BERT as a left-to-right decoder (`config.is_decoder=True`) with the language-model head `cls`.
    With `config.add_cross_attention` it attends to `encoder_hidden_states`; `use_cache=True` returns
    `past_key_values` to pass back for incremental decoding; `generate` decodes greedily or by sampling."""

    head_name = "BertLMHeadModel"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        if not self.config.is_decoder:
            logger.warning("TFBertLMHeadModel is meant as a decoder; build it with is_decoder=True")
        # layers
        self.cls = TFBertOnlyMLMHead(self.config, name="mlm___cls", dtype=self.dtype_policy)
        self.build()

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
        labels: tf.Tensor | np.ndarray | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring, plus encoder_hidden_states [B, S, H], encoder_attention_mask
        [B, S], past_key_values (per layer 2 or 4 tensors of [B, N, P, D]) as in TFBertModel.call. labels:
        [B, T] int token ids; the loss scores logits[:, :-1] against labels[:, 1:] (-100 ignored), turns
        use_cache off. Returns CausalLMOutputWithCrossAttentions: logits [B, T, V], loss, past_key_values.

        Raises:
            ValueError, TypeError: inputs or labels that break bert_common.inputs (see TFBertModel.call)."""
        if labels is not None:
            use_cache = False
        output = self.bert(
            training=training,
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
            padding_free=padding_free,
        )
        logits = self.cls(output.last_hidden_state, word_embeddings=self._word_embeddings())
        result = CausalLMOutputWithCrossAttentions(
            loss=self._loss((logits,), {"labels": labels}),
            logits=logits,
            past_key_values=output.past_key_values,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
            cross_attentions=output.cross_attentions,
        )
        return finish_output(result, return_dict, self.config)

    # `model.generate(input_ids, ...)` is bert_tf.generation.generate with the model as its first argument:
    # the shared signature of the three twins (greedy or sampled decoding on the KV cache).
    generate = generation.generate


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForMaskedLM(TFBertHeadModel):
    """BERT with the masked-language-model head `cls.predictions` (tied to the word embeddings)."""

    head_name = "BertForMaskedLM"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        if self.config.is_decoder:
            logger.warning("TFBertForMaskedLM uses bi-directional attention; build it with is_decoder=False")
        # layers
        self.cls = TFBertOnlyMLMHead(self.config, name="mlm___cls", dtype=self.dtype_policy)
        self.build()

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
        labels: tf.Tensor | np.ndarray | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> MaskedLMOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. labels: [B, T] int target ids at the masked positions, -100
        elsewhere. Returns MaskedLMOutput (a tuple with return_dict=False): logits [B, T, V], loss.

        Raises:
            ValueError, TypeError: inputs or labels that break bert_common.inputs (see TFBertModel.call)."""
        output = self.bert(
            training=training,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            padding_free=padding_free,
        )
        logits = self.cls(output.last_hidden_state, word_embeddings=self._word_embeddings())
        result = MaskedLMOutput(
            loss=self._loss((logits,), {"labels": labels}),
            logits=logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForNextSentencePrediction(TFBertHeadModel):
    """BERT with the next-sentence head `cls.seq_relationship` on the pooled output."""

    head_name = "BertForNextSentencePrediction"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.cls = TFBertOnlyNSPHead(self.config, name="nsp___cls", dtype=self.dtype_policy)
        self.build()

    @unpack_inputs
    def call(
        self,
        input_ids: tf.Tensor | np.ndarray | Mapping[str, Any] | None = None,
        attention_mask: tf.Tensor | np.ndarray | None = None,
        token_type_ids: tf.Tensor | np.ndarray | None = None,
        position_ids: tf.Tensor | np.ndarray | None = None,
        head_mask: tf.Tensor | np.ndarray | None = None,
        inputs_embeds: tf.Tensor | np.ndarray | None = None,
        labels: tf.Tensor | np.ndarray | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        next_sentence_label: tf.Tensor | np.ndarray | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> NextSentencePredictorOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. labels, or its alias next_sentence_label (Transformers' TF
        name; give one): [B] int, 0 = sentence B follows A, 1 = B is random. Returns
        NextSentencePredictorOutput (a tuple with return_dict=False): logits [B, 2], loss.

        Raises:
            ValueError, TypeError: inputs or labels that break bert_common.inputs (see TFBertModel.call)."""
        output = self.bert(
            training=training,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            padding_free=padding_free,
        )
        logits = self.cls(output.pooler_output)
        result = NextSentencePredictorOutput(
            loss=self._loss((logits,), {"labels": labels, "next_sentence_label": next_sentence_label}),
            logits=logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)
