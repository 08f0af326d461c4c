"""The BERT heads: prediction-head layers and the eight task models built on `TFBertMainLayer`.

Shape legend: B = batch, T = sequence length, H = hidden size, V = vocabulary, L = labels, C = choices.
Keras variable paths follow Transformers' TF checkpoints: the masked-LM head lives under "mlm___cls",
the next-sentence head under "nsp___cls", task heads at the root (`classifier/kernel`, `qa_outputs/kernel`).
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from bert_tf import losses
from bert_tf.activations import get_activation
from bert_tf.base import ConfigLayer, dense
from bert_tf.inputs import check_rank, to_tensor, unpack_inputs
from bert_tf.modeling import TFBertMainLayer, TFBertPreTrainedModel

logger = logging.getLogger("bert_zoo")

# ---------------------------------------------------------------------------------------------- layers


class TFBertPredictionHeadTransform(ConfigLayer):
    """`dense` H -> H, the configured activation, `LayerNorm`."""

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dense = dense(config, config.hidden_size, "dense", self.dtype_policy)
        self.LayerNorm = keras.layers.LayerNormalization(
            epsilon=config.layer_norm_eps, name="LayerNorm", dtype=self.dtype_policy
        )
        # config
        self.activation = get_activation(config.hidden_act)

    def build(self, input_shape: Any = None) -> None:
        self.dense.build((None, None, self.config.hidden_size))
        self.LayerNorm.build((None, None, self.config.hidden_size))

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        """[B, T, H] -> [B, T, H]."""
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class TFBertLMPredictionHead(ConfigLayer):
    """Vocabulary scores: `transform`, then the decoder and the output `bias` [V].

    With `config.tie_word_embeddings` (the default) the decoder matrix is the word-embedding matrix,
    passed to `call`; otherwise the head owns `decoder`, a Dense H -> V without bias.
    """

    def __init__(self, config: BertConfig, **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.transform = TFBertPredictionHeadTransform(config, name="transform", dtype=self.dtype_policy)
        self.decoder = (
            None
            if config.tie_word_embeddings
            else dense(config, config.vocab_size, "decoder", self.dtype_policy, use_bias=False)
        )

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
    """`predictions` (masked LM) and `seq_relationship` (next sentence), as in BertForPreTraining.

    Transformers' TF checkpoints keep the two in scopes of their own, "mlm___cls/predictions/..." and
    "nsp___cls/seq_relationship/...", so `build` creates each one's variables under that scope, next to
    this layer rather than inside it.
    """

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


# ---------------------------------------------------------------------------------------------- models


class _TFBertHeadModel(TFBertPreTrainedModel):
    """A head model: `bert` (with the pooler when the head uses it) plus the head's own layers."""

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.bert = TFBertMainLayer(
            self.config, add_pooling_layer=self.head().pooler, name="bert", dtype=self.dtype_policy
        )

    def build(self, input_shape: Any = None) -> None:
        """Create every variable; models build themselves when constructed, input shapes do not matter."""
        if self.bert.built:  # Keras calls build again when it loads a saved model
            return
        self.bert.build()
        self.build_head()

    def build_head(self) -> None:
        """Create the head's own variables; every head model below defines it."""

    def _word_embeddings(self) -> tf.Tensor:
        return self.bert.embeddings.word_embeddings.table

    def _dropout_rate(self) -> float:
        rate = self.config.classifier_dropout
        return self.config.hidden_dropout_prob if rate is None else rate


