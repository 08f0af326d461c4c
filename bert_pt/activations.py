"""The activation functions a BertConfig can name (`hidden_act`), as fresh torch modules.

Shape legend: any shape in, the same shape out (the functions are element-wise).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bert_common.config import SUPPORTED_ACTIVATIONS


class GELUTanh(nn.Module):
    """The tanh approximation of GELU ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the GELU approximation of the original CLIP."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "gelu": nn.GELU,  # exact: 0.5 x (1 + erf(x / sqrt(2)))
    "gelu_new": GELUTanh,
    "gelu_pytorch_tanh": GELUTanh,
    "gelu_fast": GELUTanh,
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "tanh": nn.Tanh,
    "quick_gelu": QuickGELU,
}
if set(_ACTIVATIONS) != set(SUPPORTED_ACTIVATIONS):  # pragma: no cover - guards a config change
    raise ImportError(
        f"bert_pt activations {sorted(_ACTIVATIONS)} differ from the config's {SUPPORTED_ACTIVATIONS}"
    )


def get_activation(name: str) -> nn.Module:
    """A fresh module computing the activation `name` (one of `bert_common.config.SUPPORTED_ACTIVATIONS`).

    Raises:
        ValueError: an activation the config does not support.
    """
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; supported: {SUPPORTED_ACTIVATIONS}")
    return _ACTIVATIONS[name]()
