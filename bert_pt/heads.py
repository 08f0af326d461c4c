"""The eight BERT heads: each owns `bert` (a BertModel) and one small head module.

Shape legend: B = batch, T = sequence length, H = hidden size, V = vocabulary, L = labels, C = choices,
N = heads, S = encoder length.

Submodule names are those of Transformers, so its checkpoints load without renaming:
`cls.predictions.{transform.{dense,LayerNorm}, decoder, bias}`, `cls.seq_relationship`, `classifier`,
`qa_outputs`.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from bert_common.config import BertConfig
from bert_common.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from bert_pt import losses
from bert_pt.layers import get_activation
from bert_pt.modeling import BertModel, PastKeyValues
from bert_pt.pretrained import BertPreTrainedModel

logger = logging.getLogger("bert_zoo")

Tensor = torch.Tensor


# -------------------------------------------------------------------------------- head modules


class BertPredictionHeadTransform(nn.Module):
    """dense H -> H, activation, LayerNorm: the MLM head's transform of each hidden state."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))  # [B, T, H]


class BertLMPredictionHead(nn.Module):
    """Token scores: transform, then `decoder` [V, H] (tied to the word embeddings) plus `bias` [V].

    `decoder.bias` is the same Parameter as `bias` (checkpoints name it either way).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.decoder(self.transform(hidden_states))  # [B, T, V]


class BertOnlyMLMHead(nn.Module):
    """`cls` of the MLM and causal-LM models: only `predictions`."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.predictions(sequence_output)  # [B, T, V]


class BertOnlyNSPHead(nn.Module):
    """`cls` of the next-sentence model: `seq_relationship`, dense H -> 2 on the pooled output."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: Tensor) -> Tensor:
        return self.seq_relationship(pooled_output)  # [B, 2]


class BertPreTrainingHeads(nn.Module):
    """`cls` of the pretraining model: `predictions` (MLM) and `seq_relationship` (NSP)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> tuple[Tensor, Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)  # [B, T, V], [B, 2]


def _return(output: ModelOutput, return_dict: bool | None, config: BertConfig) -> ModelOutput | tuple:
    """The output object, or its tuple (fields that are not None, loss first) with return_dict=False."""
    return_dict = config.return_dict if return_dict is None else return_dict
    return output if return_dict else output.to_tuple()


def _classifier_dropout(config: BertConfig) -> nn.Dropout:
    return nn.Dropout(
        config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
    )


class _MLMOutputEmbeddings:
    """get/set_output_embeddings for the heads whose `cls.predictions.decoder` scores the vocabulary."""

    cls: nn.Module

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        if not isinstance(new_embeddings, nn.Linear):
            raise TypeError(
                f"set_output_embeddings expects a torch.nn.Linear, got {type(new_embeddings).__name__}"
            )
        predictions = self.cls.predictions
        predictions.decoder = new_embeddings
        if new_embeddings.bias is not None:
            predictions.bias = new_embeddings.bias
        else:
            new_embeddings.bias = predictions.bias


# ------------------------------------------------------------------------------------- the heads


