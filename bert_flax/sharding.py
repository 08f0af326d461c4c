"""Data parallelism over a `jax.sharding.Mesh`: batches split on their first axis, parameters replicated.

    mesh = data_parallel_mesh()                 # every visible device on one axis "data"
    params = replicate(model.params, mesh)
    batch = shard_batch(batch, mesh)            # [B, ...] arrays split into B / n rows per device
    logits = jax.jit(lambda p, b: model(**b, params=p).logits)(params, batch)

`jax.jit` reads the shardings of its inputs and compiles one SPMD program (gradients are all-reduced by
XLA), so the forward pass and `bert_flax.training.make_train_step` need no change to run sharded.

Shape legend: B batch (split over the devices of the mesh).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def data_parallel_mesh(devices: Sequence[jax.Device] | None = None, axis_name: str = DATA_AXIS) -> Mesh:
    """A one-axis mesh over `devices` (default: all of jax.devices())."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("data_parallel_mesh needs at least one device")
    return Mesh(np.array(devices), (axis_name,))


def shard_batch(batch: Any, mesh: Mesh, axis_name: str = DATA_AXIS) -> Any:
    """Put every array of `batch` (a pytree) on the mesh, split along its first (batch) axis."""
    size = mesh.shape[axis_name]

    def put(x: Any) -> jax.Array:
        x = np.asarray(x) if not isinstance(x, jax.Array) else x
        if x.ndim == 0 or x.shape[0] % size:
            raise ValueError(
                f"cannot split an array of shape {tuple(x.shape)} over {size} devices: its first axis must be a "
                f"multiple of {size}"
            )
        return jax.device_put(x, NamedSharding(mesh, PartitionSpec(axis_name)))

    return jax.tree_util.tree_map(put, batch)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """A copy of `tree` (params, optimizer state, a TrainState) on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))
