"""Canonical weights <-> the parameters of a PyTorch BERT module.

The mapping is the "pt" column of the name table (`conversion.names`): for PyTorch it is the identity on
names and never transposes, because the modules of `bert_pt` carry the Transformers state-dict names.
The module itself is the `conversion.loading.WeightAdapter` of the PyTorch twin:

    expected_shapes(model) -> {canonical name: shape}   what the module owns (aliases excluded)
    assign(model, weights, report)                      copy fitted canonical arrays into its parameters
    to_canonical(model) -> {canonical name: ndarray}    its weights, for saving

What it adds is PyTorch's side of the bargain:

- torch <-> numpy, keeping the dtype (bfloat16, which numpy cannot hold, is widened to float32, exactly);
- aliases: a parameter registered under two names (the MLM decoder weight tied to the word embeddings,
  `cls.predictions.decoder.bias` which is `cls.predictions.bias`) is listed once, under the name that
  Transformers writes to disk; `aliases(model)` maps the other names to it. Whether the decoder is tied
  is decided by `conversion.shapes.tied_weights` (the rule of every twin); the aliases are how PyTorch
  realizes it, and a checkpoint's `cls.predictions.decoder.bias` is folded into `cls.predictions.bias` by
  `conversion.canonical.normalize_legacy_names`;
- buffers that are not weights (`embeddings.position_ids`, `embeddings.token_type_ids`) are never listed:
  the twin registers them as non-persistent, and old files that carry them are handled by
  `conversion.canonical.fit_to_model`.

Shape legend: V vocabulary size, H hidden size; dense matrices are `[out, in]` in both the canonical
weights and `torch.nn.Linear`.
Torch is imported inside the functions only (the `conversion` package imports no framework at import time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from conversion.names import POSITION_IDS_BUFFER, from_format, to_format

if TYPE_CHECKING:  # pragma: no cover - for type hints only
    import torch

    from conversion.canonical import LoadReport

FORMAT = "pt"

# Non-persistent buffers of the embeddings; never weights, never written.
_BUFFER_SUFFIXES = (POSITION_IDS_BUFFER, "embeddings.token_type_ids")


def _entries(model: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(canonical name -> tensor, alias -> canonical owner) for every weight of `model`.

    Walks the state dict with `keep_vars=True`, so a Parameter shared by two modules shows up twice as
    the same object; its first name (the one Transformers writes) owns it, the later names are aliases.
    """
    owners: dict[int, str] = {}
    tensors: dict[str, torch.Tensor] = {}
    found: dict[str, str] = {}
    for pt_name, tensor in model.state_dict(keep_vars=True).items():
        if pt_name.endswith(_BUFFER_SUFFIXES):
            continue
        canonical, transpose = from_format(FORMAT, pt_name)
        if transpose:  # pragma: no cover - the "pt" column never transposes; guards a table change
            raise ValueError(
                f"the name table asks to transpose {pt_name!r} for PyTorch; bert_pt stores [out, in]"
            )
        key = id(tensor)
        if key in owners:
            found[canonical] = owners[key]
            continue
        owners[key] = canonical
        tensors[canonical] = tensor
    return tensors, found


def expected_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape of every weight `model` owns (aliases excluded), e.g.
    `bert.embeddings.word_embeddings.weight` -> (V, H)."""
    tensors, _ = _entries(model)
    return {name: tuple(tensor.shape) for name, tensor in tensors.items()}


def aliases(model: torch.nn.Module) -> dict[str, str]:
    """Alias -> owner for parameters registered under two names, e.g.
    `cls.predictions.decoder.weight` -> `bert.embeddings.word_embeddings.weight` when the decoder is tied,
    and `cls.predictions.decoder.bias` -> `cls.predictions.bias` always."""
    _, found = _entries(model)
    return found


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A CPU numpy copy of `tensor`; bfloat16 becomes float32 (exact), other dtypes are kept."""
    import torch

    tensor = tensor.detach().to("cpu")
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy().copy()


def to_canonical(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The canonical weights of `model`: what `model.safetensors` holds (no aliases, no buffers)."""
    tensors, _ = _entries(model)
    return {name: to_numpy(tensor) for name, tensor in tensors.items()}


def assign(
    model: torch.nn.Module, weights: Mapping[str, np.ndarray], report: LoadReport | None = None
) -> None:
    """Copy canonical `weights` into the parameters of `model`.

    Each array is cast to the dtype of the parameter it fills and moved to its device. Every name must be
    a weight of `model` with the same shape (`fit_to_model` guarantees that, and has already recorded
    everything else in `report`; PyTorch adds nothing to it).

    Raises:
        KeyError: a name that is not a weight of `model` (or is an alias of one).
        ValueError: an array whose shape differs from the parameter's.
    """
    import torch

    tensors, found = _entries(model)
    with torch.no_grad():
        for canonical, array in weights.items():
            placement = to_format(FORMAT, canonical)  # the identity for PyTorch (see the module docstring)
            target = tensors.get(placement.name)
            if target is None:
                owner = found.get(placement.name)
                raise KeyError(
                    f"{canonical!r} is not a weight of {type(model).__name__}"
                    + (f" (it is an alias of {owner!r}; assign that instead)" if owner else "")
                )
            value = torch.from_numpy(np.ascontiguousarray(placement.from_canonical(array)))
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"{canonical!r}: checkpoint shape {tuple(value.shape)} does not fit the parameter {tuple(target.shape)}"
                )
            target.copy_(value.to(device=target.device, dtype=target.dtype))
