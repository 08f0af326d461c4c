"""Canonical weights <-> the variables of a bert_tf (Keras 3) model.

The Keras variable paths of bert_tf equal Transformers' TF checkpoint names (format "tf_h5" of
conversion.names) under the model's own name: `tf_bert_for_masked_lm/bert/encoder/layer_._0/attention/
self/query/kernel` is `bert/encoder/layer_._0/attention/self/query/kernel` in the table, which places it
at `bert.encoder.layer.0.attention.self.query.weight`, transposed. No second name table: every rule
(the name and whether to transpose) comes from conversion.names, as a `Placement`.

The module itself is the `conversion.loading.WeightAdapter` of the Keras twin:

    expected_shapes(model) -> {canonical name: shape}   what the model owns, canonical layout
    assign(model, weights, report)                      put fitted canonical arrays into its variables
    to_canonical(model) -> {canonical name: ndarray}    its weights, for saving

The tied MLM decoder is not a variable of a bert_tf model (the head reads the word-embedding matrix),
so the model never lists it; whether a checkpoint's copy is dropped is decided by
conversion.shapes.tied_weights, the rule of every twin.

Shapes: a Keras kernel is [in, out], the canonical matrix [out, in]; embeddings [V, H] in both.
TensorFlow is not imported here: the functions work on the model handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bert_common.heads import get_head
from conversion.canonical import LoadReport
from conversion.names import Placement, from_format, strip_base_prefix

TF_FORMAT = "tf_h5"


@dataclass(frozen=True)
class KerasWeight:
    """One model variable, its canonical name and how its array moves to and from the canonical layout."""

    canonical: str
    variable: Any  # a keras.Variable
    placement: Placement  # from the "tf_h5" name of the variable to the canonical name

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        shape = tuple(int(d) for d in self.variable.shape)
        return shape[::-1] if self.placement.transpose else shape


def relative_path(model: Any, variable: Any) -> str:
    """The path of `variable` below `model` (the model's own name scope removed).

    Raises:
        ValueError: the variable does not live under the model's scope.
    """
    prefix = model.path + "/"
    path = variable.path
    if not path.startswith(prefix):
        raise ValueError(f"variable {path!r} does not live under the model's scope {model.path!r}")
    return path[len(prefix) :]


def keras_weights(model: Any) -> dict[str, KerasWeight]:
    """canonical name -> KerasWeight for every variable of the bert_tf model `model`.

    Base models (TFBertModel) use canonical names without the `bert.` prefix, as BertModel does; head
    models keep it.

    Raises:
        ValueError: two variables map to one canonical name, or a variable lives outside the model.
        conversion.names.UnmappedNameError: a variable path the name table cannot place.
    """
    base_model = get_head(model.head_name).name == "BertModel"
    out: dict[str, KerasWeight] = {}
    for variable in model.weights:
        placement = from_format(TF_FORMAT, relative_path(model, variable))
        name = strip_base_prefix(placement.name) if base_model else placement.name
        if name in out:
            raise ValueError(f"two variables map to {name!r}: {out[name].variable.path} and {variable.path}")
        out[name] = KerasWeight(name, variable, placement)
    return out


def expected_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """canonical name -> shape, in the canonical ([out, in]) layout: what fit_to_model needs."""
    return {name: weight.canonical_shape for name, weight in keras_weights(model).items()}


def to_canonical(model: Any) -> dict[str, np.ndarray]:
    """The model's weights as canonical numpy arrays (dense matrices [out, in]), in the variables' dtype
    (float32: Keras keeps variables float32 under mixed precision)."""
    return {
        name: np.ascontiguousarray(weight.placement.to_canonical(np.asarray(weight.variable.numpy())))
        for name, weight in keras_weights(model).items()
    }


def assign(model: Any, weights: Mapping[str, np.ndarray], report: LoadReport | None = None) -> None:
    """Assign canonical `weights` to the model's variables (cast to each variable's dtype).

    `weights` must already fit the model (conversion.canonical.fit_to_model has checked them and
    recorded everything else in `report`; Keras adds nothing to it).

    Raises:
        KeyError: a name that is not a weight of the model.
        ValueError: an array whose shape is not the canonical shape of that weight.
    """
    variables = keras_weights(model)
    for name, value in weights.items():
        if name not in variables:
            raise KeyError(f"{name!r} is not a weight of {type(model).__name__}")
        weight = variables[name]
        value = np.asarray(value)
        if tuple(value.shape) != weight.canonical_shape:
            raise ValueError(
                f"{name}: shape {tuple(value.shape)} does not fit the model's {weight.canonical_shape}"
            )
        array = np.ascontiguousarray(weight.placement.from_canonical(value))
        weight.variable.assign(array.astype(weight.variable.dtype))
