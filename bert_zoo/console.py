"""What the commands show on the terminal: progress bars on stderr, TensorFlow kept quiet.

`progress_bar` is a tqdm bar on stderr, shown only when stderr is a terminal (`show_progress`), so logs
and pipes stay clean; `ProgressState` advances one by bytes as a writer reads the weights.
`import_tensorflow_quietly` imports TensorFlow without its C++ start-up lines and with absl's Python
logging at errors only, for the commands that read a TensorFlow format outside the twins (`bert-zoo
convert` / `diff` on a Google TF1 checkpoint); the twins themselves are imported quietly by
`bert_zoo.twins.load_twin`. `print_key_report` / `print_verification` are what `bert-zoo convert`
prints on stdout about what it read and how the result compares.

No tensors here beyond the weights a `ProgressState` passes through unchanged.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from bert_zoo.twins import native_stderr_silenced, quiet_frameworks
from bert_zoo.verify import ATOL, group_diffs, within, worst_field


def show_progress() -> bool:
    """Progress bars only on a terminal (stderr), never in logs or pipes."""
    return sys.stderr.isatty()


def progress_bar(total: int, desc: str, unit: str) -> Any:
    """A tqdm bar on stderr (disabled unless it is a terminal)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stderr,
        disable=not show_progress(),
    )


class ProgressState(Mapping[str, np.ndarray]):
    """A read-only view of the weights that advances a progress bar (by bytes) as writers read it."""

    def __init__(self, state: Mapping[str, np.ndarray], desc: str) -> None:
        self._state = state
        self._bar = progress_bar(sum(v.nbytes for v in state.values()), desc, "B")

    def __getitem__(self, key: str) -> np.ndarray:
        value = self._state[key]
        self._bar.update(value.nbytes)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)

    def close(self) -> None:
        self._bar.close()


def quiet_tensorflow() -> None:
    """No TensorFlow chatter from here on: TF_CPP_MIN_LOG_LEVEL before TensorFlow is imported (a user's
    setting wins), and absl's and TensorFlow's Python loggers at errors only."""
    quiet_frameworks()
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow quietly (`quiet_tensorflow`); TensorFlow 2.21 still prints a few C++ lines
    before its logging starts ("failed call to cuInit" on a machine without a GPU, when it first looks
    for devices), so file descriptor 2 is silenced during the import and the device discovery."""
    quiet_tensorflow()
    with native_stderr_silenced():
        import tensorflow

        tensorflow.config.list_physical_devices()


def print_key_report(report: Mapping[str, Any], out_format: str) -> None:
    """What a conversion read: the source, its format and head, the tensors dropped or renamed."""
    print(f"source:  {report['source']} ({report['format']}), head {report['head']}")
    print(f"tensors: {report['tensors']} written as {out_format}")
    dropped, renamed = report["dropped"], report["renamed"]
    if dropped:
        reasons: dict[str, list[str]] = {}
        for name, reason in dropped.items():
            reasons.setdefault(reason, []).append(name)
        for reason, names in reasons.items():
            shown = ", ".join(names[:4]) + (f", ... ({len(names)} in all)" if len(names) > 4 else "")
            print(f"dropped: {shown} -- {reason}")
    if renamed:
        legacy = {k: v for k, v in renamed.items() if not (v == "bert." + k or k == "bert." + v)}
        prefixed = len(renamed) - len(legacy)
        for old, new in list(legacy.items())[:6]:
            print(f"renamed: {old} -> {new}")
        if len(legacy) > 6:
            print(f"renamed: ... {len(legacy)} legacy names in all")
        if prefixed:
            print(f"renamed: {prefixed} names gained or lost the 'bert.' prefix")


def print_verification(diffs: Mapping[str, float], before: str, after: str) -> int:
    """The max |diff| per output field of a verification; returns 1 when one is above ATOL or NaN."""
    worst_name, worst = worst_field(diffs)
    print(f"verify:  source in {before} vs result in {after}, max |diff| per output field:")
    for name, value in group_diffs(diffs).items():
        flag = "" if within(value) else ("   <-- NaN or Inf" if math.isnan(value) else "   <-- above 1e-5")
        print(f"  {name:<28} {value:.2e}{flag}")
    if math.isnan(worst):
        print(f"  worst: {worst_name} nan: an output holds NaN or Inf on at least one side")
        return 1
    if not within(worst):
        print(f"  worst: {worst_name} {worst:.2e} > {ATOL:g}")
        return 1
    print(f"  all fields within {ATOL:g}")
    return 0
