"""The framework-neutral half of `bert-zoo train`: the schedule, the data order, the trainer state and
the checkpoints. Each twin's runner (train_pt, train_tf, train_flax) only runs steps and calls back here.

    schedule = LinearSchedule(learning_rate=5e-5, warmup_steps=10, total_steps=100)
    plan = BatchPlan(num_examples=1000, batch_size=32, accumulation=2, seed=42, num_epochs=3)
    plan.rows(step, micro) -> the example indices of one micro-batch [B]
    job.on_step_end(step, loss, save_checkpoint)   # logging, progress bar, checkpoint cadence

A checkpoint is Transformers' Trainer layout: `OUTPUT/checkpoint-<step>/` with the model written by
`save_pretrained`, the optimizer state in the twin's own format, and `trainer_state.json` (global_step,
epoch, log_history, and the data order: seed, the epoch's permutation RNG state and the position in it).
At the end the same state goes to `OUTPUT/trainer_state.json` (Trainer.save_state, as run_glue.py does).

`log_history` follows Transformers: every --logging-steps updates an entry {step, epoch, loss (the mean
over the updates since the last entry), learning_rate} plus bert-zoo's `step_time` (mean seconds per
update over the same updates: data, forward, backward and optimizer, from the end of the previous update;
the first update of a run includes tracing / compilation); with --eval-strategy epoch|steps an entry
{step, epoch, eval_<metric>..., eval_runtime} after each evaluation (its time is in no step_time).

Shape legend: B batch (rows of a micro-batch).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TRAINER_STATE = "trainer_state.json"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


@dataclass(frozen=True)
class LinearSchedule:
    """Linear warmup from 0 to `learning_rate` over `warmup_steps`, then linear decay to 0 at
    `total_steps` (Transformers' get_linear_schedule_with_warmup): the one definition every twin uses."""

    learning_rate: float
    warmup_steps: int
    total_steps: int

    def factor(self, step: Any, ops: Any = np) -> Any:
        """The multiplier of `learning_rate` at optimizer update `step` (a float scalar or tensor of the
        array library `ops`: numpy, keras.ops or jax.numpy; they all have where / maximum)."""
        warm = step / max(1, self.warmup_steps)
        decay = ops.maximum(0.0, (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps))
        return ops.where(step < self.warmup_steps, warm, decay)

    def __call__(self, step: Any, ops: Any = np) -> Any:
        """The learning rate at update `step`."""
        return self.learning_rate * self.factor(step, ops)


class BatchPlan:
    """Which examples each micro-batch holds: a seeded permutation per epoch, cut into micro-batches of
    `batch_size` rows (the last one may be shorter); an optimizer update takes `accumulation`
    consecutive micro-batches, and micro-batches left over at the end of an epoch (fewer than
    `accumulation`) are skipped, so every update sees the same number of them.

    Raises:
        ValueError: no examples, or fewer micro-batches in an epoch than `accumulation`.
    """

    def __init__(
        self,
        num_examples: int,
        batch_size: int,
        accumulation: int,
        seed: int,
        num_epochs: float,
        max_steps: int = -1,
    ) -> None:
        if num_examples <= 0:
            raise ValueError("the training set is empty")
        self.num_examples, self.batch_size, self.accumulation, self.seed = (
            num_examples,
            batch_size,
            accumulation,
            seed,
        )
        self.batches_per_epoch = math.ceil(num_examples / batch_size)
        self.updates_per_epoch = self.batches_per_epoch // accumulation
        if self.updates_per_epoch == 0:
            raise ValueError(
                f"an epoch of {num_examples} examples gives {self.batches_per_epoch} batches of {batch_size}, "
                f"fewer than --gradient-accumulation-steps {accumulation}"
            )
        if max_steps > 0:
            self.total_steps = max_steps
        else:
            self.total_steps = max(1, math.ceil(num_epochs * self.updates_per_epoch))
        self._orders: dict[int, np.ndarray] = {}
        self._rng_states: dict[int, dict[str, Any]] = {}

    def epoch_rng(self, epoch: int) -> np.random.Generator:
        """The generator that draws epoch `epoch`'s permutation (seeded by (seed, epoch))."""
        return np.random.default_rng([self.seed, epoch])

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of the example indices for `epoch` [num_examples]."""
        if epoch not in self._orders:
            rng = self.epoch_rng(epoch)
            if epoch in self._rng_states:  # restored from a checkpoint
                rng.bit_generator.state = self._rng_states[epoch]
            self._rng_states[epoch] = rng.bit_generator.state
            self._orders[epoch] = rng.permutation(self.num_examples)
        return self._orders[epoch]

    def micro_index(self, step: int, micro: int) -> int:
        """The running number of micro-batch `micro` of update `step` (seeds per-batch randomness)."""
        return step * self.accumulation + micro

    def rows(self, step: int, micro: int) -> np.ndarray:
        """The example indices of micro-batch `micro` (0..accumulation-1) of update `step` [B]."""
        epoch, within = divmod(step, self.updates_per_epoch)
        k = within * self.accumulation + micro
        return self.order(epoch)[k * self.batch_size : (k + 1) * self.batch_size]

    def epoch(self, step: int) -> float:
        """Epochs done after `step` updates (a float, as Transformers logs it)."""
        return step / self.updates_per_epoch

    def state(self, step: int) -> dict[str, Any]:
        """The data-order state after `step` updates: seed, epoch, updates into it, the permutation RNG."""
        epoch, within = divmod(step, self.updates_per_epoch)
        self.order(epoch)
        return {
            "seed": self.seed,
            "epoch": epoch,
            "updates_in_epoch": within,
            "permutation_rng": self._rng_states[epoch],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue the data order of a checkpoint (see `state`).

        Raises:
            ValueError: the checkpoint was written with another --seed.
        """
        if state.get("seed") != self.seed:
            raise ValueError(f"the checkpoint was trained with --seed {state.get('seed')}, not {self.seed}")
        self._orders.pop(int(state["epoch"]), None)
        self._rng_states[int(state["epoch"])] = dict(state["permutation_rng"])


def last_checkpoint(output_dir: Path) -> Path | None:
    """The `checkpoint-<step>` directory with the highest step that holds a trainer state, or None."""
    found = []
    if output_dir.is_dir():
        for path in output_dir.iterdir():
            match = CHECKPOINT_RE.match(path.name)
            if match and (path / TRAINER_STATE).is_file():
                found.append((int(match.group(1)), path))
    return max(found)[1] if found else None


def read_trainer_state(checkpoint: Path) -> dict[str, Any]:
    """The trainer state of a checkpoint directory.

    Raises:
        FileNotFoundError: the directory holds no trainer_state.json.
    """
    path = checkpoint / TRAINER_STATE
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint} is not a checkpoint: it holds no {TRAINER_STATE}")
    return json.loads(path.read_text())


