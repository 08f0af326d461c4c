"""Canonical weights <-> the parameters of a PyTorch BERT module.

The mapping is the "pt" column of the name table (`conversion.names`): for PyTorch it is the identity on
names and never transposes, because the modules of `bert_pt` carry the Transformers state-dict names. What
this module adds is PyTorch's side of the bargain:

- torch <-> numpy, keeping the dtype (bfloat16, which numpy cannot hold, is widened to float32, exactly);
- aliases: a parameter registered under two names (the MLM decoder weight tied to the word embeddings,
  `cls.predictions.decoder.bias` which is `cls.predictions.bias`) is listed once, under the name that
  Transformers writes to disk; the other names are reported as `tied` (alias -> owner);
- buffers that are not weights (`embeddings.position_ids`, `embeddings.token_type_ids`) are never listed:
  the twin registers them as non-persistent, and old files that carry them are handled by
  `conversion.canonical.fit_to_model`.

Shapes: dense matrices are `[out, in]` in both the canonical weights and `torch.nn.Linear`.
Torch is imported inside the functions only (the `conversion` package imports no framework at import time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from conversion.names import POSITION_IDS_BUFFER, from_format, to_format

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import torch

FORMAT = "pt"

# Non-persistent buffers of the embeddings; never weights, never written.
_BUFFER_SUFFIXES = (POSITION_IDS_BUFFER, "embeddings.token_type_ids")


def _entries(module: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(canonical name -> tensor, alias -> canonical owner) for every weight of `module`.

    Walks the state dict with `keep_vars=True`, so a Parameter shared by two modules shows up twice as
    the same object; its first name (the one Transformers writes) owns it, the later names are aliases.
    """
    owners: dict[int, str] = {}
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    for pt_name, tensor in module.state_dict(keep_vars=True).items():
        if pt_name.endswith(_BUFFER_SUFFIXES):
            continue
        canonical, transpose = from_format(FORMAT, pt_name)
        if transpose:  # the "pt" column never transposes; guard against a table change
            raise ValueError(
                f"the name table asks to transpose {pt_name!r} for PyTorch; bert_pt stores [out, in]"
            )
        key = id(tensor)
        if key in owners:
            aliases[canonical] = owners[key]
            continue
        owners[key] = canonical
        tensors[canonical] = tensor
    return tensors, aliases


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape of every weight `module` owns (aliases excluded)."""
    tensors, _ = _entries(module)
    return {name: tuple(tensor.shape) for name, tensor in tensors.items()}


def tied_weights(module: torch.nn.Module) -> dict[str, str]:
    """Alias -> owner for parameters registered under two names, e.g.
    `cls.predictions.decoder.weight` -> `bert.embeddings.word_embeddings.weight` when the decoder is tied."""
    _, aliases = _entries(module)
    return aliases


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A CPU numpy copy of `tensor`; bfloat16 becomes float32 (exact), other dtypes are kept."""
    import torch

    tensor = tensor.detach().to("cpu")
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy().copy()


def module_to_canonical(module: torch.nn.Module) -> dict[str, np.ndarray]:
    """The canonical weights of `module`: what `model.safetensors` holds (no aliases, no buffers)."""
    tensors, _ = _entries(module)
    return {name: to_numpy(tensor) for name, tensor in tensors.items()}


def load_canonical(module: torch.nn.Module, weights: Mapping[str, np.ndarray]) -> list[str]:
    """Copy canonical `weights` into the parameters of `module`; returns the names assigned.

    Each array is cast to the dtype of the parameter it fills and moved to its device. Every name must be
    a weight of `module` with the same shape (`fit_to_model` guarantees that); anything else raises.
    """
    import torch

    tensors, aliases = _entries(module)
    assigned = []
    with torch.no_grad():
        for canonical, array in weights.items():
            pt_name, transpose = to_format(FORMAT, canonical)
            target = tensors.get(pt_name)
            if target is None:
                owner = aliases.get(pt_name)
                raise KeyError(
                    f"{canonical!r} is not a weight of {type(module).__name__}"
                    + (f" (it is an alias of {owner!r}; assign that instead)" if owner else "")
                )
            value = torch.from_numpy(np.ascontiguousarray(array))
            if transpose:
                value = value.T
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"{canonical!r}: checkpoint shape {tuple(value.shape)} does not fit the parameter {tuple(target.shape)}"
                )
            target.copy_(value.to(device=target.device, dtype=target.dtype))
            assigned.append(canonical)
    return assigned
