"""The task heads at the root of the weight tree: `classifier` (sequence, multiple-choice and token
classification) and `qa_outputs` (question answering), each on top of `bert` (a BertModel).

Shape legend: B batch, C choices, T sequence length, H hidden size, Y labels (num_labels).

Each forward takes the inputs of BertModel.forward (shapes, dtypes and errors documented there, `padding_free`
included: None = the model's `padding_free`) plus the head's labels, and raises as BertModel.forward does, or
ValueError / TypeError for bad labels. Constructors: see BertHeadModel (attn_implementation, padding_free).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bert_common.config import BertConfig
from bert_common.outputs import (
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
    finish_output,
)
from bert_pt import losses
from bert_pt.inputs import check_head_labels, check_inputs
from bert_pt.modeling import BertHeadModel

Tensor = torch.Tensor


def classifier_dropout(config: BertConfig) -> nn.Dropout:
    """The dropout before a classifier: `config.classifier_dropout`, else `hidden_dropout_prob`."""
    return nn.Dropout(
        config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
    )


class BertForSequenceClassification(BertHeadModel):
    """BERT with a classifier (or regressor, num_labels == 1) on the pooled [CLS] output."""

    head_name = "BertForSequenceClassification"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        # layers
        self.dropout = classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        # config
        self.num_labels = config.num_labels
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        padding_free: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """labels: [B] int class ids (single-label), [B, Y] multi-hot floats (multi-label) or [B] floats
        (regression); the problem type comes from config.problem_type or the labels. Returns logits [B, Y].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        check_head_labels(self.head_name, self.config, {"labels": labels})
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            padding_free=padding_free,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))  # [B, Y]
        loss = (
            losses.sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        )
        output = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return finish_output(output, return_dict, self.config)


class BertForMultipleChoice(BertHeadModel):
    """BERT scoring C candidate continuations: inputs are [B, C, T], one score per choice."""

    head_name = "BertForMultipleChoice"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        self.dropout = classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        padding_free: bool | None = None,
    ) -> MultipleChoiceModelOutput | tuple:
        """input_ids / attention_mask / token_type_ids / position_ids: [B, C, T] (inputs_embeds
        [B, C, T, H]; attention_mask may also be [B, C, T, T] per query). labels: [B] int index of the right
        choice. Returns logits [B, C]; hidden states and attentions are per sequence, [B*C, ...].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        geometry = check_inputs(
            self.config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            rank=3,
        )
        num_choices = geometry.batch_shape[1]
        check_head_labels(self.head_name, self.config, {"labels": labels}, num_choices)

        def flat(x: Tensor | None) -> Tensor | None:
            return None if x is None else x.reshape(-1, *x.shape[2:])  # [B*C, T, ...]

        outputs = self.bert(
            flat(input_ids),
            attention_mask=flat(attention_mask),
            token_type_ids=flat(token_type_ids),
            position_ids=flat(position_ids),
            head_mask=head_mask,
            inputs_embeds=flat(inputs_embeds),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            padding_free=padding_free,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(-1, num_choices)  # [B, C]
        loss = losses.multiple_choice_loss(logits, labels) if labels is not None else None
        output = MultipleChoiceModelOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return finish_output(output, return_dict, self.config)


class BertForTokenClassification(BertHeadModel):
    """BERT with a classifier on every token (e.g. named-entity tags)."""

    head_name = "BertForTokenClassification"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        # layers
        self.dropout = classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        # config
        self.num_labels = config.num_labels
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        padding_free: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """labels: [B, T] int class ids, -100 for tokens to ignore (padding, word continuations).
        Returns logits [B, T, Y].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        check_head_labels(self.head_name, self.config, {"labels": labels})
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            padding_free=padding_free,
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # [B, T, Y]
        loss = losses.token_classification_loss(logits, labels) if labels is not None else None
        output = TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return finish_output(output, return_dict, self.config)


class BertForQuestionAnswering(BertHeadModel):
    """BERT with a span head (`qa_outputs`, dense H -> 2): start and end scores for every token."""

    head_name = "BertForQuestionAnswering"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        if config.num_labels != 2:
            raise ValueError(
                f"BertForQuestionAnswering scores span starts and ends: config.num_labels must be 2, got {config.num_labels}"
            )
        # layers
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        # config
        self.num_labels = config.num_labels
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        padding_free: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """start_positions / end_positions: [B] int token indices of the answer span (both needed for a
        loss; positions outside the sequence are ignored). Returns start_logits and end_logits [B, T].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        check_head_labels(
            self.head_name, self.config, {"start_positions": start_positions, "end_positions": end_positions}
        )
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            padding_free=padding_free,
        )
        logits = self.qa_outputs(outputs.last_hidden_state)  # [B, T, 2]
        start_logits, end_logits = (x.squeeze(-1).contiguous() for x in logits.split(1, dim=-1))  # [B, T]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = losses.question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        output = QuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return finish_output(output, return_dict, self.config)
