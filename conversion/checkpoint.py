"""Reading and writing a pretrained-model directory: config plus canonical weights.

All three twins load and save through these two functions, so a directory written by any twin, or by
Hugging Face Transformers (PyTorch), loads in every twin:

    config.json            BertConfig (or Google's bert_config.json when reading)
    model.safetensors      canonical weights (sharded with model.safetensors.index.json when large)
    pytorch_model.bin      read only, with torch.load(weights_only=True), when there is no safetensors file
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import CONFIG_NAME, GOOGLE_CONFIG_NAME, BertConfig
from bert_common.files import ModelNotFoundError, resolve_model_dir
from conversion.formats import (
    DEFAULT_MAX_SHARD_SIZE,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    CheckpointError,
    read_safetensors,
    write_safetensors,
)

logger = logging.getLogger("bert_zoo")

PT_WEIGHTS_NAME = "pytorch_model.bin"
PT_WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"

# What a loader fetches from the hub: the config and every weight layout it can read.
PRETRAINED_PATTERNS = [
    CONFIG_NAME,
    GOOGLE_CONFIG_NAME,
    SAFE_WEIGHTS_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    "model-*-of-*.safetensors",
]
FALLBACK_PATTERNS = [PT_WEIGHTS_NAME, PT_WEIGHTS_INDEX_NAME, "pytorch_model-*-of-*.bin"]


def read_weights(directory: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], str]:
    """(canonical weights, file they came from) for the weights stored in `directory`.

    Prefers safetensors; falls back to `pytorch_model.bin` (needs torch; loaded with weights_only=True).
    """
    directory = Path(directory)
    if (directory / SAFE_WEIGHTS_INDEX_NAME).is_file():
        return read_safetensors(directory), SAFE_WEIGHTS_INDEX_NAME
    if (directory / SAFE_WEIGHTS_NAME).is_file():
        return read_safetensors(directory), SAFE_WEIGHTS_NAME
    if (directory / PT_WEIGHTS_NAME).is_file():
        return read_pytorch_bin(directory / PT_WEIGHTS_NAME), PT_WEIGHTS_NAME
    present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    raise ModelNotFoundError(
        f"{directory}: no model weights found (looked for {SAFE_WEIGHTS_NAME}, {SAFE_WEIGHTS_INDEX_NAME}, "
        f"{PT_WEIGHTS_NAME}); the directory holds {present}"
    )


def read_pytorch_bin(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Tensors of a legacy `pytorch_model.bin`, loaded with `weights_only=True` (no arbitrary code)."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"reading {path} needs PyTorch: pip install 'bert-zoo[torch]'") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated/corrupt/unsafe pickles
        raise CheckpointError(
            f"{path} could not be read as a PyTorch weights file (weights_only=True): {err}"
        ) from None
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


def load_pretrained(
    name_or_path: str | os.PathLike[str],
    *,
    config: BertConfig | None = None,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    **config_overrides: Any,
) -> tuple[BertConfig, dict[str, np.ndarray], str]:
    """(config, canonical weights, description of the source) for a directory or hub id.

    config: use this config instead of the directory's (config_overrides must then be empty).
    config_overrides: known BertConfig fields that replace the stored values (e.g. num_labels=3).
    """
    directory = resolve_model_dir(
        name_or_path,
        allow_patterns=PRETRAINED_PATTERNS,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
    )
    if (
        not any((directory / n).is_file() for n in (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME))
        and not Path(name_or_path).is_dir()
    ):
        # A hub repository that only has the legacy PyTorch pickle.
        directory = resolve_model_dir(
            name_or_path,
            allow_patterns=[*PRETRAINED_PATTERNS, *FALLBACK_PATTERNS],
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
        )
    if config is None:
        config = BertConfig.from_pretrained(directory, **config_overrides)
    elif config_overrides:
        raise TypeError(
            f"pass either a config or config overrides, not both (got overrides {sorted(config_overrides)})"
        )
    state, file_name = read_weights(directory)
    return config, state, f"{directory / file_name}"


def save_pretrained(
    directory: str | os.PathLike[str],
    config: BertConfig,
    state: Mapping[str, np.ndarray],
    *,
    architecture: str | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
) -> list[Path]:
    """Write `config.json` and the canonical weights; returns the files written.

    architecture: the Transformers class name recorded in `config.architectures` (e.g. "BertForMaskedLM").
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"save_pretrained needs a directory, {directory} is a file")
    directory.mkdir(parents=True, exist_ok=True)
    if architecture is not None:
        config = config.copy()
        config.architectures = [architecture]
    written = [config.save_pretrained(directory)]
    written += write_safetensors(state, directory, max_shard_size=max_shard_size)
    return written
