"""BertModel: embeddings, the encoder stack and the pooler, with the Transformers forward() API, and
its padding-free mode (`padding_free`, see BertModel.forward and docs/padding-free.md).

Shape legend: B batch, T new positions, P cached positions (decoders), K key positions (P + T),
S encoder length, H hidden size, N heads, D head size, L layers.
"""

from __future__ import annotations

import torch

from bert_common import packing
from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_common.outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    finish_output,
    resolve_output_flags,
)
from bert_pt import inputs, masks
from bert_pt.embeddings import BertEmbeddings
from bert_pt.layers import BertEncoder, BertPooler
from bert_pt.pretrained import BertPreTrainedModel

# The decoder cache: per layer (self keys, self values[, cross keys, cross values]), [B, N, P, D] / [B, N, S, D].
PastKeyValues = tuple[tuple[torch.Tensor, ...], ...]


class PaddingFreeSwitch:
    """The `padding_free` property of every bert_pt model (BertModel and the heads)."""

    @property
    def padding_free(self) -> bool:
        """Run ragged batches padding-free by default (docs/padding-free.md); set at construction or
        `from_pretrained(..., padding_free=True)`, overridden per call by forward's `padding_free`. Not a
        config field: save_pretrained does not store it. Setting it raises TypeError for a non-bool."""
        return self.base_model._padding_free

    @padding_free.setter
    def padding_free(self, value: bool) -> None:
        self.base_model._padding_free = packing.check_padding_free(value)


