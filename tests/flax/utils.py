"""Conversions of the Flax tests: numpy batches to jax arrays, pytrees back to numpy (output fields:
tests.helpers.fields)."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from tests.helpers import max_abs_diff


def to_jax(arrays: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """The numpy arrays of a batch as jax arrays (int64 ids become int32, JAX's default)."""
    return {name: jnp.asarray(value) for name, value in arrays.items()}


def tree_max_diff(a, b) -> float:
    """Largest absolute difference between two pytrees of the same structure."""
    diffs = jax.tree_util.tree_map(
        lambda x, y: max_abs_diff(np.asarray(x, np.float32), np.asarray(y, np.float32)), a, b
    )
    return max(jax.tree_util.tree_leaves(diffs))
