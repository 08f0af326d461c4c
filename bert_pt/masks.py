"""Attention masks: from the users' 0/1 masks to the additive masks the attention adds to its scores.

Shape legend: B batch, T query (new) positions, P cached positions, K key positions (P + T),
S encoder length, L layers, N heads.

The three functions every twin's masks.py has: `self_attention_mask`, `cross_attention_mask`, `head_mask`.

The additive mask holds 0 where a query may attend and `finfo(dtype).min` where it may not, in the
computation dtype, exactly as Transformers builds it: `(1 - mask) * finfo(dtype).min`. Decoders combine
the padding mask with the causal mask (query i, at absolute position P + i, sees keys 0 .. P + i).
"""

from __future__ import annotations

import torch

from bert_common import packing
from bert_common.inputs import check_shape
from bert_pt.inputs import describe


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return (1.0 - allowed.to(dtype)) * torch.finfo(dtype).min


def self_attention_mask(
    attention_mask: torch.Tensor | None,
    batch: int,
    length: int,
    past_length: int,
    causal: bool,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor | None:
    """Additive self-attention mask [B, 1, 1, K] (encoder) or [B, 1, T, K] (decoder, or a 3-D mask); None
    when nothing is masked (an encoder without `attention_mask`).

    attention_mask: [B, K] (1 = real token, 0 = padding; K = P + T) or [B, T, K] per query, or None.
    causal: decoders also hide the keys after each query.
    """
    if attention_mask is None and not causal:
        return None
    key_length = past_length + length
    if attention_mask is None:
        allowed = torch.ones((batch, 1, 1, key_length), dtype=dtype, device=device)
    elif attention_mask.dim() == 3:
        allowed = attention_mask[:, None, :, :].to(dtype)  # [B, 1, T, K]
    else:
        allowed = attention_mask[:, None, None, :].to(dtype)  # [B, 1, 1, K]
    if causal:
        query_positions = torch.arange(past_length, key_length, device=device).view(-1, 1)
        key_positions = torch.arange(key_length, device=device).view(1, -1)
        allowed = allowed * (key_positions <= query_positions).to(dtype)[None, None]  # [B, 1, T, K]
    return _additive(allowed, dtype)


def cross_attention_mask(
    encoder_attention_mask: torch.Tensor | None, dtype: torch.dtype
) -> torch.Tensor | None:
    """Additive cross-attention mask [B, 1, 1, S] (or [B, 1, T, S] from a 3-D mask); None when not given.

    encoder_attention_mask: [B, S] (or [B, T, S]) with 1 for the encoder's real tokens, 0 for its padding.
    """
    if encoder_attention_mask is None:
        return None
    if encoder_attention_mask.dim() == 3:
        return _additive(encoder_attention_mask[:, None, :, :], dtype)
    return _additive(encoder_attention_mask[:, None, None, :], dtype)


def head_mask(
    head_mask: torch.Tensor | None, num_layers: int, num_heads: int, dtype: torch.dtype
) -> list[torch.Tensor | None]:
    """One [1, N, 1, 1] multiplier per layer from a `head_mask` of shape [N] or [L, N] (1 keeps a head,
    0 silences it); a list of None when not given.

    Raises:
        TypeError: a head_mask that is not a torch.Tensor.
        ValueError: a head_mask of another shape.
    """
    if head_mask is None:
        return [None] * num_layers
    check_shape(
        "head_mask",
        describe("head_mask", head_mask),
        (num_heads,),
        (num_layers, num_heads),
        meaning="[num_heads] or [num_layers, num_heads]",
    )
    if head_mask.dim() == 1:
        head_mask = head_mask.unsqueeze(0).expand(num_layers, -1)
    head_mask = head_mask.to(dtype)
    return [head_mask[i].view(1, num_heads, 1, 1) for i in range(num_layers)]


class PackedBatch:
    """Which positions of a [B, T] batch the padding-free path computes (`bert_common.packing`), and
    the gather / scatter between the padded layout [B, T, E] and the packed one [1, M, E].

    attention_mask: [B, T] (the new positions' columns of the user's mask) 0/1 tensor.
    """

    def __init__(self, attention_mask: torch.Tensor) -> None:
        self.batch, self.length = packing.check_packing_mask(attention_mask)
        index = packing.pack_index(attention_mask.detach().to("cpu").numpy())
        self.index = torch.from_numpy(index).to(attention_mask.device)  # [M] flat b * T + t

    @property
    def size(self) -> int:
        """M, the number of packed tokens."""
        return int(self.index.numel())

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, ...] (or [1, T, ...], broadcast over the batch) -> [1, M, ...]."""
        x = x.expand(self.batch, *x.shape[1:])
        flat = x.reshape(self.batch * self.length, *x.shape[2:])
        return flat.index_select(0, self.index).unsqueeze(0)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        """[1, M, E] -> [B, T, E], zeros at the positions not packed."""
        rows = x.reshape(self.size, -1)
        out = rows.new_zeros(self.batch * self.length, rows.shape[1]).index_copy_(0, self.index, rows)
        return out.view(self.batch, self.length, -1)
