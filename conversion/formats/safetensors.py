"""`model.safetensors`, single file or sharded: the canonical weights as they are.

The canonical weights are a flat `dict[str, numpy.ndarray]` keyed by Transformers PyTorch names
(conversion.names), dense matrices `[out, in]`. `model.safetensors` holds exactly that, so reading and
writing it needs only numpy and safetensors: no name mapping, no transpose. Above `max_shard_size` the
weights are split into `model-0000i-of-0000n.safetensors` with a `model.safetensors.index.json`, the
layout Transformers reads and writes. An index may only name files inside its own directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from conversion.formats.errors import CheckpointError

logger = logging.getLogger("bert_zoo")

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
DEFAULT_MAX_SHARD_SIZE = "5GB"


def parse_size(size: int | str) -> int:
    """Bytes in `size`: an int, or a string such as "5GB", "500MB", "10KiB" (KB = 1000, KiB = 1024).

    Raises:
        ValueError: `size` is not positive or cannot be read.
    """
    if isinstance(size, int) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"shard size must be positive, got {size}")
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)\s*", str(size), flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"cannot read shard size {size!r}; use bytes or a string like '5GB' or '200MB'")
    number, unit = float(match.group(1)), match.group(2).upper()
    base = 1024 if "I" in unit else 1000
    power = "BKMGT".index(unit[0]) if unit[0] != "B" else 0
    result = int(number * base**power)
    if result <= 0:
        raise ValueError(f"shard size must be positive, got {size!r}")
    return result


def has_safetensors(directory: str | os.PathLike[str]) -> bool:
    """Whether `directory` holds `model.safetensors` or a sharded index."""
    directory = Path(directory)
    return (directory / SAFE_WEIGHTS_NAME).is_file() or (directory / SAFE_WEIGHTS_INDEX_NAME).is_file()


def read_safetensors_file(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All tensors of one `.safetensors` file as numpy arrays; bf16 tensors come back as fp32 (exact).

    Raises:
        CheckpointError: the file is missing, truncated or corrupt.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            names = list(handle.keys())
            out: dict[str, np.ndarray] = {}
            for name in names:
                try:
                    value = handle.get_tensor(name)
                except TypeError:  # numpy alone has no bfloat16
                    value = _read_bf16_as_fp32(path, name)
                if value.dtype.name == "bfloat16":  # numpy with ml_dtypes loaded (by TF or JAX) has one
                    value = value.astype(np.float32)
                out[name] = value
    except SafetensorError as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file (truncated or corrupt): {err}"
        ) from None
    return out


def _read_bf16_as_fp32(path: Path, name: str) -> np.ndarray:
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_len))
        info = header[name]
        if info["dtype"] != "BF16":
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {info['dtype']} that numpy cannot hold")
        start, stop = info["data_offsets"]
        handle.seek(8 + header_len + start)
        raw = np.frombuffer(handle.read(stop - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(info["shape"])


def read_safetensors(directory: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The canonical weights stored in `directory` as `model.safetensors` or sharded with an index.

    Returns {canonical name: array} in the stored dtype (bf16 as fp32), dense matrices `[out, in]`.

    Raises:
        CheckpointError: no safetensors file, a corrupt file or index, a shard missing or disagreeing
            with the index, an index naming a file outside `directory` (see `shard_files`).
    """
    directory = Path(directory)
    index_path = directory / SAFE_WEIGHTS_INDEX_NAME
    if index_path.is_file():
        return _read_sharded(index_path)
    single = directory / SAFE_WEIGHTS_NAME
    if not single.is_file():
        raise CheckpointError(f"{directory}: no {SAFE_WEIGHTS_NAME} or {SAFE_WEIGHTS_INDEX_NAME}")
    return read_safetensors_file(single)


