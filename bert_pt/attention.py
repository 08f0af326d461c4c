"""Multi-head attention of BERT: self-attention, cross-attention, the two implementations, relative positions.

Shape legend: B batch, T query positions (new in this call), P cached positions, K key positions
(P + T; for cross-attention the keys are the encoder's S positions), S encoder length, N heads,
D head size, H hidden size (N * D unless heads were pruned).

Two implementations give the same numbers (fp32 max-abs-diff <= 1e-5):

- "sdpa" (default): `torch.nn.functional.scaled_dot_product_attention`, with the additive mask;
- "eager": explicit matmul + softmax. It is used, whatever was asked for, when the attention
  probabilities are needed (`output_attentions=True`), when a `head_mask` scales them, and for the
  relative position types, whose scores SDPA cannot add.

The additive mask holds 0 where attention is allowed and `finfo(dtype).min` where it is not (built in
`bert_pt.masks`). Scores are clamped at `finfo(dtype).min` after adding it, so a fully masked row stays
finite in fp16 too (it becomes a uniform average instead of 0/0).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from bert_common.config import BertConfig
from bert_pt.masks import PackedBatch

ATTN_IMPLEMENTATIONS = ("sdpa", "eager")

# (keys [B, N, K, D], values [B, N, K, D]) of one attention block ([B, N, S, D] for cross-attention).
KeyValue = tuple[torch.Tensor, torch.Tensor]


def _same(x: torch.Tensor) -> torch.Tensor:
    return x


def check_attn_implementation(name: str) -> str:
    """`name` when it is one of ATTN_IMPLEMENTATIONS ("sdpa", "eager").

    Raises:
        ValueError: any other name.
    """
    if name not in ATTN_IMPLEMENTATIONS:
        raise ValueError(f"attn_implementation must be one of {ATTN_IMPLEMENTATIONS}, got {name!r}")
    return name


def _self_attentions(model: nn.Module) -> Iterator[BertSelfAttention]:
    return (module for module in model.modules() if isinstance(module, BertSelfAttention))


def set_attn_implementation(model: nn.Module, name: str) -> None:
    """Switch every attention block inside `model` to "sdpa" or "eager" (same numbers, see above).

    Raises:
        ValueError: another name.
    """
    check_attn_implementation(name)
    for module in _self_attentions(model):
        module.attn_implementation = name


def get_attn_implementation(model: nn.Module) -> str:
    """The implementation the attention blocks of `model` use ("sdpa" or "eager").

    Raises:
        StopIteration: `model` has no attention block.
    """
    return next(module.attn_implementation for module in _self_attentions(model))


class BertSelfAttention(nn.Module):
    """Scaled dot-product attention over N heads: the `query`, `key`, `value` projections.

    As cross-attention (`is_cross_attention=True`) the keys and values come from the encoder's hidden
    states, and the relative position types are not used (as in Transformers).
    """

    def __init__(
        self, config: BertConfig, position_embedding_type: str | None = None, is_cross_attention: bool = False
    ) -> None:
        super().__init__()
        all_head_size = config.num_attention_heads * config.attention_head_size  # N * D
        position_embedding_type = position_embedding_type or config.position_embedding_type
        # layers
        self.query = nn.Linear(config.hidden_size, all_head_size)
        self.key = nn.Linear(config.hidden_size, all_head_size)
        self.value = nn.Linear(config.hidden_size, all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        if position_embedding_type in ("relative_key", "relative_key_query"):
            # One vector per signed distance -(max-1) .. (max-1).
            self.distance_embedding = nn.Embedding(
                2 * config.max_position_embeddings - 1, config.attention_head_size
            )
        # config
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.attention_head_size
        self.all_head_size = all_head_size
        self.position_embedding_type = position_embedding_type
        self.max_position_embeddings = config.max_position_embeddings
        self.is_cross_attention = is_cross_attention
        self.dropout_prob = config.attention_probs_dropout_prob
        self.attn_implementation = "sdpa"

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, L, N*D] -> [B, N, L, D]."""
        batch, length = x.shape[:2]
        return x.view(batch, length, self.num_attention_heads, self.attention_head_size).transpose(1, 2)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        output_attentions: bool = False,
        past_length: int = 0,
        packed: PackedBatch | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KeyValue]:
        """Attend from `hidden_states` [B, T, H] (or [1, M, H] packed, see `packed`).

        attention_mask: additive [B, 1, T or 1, K] (0 = attend, finfo.min = masked), or None.
        head_mask: [1, N, 1, 1] multipliers of the attention probabilities, or None.
        encoder_hidden_states: [B, S, H], the keys/values of cross-attention.
        past_key_value: cached (keys, values) [B, N, P, D] for self-attention, or the encoder's
            projected (keys, values) [B, N, S, D] for cross-attention (then not recomputed).
        past_length: P, the absolute position of the first query (relative positions only).
        packed: the padding-free layout (bert_pt.masks.PackedBatch): the projections run on the M packed
            tokens, the attention on their scatter to [B, T] (zeros elsewhere, masked as keys).

        Returns (context [B, T, N*D] (packed: [1, M, N*D]), probabilities [B, N, T, K] or None,
        (keys, values) to cache).
        """
        unpack = packed.unpack if packed is not None else _same
        query = self._heads(unpack(self.query(hidden_states)))  # [B, N, T, D]
        if self.is_cross_attention:
            if past_key_value is not None:
                key, value = past_key_value  # [B, N, S, D], computed once per encoder sequence
            else:
                key = self._heads(self.key(encoder_hidden_states))
                value = self._heads(self.value(encoder_hidden_states))
        else:
            key = self._heads(unpack(self.key(hidden_states)))  # [B, N, T, D]
            value = self._heads(unpack(self.value(hidden_states)))
            if past_key_value is not None:
                key = torch.cat([past_key_value[0], key], dim=2)  # [B, N, K, D]
                value = torch.cat([past_key_value[1], value], dim=2)

        relative = self.position_embedding_type != "absolute"
        if self.attn_implementation == "eager" or output_attentions or head_mask is not None or relative:
            context, probs = self._eager(query, key, value, attention_mask, head_mask, past_length)
        else:
            context, probs = self._sdpa(query, key, value, attention_mask), None
        batch, _, length, _ = context.shape
        context = context.transpose(1, 2).reshape(batch, length, self.all_head_size)  # [B, T, N*D]
        if packed is not None:
            context = packed.pack(context)  # [1, M, N*D]
        return context, (probs if output_attentions else None), (key, value)

    def _eager(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        head_mask: torch.Tensor | None,
        past_length: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.matmul(query, key.transpose(-1, -2))  # [B, N, T, K]
        if self.position_embedding_type != "absolute":
            scores = scores + self._relative_scores(query, key, past_length)
        scores = scores / math.sqrt(self.attention_head_size)
        if attention_mask is not None:
            scores = scores + attention_mask
            scores = scores.clamp_min(torch.finfo(scores.dtype).min)  # fp16: min + negative score -> -inf
        probs = F.softmax(scores, dim=-1)  # [B, N, T, K]
        probs = self.dropout(probs)
        if head_mask is not None:
            probs = probs * head_mask
        return torch.matmul(probs, value), probs  # [B, N, T, D]

    def _sdpa(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> torch.Tensor:
        if attention_mask is not None and attention_mask.dtype != query.dtype:
            # Under autocast the mask was built in the parameters' dtype; narrow it without making -inf.
            attention_mask = attention_mask.clamp_min(torch.finfo(query.dtype).min).to(query.dtype)
        return F.scaled_dot_product_attention(
            query,
            key,
            value,
            attn_mask=attention_mask,
            dropout_p=self.dropout_prob if self.training else 0.0,
        )  # [B, N, T, D]

    def _relative_scores(self, query: torch.Tensor, key: torch.Tensor, past_length: int) -> torch.Tensor:
        """Position scores [B, N, T, K] added to q.k for the relative types (Shaw et al.; Huang et al.).

        Query i sits at absolute position P + i, key j at position j; their distance selects a vector of
        `distance_embedding`. relative_key adds q_i . r_ij; relative_key_query adds k_j . r_ij too.
        """
        length, key_length = query.shape[2], key.shape[2]
        left = torch.arange(past_length, past_length + length, dtype=torch.long, device=query.device).view(
            -1, 1
        )
        right = torch.arange(key_length, dtype=torch.long, device=query.device).view(1, -1)
        distance = left - right  # [T, K]
        positional = self.distance_embedding(distance + self.max_position_embeddings - 1).to(
            query.dtype
        )  # [T, K, D]
        scores = torch.einsum("bhld,lrd->bhlr", query, positional)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + torch.einsum("bhrd,lrd->bhlr", key, positional)
        return scores


class BertSelfOutput(nn.Module):
    """Projection of the attention context back to H, dropout, residual connection, LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        """hidden_states: [B, T, N*D] attention context; input_tensor: [B, T, H] the block's input."""
        hidden_states = self.dropout(self.dense(hidden_states))
        return self.LayerNorm(hidden_states + input_tensor)  # [B, T, H]


class BertAttention(nn.Module):
    """One attention block: `self` (the heads) and `output` (projection + residual + LayerNorm).

    `pruned_heads` records the heads removed by `bert_pt.surgery.prune_attention_heads` (numbered as in
    the unpruned model).
    """

    def __init__(
        self, config: BertConfig, position_embedding_type: str | None = None, is_cross_attention: bool = False
    ) -> None:
        super().__init__()
        # layers
        self.self = BertSelfAttention(config, position_embedding_type, is_cross_attention)
        self.output = BertSelfOutput(config)
        # config
        self.pruned_heads: set[int] = set()

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        output_attentions: bool = False,
        past_length: int = 0,
        packed: PackedBatch | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KeyValue]:
        """Returns (output [B, T, H] ([1, M, H] with `packed`), probabilities [B, N, T, K] or None,
        (keys, values) to cache)."""
        context, probs, present = self.self(
            hidden_states,
            attention_mask,
            head_mask,
            encoder_hidden_states,
            past_key_value,
            output_attentions,
            past_length,
            packed,
        )
        return self.output(context, hidden_states), probs, present
