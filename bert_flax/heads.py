"""The BERT heads: linen modules (`FlaxBertFor*Module`, each `bert` + a small head) and their wrappers.

Submodule names equal the Transformers tree, so parameter paths are the "flax" names of
conversion/names.py: `cls/predictions/transform/{dense,LayerNorm}`, `cls/predictions/bias`,
`cls/predictions/decoder` (only when the decoder is not tied to the word embeddings),
`cls/seq_relationship`, `classifier`, `qa_outputs`.

Shape legend: B = batch, C = choices, T = sequence length, S = encoder length, H = hidden size,
V = vocabulary, L = labels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.config import BertConfig
from bert_common.heads import HEADS
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
from bert_flax import losses
from bert_flax.embeddings import dense, layer_norm
from bert_flax.layers import get_activation
from bert_flax.modeling import FlaxBertModule
from bert_flax.pretrained import FlaxBertPreTrainedModel

# ---------------------------------------------------------------------------------------- head parts


class FlaxBertPredictionHeadTransform(nn.Module):
    """LayerNorm(act(dense(h))): the MLM transform, [B, T, H] -> [B, T, H]."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.dense = dense(self, self.config.hidden_size)
        self.activation = get_activation(self.config.hidden_act)
        self.LayerNorm = layer_norm(self.config, self.dtype, self.param_dtype)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class FlaxBertLMPredictionHead(nn.Module):
    """Token scores [B, T, V] = transform(h) · Eᵀ + bias, E the decoder matrix.

    With `tie_word_embeddings` (the default) E is the word-embedding table passed in as
    `shared_embedding` [V, H]; otherwise the head owns `decoder` (kernel [H, V], no bias of its own).
    """

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.transform = FlaxBertPredictionHeadTransform(
            self.config, dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision
        )
        if not self.config.tie_word_embeddings:
            self.decoder = dense(self, self.config.vocab_size, use_bias=False)
        self.bias = self.param("bias", nn.initializers.zeros, (self.config.vocab_size,), self.param_dtype)

    def __call__(self, hidden_states: jax.Array, shared_embedding: jax.Array | None = None) -> jax.Array:
        hidden_states = self.transform(hidden_states)  # [B, T, H]
        if self.config.tie_word_embeddings:
            if shared_embedding is None:
                raise ValueError("a tied MLM decoder needs the word embeddings (shared_embedding)")
            logits = jnp.einsum(
                "bth,vh->btv", hidden_states, shared_embedding.astype(self.dtype), precision=self.precision
            )
        else:
            logits = self.decoder(hidden_states)
        return logits + self.bias.astype(self.dtype)


class FlaxBertOnlyMLMHead(nn.Module):
    """`predictions`: the masked-LM (and causal-LM) head."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.predictions = FlaxBertLMPredictionHead(
            self.config, dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision
        )

    def __call__(self, hidden_states: jax.Array, shared_embedding: jax.Array | None = None) -> jax.Array:
        return self.predictions(hidden_states, shared_embedding)


class FlaxBertOnlyNSPHead(nn.Module):
    """`seq_relationship`: next-sentence scores [B, 2] from the pooled output [B, H]."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        self.seq_relationship = dense(self, 2)

    def __call__(self, pooled_output: jax.Array) -> jax.Array:
        return self.seq_relationship(pooled_output)


