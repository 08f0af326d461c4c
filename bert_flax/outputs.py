"""The shared output classes (bert_common.outputs, and bert_common.generation.GenerateOutput), registered as
JAX pytrees so they pass through `jax.jit`, `jax.grad` and `jax.tree_util`.

Framework-only: JAX needs its own registration of every class a jitted function returns.

Fields left as None stay None (static structure); tuples of hidden states or attentions are subtrees.
"""

from __future__ import annotations

import contextlib

import jax

from bert_common.generation import GenerateOutput
from bert_common.outputs import OUTPUT_CLASSES, ModelOutput


def register_output_class(cls: type[ModelOutput]) -> type[ModelOutput]:
    """Register `cls` with jax.tree_util (idempotent); returns `cls`."""
    with contextlib.suppress(ValueError):  # already registered, e.g. when this module is reloaded
        jax.tree_util.register_pytree_node(cls, lambda out: out.flatten(), cls.unflatten)
    return cls


for _cls in (*OUTPUT_CLASSES, GenerateOutput):
    register_output_class(_cls)
