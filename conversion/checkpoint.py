"""Reading and writing a pretrained-model directory: config plus canonical weights, any on-disk format.

All three twins load and save through `load_pretrained` / `save_pretrained`, so a directory written by
any twin, or by Hugging Face Transformers (PyTorch), loads in every twin. This module only decides which
file of a directory to read or write (`detect_format`, `read_weights`, `write_weights`); each format is
one module of `conversion.formats`:

    config.json            BertConfig (or Google's bert_config.json when reading)
    model.safetensors      formats/safetensors.py: canonical weights (sharded with an index when large)
    pytorch_model.bin      formats/pytorch_bin.py: torch.load(weights_only=True), when there is no safetensors
    tf_model.h5            formats/tf_h5.py: Transformers' TF weights (h5py), when there is neither
    flax_model.msgpack     formats/flax_msgpack.py: Transformers' Flax weights (msgpack)
    bert_model.ckpt.*      formats/google_tf1.py: Google's TF1 checkpoints, optimizer state skipped

Whatever the format, `read_checkpoint` then checks what was read (conversion.canonical.check_weights):
a weight that is not floating point is refused, one holding NaN or Inf is named in a warning; a shard
index may only name files inside its directory. `save_pretrained` writes a whole directory atomically
(conversion.formats.atomic).

Weights are `dict[canonical name, numpy.ndarray]`, dense matrices `[out, in]` (e.g. `[H, H]`, `[I, H]`),
embeddings `[V, H]`, whatever the file stores.
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import CONFIG_NAME, GOOGLE_CONFIG_NAME, BertConfig
from bert_common.files import ModelNotFoundError, resolve_model_dir
from conversion.canonical import check_weights
from conversion.formats.atomic import atomic_directory
from conversion.formats.flax_msgpack import FLAX_WEIGHTS_NAME
from conversion.formats.pytorch_bin import PT_WEIGHTS_NAME
from conversion.formats.safetensors import (
    DEFAULT_MAX_SHARD_SIZE,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    read_safetensors,
    shard_files,
    write_safetensors,
)
from conversion.formats.tf_h5 import TF_WEIGHTS_NAME

logger = logging.getLogger("bert_zoo")

# What a loader fetches from the hub: the config and every weight layout it can read.
PRETRAINED_PATTERNS = [
    CONFIG_NAME,
    GOOGLE_CONFIG_NAME,
    SAFE_WEIGHTS_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    "model-*-of-*.safetensors",
]
FALLBACK_PATTERNS = [
    PT_WEIGHTS_NAME,
    TF_WEIGHTS_NAME,
    FLAX_WEIGHTS_NAME,
    "bert_model.ckpt.*",
    "vocab.txt",
]


DISK_FORMATS = ("safetensors", "pytorch", "tf-h5", "flax-msgpack", "google-tf1")
WEIGHT_FILE_NAMES = {
    "safetensors": SAFE_WEIGHTS_NAME,
    "pytorch": PT_WEIGHTS_NAME,
    "tf-h5": TF_WEIGHTS_NAME,
    "flax-msgpack": FLAX_WEIGHTS_NAME,
    "google-tf1": "bert_model.ckpt",
}


def detect_format(directory: str | os.PathLike[str]) -> str:
    """The weights format stored in `directory` (one of DISK_FORMATS), preferring safetensors, then
    PyTorch, TF, Flax, Google TF1.

    Raises:
        ModelNotFoundError: `directory` holds no weights file of any format.
        CheckpointError: several TF1 checkpoints and none named `bert_model.ckpt`.
    """
    from conversion.formats.google_tf1 import find_tf1_checkpoint

    directory = Path(directory)
    if (directory / SAFE_WEIGHTS_INDEX_NAME).is_file() or (directory / SAFE_WEIGHTS_NAME).is_file():
        return "safetensors"
    for fmt in ("pytorch", "tf-h5", "flax-msgpack"):
        if (directory / WEIGHT_FILE_NAMES[fmt]).is_file():
            return fmt
    if directory.is_dir() and find_tf1_checkpoint(directory) is not None:
        return "google-tf1"
    present = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
    raise ModelNotFoundError(
        f"{directory}: no model weights found (looked for {SAFE_WEIGHTS_NAME}, {SAFE_WEIGHTS_INDEX_NAME}, "
        f"{PT_WEIGHTS_NAME}, tf_model.h5, flax_model.msgpack, bert_model.ckpt.index); the directory holds {present}"
    )


@dataclass
class WeightsFile:
    """What `read_checkpoint` read: canonical weights and where they came from.

    state: {canonical name: array}, floating point. file_name: the file (or index, or TF1 prefix) read.
    skipped: optimizer-state names a Google TF1 checkpoint held (not in `state`). nonfinite: names of
    weights holding NaN or Inf (already warned about).
    """

    state: dict[str, np.ndarray]
    file_name: str
    skipped: list[str] = field(default_factory=list)
    nonfinite: list[str] = field(default_factory=list)


def read_checkpoint(directory: str | os.PathLike[str], fmt: str = "auto") -> WeightsFile:
    """Read the weights stored in `directory` and check them (`conversion.canonical.check_weights`).

    fmt: one of DISK_FORMATS, or "auto" (default) to detect (safetensors first). Every format passes
    the same checks here: a weight that is not floating point is refused, one holding NaN or Inf is
    named in a warning (and listed in `nonfinite`).

    Raises:
        ValueError: unknown `fmt`.
        ModelNotFoundError: no weights of the format in `directory`.
        CheckpointError: a truncated, corrupt or inconsistent file; a shard outside `directory`; a
            weight whose dtype is not floating point (named with its dtype and file).
        ImportError: the format needs a library that is not installed (torch, h5py, msgpack, tensorflow).
    """
    directory = Path(directory)
    if fmt == "auto":
        fmt = detect_format(directory)
    skipped: list[str] = []
    shard_of: Mapping[str, str] = {}
    if fmt == "safetensors":
        state = read_safetensors(directory)
        sharded = (directory / SAFE_WEIGHTS_INDEX_NAME).is_file()
        file_name = SAFE_WEIGHTS_INDEX_NAME if sharded else SAFE_WEIGHTS_NAME
        shard_of = shard_files(directory) if sharded else {}  # name each shard in the messages
    elif fmt == "pytorch":
        from conversion.formats.pytorch_bin import read_pytorch_bin

        state, file_name = read_pytorch_bin(directory / PT_WEIGHTS_NAME), PT_WEIGHTS_NAME
    elif fmt == "tf-h5":
        from conversion.formats.tf_h5 import read_tf_h5

        state, file_name = read_tf_h5(directory / TF_WEIGHTS_NAME), TF_WEIGHTS_NAME
    elif fmt == "flax-msgpack":
        from conversion.formats.flax_msgpack import read_flax_msgpack

        state, file_name = read_flax_msgpack(directory / FLAX_WEIGHTS_NAME), FLAX_WEIGHTS_NAME
    elif fmt == "google-tf1":
        from conversion.formats.google_tf1 import find_tf1_checkpoint, read_google_tf1

        prefix = find_tf1_checkpoint(directory)
        if prefix is None:
            raise ModelNotFoundError(f"{directory}: no Google TF1 checkpoint (bert_model.ckpt.index)")
        state, skipped = read_google_tf1(prefix)
        file_name = prefix.name
    else:
        raise ValueError(f"unknown weights format {fmt!r}; known formats: auto, {', '.join(DISK_FORMATS)}")
    nonfinite = check_weights(state, lambda name: str(directory / shard_of.get(name, file_name)))
    return WeightsFile(state, file_name, skipped, nonfinite)


def read_weights(directory: str | os.PathLike[str], fmt: str = "auto") -> tuple[dict[str, np.ndarray], str]:
    """(canonical weights, file they came from) for the weights stored in `directory`: `read_checkpoint`
    without the details. `pytorch_model.bin` is loaded with weights_only=True; Google TF1 optimizer
    state is skipped and logged by name.

    Raises:
        See `read_checkpoint`.
    """
    read = read_checkpoint(directory, fmt)
    return read.state, read.file_name


def write_weights(
    state: Mapping[str, np.ndarray],
    directory: str | os.PathLike[str],
    fmt: str,
    *,
    model_class: str = "BertModel",
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
) -> list[Path]:
    """Write canonical weights to `directory` in `fmt` ("safetensors", "pytorch", "tf-h5", "flax-msgpack").

    model_class: the head the weights belong to (names the Keras model inside tf_model.h5).
    max_shard_size: safetensors only; bytes or a string such as "5GB" (the default).

    Raises:
        ValueError: unknown `fmt`, or "google-tf1" (a source format only).
        ImportError: the format needs a library that is not installed (torch, h5py, msgpack).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if fmt == "safetensors":
        return write_safetensors(state, directory, max_shard_size=max_shard_size)
    if fmt == "pytorch":
        from conversion.formats.pytorch_bin import write_pytorch_bin

        return [write_pytorch_bin(state, directory / PT_WEIGHTS_NAME)]
    if fmt == "tf-h5":
        from conversion.formats.tf_h5 import keras_model_name, write_tf_h5

        return [
            write_tf_h5(state, directory / TF_WEIGHTS_NAME, model_name=keras_model_name("TF" + model_class))
        ]
    if fmt == "flax-msgpack":
        from conversion.formats.flax_msgpack import write_flax_msgpack

        return [write_flax_msgpack(state, directory / FLAX_WEIGHTS_NAME)]
    if fmt == "google-tf1":
        raise ValueError(
            "google-tf1 is a source format only; convert to safetensors, pytorch, tf-h5 or flax-msgpack"
        )
    raise ValueError(f"unknown weights format {fmt!r}; known formats: {', '.join(DISK_FORMATS)}")


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
    revision, cache_dir, local_files_only, token: hub resolution, as in huggingface_hub.

    Raises:
        ModelNotFoundError: no such directory or hub repository, or no weights in it.
        TypeError: both `config` and config overrides.
        CheckpointError: a truncated, corrupt or inconsistent weights file.
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
        # A hub repository without safetensors: fetch the other layouts it may have.
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


