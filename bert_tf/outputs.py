"""Make the output classes of bert_common tree nodes for Keras, and give the functional API a dict.

Keras walks the structures a model returns with its tree utilities (optree, namespace "keras"): in
`fit` / `evaluate` to build losses and metrics, and in the functional API to turn a symbolic call's
result into KerasTensors. Registering the output dataclasses there lets `call` return them as they are.
Their children are the fields that are not None (a field left None, e.g. `loss` without labels, is no
leaf: Keras requires every leaf of a symbolic call's result to be a tensor).

On KerasTensors (`model(keras.Input(...))`, the functional API) a model returns the plain dict of those
fields (`symbolic_as_dict`), e.g. `{"logits": KerasTensor [B, Y]}`, which `keras.Model(inputs, outputs)`
takes and a `.keras` file stores; with `return_dict=False`, the tuple of the same fields.
A framework-only file (Keras' tree registry); the Flax twin registers the same classes with JAX's.
Shape legend: B batch, Y labels.
"""

from __future__ import annotations

import contextlib
from typing import Any

import keras
import optree

from bert_common.outputs import OUTPUT_CLASSES, ModelOutput

# The optree namespace Keras 3 registers its own nodes in (keras/src/tree/optree_impl.py).
KERAS_TREE_NAMESPACE = "keras"


def _flatten(output: ModelOutput) -> tuple[tuple, tuple[str, ...]]:
    """(the fields that are not None, their names): the names are the node's static metadata, and
    `cls.unflatten` leaves the other fields None."""
    names = tuple(output.keys())
    return tuple(getattr(output, name) for name in names), names


def symbolic_as_dict(output: Any) -> Any:
    """`output` as a dict of its fields when it is an output dataclass holding KerasTensors (a symbolic
    call, as in the functional API); anything else unchanged."""
    if isinstance(output, ModelOutput) and any(
        isinstance(leaf, keras.KerasTensor) for leaf in keras.tree.flatten(output)
    ):
        return output.to_dict()
    return output


def register_output_classes() -> None:
    """Register every bert_common output class with Keras' tree utilities (idempotent)."""
    for cls in OUTPUT_CLASSES:
        with contextlib.suppress(ValueError):  # already registered (module reloaded)
            optree.register_pytree_node(cls, _flatten, cls.unflatten, namespace=KERAS_TREE_NAMESPACE)


register_output_classes()
