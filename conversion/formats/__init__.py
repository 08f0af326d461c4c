"""The on-disk formats of BERT weights, one file each; all read to and write from the canonical weights.

    safetensors.py    model.safetensors (+ shards and index)   the canonical weights as they are
    pytorch_bin.py    pytorch_model.bin                         canonical names, torch.load(weights_only)
    tf_h5.py          tf_model.h5 (Transformers' Keras 2)       "tf_h5" names, dense kernels [in, out]
    flax_msgpack.py   flax_model.msgpack (Transformers' Flax)   "flax" names, dense kernels [in, out]
    google_tf1.py     bert_model.ckpt.* (google-research/bert)  "tf1" names, read only
    errors.py         CheckpointError, raised by all of them for a bad file
    atomic.py         atomic_directory: a checkpoint directory written whole or not at all

Each reader returns `dict[canonical name, numpy.ndarray]` and each writer takes one; names and layouts
come from `conversion.names` (a Placement per tensor), never from the format module. Choosing the format
of a directory is `conversion.checkpoint`'s job. The safetensors functions are re-exported here (the
format every twin saves); the other formats import their libraries (torch, h5py, msgpack, tensorflow)
only when called.
"""

from __future__ import annotations

from conversion.formats.errors import CheckpointError
from conversion.formats.safetensors import (
    DEFAULT_MAX_SHARD_SIZE,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    has_safetensors,
    parse_size,
    read_safetensors,
    read_safetensors_file,
    write_safetensors,
)

__all__ = [
    "DEFAULT_MAX_SHARD_SIZE",
    "SAFE_WEIGHTS_INDEX_NAME",
    "SAFE_WEIGHTS_NAME",
    "CheckpointError",
    "has_safetensors",
    "parse_size",
    "read_safetensors",
    "read_safetensors_file",
    "write_safetensors",
]
