"""BERT's weight initialization: normal(0, initializer_range) weights, zero biases, unit LayerNorm.

PyTorch builds its layers with `torch.nn.Linear` / `LayerNorm` / `Embedding` directly (the Transformers
tree), so this file holds only the initializers applied to them afterwards (`BertPreTrainedModel.init_weights`).

Shape legend: V vocabulary size, H hidden size (an embedding matrix is [V, H], a dense weight [out, in]).
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def init_bert_weights(module: nn.Module, initializer_range: float) -> None:
    """Initialize the parameters that `module` owns directly (apply it to every module with `Module.apply`).

    Linear: weight ~ N(0, initializer_range), bias = 0. Embedding: weight ~ N(0, initializer_range), the
    padding row = 0. LayerNorm: weight = 1, bias = 0. The MLM output bias is the decoder's bias and
    starts at 0 with it.
    """
    if isinstance(module, nn.Linear):
        module.weight.normal_(mean=0.0, std=initializer_range)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(mean=0.0, std=initializer_range)
        if module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.weight.fill_(1.0)
        module.bias.zero_()


@torch.no_grad()
def zero_padding_rows(model: nn.Module) -> None:
    """Zero the padding row of every embedding (again): a tied decoder initialized after the embeddings
    shares their matrix and would otherwise have overwritten it."""
    for module in model.modules():
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
