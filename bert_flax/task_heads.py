"""The task heads on `classifier` / `qa_outputs`: sequence classification, multiple choice, token
classification and question answering, as linen modules and their wrappers.

Parameter paths: `classifier/{kernel,bias}`, `qa_outputs/{kernel,bias}`, the base model under `bert/`.
The wrappers only name their module and head: labels, loss and input rank come from the head table
(bert_common.heads), through FlaxBertPreTrainedModel.

Shape legend: B batch, C choices, T new positions, K key positions, H hidden size, Y labels (num_labels),
N attention heads, L layers.
"""

from __future__ import annotations

from typing import ClassVar

import jax

from bert_common.outputs import (
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from bert_flax.initialization import dense
from bert_flax.modeling import FlaxBertHeadModule
from bert_flax.pretrained import FlaxBertPreTrainedModel

# ------------------------------------------------------------------------------------ head modules


class FlaxBertForSequenceClassificationModule(FlaxBertHeadModule):
    """`bert` + dropout + `classifier` on the pooled output -> scores [B, Y]."""

    head_name: ClassVar[str] = "BertForSequenceClassification"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.dropout = self._classifier_dropout()
        self.classifier = dense(self, self.config.num_labels)

    def __call__(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> SequenceClassifierOutput:
        """The arguments of FlaxBertModule.__call__ (input_ids [B, T], masks [B, K], ...)."""
        out = self.bert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            head_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            inputs_embeds,
            init_cache,
            deterministic,
            output_attentions,
            output_hidden_states,
        )
        pooled = self.dropout(out.pooler_output, deterministic=deterministic)  # [B, H]
        return SequenceClassifierOutput(
            logits=self.classifier(pooled), hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForMultipleChoiceModule(FlaxBertHeadModule):
    """Each choice encoded separately ([B, C, T] -> [B*C, T]), one score per choice -> [B, C]."""

    head_name: ClassVar[str] = "BertForMultipleChoice"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.dropout = self._classifier_dropout()
        self.classifier = dense(self, 1)

    def __call__(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> MultipleChoiceModelOutput:
        """input_ids, token_type_ids, position_ids: [B, C, T] (inputs_embeds [B, C, T, H]); attention_mask
        [B, C, T] or [B, C, T, T]; the other arguments as in FlaxBertModule.__call__ (no cross-attention)."""
        source = input_ids if input_ids is not None else inputs_embeds
        num_choices = source.shape[1]

        def flat(x: jax.Array | None) -> jax.Array | None:
            return None if x is None else x.reshape(-1, *x.shape[2:])  # [B, C, ...] -> [B*C, ...]

        out = self.bert(
            flat(input_ids),
            flat(attention_mask),
            flat(token_type_ids),
            flat(position_ids),
            head_mask,
            inputs_embeds=flat(inputs_embeds),
            deterministic=deterministic,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        pooled = self.dropout(out.pooler_output, deterministic=deterministic)  # [B*C, H]
        logits = self.classifier(pooled).reshape(-1, num_choices)  # [B, C]
        return MultipleChoiceModelOutput(
            logits=logits, hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForTokenClassificationModule(FlaxBertHeadModule):
    """`bert` (no pooler) + dropout + `classifier` on every position -> scores [B, T, Y]."""

    head_name: ClassVar[str] = "BertForTokenClassification"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.dropout = self._classifier_dropout()
        self.classifier = dense(self, self.config.num_labels)

    def __call__(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> TokenClassifierOutput:
        """The arguments of FlaxBertModule.__call__ (input_ids [B, T], masks [B, K], ...)."""
        out = self.bert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            head_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            inputs_embeds,
            init_cache,
            deterministic,
            output_attentions,
            output_hidden_states,
        )
        hidden = self.dropout(out.last_hidden_state, deterministic=deterministic)  # [B, T, H]
        return TokenClassifierOutput(
            logits=self.classifier(hidden), hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForQuestionAnsweringModule(FlaxBertHeadModule):
    """`bert` (no pooler) + `qa_outputs` -> span start and end scores, each [B, T]."""

    head_name: ClassVar[str] = "BertForQuestionAnswering"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.qa_outputs = dense(self, 2)

    def __call__(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> QuestionAnsweringModelOutput:
        """The arguments of FlaxBertModule.__call__ (input_ids [B, T], masks [B, K], ...)."""
        out = self.bert(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            head_mask,
            encoder_hidden_states,
            encoder_attention_mask,
            inputs_embeds,
            init_cache,
            deterministic,
            output_attentions,
            output_hidden_states,
        )
        logits = self.qa_outputs(out.last_hidden_state)  # [B, T, 2]
        return QuestionAnsweringModelOutput(
            start_logits=logits[..., 0],
            end_logits=logits[..., 1],
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )


# ----------------------------------------------------------------------------------------- wrappers


class FlaxBertForSequenceClassification(FlaxBertPreTrainedModel):
    """Classifier on the pooled output. labels: [B] class ids, [B, Y] multi-hot floats, or float targets
    for regression (num_labels == 1); the problem type comes from config.problem_type or the labels."""

    module_class = FlaxBertForSequenceClassificationModule
    head_name = "BertForSequenceClassification"


class FlaxBertForMultipleChoice(FlaxBertPreTrainedModel):
    """One score per choice for inputs [B, C, T]. labels [B] (index of the right choice) give loss."""

    module_class = FlaxBertForMultipleChoiceModule
    head_name = "BertForMultipleChoice"


class FlaxBertForTokenClassification(FlaxBertPreTrainedModel):
    """Classifier on every token. labels [B, T] (class ids, -100 = not scored) give loss."""

    module_class = FlaxBertForTokenClassificationModule
    head_name = "BertForTokenClassification"


class FlaxBertForQuestionAnswering(FlaxBertPreTrainedModel):
    """Span extraction. start_positions and end_positions [B] (clamped to [0, T], T ignored) give loss
    (both are needed)."""

    module_class = FlaxBertForQuestionAnsweringModule
    head_name = "BertForQuestionAnswering"
