"""The `cls.*` heads: masked LM, causal LM, next sentence and pretraining, each owning `bert` (a BertModel).

Shape legend: B batch, T sequence length, K key positions, S encoder length, H hidden size,
V vocabulary size.

Submodule names are those of Transformers, so its checkpoints load without renaming:
`cls.predictions.{transform.{dense,LayerNorm}, decoder, bias}` and `cls.seq_relationship`.

Each forward takes the inputs of BertModel.forward (shapes, dtypes and errors documented there, `padding_free`
included: None = the model's `padding_free`) plus the head's labels, and raises as BertModel.forward does, or
ValueError / TypeError for bad labels. Constructors: see BertHeadModel (attn_implementation, padding_free).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_common.inputs import resolve_label_aliases
from bert_common.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    finish_output,
)
from bert_pt import generation, losses
from bert_pt.activations import get_activation
from bert_pt.inputs import check_head_labels
from bert_pt.modeling import BertHeadModel, PastKeyValues

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


class _MLMOutputEmbeddings:
    """get/set_output_embeddings for the heads whose `cls.predictions.decoder` scores the vocabulary."""

    cls: nn.Module

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        """Use `new_embeddings` ([V, H] Linear) as the decoder; TypeError for anything else."""
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


class BertForPreTraining(_MLMOutputEmbeddings, BertHeadModel):
    """BERT with both pretraining heads: masked-LM scores and next-sentence scores."""

    head_name = "BertForPreTraining"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
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
        padding_free: bool | None = None,
    ) -> BertForPreTrainingOutput | tuple:
        """labels: [B, T] int token ids at masked positions, -100 elsewhere. next_sentence_label: [B] 0/1.

        loss (when both label sets are given) = masked-LM loss + next-sentence loss.
        Returns prediction_logits [B, T, V] and seq_relationship_logits [B, 2].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        check_head_labels(
            self.head_name, self.config, {"labels": labels, "next_sentence_label": next_sentence_label}
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
        prediction_scores, seq_relationship_score = self.cls(outputs.last_hidden_state, outputs.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = losses.pretraining_loss(
                prediction_scores, seq_relationship_score, labels, next_sentence_label
            )
        output = BertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_scores,
            seq_relationship_logits=seq_relationship_score,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return finish_output(output, return_dict, self.config)


class BertLMHeadModel(_MLMOutputEmbeddings, BertHeadModel):
    """BERT as a left-to-right language model (`config.is_decoder=True`), optionally with
    cross-attention over an encoder's states (`add_cross_attention=True`); supports a KV cache and
    `generate`."""

    head_name = "BertLMHeadModel"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        if not config.is_decoder:
            logger.warning(
                "BertLMHeadModel is meant to be a decoder: build it with BertConfig(is_decoder=True)"
            )
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
        padding_free: bool | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        """labels: [B, T] int, usually the input ids; the loss compares logits[:, t] with labels[:, t + 1]
        (-100 ignored). Giving labels turns use_cache off. Returns logits [B, T, V] and, with use_cache,
        past_key_values for the next call (then pass only the new tokens, and an attention_mask of [B, K]).

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        check_head_labels(self.head_name, self.config, {"labels": labels})
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
            padding_free=padding_free,
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
        return finish_output(output, return_dict, self.config)

    # `model.generate(input_ids, ...)` is `bert_pt.generation.generate(model, input_ids, ...)`: the one
    # signature of every twin; the arguments, the [B, T + G] result and the errors are documented there.
    generate = generation.generate


class BertForMaskedLM(_MLMOutputEmbeddings, BertHeadModel):
    """BERT with the masked-LM head: a score for every vocabulary entry at every position."""

    head_name = "BertForMaskedLM"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
        if config.is_decoder:
            logger.warning(
                "BertForMaskedLM attends in both directions: build it with BertConfig(is_decoder=False)"
            )
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
        padding_free: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """labels: [B, T] int original ids at the masked positions, -100 elsewhere. Returns logits [B, T, V].

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
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            padding_free=padding_free,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = losses.masked_lm_loss(logits, labels) if labels is not None else None
        output = MaskedLMOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return finish_output(output, return_dict, self.config)


class BertForNextSentencePrediction(BertHeadModel):
    """BERT with the next-sentence head on the pooled [CLS] output: is sentence B the continuation of A?"""

    head_name = "BertForNextSentencePrediction"

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)  # bert (BertHeadModel: attn_implementation, padding_free)
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
        next_sentence_label: Tensor | None = None,
        padding_free: bool | None = None,
    ) -> NextSentencePredictorOutput | tuple:
        """labels: [B] int, 0 = sentence B follows A, 1 = B is random; `next_sentence_label` is its old
        name (Transformers' TF name), accepted with a deprecation warning. Returns logits [B, 2].

        Raises:
            ValueError / TypeError: as BertModel.forward, and for labels of the wrong dtype or shape or
                outside their classes (bert_common.inputs.check_labels).
        """
        if next_sentence_label is not None:
            logger.warning("next_sentence_label is deprecated for BertForNextSentencePrediction; use labels")
        given = {"labels": labels, "next_sentence_label": next_sentence_label}
        labels = resolve_label_aliases(get_head(self.head_name), given).get("labels")
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
        logits = self.cls(outputs.pooler_output)
        loss = losses.next_sentence_loss(logits, labels) if labels is not None else None
        output = NextSentencePredictorOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )
        return finish_output(output, return_dict, self.config)