class BertForPreTraining(_MLMOutputEmbeddings, BertPreTrainedModel):
    """BERT with both pretraining heads: masked-LM scores and next-sentence scores."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=True, attn_implementation=attn_implementation)
        self.cls = BertPreTrainingHeads(config)
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
        next_sentence_label: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BertForPreTrainingOutput | tuple:
        """labels: [B, T] token ids at masked positions, -100 elsewhere. next_sentence_label: [B] 0/1.

        loss (when both label sets are given) = masked-LM loss + next-sentence loss.
        Returns prediction_logits [B, T, V] and seq_relationship_logits [B, 2].
        """
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
        )
        prediction_scores, seq_relationship_score = self.cls(outputs.last_hidden_state, outputs.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = losses.masked_lm_loss(prediction_scores, labels) + losses.next_sentence_loss(
                seq_relationship_score, next_sentence_label
            )
        output = BertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_scores,
            seq_relationship_logits=seq_relationship_score,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return _return(output, return_dict, self.config)


class BertLMHeadModel(_MLMOutputEmbeddings, BertPreTrainedModel):
    """BERT as a left-to-right language model (`config.is_decoder=True`), optionally with
    cross-attention over an encoder's states (`add_cross_attention=True`); supports a KV cache and
    `generate`."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        if not config.is_decoder:
            logger.warning(
                "BertLMHeadModel is meant to be a decoder: build it with BertConfig(is_decoder=True)"
            )
        self.bert = BertModel(config, add_pooling_layer=False, attn_implementation=attn_implementation)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        encoder_hidden_states: Tensor | None = None,
        encoder_attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: Tensor | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        """labels: [B, T], usually the input ids; the loss compares logits[:, t] with labels[:, t + 1]
        (-100 ignored). Giving labels turns use_cache off. Returns logits [B, T, V] and, with use_cache,
        past_key_values for the next call (then pass only the new tokens)."""
        if labels is not None:
            use_cache = False
        outputs = self.bert(
            input_ids,
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
            return_dict=True,
            cache_position=cache_position,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = losses.causal_lm_loss(logits, labels) if labels is not None else None
        output = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            cross_attentions=outputs.cross_attentions,
        )
        return _return(output, return_dict, self.config)

    def generate(
        self,
        input_ids: Tensor,
        max_new_tokens: int = 20,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """Greedy (or, with do_sample, temperature / top-k sampled) continuation of `input_ids` [B, T],
        one token per step from the cache; returns [B, T + new]. kwargs: attention_mask,
        encoder_hidden_states, encoder_attention_mask, eos_token_id, pad_token_id, generator
        (see `bert_pt.generation.generate`)."""
        from bert_pt.generation import generate

        return generate(self, input_ids, max_new_tokens, do_sample, temperature, top_k, **kwargs)


class BertForMaskedLM(_MLMOutputEmbeddings, BertPreTrainedModel):
    """BERT with the masked-LM head: a score for every vocabulary entry at every position."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        if config.is_decoder:
            logger.warning(
                "BertForMaskedLM attends in both directions: build it with BertConfig(is_decoder=False)"
            )
        self.bert = BertModel(config, add_pooling_layer=False, attn_implementation=attn_implementation)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        encoder_hidden_states: Tensor | None = None,
        encoder_attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """labels: [B, T] original ids at the masked positions, -100 elsewhere. Returns logits [B, T, V]."""
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = losses.masked_lm_loss(logits, labels) if labels is not None else None
        output = MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return _return(output, return_dict, self.config)


class BertForNextSentencePrediction(BertPreTrainedModel):
    """BERT with the next-sentence head on the pooled [CLS] output: is sentence B the continuation of A?"""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=True, attn_implementation=attn_implementation)
        self.cls = BertOnlyNSPHead(config)
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
        **kwargs: Any,
    ) -> NextSentencePredictorOutput | tuple:
        """labels: [B], 0 = sentence B follows A, 1 = B is random (`next_sentence_label` is the old name).
        Returns logits [B, 2]."""
        if "next_sentence_label" in kwargs:
            logger.warning("next_sentence_label is deprecated for BertForNextSentencePrediction; use labels")
            labels = kwargs.pop("next_sentence_label")
        if kwargs:
            raise TypeError(
                f"BertForNextSentencePrediction.forward got unexpected argument(s) {sorted(kwargs)}"
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
        )
        logits = self.cls(outputs.pooler_output)
        loss = losses.next_sentence_loss(logits, labels, name="labels") if labels is not None else None
        output = NextSentencePredictorOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return _return(output, return_dict, self.config)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT with a classifier (or regressor, num_labels == 1) on the pooled [CLS] output."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=True, attn_implementation=attn_implementation)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
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
    ) -> SequenceClassifierOutput | tuple:
        """labels: [B] class ids (single-label), [B, L] multi-hot floats (multi-label) or [B] floats
        (regression); the problem type comes from config.problem_type or the labels. Returns logits [B, L]."""
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
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))  # [B, L]
        loss = (
            losses.sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        )
        output = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return _return(output, return_dict, self.config)


class BertForMultipleChoice(BertPreTrainedModel):
    """BERT scoring C candidate continuations: inputs are [B, C, T], one score per choice."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=True, attn_implementation=attn_implementation)
        self.dropout = _classifier_dropout(config)
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
    ) -> MultipleChoiceModelOutput | tuple:
        """input_ids / attention_mask / token_type_ids / position_ids: [B, C, T] (inputs_embeds [B, C, T, H]).
        labels: [B] index of the right choice. Returns logits [B, C]; hidden states are [B*C, T, H]."""
        if input_ids is not None:
            if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 3:
                raise ValueError(f"input_ids must be [batch, num_choices, sequence], got {_shape(input_ids)}")
            num_choices = input_ids.shape[1]
        elif inputs_embeds is not None:
            if not isinstance(inputs_embeds, torch.Tensor) or inputs_embeds.dim() != 4:
                raise ValueError(
                    f"inputs_embeds must be [batch, num_choices, sequence, hidden], got {_shape(inputs_embeds)}"
                )
            num_choices = inputs_embeds.shape[1]
        else:
            raise ValueError("pass exactly one of input_ids and inputs_embeds, got neither")

        def flat(name: str, x: Tensor | None, trailing: int = 0) -> Tensor | None:
            if x is None:
                return None
            if not isinstance(x, torch.Tensor) or x.dim() != 3 + trailing:
                raise ValueError(
                    f"{name} must have {3 + trailing} dimensions [batch, num_choices, ...], got {_shape(x)}"
                )
            return x.reshape(-1, *x.shape[2:])  # [B*C, T(, H)]

        outputs = self.bert(
            flat("input_ids", input_ids),
            attention_mask=flat("attention_mask", attention_mask),
            token_type_ids=flat("token_type_ids", token_type_ids),
            position_ids=flat("position_ids", position_ids),
            head_mask=head_mask,
            inputs_embeds=flat("inputs_embeds", inputs_embeds, trailing=1),
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(-1, num_choices)  # [B, C]
        loss = losses.multiple_choice_loss(logits, labels) if labels is not None else None
        output = MultipleChoiceModelOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return _return(output, return_dict, self.config)


class BertForTokenClassification(BertPreTrainedModel):
    """BERT with a classifier on every token (e.g. named-entity tags)."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False, attn_implementation=attn_implementation)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
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
    ) -> TokenClassifierOutput | tuple:
        """labels: [B, T] class ids, -100 for tokens to ignore (padding, word continuations).
        Returns logits [B, T, L]."""
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
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # [B, T, L]
        loss = losses.token_classification_loss(logits, labels) if labels is not None else None
        output = TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return _return(output, return_dict, self.config)


class BertForQuestionAnswering(BertPreTrainedModel):
    """BERT with a span head (`qa_outputs`, dense H -> 2): start and end scores for every token."""

    def __init__(self, config: BertConfig, attn_implementation: str | None = None) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"BertForQuestionAnswering scores span starts and ends: config.num_labels must be 2, got {config.num_labels}"
            )
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False, attn_implementation=attn_implementation)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
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
    ) -> QuestionAnsweringModelOutput | tuple:
        """start_positions / end_positions: [B] token indices of the answer span (both needed for a loss;
        positions outside the sequence are ignored). Returns start_logits and end_logits [B, T]."""
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
        )
        logits = self.qa_outputs(outputs.last_hidden_state)  # [B, T, 2]
        start_logits, end_logits = (
            x.squeeze(-1).contiguous() for x in logits.split(1, dim=-1)
        )  # [B, T] each
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
        return _return(output, return_dict, self.config)


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__
