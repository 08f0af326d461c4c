"""Transformers' Flax weights file, `flax_model.msgpack` (flax.serialization's msgpack layout).

The file is the param tree, a nested dict such as {"bert": {"encoder": {"layer": {"0": ...}}}, "cls": ...},
packed with msgpack. Arrays are msgpack extension type 1 holding msgpack((shape, dtype name, C-order
bytes)); numpy scalars are extension type 3 with the same payload; arrays over 2**30 bytes are split into a
dict {"__msgpack_chunked_array__": True, "shape": ..., "chunks": {"0": ..., ...}} of flat chunks. This
module reads and writes that layout with msgpack and numpy alone, so no JAX is needed. Dense kernels
are stored `[in, out]`; the name table's Placement turns them to and from the canonical `[out, in]`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from conversion.formats.errors import CheckpointError
from conversion.names import from_format, to_format

FLAX_WEIGHTS_NAME = "flax_model.msgpack"

_EXT_NDARRAY = 1
_EXT_NPSCALAR = 3
_CHUNKED = "__msgpack_chunked_array__"
_MAX_CHUNK = 2**30


class _BadArray(ValueError):
    """An array entry of the msgpack that numpy cannot rebuild (unknown dtype, wrong byte count)."""


def _dtype(name: object) -> np.dtype:
    if name == "bfloat16":
        try:
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        except ImportError:
            raise CheckpointError(
                "this msgpack holds bfloat16 arrays; reading them needs ml_dtypes"
            ) from None
    try:
        return np.dtype(name)
    except TypeError:
        raise _BadArray(f"an array has the unknown dtype {name!r}") from None


def _array_from_ext(data: bytes) -> np.ndarray:
    import msgpack

    try:
        shape, dtype_name, buffer = msgpack.unpackb(data, raw=False)
    except (ValueError, TypeError) as err:
        raise _BadArray(f"an array entry is not (shape, dtype, bytes): {err}") from None
    dtype = _dtype(dtype_name)
    try:
        return np.frombuffer(buffer, dtype=dtype).reshape(shape)
    except (ValueError, TypeError) as err:
        raise _BadArray(
            f"an array of dtype {dtype} and shape {shape} does not fit its bytes: {err}"
        ) from None


def _ext_hook(code: int, data: bytes) -> Any:
    import msgpack

    if code in (_EXT_NDARRAY, _EXT_NPSCALAR):
        array = _array_from_ext(data)
        return array if code == _EXT_NDARRAY else array[()]
    return msgpack.ExtType(code, data)


def _unchunk(tree: Any) -> Any:
    if isinstance(tree, dict):
        if tree.get(_CHUNKED):
            chunks = [np.asarray(tree["chunks"][str(i)]).ravel() for i in range(len(tree["chunks"]))]
            return np.concatenate(chunks).reshape(tree["shape"])
        return {str(k): _unchunk(v) for k, v in tree.items()}
    return tree


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def read_flax_msgpack(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Canonical weights from a Flax `flax_model.msgpack` (kernels transposed back to [out, in]).

    bf16 arrays come back as fp32 (exact); every array is a writable copy.

    Raises:
        CheckpointError: the file is missing, truncated, corrupt, or not a tree of arrays.
        UnmappedNameError: a parameter path the table cannot place.
    """
    import msgpack

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Flax weights file not found: {path}")
    try:
        tree = msgpack.unpackb(path.read_bytes(), ext_hook=_ext_hook, raw=False, strict_map_key=False)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {err}") from None
    except (msgpack.exceptions.ExtraData, msgpack.exceptions.UnpackException, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable Flax msgpack file (truncated or corrupt): {err}"
        ) from None
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path} holds a {type(tree).__name__}, expected a parameter tree")
    tree = tree.get("params", tree) if set(tree) == {"params"} else tree
    out = {}
    for flax_name, value in _flatten(_unchunk(tree)).items():
        if not isinstance(value, np.ndarray):
            raise CheckpointError(f"{path}: entry {flax_name!r} is a {type(value).__name__}, not an array")
        placement = from_format("flax", flax_name)
        value = value.astype(np.float32) if value.dtype.name == "bfloat16" else value
        # frombuffer arrays are read-only views of the file: copy what the transpose did not.
        out[placement.name] = np.require(placement.to_canonical(value), requirements=("C", "W"))
    return out


def _ext_default(obj: Any) -> Any:
    import msgpack

    if isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        payload = msgpack.packb((list(array.shape), array.dtype.name, array.tobytes("C")), use_bin_type=True)
        return msgpack.ExtType(_EXT_NDARRAY if isinstance(obj, np.ndarray) else _EXT_NPSCALAR, payload)
    raise TypeError(f"cannot serialize {type(obj).__name__} into a Flax msgpack file")


def _chunk(array: np.ndarray) -> Any:
    if array.nbytes <= _MAX_CHUNK:
        return array
    flat = array.ravel()
    per = max(1, _MAX_CHUNK // array.itemsize)
    chunks = {str(i): flat[start : start + per] for i, start in enumerate(range(0, flat.size, per))}
    return {_CHUNKED: True, "shape": list(array.shape), "chunks": chunks}


def write_flax_msgpack(state: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write canonical weights as a `flax_model.msgpack` that Transformers' Flax classes load.

    Arrays over 1 GiB are written in chunks, as flax.serialization does.

    Raises:
        UnmappedNameError: a canonical name the table cannot place.
    """
    import msgpack

    tree: dict[str, Any] = {}
    for canonical in sorted(state):
        placement = to_format("flax", canonical)
        value = placement.from_canonical(np.asarray(state[canonical]))
        node = tree
        *parents, leaf = placement.name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _chunk(value)
    path = Path(path)
    path.write_bytes(msgpack.packb(tree, default=_ext_default, use_bin_type=True))
    return path