class FlaxBertPreTrainingHeads(nn.Module):
    """`predictions` (MLM over every position) and `seq_relationship` (NSP from the pooled output)."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None

    def setup(self) -> None:
        kwargs = dict(dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision)
        self.predictions = FlaxBertLMPredictionHead(self.config, **kwargs)
        self.seq_relationship = dense(self, 2)

    def __call__(
        self, hidden_states: jax.Array, pooled_output: jax.Array, shared_embedding: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        return self.predictions(hidden_states, shared_embedding), self.seq_relationship(pooled_output)


# ------------------------------------------------------------------------------------ head modules


class _FlaxBertHeadModule(nn.Module):
    """Fields every head module shares, and how it builds its `bert`."""

    config: BertConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None
    gradient_checkpointing: bool = False
    scan_layers: bool = False

    head_name: ClassVar[str] = "BertModel"

    def _bert(self) -> FlaxBertModule:
        return FlaxBertModule(
            self.config,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            precision=self.precision,
            add_pooling_layer=HEADS[self.head_name].pooler,
            gradient_checkpointing=self.gradient_checkpointing,
            scan_layers=self.scan_layers,
        )

    def _kwargs(self) -> dict[str, Any]:
        return dict(dtype=self.dtype, param_dtype=self.param_dtype, precision=self.precision)

    def _shared_embedding(self) -> jax.Array | None:
        if not self.config.tie_word_embeddings:
            return None
        return self.bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]

    def _classifier_dropout(self) -> nn.Dropout:
        rate = self.config.classifier_dropout
        return nn.Dropout(rate=self.config.hidden_dropout_prob if rate is None else rate)


class FlaxBertForPreTrainingModule(_FlaxBertHeadModule):
    """`bert` + `cls` (FlaxBertPreTrainingHeads) -> BertForPreTrainingOutput (no loss)."""

    head_name: ClassVar[str] = "BertForPreTraining"

    def setup(self) -> None:
        self.bert = self._bert()
        self.cls = FlaxBertPreTrainingHeads(self.config, **self._kwargs())

    def __call__(self, input_ids: jax.Array | None, *args: Any, **kwargs: Any) -> BertForPreTrainingOutput:
        """Arguments of FlaxBertModule.__call__."""
        out = self.bert(input_ids, *args, **kwargs)
        prediction_logits, seq_relationship_logits = self.cls(
            out.last_hidden_state, out.pooler_output, self._shared_embedding()
        )  # [B, T, V], [B, 2]
        return BertForPreTrainingOutput(
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_relationship_logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )


class FlaxBertForCausalLMModule(_FlaxBertHeadModule):
    """`bert` (a decoder: causal self-attention, optional cross-attention) + `cls` -> next-token logits."""

    head_name: ClassVar[str] = "BertLMHeadModel"

    def setup(self) -> None:
        self.bert = self._bert()
        self.cls = FlaxBertOnlyMLMHead(self.config, **self._kwargs())

    def __call__(
        self, input_ids: jax.Array | None, *args: Any, **kwargs: Any
    ) -> CausalLMOutputWithCrossAttentions:
        out = self.bert(input_ids, *args, **kwargs)
        logits = self.cls(out.last_hidden_state, self._shared_embedding())  # [B, T, V]
        return CausalLMOutputWithCrossAttentions(
            logits=logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
            cross_attentions=out.cross_attentions,
        )


class FlaxBertForMaskedLMModule(_FlaxBertHeadModule):
    """`bert` (no pooler) + `cls` (FlaxBertOnlyMLMHead) -> token scores [B, T, V]."""

    head_name: ClassVar[str] = "BertForMaskedLM"

    def setup(self) -> None:
        self.bert = self._bert()
        self.cls = FlaxBertOnlyMLMHead(self.config, **self._kwargs())

    def __call__(self, input_ids: jax.Array | None, *args: Any, **kwargs: Any) -> MaskedLMOutput:
        out = self.bert(input_ids, *args, **kwargs)
        logits = self.cls(out.last_hidden_state, self._shared_embedding())  # [B, T, V]
        return MaskedLMOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class FlaxBertForNextSentencePredictionModule(_FlaxBertHeadModule):
    """`bert` + `cls` (FlaxBertOnlyNSPHead) -> scores [B, 2] (0 = B follows A)."""

    head_name: ClassVar[str] = "BertForNextSentencePrediction"

    def setup(self) -> None:
        self.bert = self._bert()
        self.cls = FlaxBertOnlyNSPHead(self.config, **self._kwargs())

    def __call__(self, input_ids: jax.Array | None, *args: Any, **kwargs: Any) -> NextSentencePredictorOutput:
        out = self.bert(input_ids, *args, **kwargs)
        return NextSentencePredictorOutput(
            logits=self.cls(out.pooler_output), hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForSequenceClassificationModule(_FlaxBertHeadModule):
    """`bert` + dropout + `classifier` on the pooled output -> scores [B, L]."""

    head_name: ClassVar[str] = "BertForSequenceClassification"

    def setup(self) -> None:
        self.bert = self._bert()
        self.dropout = self._classifier_dropout()
        self.classifier = dense(self, self.config.num_labels)

    def __call__(
        self, input_ids: jax.Array | None, *args: Any, deterministic: bool = True, **kwargs: Any
    ) -> SequenceClassifierOutput:
        out = self.bert(input_ids, *args, deterministic=deterministic, **kwargs)
        pooled = self.dropout(out.pooler_output, deterministic=deterministic)  # [B, H]
        return SequenceClassifierOutput(
            logits=self.classifier(pooled), hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForMultipleChoiceModule(_FlaxBertHeadModule):
    """Each choice encoded separately ([B, C, T] -> [B*C, T]), one score per choice -> [B, C]."""

    head_name: ClassVar[str] = "BertForMultipleChoice"

    def setup(self) -> None:
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
        """input_ids, attention_mask, token_type_ids, position_ids: [B, C, T] (inputs_embeds [B, C, T, H])."""
        source = input_ids if input_ids is not None else inputs_embeds
        num_choices = source.shape[1]
        flat = lambda x: None if x is None else x.reshape(-1, *x.shape[2:])  # noqa: E731  [B, C, ...] -> [B*C, ...]
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


class FlaxBertForTokenClassificationModule(_FlaxBertHeadModule):
    """`bert` (no pooler) + dropout + `classifier` on every position -> scores [B, T, L]."""

    head_name: ClassVar[str] = "BertForTokenClassification"

    def setup(self) -> None:
        self.bert = self._bert()
        self.dropout = self._classifier_dropout()
        self.classifier = dense(self, self.config.num_labels)

    def __call__(
        self, input_ids: jax.Array | None, *args: Any, deterministic: bool = True, **kwargs: Any
    ) -> TokenClassifierOutput:
        out = self.bert(input_ids, *args, deterministic=deterministic, **kwargs)
        hidden = self.dropout(out.last_hidden_state, deterministic=deterministic)  # [B, T, H]
        return TokenClassifierOutput(
            logits=self.classifier(hidden), hidden_states=out.hidden_states, attentions=out.attentions
        )


class FlaxBertForQuestionAnsweringModule(_FlaxBertHeadModule):
    """`bert` (no pooler) + `qa_outputs` -> span start and end scores, each [B, T]."""

    head_name: ClassVar[str] = "BertForQuestionAnswering"

    def setup(self) -> None:
        self.bert = self._bert()
        self.qa_outputs = dense(self, 2)

    def __call__(
        self, input_ids: jax.Array | None, *args: Any, **kwargs: Any
    ) -> QuestionAnsweringModelOutput:
        out = self.bert(input_ids, *args, **kwargs)
        logits = self.qa_outputs(out.last_hidden_state)  # [B, T, 2]
        return QuestionAnsweringModelOutput(
            start_logits=logits[..., 0],
            end_logits=logits[..., 1],
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )


# ----------------------------------------------------------------------------------------- wrappers


class FlaxBertForPreTraining(FlaxBertPreTrainedModel):
    """MLM + NSP pretraining heads. labels [B, T] (-100 = not scored) and next_sentence_label [B] give loss."""

    module_class = FlaxBertForPreTrainingModule
    head_name = "BertForPreTraining"
    label_names = ("labels", "next_sentence_label")

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array | None:
        if "labels" in labels and "next_sentence_label" in labels:
            return losses.pretraining_loss(
                outputs.prediction_logits,
                outputs.seq_relationship_logits,
                labels["labels"],
                labels["next_sentence_label"],
            )
        return None  # as in the other twins: the pretraining loss needs both label sets

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return self.config.vocab_size if name == "labels" else 2


class FlaxBertForCausalLM(FlaxBertPreTrainedModel):
    """Decoder LM head (Transformers' BertLMHeadModel). labels [B, T] give the shifted next-token loss.

    Needs `is_decoder=True`. Incremental decoding: `cache = model.init_cache(B, M)`, then call with
    `past_key_values=cache` and an attention_mask of shape [B, M]; `generate` does this under jit.
    """

    module_class = FlaxBertForCausalLMModule
    head_name = "BertLMHeadModel"
    label_names = ("labels",)

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.causal_lm_loss(outputs.logits, labels["labels"])

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return self.config.vocab_size

    def generate(self, input_ids: Any, **kwargs: Any) -> Any:
        """Greedy or sampled continuation of `input_ids` [B, P]; see bert_flax.generation.generate."""
        from bert_flax.generation import generate

        return generate(self, input_ids, **kwargs)


class FlaxBertForMaskedLM(FlaxBertPreTrainedModel):
    """Masked-LM head. labels [B, T] (token ids, -100 = not scored) give loss."""

    module_class = FlaxBertForMaskedLMModule
    head_name = "BertForMaskedLM"
    label_names = ("labels",)

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.masked_lm_loss(outputs.logits, labels["labels"])

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return self.config.vocab_size


class FlaxBertForNextSentencePrediction(FlaxBertPreTrainedModel):
    """Next-sentence head. labels [B] (0 = B follows A, 1 = random) give loss."""

    module_class = FlaxBertForNextSentencePredictionModule
    head_name = "BertForNextSentencePrediction"
    label_names = ("labels",)

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.next_sentence_loss(outputs.logits, labels["labels"])

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return 2


class FlaxBertForSequenceClassification(FlaxBertPreTrainedModel):
    """Classifier on the pooled output. labels: [B] class ids, [B, L] multi-hot floats, or float targets
    for regression (num_labels == 1); the problem type comes from config.problem_type or the labels."""

    module_class = FlaxBertForSequenceClassificationModule
    head_name = "BertForSequenceClassification"
    label_names = ("labels",)

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.sequence_classification_loss(outputs.logits, labels["labels"], self.config.problem_type)

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return self.config.num_labels if self.config.num_labels > 1 else None


class FlaxBertForMultipleChoice(FlaxBertPreTrainedModel):
    """One score per choice for inputs [B, C, T]. labels [B] (index of the right choice) give loss."""

    module_class = FlaxBertForMultipleChoiceModule
    head_name = "BertForMultipleChoice"
    label_names = ("labels",)
    input_rank = 3

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.multiple_choice_loss(outputs.logits, labels["labels"])

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        source = inputs["input_ids"] if inputs["input_ids"] is not None else inputs["inputs_embeds"]
        return int(source.shape[1])


class FlaxBertForTokenClassification(FlaxBertPreTrainedModel):
    """Classifier on every token. labels [B, T] (class ids, -100 = not scored) give loss."""

    module_class = FlaxBertForTokenClassificationModule
    head_name = "BertForTokenClassification"
    label_names = ("labels",)

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array:
        return losses.token_classification_loss(outputs.logits, labels["labels"])

    def label_classes(self, name: str, inputs: dict[str, Any]) -> int | None:
        return self.config.num_labels


class FlaxBertForQuestionAnswering(FlaxBertPreTrainedModel):
    """Span extraction. start_positions and end_positions [B] (clamped to [0, T], T ignored) give loss."""

    module_class = FlaxBertForQuestionAnsweringModule
    head_name = "BertForQuestionAnswering"
    label_names = ("start_positions", "end_positions")

    def compute_loss(self, outputs: ModelOutput, labels: dict[str, jax.Array]) -> jax.Array | None:
        if "start_positions" in labels and "end_positions" in labels:
            return losses.question_answering_loss(
                outputs.start_logits, outputs.end_logits, labels["start_positions"], labels["end_positions"]
            )
        return None  # as in the other twins: both positions are needed
