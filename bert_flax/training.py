"""Fine-tuning with optax: a train state, a jitted train step and an eval step for any head with labels.

Sequence classification, end to end:

    model = FlaxBertForSequenceClassification.from_pretrained(path, num_labels=2)
    state = create_train_state(model, adamw(learning_rate=2e-5, num_train_steps=1000, warmup_steps=100))
    train_step = make_train_step(model)
    rng = jax.random.key(0)
    for batch in batches:            # dicts of input_ids, attention_mask, token_type_ids, labels
        state, metrics = train_step(state, batch, rng)
    logits = make_eval_step(model)(state.params, batch)

The step differentiates the wrapper's own loss (bert_flax.losses, the conventions of every twin), so the
same step trains every head: pass the label arguments the head accepts in the batch dict. Dropout uses
`fold_in(dropout_rng, state.step)`, so one key gives a fresh, reproducible mask every step. Under a
`jax.sharding.Mesh` with the batch sharded on its first axis (bert_flax.sharding) the same step runs
data-parallel; `make_train_step(model, in_shardings, out_shardings)` takes jax.jit's shardings, which
bert_flax.sharding fills for data and tensor (model) parallelism.

Inside the jitted steps the batch is traced, so its values cannot be checked there (an id outside the
vocabulary would become NaN embeddings); a batch of host values (numpy arrays, lists) is checked before
it enters the step, with the messages of a model call (`bert_common.inputs.check_batch`). Batches already
on the device (jax arrays) are passed through unchecked, not copied back to read them.

Shape legend: B batch, Y labels (num_labels).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util
from flax.training import train_state

from bert_common.inputs import check_batch

TrainState = train_state.TrainState


def decay_mask(params: Mapping[str, Any]) -> dict[str, Any]:
    """True for the weights that get weight decay: every leaf except biases and LayerNorm scales."""
    flat = traverse_util.flatten_dict(dict(params), sep="/")
    return traverse_util.unflatten_dict(
        {path: not (path.endswith("/bias") or "/LayerNorm/" in path) for path in flat}, sep="/"
    )


def adamw(
    learning_rate: float = 2e-5,
    num_train_steps: int | None = None,
    warmup_steps: int = 0,
    weight_decay: float = 0.01,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
) -> optax.GradientTransformation:
    """AdamW as in BERT fine-tuning: linear warmup to `learning_rate`, then linear decay to 0 at
    `num_train_steps` (constant when None), no decay on biases and LayerNorm scales."""
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if num_train_steps is not None and num_train_steps <= warmup_steps:
        raise ValueError(f"num_train_steps ({num_train_steps}) must exceed warmup_steps ({warmup_steps})")
    schedule: Any = learning_rate
    if warmup_steps or num_train_steps:
        pieces = []
        boundaries = []
        if warmup_steps:
            pieces.append(optax.linear_schedule(0.0, learning_rate, warmup_steps))
            boundaries.append(warmup_steps)
        if num_train_steps:
            pieces.append(optax.linear_schedule(learning_rate, 0.0, num_train_steps - warmup_steps))
        else:
            pieces.append(optax.constant_schedule(learning_rate))
        schedule = optax.join_schedules(pieces, boundaries) if len(pieces) > 1 else pieces[0]
    return optax.adamw(schedule, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, mask=decay_mask)


def create_train_state(
    model: Any, optimizer: optax.GradientTransformation, params: Mapping[str, Any] | None = None
) -> TrainState:
    """A flax TrainState (step, params, optimizer state) starting from `params` or the model's."""
    return TrainState.create(
        apply_fn=model.__call__, params=model.params if params is None else params, tx=optimizer
    )


def check_host_batch(model: Any, batch: Mapping[str, Any]) -> None:
    """Check `batch` (the model's keyword inputs and labels) when every value is a host value (numpy
    array, list, number, None); batches holding jax arrays are left alone (see the module docstring).

    Raises:
        ValueError, TypeError: the messages of bert_common.inputs.check_batch.
    """
    host = (np.ndarray, np.generic, list, tuple, int, float, bool, type(None))
    if isinstance(batch, Mapping) and all(isinstance(value, host) for value in batch.values()):
        check_batch(model.config, model.head, batch, model=type(model).__name__)


def _checking(model: Any, jitted: Callable[..., Any], batch_position: int) -> Callable[..., Any]:
    """`jitted`, with its batch argument checked by `check_host_batch` before each call; the jitted
    function stays reachable as `.jitted` (for `.lower`, `.trace`)."""

    @functools.wraps(jitted)
    def step(*args: Any) -> Any:
        check_host_batch(model, args[batch_position])
        return jitted(*args)

    step.jitted = jitted  # type: ignore[attr-defined]
    return step


def make_train_step(
    model: Any, in_shardings: Any = None, out_shardings: Any = None
) -> Callable[[TrainState, Mapping[str, Any], jax.Array], tuple[TrainState, dict]]:
    """A jitted `train_step(state, batch, dropout_rng) -> (new state, {"loss": []})`.

    batch: the model's keyword inputs, with the label arguments of its head (e.g. `labels`); host
    (numpy) batches are checked before the jitted step runs (`check_host_batch`).
    in_shardings, out_shardings: `jax.jit`'s, for (state, batch, dropout_rng) and (state, metrics)
    (default None: follow the inputs); bert_flax.sharding.make_sharded_train_step fills them from a mesh.

    Raises (when called):
        ValueError, TypeError: a host batch the shared input rules refuse.
    """

    def loss_fn(params: Any, batch: Mapping[str, Any], rng: jax.Array) -> jax.Array:
        out = model(**batch, params=params, dropout_rng=rng, train=True)
        if out.loss is None:
            raise ValueError(
                f"{type(model).__name__} returned no loss: the batch needs its labels {list(model.head.labels)}"
            )
        return out.loss

    def train_step(
        state: TrainState, batch: Mapping[str, Any], dropout_rng: jax.Array
    ) -> tuple[TrainState, dict]:
        rng = jax.random.fold_in(dropout_rng, state.step)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, batch, rng)
        return state.apply_gradients(grads=grads), {"loss": loss}

    shardings = {"in_shardings": in_shardings, "out_shardings": out_shardings}
    jit_args = {name: value for name, value in shardings.items() if value is not None}
    return _checking(model, jax.jit(train_step, **jit_args), 1)


def make_eval_step(model: Any, in_shardings: Any = None) -> Callable[[Any, Mapping[str, Any]], Any]:
    """A jitted `eval_step(params, batch) -> outputs` (dropout off; labels in the batch give `loss`); host
    batches are checked first, as in make_train_step. in_shardings: jax.jit's for (params, batch)."""

    def eval_step(params: Any, batch: Mapping[str, Any]) -> Any:
        return model(**batch, params=params, train=False)

    jitted = jax.jit(eval_step) if in_shardings is None else jax.jit(eval_step, in_shardings=in_shardings)
    return _checking(model, jitted, 1)


def accuracy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Fraction of rows whose argmax over the last axis equals the label. logits [B, Y], labels [B]."""
    return jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))
