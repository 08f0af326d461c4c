"""The Flax runner of `bert-zoo train`: an optax TrainState under `jax.jit`.

The optimizer is optax.adamw on the shared linear schedule with bert_flax.training's decay mask (no
decay on biases and LayerNorm scales), after optax.clip_by_global_norm, inside optax.MultiSteps for
gradient accumulation (the mean of the micro-batch gradients; the schedule counts updates). The state
and the jitted step are bert_flax.training's `create_train_state` / `make_train_step`; dropout draws
`fold_in(key(seed), state.step)`, so a resumed run draws the same masks. --bf16 computes in bfloat16
with float32 parameters (the model's `dtype`).

A checkpoint holds the parameters (`save_pretrained`) and optimizer.msgpack (the optax state,
flax.serialization); resuming restores both and the state's step.

Shape legend: B batch, T tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization

from bert_flax.registry import model_class
from bert_flax.training import create_train_state, decay_mask, make_eval_step, make_train_step

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
