"""The task heads on the root of the weight tree (`classifier`, `qa_outputs`): sequence classification,
multiple choice, token classification and question answering.

Shape legend: B batch, C choices, T positions, H hidden size, Y labels (num_labels), N heads, L layers.

Every head call takes the inputs of TFBertModel.call (input_ids [B, T] or a dict of inputs,
attention_mask [B, T] or [B, T, T], token_type_ids / position_ids [B, T], head_mask [N] or [L, N],
inputs_embeds [B, T, H]; multiple choice: [B, C, T] and [B, C, T, H]), its labels, the output switches,
`training` and `padding_free` (None = the model's), and raises the ValueError / TypeError of bert_common.inputs for bad inputs or labels.
Logits and losses are float32; hidden_states and attentions come back on request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.outputs import (
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
    finish_output,
)
from bert_tf.initialization import dense
from bert_tf.inputs import check_inputs, unpack_inputs
from bert_tf.modeling import TFBertHeadModel


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForSequenceClassification(TFBertHeadModel):
    """BERT with dropout and a linear `classifier` (H -> Y) on the pooled output."""

    head_name = "BertForSequenceClassification"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._classifier_dropout(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, self.config.num_labels, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, self.config.hidden_size))

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
        training: bool = False,
        padding_free: bool | None = None,
    ) -> SequenceClassifierOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. labels: [B] int class ids (cross-entropy), [B, Y] multi-hot
        floats (sigmoid BCE) or regression targets (MSE, num_labels=1); see bert_common.losses.
        Returns SequenceClassifierOutput: logits [B, Y], loss (with labels); a tuple with
        return_dict=False.

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
        pooled = self.dropout(output.pooler_output, training=training)
        logits = tf.cast(self.classifier(pooled), tf.float32)  # [B, Y]
        result = SequenceClassifierOutput(
            loss=self._loss((logits,), {"labels": labels}),
            logits=logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForMultipleChoice(TFBertHeadModel):
    """BERT scoring C candidate sequences per example: `classifier` (H -> 1) on each pooled output."""

    head_name = "BertForMultipleChoice"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._classifier_dropout(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, 1, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, self.config.hidden_size))

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
        training: bool = False,
        padding_free: bool | None = None,
    ) -> MultipleChoiceModelOutput | tuple[tf.Tensor, ...]:
        """input_ids, attention_mask, token_type_ids, position_ids: [B, C, T]; inputs_embeds:
        [B, C, T, H]; head_mask [N] or [L, N]. labels: [B] int, the index of the right choice.
        Returns MultipleChoiceModelOutput: logits [B, C], loss (with labels); hidden states and
        attentions come back for the B*C flattened sequences; a tuple with return_dict=False.

        Raises:
            ValueError, TypeError: inputs or labels that break bert_common.inputs (see TFBertModel.call)."""
        inputs = check_inputs(
            self.config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            rank=3,
        )
        reference = inputs.input_ids if inputs.input_ids is not None else inputs.inputs_embeds
        num_choices = reference.shape[1] if reference.shape[1] is not None else tf.shape(reference)[1]

        def flat(value: tf.Tensor | None) -> tf.Tensor | None:  # [B, C, T(, H)] -> [B*C, T(, H)]
            return None if value is None else tf.reshape(value, tf.concat([[-1], tf.shape(value)[2:]], 0))

        output = self.bert(
            training=training,
            input_ids=flat(inputs.input_ids),
            attention_mask=flat(inputs.attention_mask),
            token_type_ids=flat(inputs.token_type_ids),
            position_ids=flat(inputs.position_ids),
            head_mask=inputs.head_mask,
            inputs_embeds=flat(inputs.inputs_embeds),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            padding_free=padding_free,
        )
        pooled = self.dropout(output.pooler_output, training=training)
        scores = tf.cast(self.classifier(pooled), tf.float32)  # [B*C, 1]
        logits = tf.reshape(scores, (-1, num_choices))  # [B, C]
        static_choices = num_choices if isinstance(num_choices, int) else None
        result = MultipleChoiceModelOutput(
            loss=self._loss((logits,), {"labels": labels}, num_choices=static_choices),
            logits=logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForTokenClassification(TFBertHeadModel):
    """BERT with dropout and a linear `classifier` (H -> Y) on every token."""

    head_name = "BertForTokenClassification"

    def __init__(self, config: BertConfig | dict[str, Any], **kwargs: Any):
        super().__init__(config, **kwargs)
        # layers
        self.dropout = keras.layers.Dropout(self._classifier_dropout(), dtype=self.dtype_policy)
        self.classifier = dense(self.config, self.config.num_labels, "classifier", self.dtype_policy)
        self.build()

    def build_head(self) -> None:
        self.classifier.build((None, None, self.config.hidden_size))

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
        training: bool = False,
        padding_free: bool | None = None,
    ) -> TokenClassifierOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. labels: [B, T] int class ids, -100 for positions not scored
        (padding, continuation pieces). Returns TokenClassifierOutput: logits [B, T, Y], loss (with
        labels); a tuple with return_dict=False.

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
        sequence = self.dropout(output.last_hidden_state, training=training)
        logits = tf.cast(self.classifier(sequence), tf.float32)  # [B, T, Y]
        result = TokenClassifierOutput(
            loss=self._loss((logits,), {"labels": labels}),
            logits=logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)


@keras.saving.register_keras_serializable(package="bert_zoo")
class TFBertForQuestionAnswering(TFBertHeadModel):
    """BERT with `qa_outputs` (H -> 2): start and end scores of the answer span for every token.

    Raises:
        ValueError: config.num_labels is not 2.
    """

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
        input_ids: tf.Tensor | np.ndarray | Mapping[str, Any] | None = None,
        attention_mask: tf.Tensor | np.ndarray | None = None,
        token_type_ids: tf.Tensor | np.ndarray | None = None,
        position_ids: tf.Tensor | np.ndarray | None = None,
        head_mask: tf.Tensor | np.ndarray | None = None,
        inputs_embeds: tf.Tensor | np.ndarray | None = None,
        start_positions: tf.Tensor | np.ndarray | None = None,
        end_positions: tf.Tensor | np.ndarray | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        training: bool = False,
        padding_free: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple[tf.Tensor, ...]:
        """Inputs as in the module docstring. start_positions, end_positions: [B] int token indices of
        the answer span (clamped to [0, T]; T is ignored); the loss is returned when both are given.
        Returns QuestionAnsweringModelOutput: start_logits [B, T], end_logits [B, T], loss; a tuple
        with return_dict=False.

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
        scores = tf.cast(self.qa_outputs(output.last_hidden_state), tf.float32)  # [B, T, 2]
        start_logits, end_logits = scores[..., 0], scores[..., 1]
        result = QuestionAnsweringModelOutput(
            loss=self._loss(
                (start_logits, end_logits),
                {"start_positions": start_positions, "end_positions": end_positions},
            ),
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=output.hidden_states,
            attentions=output.attentions,
        )
        return finish_output(result, return_dict, self.config)
