"""Transformers' TensorFlow weights file, `tf_model.h5` (Keras 2 `save_weights` layout), via h5py.

Layout, as Transformers writes it:

    attrs: layer_names = ["bert", "mlm___cls", "nsp___cls"]        one group per top-level Keras layer
    /bert  attrs: weight_names = ["tf_bert_for_pre_training/bert/embeddings/word_embeddings/weight:0", ...]
    /bert/tf_bert_for_pre_training/bert/embeddings/word_embeddings/weight:0      the dataset

The first path component of a weight name is the model's own name and the ":0" suffix is Keras' variable
index; both are dropped, and the rest is the "tf_h5" name of conversion.names. A weight shared between
layers (the embeddings appear under the MLM head too) is read once, and written under both. Dense kernels
are stored `[in, out]`; the name table's Placement turns them to and from the canonical `[out, in]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from conversion.formats.errors import CheckpointError
from conversion.names import from_format, to_format

TF_WEIGHTS_NAME = "tf_model.h5"


def _strip(weight_name: str) -> str:
    name = weight_name.split("/", 1)[1] if "/" in weight_name else weight_name
    return re.sub(r":\d+$", "", name)


def read_tf_h5(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Canonical weights from a Transformers `tf_model.h5` (dense kernels transposed back to [out, in]).

    Names come back with the "bert." prefix of head models (see conversion.names.from_format).

    Raises:
        CheckpointError: the file is missing, not HDF5, not a Keras weights file, or lists a weight
            without data.
        UnmappedNameError: a weight name the table cannot place.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"TF weights file not found: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise CheckpointError(f"{path} is not a readable HDF5 file (truncated or corrupt): {err}") from None
    out: dict[str, np.ndarray] = {}
    with handle:
        if "layer_names" not in handle.attrs:
            raise CheckpointError(f"{path} has no 'layer_names' attribute; it is not a Keras weights file")
        for layer in _as_str_list(handle.attrs["layer_names"]):
            group = handle[layer]
            for weight_name in _as_str_list(group.attrs.get("weight_names", [])):
                placement = from_format("tf_h5", _strip(weight_name))
                if placement.name in out:
                    continue
                try:
                    value = np.asarray(group[weight_name])
                except KeyError:
                    raise CheckpointError(
                        f"{path}: weight {weight_name!r} is listed but has no data"
                    ) from None
                out[placement.name] = placement.to_canonical(value)
    return out


def write_tf_h5(state: Mapping[str, np.ndarray], path: str | os.PathLike[str], *, model_name: str) -> Path:
    """Write canonical weights as a `tf_model.h5` that Transformers' TF classes load.

    model_name: the Keras model name used as the first path component, e.g. "tf_bert_for_pre_training".
    The tied MLM decoder must already be absent from `state` (Transformers' TF models have none).

    Raises:
        UnmappedNameError: a canonical name the table cannot place.
    """
    import h5py

    path = Path(path)
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for canonical in sorted(state):
        placement = to_format("tf_h5", canonical)
        value = placement.from_canonical(np.asarray(state[canonical]))
        layer = placement.name.split("/", 1)[0]
        groups.setdefault(layer, []).append((f"{model_name}/{placement.name}:0", value))
    if "mlm___cls" in groups and "bert" in groups:
        # Transformers' MLM head holds the (tied) input-embeddings layer, so Keras lists its weights under
        # that head too; its loader expects them there.
        shared = [(n, v) for n, v in groups["bert"] if n.startswith(f"{model_name}/bert/embeddings/")]
        groups["mlm___cls"] += shared
    with h5py.File(path, "w") as handle:
        handle.attrs["backend"] = "tensorflow"
        handle.attrs["keras_version"] = "2.21.0"
        handle.attrs["layer_names"] = np.array([n.encode() for n in groups], dtype="S")
        for layer, weights in groups.items():
            group = handle.create_group(layer)
            group.attrs["weight_names"] = np.array([n.encode() for n, _ in weights], dtype="S")
            for name, value in weights:
                group.create_dataset(name, data=value)
    return path


def keras_model_name(class_name: str) -> str:
    """Keras 2's automatic layer name for a class: "TFBertForPreTraining" -> "tf_bert_for_pre_training"."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", class_name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def _as_str_list(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
