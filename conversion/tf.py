"""Canonical weights <-> the variables of a bert_tf (Keras 3) model.

The Keras variable paths of bert_tf equal Transformers' TF checkpoint names (format "tf_h5" of
conversion.names) under the model's own name: `tf_bert_for_masked_lm/bert/encoder/layer_._0/attention/
self/query/kernel` is `bert/encoder/layer_._0/attention/self/query/kernel` in the table, which maps it to
`bert.encoder.layer.0.attention.self.query.weight`, transposed. No second name table: every rule comes
from conversion.names.

TensorFlow is imported only inside the functions (via the model handed in).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bert_common.heads import get_head
from conversion.names import TIED_DECODER_WEIGHT, WORD_EMBEDDINGS, from_format, strip_base_prefix

TF_FORMAT = "tf_h5"


@dataclass(frozen=True)
class KerasWeight:
    """One model variable and how it maps to its canonical tensor."""

    canonical: str
    variable: Any
    transpose: bool

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.variable.shape)
        return shape[::-1] if self.transpose else shape


def relative_path(model: Any, variable: Any) -> str:
    """The path of `variable` below `model` (the model's own name scope removed)."""
    prefix = model.path + "/"
    path = variable.path
    if not path.startswith(prefix):
        raise ValueError(f"variable {path!r} does not live under the model's scope {model.path!r}")
    return path[len(prefix) :]


def keras_weights(model: Any) -> dict[str, KerasWeight]:
    """canonical name -> KerasWeight for every variable of `model`.

    Base models (TFBertModel) use canonical names without the `bert.` prefix, as BertModel does; head
    models keep it. Raises if two variables map to one canonical name or a path cannot be placed.
    """
    base_model = get_head(model.head_name).name == "BertModel"
    out: dict[str, KerasWeight] = {}
    for variable in model.weights:
        name, transpose = from_format(TF_FORMAT, relative_path(model, variable))
        if base_model:
            name = strip_base_prefix(name)
        if name in out:
            raise ValueError(f"two variables map to {name!r}: {out[name].variable.path} and {variable.path}")
        out[name] = KerasWeight(name, variable, transpose)
    return out


def expected_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """canonical name -> shape, in the canonical ([out, in]) layout: what fit_to_model needs."""
    return {name: weight.canonical_shape for name, weight in keras_weights(model).items()}


def tied_weights(model: Any) -> dict[str, str]:
    """Canonical names the model ties to another weight (the MLM decoder to the word embeddings)."""
    head = get_head(model.head_name)
    if "cls.predictions." in head.head_prefixes and model.config.tie_word_embeddings:
        return {TIED_DECODER_WEIGHT: "bert." + WORD_EMBEDDINGS}
    return {}


def model_to_canonical(model: Any) -> dict[str, np.ndarray]:
    """The model's weights as canonical float32 numpy arrays (dense matrices [out, in])."""
    state = {}
    for name, weight in keras_weights(model).items():
        value = np.asarray(weight.variable.numpy())
        state[name] = np.ascontiguousarray(value.T if weight.transpose else value)
    return state


def assign_canonical(model: Any, state: Mapping[str, np.ndarray]) -> list[str]:
    """Assign canonical weights to the model's variables; returns the names assigned.

    `state` must already fit the model (see conversion.canonical.fit_to_model): every name a model
    weight, every shape the canonical shape of that weight.
    """
    weights = keras_weights(model)
    assigned = []
    for name, value in state.items():
        if name not in weights:
            raise KeyError(f"{name!r} is not a weight of {type(model).__name__}")
        weight = weights[name]
        value = np.asarray(value)
        if tuple(value.shape) != weight.canonical_shape:
            raise ValueError(
                f"{name}: shape {tuple(value.shape)} does not fit the model's {weight.canonical_shape}"
            )
        weight.variable.assign(
            np.ascontiguousarray(value.T if weight.transpose else value).astype(weight.variable.dtype)
        )
        assigned.append(name)
    return assigned
