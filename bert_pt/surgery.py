"""Operations that change parameter shapes: resizing the token embeddings and pruning attention heads.

A PyTorch-only file: it swaps `torch.nn.Linear` modules in place (the Keras twin reshapes its variables
in bert_tf.attention, the Flax twin returns a new parameter tree); which heads go and which rows stay is
decided in `bert_common.model_api`, once for the three twins. It sits above `attention` (it edits
`BertAttention` blocks) and below `pretrained`, whose `prune_heads` / `resize_token_embeddings` methods
call it.

Shape legend: V vocabulary size, H hidden size, N heads, D head size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from bert_common.model_api import (
    check_heads_to_prune,
    kept_head_index,
    merged_pruned_heads,
    resized_vocab_size,
)
from bert_pt.attention import BertAttention

logger = logging.getLogger("bert_zoo")


# ------------------------------------------------------------------------------------------- pruning


@torch.no_grad()
def prune_linear_layer(layer: nn.Linear, index: torch.Tensor, dim: int = 0) -> nn.Linear:
    """A new Linear keeping the outputs (dim=0) or inputs (dim=1) of `layer` listed in `index`."""
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).clone()  # weight is [out, in]
    bias = None
    if layer.bias is not None:
        bias = layer.bias[index].clone() if dim == 0 else layer.bias.clone()
    out_features, in_features = weight.shape
    new = nn.Linear(
        in_features, out_features, bias=bias is not None, device=weight.device, dtype=weight.dtype
    )
    new.weight.copy_(weight)
    new.weight.requires_grad_(layer.weight.requires_grad)
    if bias is not None:
        new.bias.copy_(bias)
        new.bias.requires_grad_(layer.bias.requires_grad)
    return new


def prune_attention_heads(block: BertAttention, heads: Iterable[int]) -> None:
    """Remove attention heads (numbered as in the unpruned model, already checked by
    `bert_common.model_api.check_heads_to_prune`) from one attention block, in place.

    The query/key/value projections lose the heads' output rows ([N*D, H] -> [(N-n)*D, H]) and the output
    projection the matching input columns; heads pruned before are skipped.
    """
    attention = block.self
    heads = set(heads) - block.pruned_heads
    if not heads:
        return
    num_heads = attention.num_attention_heads + len(block.pruned_heads)  # N of the unpruned model
    index = torch.from_numpy(
        kept_head_index(num_heads, attention.attention_head_size, block.pruned_heads, heads)
    )
    attention.query = prune_linear_layer(attention.query, index, dim=0)
    attention.key = prune_linear_layer(attention.key, index, dim=0)
    attention.value = prune_linear_layer(attention.value, index, dim=0)
    block.output.dense = prune_linear_layer(block.output.dense, index, dim=1)
    attention.num_attention_heads -= len(heads)
    attention.all_head_size = attention.attention_head_size * attention.num_attention_heads
    block.pruned_heads |= heads


def prune_heads(model: nn.Module, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
    """Remove attention heads of a bert_pt model in place: {layer index: [head indices]}, heads numbered as
    in the unpruned model; recorded in `model.config.pruned_heads` (merged with earlier prunes).

    The argument is checked whole before any weight changes (`bert_common.model_api.check_heads_to_prune`,
    the rule of every twin).

    Raises:
        TypeError: heads_to_prune is not a mapping of int -> list of ints.
        ValueError: a layer or head that does not exist, or pruning every head of a layer.
    """
    config = model.config
    layers = model.base_model.encoder.layer
    already = {i: layer.attention.pruned_heads for i, layer in enumerate(layers)}
    new = check_heads_to_prune(heads_to_prune, len(layers), config.num_attention_heads, already)
    for layer_index, heads in new.items():
        prune_attention_heads(layers[layer_index].attention, heads)
    config.pruned_heads = merged_pruned_heads(config.pruned_heads, new)


# ------------------------------------------------------------------------------------------ resizing


@torch.no_grad()
def _resized_matrix(old: torch.Tensor, rows: int, mean_resizing: bool, std: float) -> torch.Tensor:
    """[rows, H]: the first rows of `old`, then new rows at the mean of the old ones (mean_resizing) or
    drawn from N(0, std)."""
    new = torch.empty((rows, old.shape[1]), dtype=old.dtype, device=old.device)
    kept = min(rows, old.shape[0])
    new[:kept] = old[:kept]
    if rows > kept:
        if mean_resizing:
            new[kept:] = old.float().mean(dim=0).to(old.dtype)
        else:
            new[kept:].normal_(mean=0.0, std=std)
    return new


def resize_token_embeddings(
    model: nn.Module,
    new_num_tokens: int | None = None,
    pad_to_multiple_of: int | None = None,
    mean_resizing: bool = True,
) -> nn.Embedding:
    """Give the model a vocabulary of `new_num_tokens` (rounded up to a multiple of `pad_to_multiple_of`).

    Existing rows are kept; new rows start at the mean of the old embeddings (`mean_resizing=True`, so new
    tokens do not skew the MLM softmax) or are drawn from N(0, initializer_range). A tied MLM decoder
    follows the word embeddings; an untied one is resized the same way, and the decoder bias is padded
    with zeros. Updates `config.vocab_size`; returns the new word-embedding module.

    Raises:
        ValueError: new_num_tokens or pad_to_multiple_of that is not a positive int.
    """
    old = model.get_input_embeddings()
    if new_num_tokens is None and pad_to_multiple_of is None:
        return old
    rows = resized_vocab_size(old.num_embeddings, new_num_tokens, pad_to_multiple_of)
    config = model.config
    std = config.initializer_range
    padding_idx = old.padding_idx if old.padding_idx is not None and old.padding_idx < rows else None
    new = nn.Embedding(
        rows, old.embedding_dim, padding_idx=padding_idx, device=old.weight.device, dtype=old.weight.dtype
    )
    with torch.no_grad():
        new.weight.copy_(_resized_matrix(old.weight, rows, mean_resizing, std))
    new.weight.requires_grad_(old.weight.requires_grad)
    model.set_input_embeddings(new)

    predictions = getattr(getattr(model, "cls", None), "predictions", None)
    if predictions is not None:
        decoder = predictions.decoder
        if config.tie_word_embeddings:
            decoder.weight = new.weight
        else:
            decoder.weight = nn.Parameter(_resized_matrix(decoder.weight, rows, mean_resizing, std))
        bias = torch.zeros(rows, dtype=predictions.bias.dtype, device=predictions.bias.device)
        kept = min(rows, predictions.bias.shape[0])
        bias[:kept] = predictions.bias.detach()[:kept]
        predictions.bias = nn.Parameter(bias)
        decoder.bias = predictions.bias
        decoder.out_features = rows
    config.vocab_size = rows
    logger.info("resized the token embeddings from %d to %d rows", old.num_embeddings, rows)
    return new
