"""BertModel: embeddings, the encoder stack and the pooler, with the Transformers forward() API.

Shape legend: B = batch, T = new positions, P = cached positions (decoders), S = encoder length,
H = hidden size, N = heads, D = head size, L = layers.
"""

from __future__ import annotations

import torch

from bert_common.config import BertConfig
from bert_common.outputs import BaseModelOutputWithPoolingAndCrossAttentions
from bert_pt import inputs, masks
from bert_pt.embeddings import BertEmbeddings
from bert_pt.layers import BertEncoder, BertPooler
from bert_pt.pretrained import BertPreTrainedModel

# The decoder cache: per layer (self keys, self values[, cross keys, cross values]), each [B, N, P or S, D].
PastKeyValues = tuple[tuple[torch.Tensor, ...], ...]


class BertModel(BertPreTrainedModel):
    """The bare BERT encoder (or decoder, with `config.is_decoder`), returning hidden states.

    config: the model's BertConfig.
    add_pooling_layer: build `pooler` (tanh(dense([CLS]))); heads that do not use it leave it out.
    attn_implementation: "sdpa" (default) or "eager"; both give the same numbers.
    """

    model_kwargs = ("add_pooling_layer",)

    def __init__(
        self, config: BertConfig, add_pooling_layer: bool = True, attn_implementation: str | None = None
    ) -> None:
        super().__init__(config)
        # layers
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        # config
        self.set_attn_implementation(attn_implementation or "sdpa")
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
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[torch.Tensor, ...]:
        """Encode a batch.

        input_ids: [B, T] token ids (or inputs_embeds: [B, T, H] word vectors; exactly one of the two).
        attention_mask: [B, P+T] with 1 for real tokens and 0 for padding (or [B, T, P+T] per query).
        token_type_ids: [B, T] segment ids; position_ids: [B, T] positions (default P .. P+T-1).
        head_mask: [N] or [L, N] multipliers of the attention probabilities (0 silences a head).
        encoder_hidden_states / encoder_attention_mask: [B, S, H] / [B, S], for cross-attention.
        past_key_values: the cache a previous call returned (decoders); then give only the new tokens.
        use_cache: return `past_key_values` (decoders only; default config.use_cache).
        output_attentions / output_hidden_states / return_dict: default to the config's values.
        cache_position: accepted for API compatibility; positions follow the cache length.

        Returns BaseModelOutputWithPoolingAndCrossAttentions (or its `to_tuple()` with return_dict=False):
        last_hidden_state [B, T, H], pooler_output [B, H], hidden_states (L+1) x [B, T, H],
        past_key_values, attentions L x [B, N, T, P+T], cross_attentions L x [B, N, T, S].
        """
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = (
            config.output_hidden_states if output_hidden_states is None else output_hidden_states
        )
        return_dict = config.return_dict if return_dict is None else return_dict
        use_cache = (config.use_cache if use_cache is None else use_cache) if config.is_decoder else False

        past_length = 0
        if past_key_values is not None:
            if not config.is_decoder:
                raise ValueError("past_key_values is only used by decoders (BertConfig(is_decoder=True))")
            past_length = inputs.check_past_key_values(past_key_values, config)
        batch, length = inputs.check_model_inputs(
            config,
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_length=past_length,
        )

        embedding_output = self.embeddings(
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            past_key_values_length=past_length,
        )  # [B, T, H]
        dtype = embedding_output.dtype
        self_mask = masks.self_attention_mask(
            attention_mask, batch, length, past_length, config.is_decoder, dtype, embedding_output.device
        )
        cross_mask = masks.cross_attention_mask(encoder_attention_mask, dtype)
        head_masks = masks.layer_head_masks(
            head_mask, config.num_hidden_layers, config.num_attention_heads, dtype
        )

        encoder_outputs = self.encoder(
            embedding_output,
            attention_mask=self_mask,
            head_mask=head_masks,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=cross_mask,
            past_key_values=past_key_values,
            use_cache=use_cache,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            past_length=past_length,
        )
        sequence_output = encoder_outputs.last_hidden_state  # [B, T, H]
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None  # [B, H]
        output = BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=encoder_outputs.hidden_states,
            past_key_values=encoder_outputs.past_key_values,
            attentions=encoder_outputs.attentions,
            cross_attentions=encoder_outputs.cross_attentions,
        )
        return output if return_dict else output.to_tuple()
