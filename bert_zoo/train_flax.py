"""The Flax runner of `bert-zoo train`: an optax TrainState under `jax.jit`.

The optimizer is optax.adamw on the shared linear schedule with bert_flax.training's decay mask (no
decay on biases and LayerNorm scales), after optax.clip_by_global_norm, inside optax.MultiSteps for
gradient accumulation (the mean of the micro-batch gradients; the schedule counts updates). The state
and the jitted step are bert_flax.training's `create_train_state` / `make_train_step`; dropout draws
`fold_in(key(seed), state.step)`, so a resumed run draws the same masks. --bf16 computes in bfloat16
with float32 parameters (the model's `dtype`).

A checkpoint holds the parameters (`save_pretrained`) and optimizer.msgpack (the optax state,
flax.serialization); resuming restores both and the state's step.

With more than one visible device, or --mesh DATA,MODEL, the state is placed on a ("data", "model")
`jax.sharding.Mesh` (bert_flax.sharding: data parallelism over "data", the Megatron split of
PARTITION_RULES over "model") and the step is `make_sharded_train_step`: one SPMD program, the global
micro-batch (--per-device-train-batch-size x data) split over "data". Without --mesh every visible device
goes on "data". Checkpoints gather the arrays to the host, so they load anywhere.

Shape legend: B batch, T tokens.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from bert_flax import sharding
from bert_flax.registry import model_class
from bert_flax.training import create_train_state, decay_mask, make_eval_step, make_train_step
from bert_zoo import CliError

PAD_TO_MULTIPLE_OF = "max_length"  # every batch [B, --max-seq-length]: a new shape compiles the step again
OPTIMIZER_FILE = "optimizer.msgpack"


def build_model(job: Any, spec: Any) -> Any:
    """The model: the checkpoint being resumed, a fresh one of `spec.config` (seeded), or `spec.source`
    with the task's labels (new head weights drawn from `spec.seed`)."""
    cls = model_class(spec.head)
    dtype = jnp.bfloat16 if job.args.bf16 else jnp.float32
    if job.resume_from is not None:
        return cls.from_pretrained(job.resume_from, dtype=dtype)
    if spec.config is not None:
        return cls(spec.config, seed=spec.seed, dtype=dtype)
    return cls.from_pretrained(spec.source, seed=spec.seed, dtype=dtype, **spec.kwargs)


def build_optimizer(job: Any) -> optax.GradientTransformation:
    """clip_by_global_norm (when --max-grad-norm > 0) -> adamw(schedule), in MultiSteps for accumulation."""
    args = job.args
    tx = optax.adamw(
        lambda count: job.schedule(count, jnp),
        b1=args.adam_beta1,
        b2=args.adam_beta2,
        eps=args.adam_epsilon,
        weight_decay=args.weight_decay,
        mask=decay_mask,
    )
    if args.max_grad_norm > 0:
        tx = optax.chain(optax.clip_by_global_norm(args.max_grad_norm), tx)
    if job.plan.accumulation > 1:
        tx = optax.MultiSteps(tx, every_k_schedule=job.plan.accumulation)
    return tx


def make_mesh(args: Any) -> jax.sharding.Mesh | None:
    """The mesh of --mesh DATA,MODEL, or all visible devices on "data"; None on a single device.

    Raises:
        CliError: --mesh sizes whose product is not the number of visible devices.
    """
    if getattr(args, "mesh", None) is None and jax.device_count() == 1:
        return None
    data, model = args.mesh if getattr(args, "mesh", None) is not None else (None, 1)
    try:
        return sharding.make_mesh(data, model)
    except ValueError as err:
        raise CliError(f"--mesh: {err} (visible: {jax.devices()})") from None


def replicas(args: Any) -> int:
    """The data-parallel size: the mesh's "data" axis (1 on a single device)."""
    mesh = make_mesh(args)
    return 1 if mesh is None else int(mesh.shape[sharding.DATA_AXIS])


def _host(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.int32) for k, v in batch.items()}


def run(job: Any, spec: Any) -> dict[str, float]:
    """Train `job` (see bert_zoo.train_loop.Job) with optax; returns the metrics of metrics.json."""
    model = build_model(job, spec)
    state = create_train_state(model, build_optimizer(job))
    if job.resume_from is not None:
        opt_state = serialization.from_bytes(state.opt_state, (job.resume_from / OPTIMIZER_FILE).read_bytes())
        state = state.replace(opt_state=opt_state, step=jnp.asarray(job.start_step * job.plan.accumulation))
    train_step, eval_step = make_train_step(model), make_eval_step(model)
    mesh = make_mesh(job.args)
    if mesh is not None:  # eval_step stays unsharded: evaluation batches need not divide the mesh
        try:
            state = sharding.shard_params(state, mesh)
        except ValueError as err:
            raise CliError(f"--mesh {job.args.mesh}: {err}") from None
        train_step = sharding.make_sharded_train_step(model, state, mesh)
        print(
            f"bert-zoo train: jax.sharding.Mesh {dict(mesh.shape)} over {mesh.size} devices", file=sys.stderr
        )
    dropout_rng = jax.random.key(job.args.seed)

    def save(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(directory, params=state.params)
        (directory / OPTIMIZER_FILE).write_bytes(serialization.to_bytes(state.opt_state))

    def predict(batch: dict[str, np.ndarray]) -> dict[str, Any]:
        out = eval_step(state.params, _host(batch))  # the current `state` of the loop below
        fields = {k: v for k, v in out.items() if isinstance(v, jax.Array)}
        return {k: (np.asarray(v, np.float32) if v.ndim else float(v)) for k, v in fields.items()}

    job.start()
    for step in range(job.start_step, job.plan.total_steps):
        losses = []
        for batch in job.micro_batches(step):
            state, out = train_step(state, _host(batch), dropout_rng)
            losses.append(out["loss"])
        job.on_step_end(step + 1, float(np.mean([float(loss) for loss in losses])), save, predict)

    metrics = job.finish(predict)
    model.save_pretrained(job.output_dir, params=state.params)
    return metrics
