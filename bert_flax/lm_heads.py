"""The `cls.*` family: the language-model and next-sentence heads, as linen modules and their wrappers.

Submodule names equal the Transformers tree, so parameter paths are the "flax" names of
conversion/names.py: `cls/predictions/transform/{dense,LayerNorm}`, `cls/predictions/bias`,
`cls/predictions/decoder` (only when the decoder is not tied to the word embeddings), `cls/seq_relationship`.
Each head module holds the base model under `bert` and takes the arguments of FlaxBertModule.__call__.
The wrappers only name their module and head: labels, loss and input rank come from the head table
(bert_common.heads), through FlaxBertPreTrainedModel.

Shape legend: B batch, T new positions, K key positions, S encoder length, H hidden size,
V vocabulary size, N attention heads, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from bert_common.generation import GenerateOutput
from bert_common.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
)
from bert_flax import generation
from bert_flax.activations import get_activation
from bert_flax.initialization import BertModuleBase, dense, layer_norm
from bert_flax.modeling import FlaxBertHeadModule
from bert_flax.pretrained import FlaxBertPreTrainedModel

# ---------------------------------------------------------------------------------------- head parts


class FlaxBertPredictionHeadTransform(BertModuleBase):
    """LayerNorm(act(dense(h))): the MLM transform, [B, T, H] -> [B, T, H]."""

    def setup(self) -> None:
        # layers
        self.dense = dense(self, self.config.hidden_size)
        self.activation = get_activation(self.config.hidden_act)
        self.LayerNorm = layer_norm(self)

    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class FlaxBertLMPredictionHead(BertModuleBase):
    """Token scores [B, T, V] = transform(h) · Eᵀ + bias, E the decoder matrix.

    With `tie_word_embeddings` (the default) E is the word-embedding table passed in as
    `shared_embedding` [V, H]; otherwise the head owns `decoder` (kernel [H, V], no bias of its own).
    """

    def setup(self) -> None:
        # layers
        self.transform = FlaxBertPredictionHeadTransform(**self.fields)
        if not self.config.tie_word_embeddings:
            self.decoder = dense(self, self.config.vocab_size, use_bias=False)
        self.bias = self.param("bias", nn.initializers.zeros, (self.config.vocab_size,), self.param_dtype)

    def __call__(self, hidden_states: jax.Array, shared_embedding: jax.Array | None = None) -> jax.Array:
        """hidden_states: [B, T, H]; shared_embedding: [V, H] (tied decoder). Returns [B, T, V].

        Raises:
            ValueError: a tied decoder without shared_embedding.
        """
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


class FlaxBertOnlyMLMHead(BertModuleBase):
    """`predictions`: the masked-LM (and causal-LM) head, [B, T, H] -> [B, T, V]."""

    def setup(self) -> None:
        # layers
        self.predictions = FlaxBertLMPredictionHead(**self.fields)

    def __call__(self, hidden_states: jax.Array, shared_embedding: jax.Array | None = None) -> jax.Array:
        return self.predictions(hidden_states, shared_embedding)


class FlaxBertOnlyNSPHead(BertModuleBase):
    """`seq_relationship`: next-sentence scores [B, 2] from the pooled output [B, H]."""

    def setup(self) -> None:
        # layers
        self.seq_relationship = dense(self, 2)

    def __call__(self, pooled_output: jax.Array) -> jax.Array:
        return self.seq_relationship(pooled_output)


class FlaxBertPreTrainingHeads(BertModuleBase):
    """`predictions` (MLM over every position) and `seq_relationship` (NSP from the pooled output)."""

    def setup(self) -> None:
        # layers
        self.predictions = FlaxBertLMPredictionHead(**self.fields)
        self.seq_relationship = dense(self, 2)

    def __call__(
        self, hidden_states: jax.Array, pooled_output: jax.Array, shared_embedding: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """hidden_states [B, T, H], pooled_output [B, H] -> ([B, T, V], [B, 2])."""
        return self.predictions(hidden_states, shared_embedding), self.seq_relationship(pooled_output)


# ------------------------------------------------------------------------------------ head modules


class FlaxBertForPreTrainingModule(FlaxBertHeadModule):
    """`bert` + `cls` (FlaxBertPreTrainingHeads) -> prediction_logits [B, T, V], seq_relationship_logits
    [B, 2] (the wrapper adds the loss)."""

    head_name: ClassVar[str] = "BertForPreTraining"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.cls = FlaxBertPreTrainingHeads(**self.fields)

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
    ) -> BertForPreTrainingOutput:
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
        prediction_logits, seq_relationship_logits = self.cls(
            out.last_hidden_state, out.pooler_output, self._shared_embedding()
        )  # [B, T, V], [B, 2]
        return BertForPreTrainingOutput(
            prediction_logits=prediction_logits,
            seq_relationship_logits=seq_relationship_logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
        )


class FlaxBertForCausalLMModule(FlaxBertHeadModule):
    """`bert` (a decoder: causal self-attention, optional cross-attention) + `cls` -> next-token logits
    [B, T, V]."""

    head_name: ClassVar[str] = "BertLMHeadModel"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.cls = FlaxBertOnlyMLMHead(**self.fields)

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
    ) -> CausalLMOutputWithCrossAttentions:
        """The arguments of FlaxBertModule.__call__ (with a cache, attention_mask covers all of it)."""
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
        logits = self.cls(out.last_hidden_state, self._shared_embedding())  # [B, T, V]
        return CausalLMOutputWithCrossAttentions(
            logits=logits,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
            cross_attentions=out.cross_attentions,
        )


class FlaxBertForMaskedLMModule(FlaxBertHeadModule):
    """`bert` (no pooler) + `cls` (FlaxBertOnlyMLMHead) -> token scores [B, T, V]."""

    head_name: ClassVar[str] = "BertForMaskedLM"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.cls = FlaxBertOnlyMLMHead(**self.fields)

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
    ) -> MaskedLMOutput:
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
        logits = self.cls(out.last_hidden_state, self._shared_embedding())  # [B, T, V]
        return MaskedLMOutput(logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


class FlaxBertForNextSentencePredictionModule(FlaxBertHeadModule):
    """`bert` + `cls` (FlaxBertOnlyNSPHead) -> scores [B, 2] (0 = B follows A)."""

    head_name: ClassVar[str] = "BertForNextSentencePrediction"

    def setup(self) -> None:
        # layers
        self.bert = self._bert()
        self.cls = FlaxBertOnlyNSPHead(**self.fields)

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
    ) -> NextSentencePredictorOutput:
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
        return NextSentencePredictorOutput(
            logits=self.cls(out.pooler_output), hidden_states=out.hidden_states, attentions=out.attentions
        )


# ----------------------------------------------------------------------------------------- wrappers


class FlaxBertForPreTraining(FlaxBertPreTrainedModel):
    """MLM + NSP pretraining heads. labels [B, T] (-100 = not scored) and next_sentence_label [B] give loss
    (both are needed)."""

    module_class = FlaxBertForPreTrainingModule
    head_name = "BertForPreTraining"


class FlaxBertForCausalLM(FlaxBertPreTrainedModel):
    """Decoder LM head (Transformers' BertLMHeadModel). labels [B, T] give the shifted next-token loss.

    Needs `is_decoder=True`. Incremental decoding: `cache = model.init_cache(B, K)`, then call with
    `past_key_values=cache` and an attention_mask of shape [B, K]; `generate` does this under jit.
    """

    module_class = FlaxBertForCausalLMModule
    head_name = "BertLMHeadModel"

    def generate(
        self,
        input_ids: ArrayLike,
        attention_mask: ArrayLike | None = None,
        *,
        max_new_tokens: int | None = None,
        max_length: int | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        eos_token_id: int | None = None,
        pad_token_id: int | None = None,
        encoder_hidden_states: ArrayLike | None = None,
        encoder_attention_mask: ArrayLike | None = None,
        seed: int | None = None,
        return_dict_in_generate: bool = False,
        prng_key: jax.Array | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> jax.Array | GenerateOutput:
        """Greedy or sampled continuation of `input_ids` [B, T]: the [B, T + G] int32 sequences (or
        GenerateOutput with return_dict_in_generate=True). See bert_flax.generation.generate for the
        arguments and errors."""
        return generation.generate(
            self,
            input_ids,
            attention_mask,
            max_new_tokens=max_new_tokens,
            max_length=max_length,
            do_sample=do_sample,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            seed=seed,
            return_dict_in_generate=return_dict_in_generate,
            prng_key=prng_key,
            params=params,
        )


class FlaxBertForMaskedLM(FlaxBertPreTrainedModel):
    """Masked-LM head. labels [B, T] (token ids, -100 = not scored) give loss."""

    module_class = FlaxBertForMaskedLMModule
    head_name = "BertForMaskedLM"


class FlaxBertForNextSentencePrediction(FlaxBertPreTrainedModel):
    """Next-sentence head. labels (or next_sentence_label) [B] (0 = B follows A, 1 = random) give loss."""

    module_class = FlaxBertForNextSentencePredictionModule
    head_name = "BertForNextSentencePrediction"
