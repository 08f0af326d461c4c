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

import functools
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from bert_common import packing
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
    `encoder/layer/scanned/…` with a leading layer axis); padding_free: run the dense layers only on the
    tokens `attention_mask` attends (plus position 0 of each row), see __call__ and docs/padding-free.md.
    """

    add_pooling_layer: bool = True
    gradient_checkpointing: bool = False
    scan_layers: bool = False
    padding_free: bool = False

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

        padding_free (field): with an attention_mask, the embeddings, projections, feed-forward blocks and
        LayerNorms run on the kept tokens only (bert_common.packing: the attended ones plus position 0),
        packed to M = the smallest of `packing.bucket_sizes(B * T)` that holds them, so jit compiles at
        most 8 programs per input shape (one lax.switch over them; eagerly only the one needed).
        Attended positions and pooler_output equal the padded path within 1e-5; the other positions of
        last_hidden_state / hidden_states are zeros (the padded path computes them from [PAD]).

        Raises:
            ValueError: a head_mask of another shape than [N] or [L, N]; padding_free with a 3-D
                attention_mask or with a decoding cache.
        """
        if self.padding_free and attention_mask is not None and not self.is_initializing():
            packed_call = functools.partial(
                self._padding_free_call,
                init_cache=init_cache,
                deterministic=deterministic,
                output_attentions=output_attentions,
                output_hidden_states=output_hidden_states,
            )
            return packed_call(
                input_ids,
                attention_mask,
                token_type_ids,
                position_ids,
                head_mask,
                encoder_hidden_states,
                encoder_attention_mask,
                inputs_embeds,
            )
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

    def _padding_free_call(
        self,
        input_ids: jax.Array | None,
        attention_mask: jax.Array,
        token_type_ids: jax.Array | None,
        position_ids: jax.Array | None,
        *rest: jax.Array | None,
        init_cache: bool,
        **flags: bool,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        """__call__ with padding_free: picks the bucket (in Python for a concrete mask, else by
        lax.switch) and runs `_packed` at that static size."""
        packing.check_packing_mask(attention_mask)
        if init_cache or self.variables.get("cache"):
            raise ValueError("padding_free does not run with a decoding cache; call the model without it")
        batch, length = attention_mask.shape
        if token_type_ids is None:
            token_type_ids = jnp.zeros((batch, length), dtype=jnp.int32)
        if position_ids is None:
            position_ids = jnp.broadcast_to(jnp.arange(length, dtype=jnp.int32), (batch, length))
        operands = (input_ids, attention_mask, token_type_ids, position_ids, *rest)
        total = batch * length
        try:
            count = int(packing.kept_positions(np.asarray(attention_mask)).sum())
        except jax.errors.TracerArrayConversionError:  # under jit: one branch per bucket
            count = None
        if count is not None:
            last, hidden, attentions, cross = self._packed(
                packing.bucket_for(count, total), *operands, **flags
            )
        else:
            kept = packing.kept_positions(attention_mask, xp=jnp).sum()
            branches = [
                functools.partial(_run_packed, size=size, flags=flags) for size in packing.bucket_sizes(total)
            ]
            index = packing.bucket_index(kept, total, xp=jnp)
            last, hidden, attentions, cross = nn.switch(index, branches, self, *operands)
        pooled = self.pooler(last) if self.add_pooling_layer else None  # [B, H]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=last,
            pooler_output=pooled,
            hidden_states=hidden,
            attentions=attentions,
            cross_attentions=cross,
        )

    def _packed(
        self,
        size: int,
        input_ids: jax.Array | None,
        attention_mask: jax.Array,
        token_type_ids: jax.Array,
        position_ids: jax.Array,
        head_mask: jax.Array | None,
        encoder_hidden_states: jax.Array | None,
        encoder_attention_mask: jax.Array | None,
        inputs_embeds: jax.Array | None,
        deterministic: bool,
        output_attentions: bool,
        output_hidden_states: bool,
    ) -> tuple[jax.Array, tuple[jax.Array, ...] | None, tuple | None, tuple | None]:
        """The encoder on M = `size` packed tokens; hidden states come back as [B, T, H]."""
        layout = masks.make_packing(attention_mask, size)

        def pack(x: jax.Array | None) -> jax.Array | None:
            return None if x is None else masks.pack(x, layout)

        hidden_states = self.embeddings(
            pack(input_ids),
            pack(token_type_ids),
            pack(position_ids),
            inputs_embeds=pack(inputs_embeds),
            deterministic=deterministic,
        )  # [1, M, H]
        last, all_hidden, all_self, all_cross = self.encoder(
            hidden_states,
            attention_mask,
            masks.head_mask(head_mask, self.config),
            encoder_hidden_states,
            encoder_attention_mask,
            deterministic=deterministic,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            packing=layout,
        )
        if all_hidden is not None:
            all_hidden = tuple(masks.unpack(h, layout) for h in all_hidden)
        return masks.unpack(last, layout), all_hidden, all_self, all_cross


def _run_packed(
    module: FlaxBertModule, *operands: jax.Array | None, size: int, flags: dict[str, bool]
) -> tuple[jax.Array, tuple[jax.Array, ...] | None, tuple | None, tuple | None]:
    """One branch of the padding-free lax.switch: the packed run at the static size `size`."""
    return module._packed(size, *operands, **flags)


class FlaxBertModel(FlaxBertPreTrainedModel):
    """The bare BERT model: last hidden states [B, T, H] and the pooled [CLS] output [B, H].

    `FlaxBertModel(config, add_pooling_layer=False)` drops the pooler (pooler_output is then None);
    `FlaxBertModel(config, padding_free=True)` (any head too) runs ragged batches padding-free.
    Call it like Transformers' FlaxBertModel; see FlaxBertPreTrainedModel.__call__.
    """

    module_class: ClassVar[type[nn.Module]] = FlaxBertModule
    head_name: ClassVar[str] = "BertModel"


class FlaxBertHeadModule(BertModuleBase):
    """The fields every head module shares, and how it builds its `bert` (with the pooler when its head
    uses one, `bert_common.heads`)."""

    gradient_checkpointing: bool = False
    scan_layers: bool = False
    padding_free: bool = False

    head_name: ClassVar[str] = "BertModel"

    def _bert(self) -> FlaxBertModule:
        return FlaxBertModule(
            **self.fields,
            add_pooling_layer=get_head(self.head_name).pooler,
            gradient_checkpointing=self.gradient_checkpointing,
            scan_layers=self.scan_layers,
            padding_free=self.padding_free,
        )

    def _shared_embedding(self) -> jax.Array | None:
        """The word-embedding table [V, H] a tied decoder scores with; None when untied."""
        if not self.config.tie_word_embeddings:
            return None
        return self.bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"]

    def _classifier_dropout(self) -> nn.Dropout:
        rate = self.config.classifier_dropout
        return nn.Dropout(rate=self.config.hidden_dropout_prob if rate is None else rate)
