"""Make the output classes of bert_common tree nodes for Keras.

Keras walks the structures a model returns with its tree utilities (optree, namespace "keras"): in
`fit` / `evaluate` to build losses and metrics, and in the functional API to turn a symbolic call's
result into KerasTensors. Registering the output dataclasses there lets `call` return them as they are.
A framework-only file (Keras' tree registry); the Flax twin registers the same classes with JAX's.
Shape legend: none (no tensors here).
"""

from __future__ import annotations

import contextlib

import optree

from bert_common.outputs import OUTPUT_CLASSES, ModelOutput

# The optree namespace Keras 3 registers its own nodes in (keras/src/tree/optree_impl.py).
KERAS_TREE_NAMESPACE = "keras"


def _flatten(output: ModelOutput) -> tuple[tuple, tuple[str, ...]]:
    return output.flatten()


def register_output_classes() -> None:
    """Register every bert_common output class with Keras' tree utilities (idempotent)."""
    for cls in OUTPUT_CLASSES:
        with contextlib.suppress(ValueError):  # already registered (module reloaded)
            optree.register_pytree_node(cls, _flatten, cls.unflatten, namespace=KERAS_TREE_NAMESPACE)


register_output_classes()
