"""`pytorch_model.bin`: the legacy PyTorch weights file, a pickled {canonical name: tensor} dict.

The names and layouts are the canonical ones (dense matrices `[out, in]`), so nothing is renamed or
transposed. Reading uses `torch.load(weights_only=True)`, which refuses arbitrary pickled code; both
directions import PyTorch lazily.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from conversion.formats.errors import CheckpointError

PT_WEIGHTS_NAME = "pytorch_model.bin"


def write_pytorch_bin(state: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write canonical weights as a legacy `pytorch_model.bin` (a pickled dict of tensors).

    Raises:
        ImportError: PyTorch is not installed.
    """
    try:
        import torch
    except ImportError:
        raise ImportError("writing pytorch_model.bin needs PyTorch: pip install 'bert-zoo[torch]'") from None
    tensors = {name: torch.from_numpy(np.ascontiguousarray(value)).clone() for name, value in state.items()}
    torch.save(tensors, str(path))
    return Path(path)


def read_pytorch_bin(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Tensors of a legacy `pytorch_model.bin`, loaded with `weights_only=True` (no arbitrary code).

    Returns {name: array} in the stored dtype, except bf16, which comes back as fp32 (exact).

    Raises:
        ImportError: PyTorch is not installed.
        CheckpointError: the file is truncated, corrupt, or not a dict of tensors; or unsafe: a pickle
            that needs a global torch's weights-only unpickler blocks (the message names it and the file).
    """
    try:
        import torch
    except ImportError:
        raise ImportError(f"reading {path} needs PyTorch: pip install 'bert-zoo[torch]'") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated/corrupt/unsafe pickles
        raise CheckpointError(_load_failure(path, err)) from None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, expected a state dict")
    out = {}
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{path}: entry {name!r} is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        out[name] = tensor.numpy()
    return out


# torch's two spellings of a refused global: "Unsupported global: GLOBAL numpy...._reconstruct was not an
# allowed global" and "Trying to load unsupported GLOBAL posix.system whose module posix is blocked".
_BLOCKED_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _load_failure(path: str | os.PathLike[str], err: Exception) -> str:
    """The first line of the error for a file torch.load(weights_only=True) could not read.

    A refused pickle names the blocked global and the file first. torch's own advice (retry with
    weights_only=False, or allowlist the global) is left out: both disable the protection.
    """
    text = str(err)
    if "Weights only load failed" in text or "weights_only" in text:
        blocked = _BLOCKED_GLOBAL.search(text)
        what = f"the global {blocked.group(1)}" if blocked else "a construct that is not plain tensors"
        return (
            f"{path}: refused to load: the pickle needs {what}, which a weights file never needs (a pickle "
            "that imports it can run code); pytorch_model.bin is only read with torch.load(weights_only=True). "
            "Use a safetensors copy of these weights, or rebuild the file from a trusted source"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return f"{path} could not be read as a PyTorch weights file (truncated or corrupt?): {first}"
