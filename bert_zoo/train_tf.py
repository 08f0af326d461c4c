"""The Keras runner of `bert-zoo train`: `compile` + `fit` with callbacks.

The model is compiled without a loss, so it trains on its head's own loss (bert_tf.training), with
keras.optimizers.AdamW on the shared linear schedule (a LearningRateSchedule), `global_clipnorm` for
--max-grad-norm, `gradient_accumulation_steps` for accumulation (Keras averages the micro-batch
gradients), and no weight decay on biases and LayerNorm's gamma / beta. `fit` reads a
keras.utils.PyDataset whose item i is micro-batch i of the run (the shared data order), so a resumed
run simply starts the dataset later; a callback reports every update to the shared job (progress bar,
logs) and writes the checkpoints. --bf16 sets the "mixed_bfloat16" policy while the model is built.

A checkpoint holds the model (`save_pretrained`) and optimizer.npz: every optimizer variable (moments,
iterations, accumulators) and the states of the dropout seed generators; resuming assigns them back.

With --distribute mirrored the model, the optimizer and `compile` live in a
tf.distribute.MirroredStrategy's scope over the visible GPUs (or, without GPUs, the logical CPUs that
--cpu-devices makes): each micro-batch is the global batch (--per-device-train-batch-size x replicas),
which Keras splits over the replicas; the model's own loss is divided by the replica count as Keras'
compiled losses are (bert_tf.training), so the logged losses are the single-device ones.

Shape legend: B batch, T tokens.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_tf.registry import model_class

PAD_TO_MULTIPLE_OF = 8  # fewer distinct shapes: each new [B, T] traces the train function again
OPTIMIZER_FILE = "optimizer.npz"


class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The shared schedule (bert_zoo.train_loop.LinearSchedule) as a Keras schedule; Keras passes the
    count of micro-batches, which `accumulation` turns into the count of updates."""

    def __init__(self, schedule: Any, accumulation: int) -> None:
        self.schedule, self.accumulation = schedule, accumulation

    def __call__(self, step: Any) -> Any:
        update = keras.ops.cast(keras.ops.floor_divide(step, self.accumulation), "float32")
        return keras.ops.cast(self.schedule(update, keras.ops), "float32")

    def get_config(self) -> dict[str, Any]:
        return {"accumulation": self.accumulation, **vars(self.schedule)}


class MicroBatches(keras.utils.PyDataset):
    """Micro-batch i of the run, from update `job.start_step` on: (inputs with labels,) for `fit`."""

    def __init__(self, job: Any) -> None:
        super().__init__(workers=1, use_multiprocessing=False, max_queue_size=2)
        self.job = job
        self._cached: tuple[int, list[dict[str, np.ndarray]]] = (-1, [])

    def __len__(self) -> int:
        return (self.job.plan.total_steps - self.job.start_step) * self.job.plan.accumulation

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray]]:
        step, micro = divmod(index, self.job.plan.accumulation)
        step += self.job.start_step
        if self._cached[0] != step:
            self._cached = (step, self.job.micro_batches(step))
        return ({k: np.asarray(v, np.int32) for k, v in self._cached[1][micro].items()},)


class JobCallback(keras.callbacks.Callback):
    """After each update: the loss of its micro-batches to the shared job (which logs, advances the
    progress bar and calls `save` for checkpoints)."""

    def __init__(self, job: Any, save: Any, predict: Any = None) -> None:
        super().__init__()
        self.job, self.save, self.predict = job, save, predict
        self.seen, self.total, self.micro_losses = 0, 0.0, []

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Keras logs the running mean of the epoch; the batch's own loss is the change of its sum.
        self.seen += 1
        running = float(logs["loss"]) * self.seen
        self.micro_losses.append(running - self.total)
        self.total = running
        if self.seen % self.job.plan.accumulation == 0:
            step = self.job.start_step + self.seen // self.job.plan.accumulation
            self.job.on_step_end(step, float(np.mean(self.micro_losses)), self.save, self.predict)
            self.micro_losses = []


