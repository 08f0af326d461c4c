"""The encoder stack: the feed-forward block, BertLayer, BertEncoder, BertPooler.

Shape legend: B batch, T new positions, P cached positions, K key positions (P + T), S encoder length,
H hidden size, I intermediate size, N heads, D head size, L layers.
"""

from __future__ import annotations

import logging

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from bert_common.config import BertConfig
from bert_common.outputs import BaseModelOutputWithPastAndCrossAttentions
from bert_pt.activations import get_activation
from bert_pt.attention import BertAttention, KeyValue
from bert_pt.masks import PackedBatch

logger = logging.getLogger("bert_zoo")


# -------------------------------------------------------------------------------------- feed-forward


class BertIntermediate(nn.Module):
    """First half of the feed-forward block: dense H -> I and the activation."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))  # [B, T, I]


class BertOutput(nn.Module):
    """Second half of the feed-forward block: dense I -> H, dropout, residual, LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        """hidden_states: [B, T, I] activations; input_tensor: [B, T, H] the block's input."""
        hidden_states = self.dropout(self.dense(hidden_states))
        return self.LayerNorm(hidden_states + input_tensor)  # [B, T, H]


# ------------------------------------------------------------------------------------------- layers


class BertLayer(nn.Module):
    """One transformer layer: self-attention, cross-attention (decoders with add_cross_attention),
    feed-forward."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        # layers
        self.attention = BertAttention(config)
        if config.add_cross_attention:
            self.crossattention = BertAttention(
                config, position_embedding_type="absolute", is_cross_attention=True
            )
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)
        # config
        self.add_cross_attention = config.add_cross_attention

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_value: tuple[torch.Tensor, ...] | None = None,
        output_attentions: bool = False,
        past_length: int = 0,
        packed: PackedBatch | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, tuple[torch.Tensor, ...]]:
        """Run the layer on `hidden_states` [B, T, H], or [1, M, H] packed (padding-free, `packed`).

        past_key_value: (self keys, self values[, cross keys, cross values]) cached by an earlier call.
        Returns (output [B, T, H], self-attention probabilities [B, N, T, K] or None,
        cross-attention probabilities [B, N, T, S] or None, the layer's new cache entry).
        """
        self_past: KeyValue | None = None
        cross_past: KeyValue | None = None
        if past_key_value is not None:
            self_past = (past_key_value[0], past_key_value[1])
            if len(past_key_value) == 4:
                cross_past = (past_key_value[2], past_key_value[3])
        attention_output, self_probs, present = self.attention(
            hidden_states, attention_mask, head_mask, None, self_past, output_attentions, past_length, packed
        )
        cross_probs = None
        if self.add_cross_attention and (encoder_hidden_states is not None or cross_past is not None):
            attention_output, cross_probs, cross_present = self.crossattention(
                attention_output,
                encoder_attention_mask,
                head_mask,
                encoder_hidden_states,
                cross_past,
                output_attentions,
                packed=packed,
            )
            present = present + cross_present
        layer_output = self.output(self.intermediate(attention_output), attention_output)
        return layer_output, self_probs, cross_probs, present


class BertEncoder(nn.Module):
    """The stack of `layer[0 .. L-1]`, with optional gradient checkpointing in training."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        # layers
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        # config
        self.config = config
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: list[torch.Tensor | None] | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: tuple[tuple[torch.Tensor, ...], ...] | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        past_length: int = 0,
        packed: PackedBatch | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        """Run every layer on the embeddings `hidden_states` [B, T, H], or [1, M, H] packed (`packed`:
        padding-free; then the returned hidden states are [1, M, H] too, except the `hidden_states`
        tuple, scattered back to [B, T, H] with zeros at the positions not packed).

        attention_mask / encoder_attention_mask: additive masks from `bert_pt.masks`.
        head_mask: one [1, N, 1, 1] multiplier (or None) per layer.
        """
        checkpointing = self.gradient_checkpointing and self.training and torch.is_grad_enabled()
        if checkpointing and use_cache:
            logger.warning(
                "use_cache=True is incompatible with gradient checkpointing; setting use_cache=False"
            )
            use_cache = False
        unpack = packed.unpack if packed is not None else (lambda x: x)
        all_hidden = [unpack(hidden_states)] if output_hidden_states else None
        all_self = [] if output_attentions else None
        all_cross = [] if output_attentions and self.config.add_cross_attention else None
        cache = [] if use_cache else None
        for i, layer in enumerate(self.layer):
            args = (
                hidden_states,
                attention_mask,
                head_mask[i] if head_mask is not None else None,
                encoder_hidden_states,
                encoder_attention_mask,
                past_key_values[i] if past_key_values is not None else None,
                output_attentions,
                past_length,
                packed,
            )
            if checkpointing:
                hidden_states, self_probs, cross_probs, present = checkpoint(
                    layer, *args, use_reentrant=False
                )
            else:
                hidden_states, self_probs, cross_probs, present = layer(*args)
            if cache is not None:
                cache.append(present)
            if all_self is not None:
                all_self.append(self_probs)
            if all_cross is not None:
                all_cross.append(cross_probs)
            if all_hidden is not None:
                all_hidden.append(unpack(hidden_states))
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            past_key_values=tuple(cache) if cache is not None else None,
            hidden_states=tuple(all_hidden) if all_hidden is not None else None,
            attentions=tuple(all_self) if all_self is not None else None,
            cross_attentions=tuple(all_cross)
            if all_cross is not None and any(p is not None for p in all_cross)
            else None,
        )


class BertPooler(nn.Module):
    """The [CLS] summary: tanh(dense(hidden state of the first token))."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """hidden_states: [B, T, H] last layer. Returns [B, H]."""
        return self.activation(self.dense(hidden_states[:, 0]))
