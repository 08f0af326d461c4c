"""FlaxBertModule (the base network: `embeddings`, `encoder`, `pooler`), its wrapper FlaxBertModel, and
FlaxBertHeadModule, the base of every head module (`bert` plus a small head).

Raw-module use:

    module = FlaxBertModule(config)
    variables = module.init(jax.random.key(0), input_ids)
    out = module.apply(variables, input_ids, attention_mask)   # BaseModelOutputWithPoolingAndCrossAttentions

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T, or the decoding
cache's size), S encoder length, H hidden size, N attention heads, L layers.
"""

from __future__ import annotations

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from bert_common.heads import get_head
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions
from bert_flax import masks
from bert_flax.cache import cache_offset
from bert_flax.embeddings import FlaxBertEmbeddings
from bert_flax.initialization import BertModuleBase
from bert_flax.layers import FlaxBertEncoder, FlaxBertPooler
from bert_flax.pretrained import FlaxBertPreTrainedModel


class FlaxBertModule(BertModuleBase):
    """The BERT network: embeddings, the encoder stack and (optionally) the pooler.

    Fields: config, dtype (computation), param_dtype, precision (see BertModuleBase);
    add_pooling_layer: keep the pooler (`pooler_output`); gradient_checkpointing: rematerialize each
    layer's activations in the backward pass (nn.remat); scan_layers: run the layers with nn.scan (params
    `encoder/layer/scanned/…` with a leading layer axis).
    """

    add_pooling_layer: bool = True
    gradient_checkpointing: bool = False
    scan_layers: bool = False

    def setup(self) -> None:
        # layers
        self.embeddings = FlaxBertEmbeddings(**self.fields)
        self.encoder = FlaxBertEncoder(
            **self.fields, gradient_checkpointing=self.gradient_checkpointing, scan_layers=self.scan_layers
        )
        if self.add_pooling_layer:
            self.pooler = FlaxBertPooler(**self.fields)

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
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """Run the network on checked inputs (the wrapper checks them; raw-module users own that).

        input_ids: [B, T] int token ids (or None with inputs_embeds [B, T, H] floats).
        attention_mask: 0/1 [B, K] or per query [B, T, K], 1 = attend (default: everything); with a
            decoding cache K is the cache size.
        token_type_ids: [B, T] segment ids (default 0). position_ids: [B, T] (default: P .. P + T - 1,
            after the positions already in the cache).
        head_mask: [N] or [L, N] multipliers of the attention heads (1 keeps, 0 silences).
        encoder_hidden_states: [B, S, H] and encoder_attention_mask [B, S] or [B, T, S]: cross-attention.
        init_cache: create the decoding cache (used by bert_flax.cache.init_cache).
        deterministic: no dropout (False needs a "dropout" rng). output_attentions / output_hidden_states:
            return every layer's attention probabilities / hidden states.

        Returns BaseModelOutputWithPoolingAndCrossAttentions: last_hidden_state [B, T, H], pooler_output
        [B, H] (None without pooler), hidden_states (L + 1) x [B, T, H], attentions L x [B, N, T, K],
        cross_attentions L x [B, N, T, S].

        Raises:
            ValueError: a head_mask of another shape than [N] or [L, N].
        """
        batch, length = (input_ids if input_ids is not None else inputs_embeds).shape[:2]
        if token_type_ids is None:
            token_type_ids = jnp.zeros((batch, length), dtype=jnp.int32)
        if position_ids is None:
            start = cache_offset(self.variables.get("cache"))
            position_ids = jnp.broadcast_to(start + jnp.arange(length, dtype=jnp.int32), (batch, length))
        hidden_states = self.embeddings(
            input_ids, token_type_ids, position_ids, inputs_embeds=inputs_embeds, deterministic=deterministic
        )  # [B, T, H]
        last, all_hidden, all_self, all_cross = self.encoder(
            hidden_states,
            attention_mask,
            masks.head_mask(head_mask, self.config),
            encoder_hidden_states,
            encoder_attention_mask,
            init_cache=init_cache,
            deterministic=deterministic,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
        )
        pooled = self.pooler(last) if self.add_pooling_layer else None  # [B, H]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=last,
            pooler_output=pooled,
            hidden_states=all_hidden,
            attentions=all_self,
            cross_attentions=all_cross,
        )


class FlaxBertModel(FlaxBertPreTrainedModel):
    """The bare BERT model: last hidden states [B, T, H] and the pooled [CLS] output [B, H].

    `FlaxBertModel(config, add_pooling_layer=False)` drops the pooler (pooler_output is then None).
    Call it like Transformers' FlaxBertModel; see FlaxBertPreTrainedModel.__call__.
    """

    module_class: ClassVar[type[nn.Module]] = FlaxBertModule
    head_name: ClassVar[str] = "BertModel"


class FlaxBertHeadModule(BertModuleBase):
    """The fields every head module shares, and how it builds its `bert` (with the pooler when its head
    uses one, `bert_common.heads`)."""

    gradient_checkpointing: bool = False
    scan_layers: bool = False

    head_name: ClassVar[str] = "BertModel"

    def _bert(self) -> FlaxBertModule:
        return FlaxBertModule(
            **self.fields,
            add_pooling_layer=get_head(self.head_name).pooler,
            gradient_checkpointing=self.gradient_checkpointing,
            scan_layers=self.scan_layers,
        )

    def _shared_embedding(self) -> jax.Array | None:
        """The word-embedding table [V, H] a tied decoder scores with; None when untied."""
        if not self.config.tie_word_embeddings:
            return None
        return self.bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]

    def _classifier_dropout(self) -> nn.Dropout:
        rate = self.config.classifier_dropout
        return nn.Dropout(rate=self.config.hidden_dropout_prob if rate is None else rate)