def replaced_by_save(name: str) -> bool:
    """Whether `save_pretrained` supersedes the entry `name` of an existing checkpoint directory:
    config.json and every safetensors layout (single, index, shards). Other files stay."""
    return name in (CONFIG_NAME, SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME) or bool(
        fnmatch.fnmatchcase(name, "model-*-of-*.safetensors")
    )


def save_pretrained(
    directory: str | os.PathLike[str],
    config: BertConfig,
    state: Mapping[str, np.ndarray],
    *,
    architecture: str | None = None,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
) -> list[Path]:
    """Write `config.json` and the canonical weights, atomically; returns the files written.

    architecture: the Transformers class name recorded in `config.architectures` (e.g. "BertForMaskedLM").
    max_shard_size: bytes or a string such as "5GB" (the default); larger weights are sharded.

    Every twin saves through here. The files are written into a hidden folder beside `directory` and
    replace it in one atomic step (conversion.formats.atomic), so a crash or kill at any moment leaves
    the previous checkpoint whole; other files of an existing `directory` (tokenizer, other formats)
    are kept; files get the umask's usual mode (0644 under umask 022).

    Raises:
        NotADirectoryError: `directory` is an existing file.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"save_pretrained needs a directory, {directory} is a file")
    if architecture is not None:
        config = config.copy()
        config.architectures = [architecture]
    with atomic_directory(directory, replaces=replaced_by_save) as staging:
        written = [config.save_pretrained(staging)]
        written += write_safetensors(state, staging, max_shard_size=max_shard_size)
    return [directory / path.relative_to(staging) for path in written]
