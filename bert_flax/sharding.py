"""Data and tensor (model) parallelism over a `jax.sharding.Mesh` with axes ("data", "model").

    mesh = make_mesh(model=2)                    # e.g. 4 devices: 2 (data) x 2 (model)
    state = shard_params(create_train_state(model, adamw(2e-5)), mesh)
    step = make_sharded_train_step(model, state, mesh)
    state, metrics = step(state, batch, rng)     # batch [B, ...] split over "data"

Batches are split on their first axis over "data" (replicated over "model"). Parameters follow
`PARTITION_RULES`, written once by parameter path, Megatron style: the query/key/value projections and
the intermediate dense are split by output column ([H, N*D] by heads, [H, I]), the attention output and
the output dense by input row ([N*D, H], [I, H]); everything else (embeddings, LayerNorms, heads) is
replicated. The rules match the end of a path, so optimizer states (optax's mu/nu trees repeat the
parameter paths) are split like their parameters, and scanned layers (`encoder/layer/scanned/...`, a
leading [L] axis) too. `jax.jit` with these in/out shardings compiles one SPMD program: XLA inserts the
all-reduces of the row-parallel products and of the data-parallel gradients, so the numbers are the
single-device numbers (tests/flax/test_sharding.py: 2x2 and 4x1 meshes within 1e-5 after 3 AdamW steps).

Shape legend: B batch (split over "data"), H hidden size, N attention heads, D head size, I intermediate
size, L layers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from bert_flax.training import make_eval_step, make_train_step

DATA_AXIS = "data"
MODEL_AXIS = "model"

# (regular expression on the end of a "/"-joined parameter path, spec of the parameter's last dims).
PARTITION_RULES: tuple[tuple[str, PartitionSpec], ...] = (
    (r"attention/self/(query|key|value)/kernel$", PartitionSpec(None, MODEL_AXIS)),  # [H, N*D] by heads
    (r"attention/self/(query|key|value)/bias$", PartitionSpec(MODEL_AXIS)),  # [N*D]
    (r"attention/output/dense/kernel$", PartitionSpec(MODEL_AXIS, None)),  # [N*D, H] by heads
    (r"intermediate/dense/kernel$", PartitionSpec(None, MODEL_AXIS)),  # [H, I]
    (r"intermediate/dense/bias$", PartitionSpec(MODEL_AXIS)),  # [I]
    (r"(^|/)output/dense/kernel$", PartitionSpec(MODEL_AXIS, None)),  # [I, H] (attention/ matched above)
)


def make_mesh(data: int | None = None, model: int = 1, devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A ("data", "model") mesh of `data` x `model` devices (default devices: jax.devices(); default
    data: all of them over `model`).

    Raises:
        ValueError: sizes below 1, or data x model not equal to the number of devices.
    """
    devices = list(jax.devices() if devices is None else devices)
    if model < 1 or (data is not None and data < 1):
        raise ValueError(f"mesh axis sizes must be >= 1, got data={data}, model={model}")
    data = len(devices) // model if data is None else data
    if data * model != len(devices) or not devices:
        raise ValueError(
            f"a {data} x {model} (data x model) mesh needs {data * model} devices, got {len(devices)}"
        )
    return Mesh(np.array(devices).reshape(data, model), (DATA_AXIS, MODEL_AXIS))