def shard_files(directory: str | os.PathLike[str]) -> dict[str, str]:
    """{tensor name: shard file name} of the sharded checkpoint in `directory`, from its index.

    Every file the index names must lie inside `directory`: a relative name without `..` that leaves
    it, and, once symlinks are followed, a file inside `directory` (or, for a huggingface_hub cache
    snapshot, inside that repository's `blobs` folder, where the hub keeps the files the snapshot links).

    Raises:
        CheckpointError: the index is not valid JSON with a `weight_map` of names to file names, or
            names a file outside `directory` (an absolute path, `..`, or a symlink leading out).
    """
    index_path = Path(directory) / SAFE_WEIGHTS_INDEX_NAME
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        weight_map = index["weight_map"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{index_path} is not a valid safetensors index: {err}") from None
    if not isinstance(weight_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in weight_map.items()
    ):
        raise CheckpointError(f"{index_path}: 'weight_map' must map tensor names to shard file names")
    for shard in sorted(set(weight_map.values())):
        _check_inside(index_path, shard)
    return weight_map


def _check_inside(index_path: Path, shard: str) -> None:
    directory = index_path.parent
    pure = PurePosixPath(shard.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(shard).drive or ".." in pure.parts:
        raise CheckpointError(
            f"{index_path} names the shard {shard!r}, a path outside the model directory {directory}; "
            "an index may only name files inside its directory"
        )
    root = directory.resolve()
    roots = [root]
    if (
        root.parent.name == "snapshots"
    ):  # a huggingface_hub cache: snapshots/<commit>/file -> ../../blobs/<sha>
        roots.append(root.parent.parent / "blobs")
    target = (directory / pure).resolve()
    if not any(target.is_relative_to(r) for r in roots):
        raise CheckpointError(
            f"{index_path} names the shard {shard!r}, which resolves to {target}, outside the model "
            f"directory {directory} (a symlink leading out of it); an index may only name files inside"
        )


def _read_sharded(index_path: Path) -> dict[str, np.ndarray]:
    weight_map = shard_files(index_path.parent)
    shards = sorted(set(weight_map.values()))
    missing = [s for s in shards if not (index_path.parent / s).is_file()]
    if missing:
        raise CheckpointError(f"{index_path.parent}: shard file(s) named in the index are missing: {missing}")
    out: dict[str, np.ndarray] = {}
    for shard in _progress(shards, desc="reading shards"):
        tensors = read_safetensors_file(index_path.parent / shard)
        expected = {k for k, v in weight_map.items() if v == shard}
        if set(tensors) != expected:
            extra, absent = sorted(set(tensors) - expected), sorted(expected - set(tensors))
            raise CheckpointError(
                f"{shard} does not match {index_path.name}: not in the index {extra}, missing from the shard {absent}"
            )
        out.update(tensors)
    return out


def write_safetensors(
    state: Mapping[str, np.ndarray],
    directory: str | os.PathLike[str],
    *,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    metadata: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write canonical weights to `directory`; returns the files written.

    One `model.safetensors` when everything fits in `max_shard_size` (default "5GB"), else numbered
    shards plus `model.safetensors.index.json`. Stale weight files of the other layout are removed so
    that a directory never holds two disagreeing copies. `metadata` is added to {"format": "pt"}.

    Raises:
        ValueError: `max_shard_size` cannot be read.
    """
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    limit = parse_size(max_shard_size)
    arrays = {name: np.ascontiguousarray(value) for name, value in state.items()}
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(f"tensor {name!r} is {type(value).__name__}, expected numpy.ndarray")
    meta = {"format": "pt", **(metadata or {})}
    shards: list[dict[str, np.ndarray]] = [{}]
    sizes = [0]
    for name in sorted(arrays):
        nbytes = arrays[name].nbytes
        if sizes[-1] and sizes[-1] + nbytes > limit:
            shards.append({})
            sizes.append(0)
        shards[-1][name] = arrays[name]
        sizes[-1] += nbytes
    for stale in [
        directory / SAFE_WEIGHTS_NAME,
        directory / SAFE_WEIGHTS_INDEX_NAME,
        *directory.glob("model-*-of-*.safetensors"),
    ]:
        stale.unlink(missing_ok=True)
    if len(shards) == 1:
        path = directory / SAFE_WEIGHTS_NAME
        save_file(shards[0], str(path), metadata=meta)
        return [path]
    written = []
    weight_map = {}
    total = len(shards)
    for i, shard in enumerate(_progress(shards, desc="writing shards"), start=1):
        file_name = f"model-{i:05d}-of-{total:05d}.safetensors"
        save_file(shard, str(directory / file_name), metadata=meta)
        written.append(directory / file_name)
        weight_map.update(dict.fromkeys(shard, file_name))
    index = {"metadata": {"total_size": sum(sizes)}, "weight_map": dict(sorted(weight_map.items()))}
    index_path = directory / SAFE_WEIGHTS_INDEX_NAME
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return [*written, index_path]


def _progress(items: list, desc: str):
    """A tqdm bar over `items` when there are several (logging level decides nothing here)."""
    if len(items) < 2:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="file", leave=False)
