"""The two fast CPU backends of `bert_zoo.fast.optimize`, each built from a bert_pt model.

- "onnxruntime": the model exported by bert_zoo.export_onnx (dynamic batch, choices and sequence axes),
  fused by onnxruntime's transformer optimizer (model_type="bert": Attention, SkipLayerNormalization,
  BiasGelu; bert_zoo.export_onnx.optimize_onnx) and run by an `InferenceSession` on the CPU provider
  with graph optimization level ORT_ENABLE_ALL and `intra_op_num_threads` = the physical cores.
- "inductor": `torch.compile(model)` (inductor) run under `torch.no_grad()` with
  `torch._inductor.config.freezing = True` (weights folded into the graph as constants, linear weights
  pre-packed). The first call compiles for its shape, the first call of another shape recompiles once
  with dynamic batch and sequence axes.

Each builder returns a runner: a dict of input tensors in ([B, T] int64 `input_ids`, `attention_mask`,
`token_type_ids`; [B, C, T] for multiple choice) -> the model's output (a bert_common ModelOutput of
torch tensors). onnxruntime is imported here, inside a function, only when that backend is asked for.

Shape legend: B batch, C choices, T positions.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

Runner = Callable[[dict[str, Any]], Any]


def physical_cores() -> int:
    """The machine's physical cores (psutil when installed, else os.cpu_count(), at least 1)."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except ImportError:
        count = None
    return int(count or os.cpu_count() or 1)


def onnxruntime_available() -> bool:
    """Whether onnxruntime (and its transformer optimizer) can be imported."""
    try:
        import onnxruntime.transformers.optimizer  # noqa: F401
    except ImportError:
        return False
    return True


def build_onnxruntime(model: Any, head: str, output_class: type, threads: int | None) -> Runner:
    """Export `model` (bert_pt, eval mode) to ONNX, fuse it, and open a session; returns the runner.

    output_class: the ModelOutput class the model returns (the runner fills the exported fields).
    threads: onnxruntime's intra-op threads (None: physical_cores()).

    Raises:
        ImportError: onnxruntime is not installed.
        bert_zoo.export_common.ExportError: the export or the transformer optimizer fails on the model.
    """
    import onnxruntime
    import torch

    from bert_zoo.export_onnx import DEFAULT_OPSET, OPTIMIZED_FILE, export_onnx, optimize_onnx

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or physical_cores()
    options.log_severity_level = 3  # errors only
    with tempfile.TemporaryDirectory() as directory:
        names, outputs = export_onnx(model, head, Path(directory), DEFAULT_OPSET)
        optimize_onnx(Path(directory), model.config)
        session = onnxruntime.InferenceSession(
            str(Path(directory) / OPTIMIZED_FILE), options, providers=["CPUExecutionProvider"]
        )

    def run(inputs: dict[str, Any]) -> Any:
        feed = {name: inputs[name].detach().cpu().to(torch.int64).numpy() for name in names}
        values = session.run(outputs, feed)
        return output_class(**{name: torch.from_numpy(value) for name, value in zip(outputs, values)})

    return run


def build_inductor(model: Any, head: str, output_class: type, threads: int | None) -> Runner:
    """`torch.compile(model)` with inductor's freezing, run under `torch.no_grad()`; returns the runner.

    head, output_class: unused (the compiled model returns its own output class). threads: torch's
    intra-op threads are process-wide, so they are left as they are (None) or set with
    `torch.set_num_threads(threads)`.
    """
    import torch
    import torch._inductor.config as inductor_config

    if threads:
        torch.set_num_threads(threads)
    compiled = torch.compile(model, backend="inductor")

    def run(inputs: dict[str, Any]) -> Any:
        # freezing is read when a graph compiles, which happens inside the call (first call, new shape)
        with torch.no_grad(), inductor_config.patch(freezing=True):
            return compiled(**inputs)

    return run