def data_parallel_mesh(devices: Sequence[jax.Device] | None = None, axis_name: str = DATA_AXIS) -> Mesh:
    """A one-axis mesh over `devices` (default: all of jax.devices())."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("data_parallel_mesh needs at least one device")
    return Mesh(np.array(devices), (axis_name,))


def partition_spec(path: str, shape: Sequence[int], mesh_shape: dict[str, int]) -> PartitionSpec:
    """The PartitionSpec of a leaf at `path` ("/"-joined) with `shape` under PARTITION_RULES: the rule's
    spec for the last dims, None (unsplit) for leading ones; replicated when no rule matches or the mesh
    has no "model" axis.

    Raises:
        ValueError: a split dimension that the "model" axis size does not divide (naming the path).
    """
    size = mesh_shape.get(MODEL_AXIS)
    rule = next((spec for pattern, spec in PARTITION_RULES if re.search(pattern, path)), None)
    if size is None or rule is None or len(shape) < len(rule):
        return PartitionSpec()
    spec = PartitionSpec(*([None] * (len(shape) - len(rule))), *rule)
    for dim, axis in zip(shape, spec):
        if axis == MODEL_AXIS and dim % size:
            raise ValueError(
                f"cannot split {path} of shape {tuple(shape)} over a model axis of {size} devices: {dim} is not "
                f"a multiple of {size} (heads N and intermediate size I must be multiples of the model axis)"
            )
    return spec


def _path_name(path: tuple[Any, ...]) -> str:
    keys = (getattr(key, "key", getattr(key, "name", getattr(key, "idx", key))) for key in path)
    return "/".join(str(key) for key in keys)


def tree_shardings(tree: Any, mesh: Mesh) -> Any:
    """NamedShardings for every leaf of `tree` (params, an optimizer state, a TrainState) by
    `partition_spec`; scalars (the step, counts) are replicated."""

    def sharding(path: tuple[Any, ...], leaf: Any) -> NamedSharding:
        shape = np.shape(leaf)
        return NamedSharding(mesh, partition_spec(_path_name(path), shape, dict(mesh.shape)))

    return jax.tree_util.tree_map_with_path(sharding, tree)


def shard_params(tree: Any, mesh: Mesh) -> Any:
    """`tree` (params, a TrainState) placed on the mesh by `tree_shardings`."""
    return jax.device_put(tree, tree_shardings(tree, mesh))


def batch_sharding(mesh: Mesh, axis_name: str = DATA_AXIS) -> NamedSharding:
    """Split along the first (batch) axis over `axis_name`, replicated over the other mesh axes."""
    return NamedSharding(mesh, PartitionSpec(axis_name))


def shard_batch(batch: Any, mesh: Mesh, axis_name: str = DATA_AXIS) -> Any:
    """Put every array of `batch` (a pytree) on the mesh, split along its first (batch) axis.

    Raises:
        ValueError: an array whose first axis is not a multiple of the axis size.
    """
    size = mesh.shape[axis_name]

    def put(x: Any) -> jax.Array:
        x = np.asarray(x) if not isinstance(x, jax.Array) else x
        if x.ndim == 0 or x.shape[0] % size:
            raise ValueError(
                f"cannot split an array of shape {tuple(x.shape)} over {size} devices: its first axis must be a "
                f"multiple of {size}"
            )
        return jax.device_put(x, batch_sharding(mesh, axis_name))

    return jax.tree_util.tree_map(put, batch)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """A copy of `tree` (params, optimizer state, a TrainState) on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def make_sharded_train_step(model: Any, state: Any, mesh: Mesh) -> Callable[..., Any]:
    """`bert_flax.training.make_train_step(model)` jitted with in/out shardings on `mesh`: the state by
    `tree_shardings(state)`, the batch by `batch_sharding`, the dropout key and metrics replicated.
    Host (numpy) batches are checked, then split by jit. Returns `step(state, batch, rng) -> (state,
    {"loss": []})`.

    Raises (when called):
        ValueError: a batch whose first axis the "data" axis size does not divide; see make_train_step.
    """
    state_shardings = tree_shardings(state, mesh)
    replicated = NamedSharding(mesh, PartitionSpec())
    return make_train_step(
        model,
        in_shardings=(state_shardings, batch_sharding(mesh), replicated),
        out_shardings=(state_shardings, replicated),
    )


def make_sharded_eval_step(model: Any, params: Any, mesh: Mesh) -> Callable[..., Any]:
    """`make_eval_step(model)` jitted with the params by `tree_shardings` and the batch by
    `batch_sharding` (outputs follow XLA's choice: split over "data")."""
    return make_eval_step(model, in_shardings=(tree_shardings(params, mesh), batch_sharding(mesh)))
