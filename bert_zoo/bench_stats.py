"""The arithmetic of `bert-zoo bench`, free of any framework: cases, batches, timing, medians, ratios.

A case is one measurement: a twin, forward or train step, fp32 or bf16, and a batch of B rows of T
positions, either fixed (every position a token) or ragged (rows of random lengths padded to T). It is
timed against a reference (Transformers or onnxruntime) when one is installed: warm-up runs first (not
timed), then `repeats` rounds that alternate the two implementations run by run, in the order
A B, B A, A B, ... so that a drift of the machine's speed weighs on both sides alike. The result is
each side's median and ratio = bert-zoo median / reference median (below 1: bert-zoo is faster).

Shape legend: B batch (rows), T positions per row (padded length), Y labels (num_labels).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bert_zoo.fast import BACKENDS as FAST_BACKENDS

TWIN_NAMES = {"pt": "PyTorch", "tf": "Keras", "flax": "Flax"}
MODES = ("forward", "train")
DTYPES = ("fp32", "bf16")
REFERENCES = ("transformers", "onnxruntime", "none")
PADDING_FREE_TWINS = ("pt", "tf", "flax")  # the twins whose models take padding_free (all three)
PADDING_FREE_MODES = ("forward",)  # the bench times padding-free forward passes (its training is not timed)
FAST_GROUP = ("pt", "forward", "fp32")  # the cases bert_zoo.fast runs


@dataclass(frozen=True)
class Case:
    """One measurement.

    twin: "pt", "tf" or "flax". mode: "forward" or "train" (one AdamW step of sequence classification).
    dtype: "fp32" or "bf16". batch, length: B rows padded to T positions. ragged: None for a fixed batch,
    else (shortest, longest) row length, drawn uniformly per row (seeded). reference: "transformers",
    "onnxruntime" or "none". row: the name of the row in the issue's table ("" for other rows).
    series: the plot the case feeds ("length": time vs length, "padding": speed-up vs padding; "").
    padding_free: bert-zoo runs the batch padding-free (bert_common.packing; PyTorch and Flax twins);
    the reference still runs it padded, so the ratio is what a user of the reference gains.
    fast: bert-zoo runs its fastest CPU path, `bert_zoo.fast.optimize(model, backend=fast)` ("auto",
    "onnxruntime" or "inductor"; "" for the eager model); PyTorch fp32 forward only.
    """

    twin: str
    mode: str
    dtype: str
    batch: int
    length: int
    ragged: tuple[int, int] | None = None
    reference: str = "transformers"
    row: str = ""
    series: str = ""
    padding_free: bool = False
    fast: str = ""

    def lengths(self, seed: int = 0) -> np.ndarray:
        """[B] int: the number of real tokens in each row (T for a fixed batch)."""
        if self.ragged is None:
            return np.full(self.batch, self.length, dtype=np.int64)
        low, high = self.ragged
        return np.random.default_rng(seed).integers(low, high + 1, size=self.batch)

    @property
    def padding(self) -> float:
        """The fraction of the B x T positions that are padding (0.0 for a fixed batch)."""
        return 1.0 - float(self.lengths().sum()) / (self.batch * self.length)

    @property
    def key(self) -> str:
        """A short unique name, e.g. "pt forward fp32 8x128" or "pt forward fp32 16x256 ragged 16..256"."""
        shape = f"{self.batch}x{self.length}"
        if self.ragged is not None:
            shape += f" ragged {self.ragged[0]}..{self.ragged[1]}"
        if self.padding_free:
            shape += " padding-free"
        if self.fast:
            shape += f" fast={self.fast}"
        return f"{self.twin} {self.mode} {self.dtype} {shape} vs {self.reference}"


def check_case(case: Case, max_positions: int) -> None:
    """Raises ValueError (one line naming the problem) for a case that cannot run."""
    if case.twin not in TWIN_NAMES:
        raise ValueError(f"unknown twin {case.twin!r}; choose from {', '.join(TWIN_NAMES)}")
    if case.mode not in MODES or case.dtype not in DTYPES or case.reference not in REFERENCES:
        raise ValueError(f"unknown mode, dtype or reference in {case}")
    if case.batch < 1 or case.length < 1:
        raise ValueError(f"batch and length must be >= 1, got {case.batch}x{case.length}")
    if case.length > max_positions:
        raise ValueError(
            f"length {case.length} exceeds the config's max_position_embeddings ({max_positions})"
        )
    if case.padding_free and (case.twin not in PADDING_FREE_TWINS or case.mode not in PADDING_FREE_MODES):
        raise ValueError(
            f"the bench times padding-free {', '.join(PADDING_FREE_MODES)} passes, not {case.key}"
        )
    if case.fast and case.fast not in FAST_BACKENDS:
        raise ValueError(f"unknown fast backend {case.fast!r}; choose {', '.join(FAST_BACKENDS)}")
    if case.fast and (case.twin, case.mode, case.dtype) != FAST_GROUP:
        raise ValueError(f"the fast path (fast={case.fast!r}) is the PyTorch fp32 forward's, not {case.key}")
    if case.ragged is not None and not 1 <= case.ragged[0] <= case.ragged[1] <= case.length:
        raise ValueError(f"ragged row lengths {case.ragged} must lie in 1..{case.length}")


def make_batch(case: Case, vocab_size: int, num_labels: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Numpy inputs of `case`: input_ids, attention_mask, token_type_ids [B, T] int64 (padding: id 0,
    mask 0, at the end of each row) and labels [B] int64 in [0, Y). Seeded: the same case gives the same
    batch in every twin and in the reference."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab_size, size=(case.batch, case.length), dtype=np.int64)
    mask = (np.arange(case.length)[None, :] < case.lengths(seed)[:, None]).astype(np.int64)
    return {
        "input_ids": ids * mask,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(ids),
        "labels": rng.integers(0, num_labels, size=case.batch, dtype=np.int64),
    }


def alternate(
    runners: Sequence[Callable[[], Any]],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    tick: Callable[[], Any] | None = None,
) -> list[list[float]]:
    """Time each of `runners` `repeats` times, alternating them run by run; returns one list of seconds
    per runner, in run order. `warmup` untimed rounds run first. Round i runs the runners in order when i
    is even and in reverse when odd (A B, B A, ...). `clock` gives seconds (injected by tests); `tick` is
    called after every run, warm-up included (the progress bar).

    Raises:
        ValueError: repeats < 1, warmup < 0 or no runner.
    """
    if repeats < 1 or warmup < 0 or not runners:
        raise ValueError(
            f"need repeats >= 1, warmup >= 0 and a runner, got {repeats}, {warmup}, {len(runners)}"
        )
    for _ in range(warmup):
        for run in runners:
            run()
            if tick:
                tick()
    times: list[list[float]] = [[] for _ in runners]
    for i in range(repeats):
        order = range(len(runners)) if i % 2 == 0 else reversed(range(len(runners)))
        for j in order:
            start = clock()
            runners[j]()
            times[j].append(clock() - start)
            if tick:
                tick()
    return times


@dataclass
class Result:
    """The outcome of one case: each side's timings in seconds and what follows from them.

    times: bert-zoo's timed runs; reference_times: the reference's (empty without one). reference_name:
    what the reference was, e.g. "Transformers 4.57.1 PyTorch (SDPA)". note: why the reference or the
    case did not run, if so.
    """

    case: Case
    times: list[float]
    reference_times: list[float] = field(default_factory=list)
    reference_name: str = ""
    note: str = ""

    @property
    def median(self) -> float:
        """bert-zoo's median time in seconds."""
        return statistics.median(self.times)

    @property
    def reference_median(self) -> float | None:
        """The reference's median time in seconds, None without a reference."""
        return statistics.median(self.reference_times) if self.reference_times else None

    @property
    def ratio(self) -> float | None:
        """bert-zoo median / reference median (< 1: bert-zoo faster); None without a reference."""
        ref = self.reference_median
        return self.median / ref if ref else None

    @property
    def tokens_per_second(self) -> float:
        """Real (non-padding) tokens of the batch over bert-zoo's median time."""
        return float(self.case.lengths().sum()) / self.median