def mirrored_devices() -> list[str]:
    """The devices of --distribute mirrored: every logical GPU, else every logical CPU."""
    found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [device.name for device in found]


def _strategy(args: Any) -> tf.distribute.Strategy | None:
    return tf.distribute.MirroredStrategy(mirrored_devices()) if getattr(args, "distribute", None) else None


def replicas(args: Any) -> int:
    """The data-parallel size: the mirrored devices (1 without --distribute)."""
    return len(mirrored_devices()) if getattr(args, "distribute", None) else 1


def _seed_states(model: keras.Model) -> list[Any]:
    return [
        layer.seed_generator.state
        for layer in model._flatten_layers()
        if getattr(layer, "seed_generator", None) is not None
    ]


def build_model(job: Any, spec: Any) -> keras.Model:
    """The model (built): the checkpoint being resumed, a fresh one of `spec.config`, or `spec.source`
    with the task's labels; weights drawn after keras.utils.set_random_seed(spec.seed)."""
    cls = model_class(spec.head)
    keras.utils.set_random_seed(spec.seed)
    if job.resume_from is not None:
        return cls.from_pretrained(job.resume_from)
    if spec.config is not None:
        model = cls(spec.config)
        model(**{k: np.asarray(v, np.int32) for k, v in job.collate(job.plan.rows(0, 0)[:1], 0).items()})
        return model
    return cls.from_pretrained(spec.source, **spec.kwargs)


def build_optimizer(job: Any) -> keras.optimizers.Optimizer:
    """keras.optimizers.AdamW on the shared schedule, with clipping and accumulation from the job."""
    args, accumulation = job.args, job.plan.accumulation
    optimizer = keras.optimizers.AdamW(
        learning_rate=LinearWarmupDecay(job.schedule, accumulation),
        weight_decay=args.weight_decay,
        beta_1=args.adam_beta1,
        beta_2=args.adam_beta2,
        epsilon=args.adam_epsilon,
        global_clipnorm=args.max_grad_norm or None,
        gradient_accumulation_steps=accumulation if accumulation > 1 else None,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def run(job: Any, spec: Any) -> dict[str, float]:
    """Train `job` (see bert_zoo.train_loop.Job) with Keras `fit`; returns the metrics of metrics.json."""
    policy = keras.mixed_precision.global_policy()
    strategy = _strategy(job.args)
    if strategy is not None:
        devices = ", ".join(strategy.extended.worker_devices)
        print(
            f"bert-zoo train: MirroredStrategy over {strategy.num_replicas_in_sync} replicas ({devices})",
            file=sys.stderr,
        )
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        if job.args.bf16:
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            model = build_model(job, spec)
        finally:
            keras.mixed_precision.set_global_policy(policy)
        optimizer = build_optimizer(job)
        model.compile(optimizer=optimizer)
        optimizer.build(model.trainable_variables)
        if job.resume_from is not None:
            saved = np.load(job.resume_from / OPTIMIZER_FILE)
            for i, variable in enumerate(optimizer.variables):
                variable.assign(saved[f"optimizer_{i}"])
            for i, state in enumerate(_seed_states(model)):
                state.assign(saved[f"seed_{i}"])

    def save(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(directory)
        arrays = {f"optimizer_{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)}
        arrays.update({f"seed_{i}": np.asarray(s) for i, s in enumerate(_seed_states(model))})
        np.savez(directory / OPTIMIZER_FILE, **arrays)

    def predict(batch: dict[str, np.ndarray]) -> dict[str, Any]:
        out = model(**{k: tf.constant(np.asarray(v, np.int32)) for k, v in batch.items()}, training=False)
        fields = {k: v for k, v in out.items() if isinstance(v, tf.Tensor)}
        return {k: (np.asarray(v, np.float32) if v.shape.rank else float(v)) for k, v in fields.items()}

    job.start()
    callback = JobCallback(job, save, predict)
    model.fit(MicroBatches(job), epochs=1, shuffle=False, verbose=0, callbacks=[callback])

    metrics = job.finish(predict)
    model.save_pretrained(job.output_dir)
    return metrics
