"""Torch conversions for the PyTorch tests: numpy batches (tests/common/head_spec.py) to tensors, outputs
back to numpy. Configs, batches, labels and expected shapes come from tests/helpers.py and head_spec."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from tests.helpers import max_abs_diff


def tensors(arrays: Mapping[str, np.ndarray], device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """numpy arrays -> torch tensors on `device`; int32/int64 arrays become torch.long (PyTorch's id
    dtype), everything else keeps its dtype (so a test can hand a twin uint8 ids)."""
    out = {}
    for name, array in arrays.items():
        array = np.asarray(array)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if array.dtype in (np.int32, np.int64):
            tensor = tensor.long()
        out[name] = tensor.to(device)
    return out


def to(inputs: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def numpy(x) -> np.ndarray:
    """A float numpy copy of a tensor (arrays pass through)."""
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def fields(output) -> dict[str, torch.Tensor]:
    """Every tensor of an output, tuples flattened to `name.i` (the reference files' keys)."""
    out = {}
    for name, value in output.items():
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif name in ("hidden_states", "attentions", "cross_attentions"):
            out.update({f"{name}.{i}": v for i, v in enumerate(value)})
    return out


def worst_diff(a: dict, b: dict) -> tuple[float, str]:
    """(largest max-abs-diff, its field) over the fields of `b`; `a` must hold each of them."""
    diffs = {k: max_abs_diff(numpy(a[k]), numpy(v)) for k, v in b.items()}
    key = max(diffs, key=diffs.get)
    return diffs[key], key