def padding_speedups(results: Sequence[Result]) -> dict[str, list[tuple[float, float]]]:
    """Speed-up over the fixed batch of the same shape, per side, for the ragged cases of the "padding"
    series: {"bert-zoo": [(padding fraction, t(fixed) / t(ragged)), ...], "bert-zoo padding-free": [...]
    (the same batches run padding-free, against bert-zoo's padded fixed batch), "<reference name>": [...]},
    sorted by padding. The baseline is any measured fixed case of the same twin, mode, dtype, B x T and
    reference; a ragged case without one is left out."""

    def key(case: Case) -> tuple:
        return (case.twin, case.mode, case.dtype, case.batch, case.length, case.reference)

    fixed = {key(r.case): r for r in results if r.case.ragged is None and r.times}
    curves: dict[str, list[tuple[float, float]]] = {}
    for r in results:
        base = fixed.get(key(r.case))
        if r.case.series != "padding" or r.case.ragged is None or base is None or not r.times:
            continue
        if r.case.padding_free:  # its reference side is the padded run already in the reference curve
            curves.setdefault("bert-zoo padding-free", []).append((r.case.padding, base.median / r.median))
            continue
        curves.setdefault("bert-zoo", []).append((r.case.padding, base.median / r.median))
        if r.reference_median and base.reference_median:
            curves.setdefault(r.reference_name, []).append(
                (r.case.padding, base.reference_median / r.reference_median)
            )
    return {name: sorted(points) for name, points in curves.items()}


def load_average() -> float | None:
    """The 1-minute load average of the machine (None where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor() or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