def write_json(path: Path, value: Mapping[str, Any]) -> None:
    """`value` as indented JSON (NaN/inf written as strings are refused: allow_nan stays on for inf)."""
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


@dataclass
class Job:
    """What a twin's runner is given: the plan, the schedule, where to start and to write, and the
    callbacks that keep logs, progress and checkpoints framework-neutral.

    collate(rows [B], micro_index) -> the numpy batch (inputs and labels) of those examples.
    evaluate(predict) -> metrics, where predict(batch) -> {"loss": float, output field: numpy array}.
    """

    args: Any
    head: str
    plan: BatchPlan
    schedule: LinearSchedule
    collate: Callable[[np.ndarray, int], dict[str, np.ndarray]]
    evaluate: Callable[[Callable[[dict[str, np.ndarray]], dict[str, Any]]], dict[str, float]] | None
    model_kwargs: dict[str, Any]
    output_dir: Path
    resume_from: Path | None = None
    start_step: int = 0
    rank: int = 0
    world_size: int = 1
    log_history: list[dict[str, Any]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    _progress: Any = None
    _started: float = 0.0
    _mark: float = 0.0
    _window: list[tuple[float, float]] = field(default_factory=list)  # (loss, seconds) since the last log

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def micro_batches(self, step: int) -> list[dict[str, np.ndarray]]:
        """The `accumulation` numpy micro-batches of update `step` (each [B, ...]); under DDP each
        process gets its rows of the global micro-batch (rank-th of world_size equal parts)."""
        batches = []
        for micro in range(self.plan.accumulation):
            batch = self.collate(self.plan.rows(step, micro), self.plan.micro_index(step, micro))
            if self.world_size > 1:
                size = len(next(iter(batch.values()))) // self.world_size
                batch = {k: v[self.rank * size : (self.rank + 1) * size] for k, v in batch.items()}
            batches.append(batch)
        return batches

    def start(self) -> None:
        """Open the progress bar (stderr, main process only) at `start_step`."""
        from tqdm.auto import tqdm

        self._started = self._mark = time.perf_counter()
        self._progress = tqdm(
            total=self.plan.total_steps,
            initial=self.start_step,
            file=sys.stderr,
            desc=f"train {self.args.framework}",
            disable=not self.is_main or self.args.disable_tqdm,
            dynamic_ncols=True,
        )

    def on_step_end(
        self,
        step: int,
        loss: float,
        save: Callable[[Path], None],
        predict: Callable[[dict[str, np.ndarray]], dict[str, Any]] | None = None,
    ) -> None:
        """After update `step` (1-based count of updates done): log, advance the bar, evaluate with
        `predict` when --eval-strategy says so (main process), and every --save-steps write a
        checkpoint through `save(directory)` (model + optimizer) plus the trainer state.

        Raises:
            ValueError: the loss is not finite.
        """
        seconds = time.perf_counter() - self._mark
        self.losses.append(loss)
        if not math.isfinite(loss):
            raise ValueError(f"the training loss is {loss} at step {step}; lower --learning-rate")
        self._window.append((loss, seconds))
        if step % self.args.logging_steps == 0 or step == self.plan.total_steps:
            window = np.asarray(self._window, dtype=np.float64)
            self.log_history.append(
                {
                    "step": step,
                    "epoch": round(self.plan.epoch(step), 4),
                    "loss": float(window[:, 0].mean()),
                    "learning_rate": float(self.schedule(float(step - 1))),
                    "step_time": round(float(window[:, 1].mean()), 6),
                }
            )
            self._window = []
        if self._progress is not None:
            self._progress.update(1)
            self._progress.set_postfix(loss=f"{loss:.4f}", refresh=False)
        if predict is not None and self.should_evaluate(step):
            self.evaluate_now(step, predict)
        if self.args.save_steps > 0 and step % self.args.save_steps == 0 and step < self.plan.total_steps:
            self.save_checkpoint(step, save)
        self._mark = time.perf_counter()

    def should_evaluate(self, step: int) -> bool:
        """Whether --eval-strategy evaluates after update `step` (at the end of each epoch, or every
        --eval-steps updates); only the main process evaluates, and only with a validation set."""
        return self.is_main and self.evaluates_at(step)

    def evaluates_at(self, step: int) -> bool:
        """Whether the run evaluates after update `step`, on any process (FSDP gathers the weights first)."""
        strategy = getattr(self.args, "eval_strategy", "no")
        if strategy == "no" or self.evaluate is None:
            return False
        every = self.plan.updates_per_epoch if strategy == "epoch" else self.args.eval_steps
        return step % every == 0

    def evaluate_now(self, step: int, predict: Callable[[dict[str, np.ndarray]], dict[str, Any]]) -> None:
        """Evaluate with `predict` and log {step, epoch, eval_<metric>..., eval_runtime} (Transformers'
        evaluation log entry)."""
        assert self.evaluate is not None
        began = time.perf_counter()
        result = {f"eval_{k}": float(v) for k, v in self.evaluate(predict).items()}
        entry = {"step": step, "epoch": round(self.plan.epoch(step), 4), **result}
        entry["eval_runtime"] = round(time.perf_counter() - began, 4)
        self.log_history.append(entry)

    def state(self, step: int) -> dict[str, Any]:
        """The trainer state after `step` updates (what trainer_state.json holds)."""
        return {
            "global_step": step,
            "epoch": self.plan.epoch(step),
            "max_steps": self.plan.total_steps,
            "num_train_epochs": math.ceil(self.plan.total_steps / self.plan.updates_per_epoch),
            "train_batch_size": self.args.per_device_train_batch_size,
            "save_steps": self.args.save_steps,
            "logging_steps": self.args.logging_steps,
            "log_history": self.log_history,
            "data_order": self.plan.state(step),
            "framework": self.args.framework,
            "task": self.args.task,
            "train_losses": self.losses,
        }

    def save_checkpoint(self, step: int, save: Callable[[Path], None]) -> Path:
        """Write `checkpoint-<step>` (model and optimizer through `save`, then the trainer state)."""
        directory = self.output_dir / f"checkpoint-{step}"
        if self.is_main:
            directory.mkdir(parents=True, exist_ok=True)
        save(directory)
        if self.is_main:
            write_json(directory / TRAINER_STATE, self.state(step))
        return directory

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take over the step, logs and data order of a checkpoint's trainer state.

        Raises:
            ValueError: the checkpoint belongs to another framework, task or seed, or already reached
                the planned number of steps.
        """
        for key in ("framework", "task"):
            if state.get(key) != getattr(self.args, key):
                raise ValueError(
                    f"--resume: the checkpoint was written by --{key} {state.get(key)}, "
                    f"not {getattr(self.args, key)}"
                )
        self.start_step = int(state["global_step"])
        if self.start_step >= self.plan.total_steps:
            raise ValueError(
                f"--resume: the checkpoint is at step {self.start_step}, the run has {self.plan.total_steps}"
            )
        self.log_history = list(state.get("log_history", []))
        self.losses = list(state.get("train_losses", []))
        self.plan.restore(state["data_order"])

    def finish(self, predict: Callable[[dict[str, np.ndarray]], dict[str, Any]] | None) -> dict[str, float]:
        """Close the bar, evaluate with `predict` when there is a validation set, and write
        `metrics.json` (main process): train_loss (mean over the run's updates), train_runtime,
        train_steps_per_second, epoch, and the eval_* metrics."""
        if self._progress is not None:
            self._progress.close()
        runtime = time.perf_counter() - self._started
        done = self.plan.total_steps - self.start_step
        metrics: dict[str, float] = {
            "train_loss": float(np.mean(self.losses)) if self.losses else math.nan,
            "train_runtime": round(runtime, 4),
            "train_steps_per_second": round(done / runtime, 4) if runtime > 0 else 0.0,
            "epoch": self.plan.epoch(self.plan.total_steps),
            "global_step": self.plan.total_steps,
        }
        if predict is not None and self.evaluate is not None:
            last = self.log_history[-1] if self.log_history else {}
            if last.get("step") == self.plan.total_steps and "eval_runtime" in last:  # just evaluated
                metrics.update(
                    {k: v for k, v in last.items() if k.startswith("eval_") and k != "eval_runtime"}
                )
            else:
                metrics.update({f"eval_{k}": v for k, v in self.evaluate(predict).items()})
        if self.is_main:
            write_json(self.output_dir / "metrics.json", metrics)
            write_json(self.output_dir / TRAINER_STATE, self.state(self.plan.total_steps))
        return metrics