class BertModel(PaddingFreeSwitch, BertPreTrainedModel):
    """The bare BERT encoder (or decoder, with `config.is_decoder`), returning hidden states.

    config: the model's BertConfig.
    add_pooling_layer: build `pooler` (tanh(dense([CLS]))); heads that do not use it leave it out.
    attn_implementation: "sdpa" (default) or "eager"; both give the same numbers.
    padding_free: the default of forward's `padding_free` (the `padding_free` property), False.

    Raises:
        TypeError: padding_free not a bool.
    """

    head_name = "BertModel"
    model_kwargs = ("add_pooling_layer",)

    def __init__(
        self,
        config: BertConfig,
        add_pooling_layer: bool = True,
        attn_implementation: str | None = None,
        padding_free: bool = False,
    ) -> None:
        super().__init__(config)
        # layers
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        # config
        self.set_attn_implementation(attn_implementation or "sdpa")
        self._padding_free = packing.check_padding_free(padding_free)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: torch.Tensor | None = None,
        padding_free: bool | None = None,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[torch.Tensor, ...]:
        """Encode a batch.

        input_ids: [B, T] int token ids in [0, V) (or inputs_embeds: [B, T, H] float word vectors;
            exactly one of the two).
        attention_mask: [B, K] (K = P + T) with 1 for real tokens and 0 for padding, or [B, T, K] per
            query; ints, floats or bools. Default: every position attended.
        token_type_ids: [B, T] int segment ids (default zeros); position_ids: [B, T] or [1, T] int
            positions (default P .. P+T-1).
        head_mask: [N] or [L, N] multipliers of the attention probabilities (0 silences a head).
        encoder_hidden_states / encoder_attention_mask: [B, S, H] float / [B, S] 0/1, for cross-attention.
        past_key_values: the cache a previous call returned (decoders); then give only the new tokens.
        use_cache: return `past_key_values` (decoders only; default config.use_cache).
        output_attentions / output_hidden_states / return_dict: default to the config's values.
        cache_position: accepted for API compatibility; positions follow the cache length.
        padding_free: run the dense layers (embeddings, projections, feed-forward, LayerNorms) only on
            the tokens `attention_mask` attends, plus position 0 of every row (bert_common.packing);
            default `self.padding_free` (False). Attended positions and pooler_output equal the padded
            path within 1e-5; every other position of last_hidden_state / hidden_states is zeros (the
            padded path computes them from the [PAD] embedding: the work padding-free saves). No effect
            without attention_mask. Faster when over ~5% of the batch is padding
            (bert_common.packing.worth_packing).

        Returns BaseModelOutputWithPoolingAndCrossAttentions (or its `to_tuple()` with return_dict=False):
        last_hidden_state [B, T, H], pooler_output [B, H], hidden_states (L+1) x [B, T, H],
        past_key_values, attentions L x [B, N, T, K], cross_attentions L x [B, N, T, S]; floats in the
        model's dtype.

        Raises:
            ValueError: past_key_values for a model that is not a decoder, and the input rules of
                `bert_common.inputs.check_encoder_inputs` (a wrong shape, an empty sequence, ids outside
                their table, a mask holding values other than 0 and 1, P + T > max_position_embeddings).
            TypeError: arguments that are not tensors, or tensors of the wrong dtype; padding_free not
                a bool or None.
            ValueError: padding_free with a 3-D attention_mask (which says nothing about which tokens
                exist).
        """
        config = self.config
        flags = resolve_output_flags(
            config,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            use_cache=use_cache,
            return_dict=return_dict,
        )

        past_length = 0
        if past_key_values is not None:
            if not config.is_decoder:
                raise ValueError("past_key_values is only used by decoders (BertConfig(is_decoder=True))")
            past_length = inputs.check_past_key_values(past_key_values, config)
        geometry = inputs.check_inputs(
            config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            head_mask=head_mask,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_length=past_length,
        )
        batch, length = geometry.batch, geometry.length
        packed = self._packed_batch(padding_free, attention_mask, past_length)

        if packed is None:
            embedding_output = self.embeddings(
                input_ids=input_ids,
                token_type_ids=token_type_ids,
                position_ids=position_ids,
                inputs_embeds=inputs_embeds,
                past_key_values_length=past_length,
            )  # [B, T, H]
        else:
            if position_ids is None:
                position_ids = torch.arange(past_length, past_length + length, device=packed.index.device)[
                    None
                ]
            embedding_output = self.embeddings(
                input_ids=packed.pack(input_ids) if input_ids is not None else None,
                token_type_ids=packed.pack(token_type_ids) if token_type_ids is not None else None,
                position_ids=packed.pack(position_ids),
                inputs_embeds=packed.pack(inputs_embeds) if inputs_embeds is not None else None,
            )  # [1, M, H]
        dtype = embedding_output.dtype
        self_mask = masks.self_attention_mask(
            attention_mask, batch, length, past_length, config.is_decoder, dtype, embedding_output.device
        )
        cross_mask = masks.cross_attention_mask(encoder_attention_mask, dtype)
        head_masks = masks.head_mask(head_mask, config.num_hidden_layers, config.num_attention_heads, dtype)

        encoder_outputs = self.encoder(
            embedding_output,
            attention_mask=self_mask,
            head_mask=head_masks,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=cross_mask,
            past_key_values=past_key_values,
            use_cache=flags.use_cache,
            output_attentions=flags.output_attentions,
            output_hidden_states=flags.output_hidden_states,
            past_length=past_length,
            packed=packed,
        )
        sequence_output = encoder_outputs.last_hidden_state  # [B, T, H] ([1, M, H] packed)
        if packed is not None:
            sequence_output = packed.unpack(sequence_output)  # [B, T, H], zeros where not packed
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None  # [B, H]
        output = BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=encoder_outputs.hidden_states,
            past_key_values=encoder_outputs.past_key_values,
            attentions=encoder_outputs.attentions,
            cross_attentions=encoder_outputs.cross_attentions,
        )
        return finish_output(output, flags.return_dict, config)

    def _packed_batch(
        self, padding_free: bool | None, attention_mask: torch.Tensor | None, past_length: int
    ) -> masks.PackedBatch | None:
        """The padding-free layout of this call, or None for the padded path."""
        if packing.check_padding_free(padding_free, allow_none=True) is None:
            padding_free = self.padding_free
        if not padding_free or attention_mask is None:
            return None
        if attention_mask.dim() != 2:
            packing.check_packing_mask(attention_mask)  # raises, naming the problem
        return masks.PackedBatch(attention_mask[:, past_length:])


class BertHeadModel(PaddingFreeSwitch, BertPreTrainedModel):
    """The base of the eight head models: builds `bert`, a BertModel with the pooler when the head uses
    it (bert_common.heads), before the head's own layers.

    config: the model's BertConfig. attn_implementation: "sdpa" (default) or "eager".
    padding_free: the default of forward's `padding_free` (the `padding_free` property), False.

    Raises:
        TypeError: config not a BertConfig; padding_free not a bool.
        ValueError: an unknown attn_implementation.
    """

    def __init__(
        self, config: BertConfig, attn_implementation: str | None = None, padding_free: bool = False
    ):
        super().__init__(config)
        pooler = get_head(self.head_name).pooler
        self.bert = BertModel(config, pooler, attn_implementation, padding_free)


def set_padding_free(model: torch.nn.Module, enabled: bool) -> None:
    """Make padding-free the default of every BertModel inside `model` (any nn.Module, e.g. one that
    holds several bert_pt models); for a bert_pt model itself, `model.padding_free = enabled` says the
    same. forward's `padding_free` argument still wins.

    Raises:
        TypeError: enabled is not a bool.
        ValueError: `model` holds no BertModel.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {enabled!r}")
    found = [module for module in model.modules() if isinstance(module, BertModel)]
    if not found:
        raise ValueError(f"{type(model).__name__} holds no BertModel")
    for module in found:
        module.padding_free = enabled