def _common_outputs(output: Any) -> dict[str, Any]:
    return {"hidden_states": output.hidden_states, "attentions": output.attentions}


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForPreTraining(_TFBertHeadModel):
    """BERT with both pretraining heads: `cls.predictions` (masked LM) and `cls.seq_relationship` (NSP)."""

    head_name = "BertForPreTraining"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.cls = TFBertPreTrainingHeads(self.config, name="cls", dtype=self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.cls.build()

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        labels: Any = None,
        next_sentence_label: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> BertForPreTrainingOutput | tuple[Any, ...]:
        """labels: [B, T] masked-LM targets (-100 = not scored); next_sentence_label: [B] (0 = is next).
        The loss (MLM + NSP) is returned when both are given. Other arguments as in TFBertModel.call."""
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
        )
        prediction_logits, seq_relationship_logits = self.cls(
            output.last_hidden_state, output.pooler_output, word_embeddings=self._word_embeddings()
        )
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = losses.cross_entropy(prediction_logits, labels) + losses.cross_entropy(
                seq_relationship_logits, next_sentence_label, "next_sentence_label"
            )
        result = BertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_relationship_logits,
            **_common_outputs(output),
        )
        return self._finish(result, return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertLMHeadModel(_TFBertHeadModel):
    """BERT as a left-to-right decoder (`config.is_decoder=True`) with the language-model head `cls`.

    With `config.add_cross_attention` it attends to `encoder_hidden_states`; `use_cache=True` returns
    `past_key_values` to pass back for incremental decoding.
    """

    head_name = "BertLMHeadModel"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        if not self.config.is_decoder:
            logger.warning(
                "TFBertLMHeadModel is meant as a decoder; build it with BertConfig(is_decoder=True)"
            )
        self.cls = TFBertOnlyMLMHead(self.config, name="mlm___cls", dtype=self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.cls.build()

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
        labels: Any = None,
        past_key_values: Any = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        """labels: [B, T] token ids; the loss scores logits[:, :-1] against labels[:, 1:] (-100 ignored).
        Giving labels turns use_cache off, as in Transformers. Other arguments as in TFBertModel.call."""
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
        )
        logits = self.cls(output.last_hidden_state, word_embeddings=self._word_embeddings())
        loss = losses.causal_lm_loss(logits, labels) if labels is not None else None
        result = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=output.past_key_values,
            cross_attentions=output.cross_attentions,
            **_common_outputs(output),
        )
        return self._finish(result, return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForMaskedLM(_TFBertHeadModel):
    """BERT with the masked-language-model head `cls.predictions` (tied to the word embeddings)."""

    head_name = "BertForMaskedLM"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        if self.config.is_decoder:
            logger.warning("TFBertForMaskedLM uses bi-directional attention; build it with is_decoder=False")
        # layers
        self.cls = TFBertOnlyMLMHead(self.config, name="mlm___cls", dtype=self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.cls.build()

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
        labels: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> MaskedLMOutput | tuple[Any, ...]:
        """labels: [B, T] target ids of the masked positions, -100 elsewhere. Other arguments as in
        TFBertModel.call."""
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
        )
        logits = self.cls(output.last_hidden_state, word_embeddings=self._word_embeddings())
        loss = losses.cross_entropy(logits, labels) if labels is not None else None
        return self._finish(MaskedLMOutput(loss=loss, logits=logits, **_common_outputs(output)), return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForNextSentencePrediction(_TFBertHeadModel):
    """BERT with the next-sentence head `cls.seq_relationship` on the pooled output."""

    head_name = "BertForNextSentencePrediction"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.cls = TFBertOnlyNSPHead(self.config, name="nsp___cls", dtype=self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.cls.build()

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        labels: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> NextSentencePredictorOutput | tuple[Any, ...]:
        """labels: [B], 0 = sentence B follows sentence A, 1 = B is random. Other arguments as in
        TFBertModel.call."""
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
        )
        logits = self.cls(output.pooler_output)
        loss = losses.cross_entropy(logits, labels) if labels is not None else None
        result = NextSentencePredictorOutput(loss=loss, logits=logits, **_common_outputs(output))
        return self._finish(result, return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForSequenceClassification(_TFBertHeadModel):
    """BERT with dropout and a linear `classifier` (H -> num_labels) on the pooled output."""

    head_name = "BertForSequenceClassification"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._dropout_rate(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, self.config.num_labels, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, self.config.hidden_size))

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        labels: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> SequenceClassifierOutput | tuple[Any, ...]:
        """labels: [B] class ids (cross-entropy), [B, L] multi-hot floats (sigmoid BCE) or regression
        targets (MSE, num_labels=1); see bert_common.losses. Other arguments as in TFBertModel.call."""
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
        )
        pooled = self.dropout(output.pooler_output, training=training)
        logits = tf.cast(self.classifier(pooled), tf.float32)  # [B, L]
        loss = (
            losses.sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        )
        result = SequenceClassifierOutput(loss=loss, logits=logits, **_common_outputs(output))
        return self._finish(result, return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForMultipleChoice(_TFBertHeadModel):
    """BERT scoring C candidate sequences per example: `classifier` (H -> 1) on each pooled output."""

    head_name = "BertForMultipleChoice"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._dropout_rate(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, 1, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, self.config.hidden_size))

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        labels: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> MultipleChoiceModelOutput | tuple[Any, ...]:
        """input_ids, attention_mask, token_type_ids, position_ids: [B, C, T]; inputs_embeds: [B, C, T, H].
        labels: [B], the index of the right choice. Hidden states and attentions come back for the
        B*C flattened sequences. Other arguments as in TFBertModel.call."""
        input_ids = to_tensor(input_ids, "input_ids")
        inputs_embeds = to_tensor(inputs_embeds, "inputs_embeds")
        if input_ids is not None:
            check_rank(input_ids, "input_ids", 3, "[batch, choices, sequence]")
            num_choices = tf.shape(input_ids)[1]
        elif inputs_embeds is not None:
            check_rank(inputs_embeds, "inputs_embeds", 4, "[batch, choices, sequence, hidden]")
            num_choices = tf.shape(inputs_embeds)[1]
        else:
            raise ValueError("pass input_ids or inputs_embeds")

        def flat(value: Any, name: str, rank: int) -> tf.Tensor | None:
            value = to_tensor(value, name)
            if value is None:
                return None
            check_rank(value, name, rank, "[batch, choices, sequence" + (", hidden]" if rank == 4 else "]"))
            return tf.reshape(value, tf.concat([[-1], tf.shape(value)[2:]], axis=0))  # [B*C, T(, H)]

        output = self.bert(
            training=training,
            input_ids=flat(input_ids, "input_ids", 3),
            attention_mask=flat(attention_mask, "attention_mask", 3),
            token_type_ids=flat(token_type_ids, "token_type_ids", 3),
            position_ids=flat(position_ids, "position_ids", 3),
            head_mask=head_mask,
            inputs_embeds=flat(inputs_embeds, "inputs_embeds", 4),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        pooled = self.dropout(output.pooler_output, training=training)
        scores = tf.cast(self.classifier(pooled), tf.float32)  # [B*C, 1]
        logits = tf.reshape(scores, (-1, num_choices))  # [B, C]
        loss = losses.cross_entropy(logits, labels) if labels is not None else None
        result = MultipleChoiceModelOutput(loss=loss, logits=logits, **_common_outputs(output))
        return self._finish(result, return_dict)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForTokenClassification(_TFBertHeadModel):
    """BERT with dropout and a linear `classifier` (H -> num_labels) on every token."""

    head_name = "BertForTokenClassification"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._dropout_rate(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, self.config.num_labels, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, None, self.config.hidden_size))

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        labels: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> TokenClassifierOutput | tuple[Any, ...]:
        """labels: [B, T] class ids, -100 for positions not scored (padding, continuation pieces).
        Other arguments as in TFBertModel.call."""
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
        )
        sequence = self.dropout(output.last_hidden_state, training=training)
        logits = tf.cast(self.classifier(sequence), tf.float32)  # [B, T, L]
        loss = losses.cross_entropy(logits, labels) if labels is not None else None
        return self._finish(
            TokenClassifierOutput(loss=loss, logits=logits, **_common_outputs(output)), return_dict
        )


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForQuestionAnswering(_TFBertHeadModel):
    """BERT with `qa_outputs` (H -> 2): start and end scores of the answer span for every token."""

    head_name = "BertForQuestionAnswering"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        if self.config.num_labels != 2:
            raise ValueError(
                "TFBertForQuestionAnswering scores span starts and ends: config.num_labels must be 2, "
                f"got {self.config.num_labels}"
            )
        # layers
        self.qa_outputs = dense(self.config, 2, "qa_outputs", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.qa_outputs.build((None, None, self.config.hidden_size))

    @unpack_inputs
    def call(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        inputs_embeds: Any = None,
        start_positions: Any = None,
        end_positions: Any = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
    ) -> QuestionAnsweringModelOutput | tuple[Any, ...]:
        """start_positions, end_positions: [B] token indices of the answer span; the loss is returned
        when both are given. Other arguments as in TFBertModel.call."""
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
        )
        scores = tf.cast(self.qa_outputs(output.last_hidden_state), tf.float32)  # [B, T, 2]
        start_logits, end_logits = scores[..., 0], scores[..., 1]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = losses.question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        result = QuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, **_common_outputs(output)
        )
        return self._finish(result, return_dict)


HEAD_MODEL_CLASSES: tuple[type[TFBertPreTrainedModel], ...] = (
    TFBertForPreTraining,
    TFBertLMHeadModel,
    TFBertForMaskedLM,
    TFBertForNextSentencePrediction,
    TFBertForSequenceClassification,
    TFBertForMultipleChoice,
    TFBertForTokenClassification,
    TFBertForQuestionAnswering,
)
