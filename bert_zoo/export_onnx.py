"""ONNX export of the PyTorch twin (bert_pt), verified in onnxruntime.

The graph takes int64 `input_ids`, `attention_mask`, `token_type_ids` of shape [B, T] ([B, C, T] for
multiple choice; a cross-attention decoder also float32 `encoder_hidden_states` [B, S, H] and int64
`encoder_attention_mask` [B, S]), with B, C, T and S dynamic axes named "batch", "choices", "sequence"
and "encoder_sequence". Its outputs are the model's output fields, by name (`last_hidden_state` and
`pooler_output`, `logits`, `start_logits` / `end_logits`, `prediction_logits` /
`seq_relationship_logits`). The graph is traced by torch's TorchScript-based ONNX exporter
(`torch.onnx.export(dynamo=False)`): the torch.export-based one freezes the batch and sequence axes,
because the twin's input checks read the shapes as Python ints.

With `optimize`, onnxruntime's transformer optimizer (`onnxruntime.transformers.optimizer`,
model_type="bert") fuses the graph (LayerNorm, GELU, attention where it recognizes the pattern) into
`model.optimized.onnx`, verified on its own.

Shape legend: B batch, C choices, T positions, S encoder length, H hidden size, V vocabulary size,
Y labels.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_zoo.export_common import (
    Check,
    ExportError,
    compare_fields,
    failed_check,
    input_names,
    verification_batches,
)

# The TorchScript-based exporter writes opsets up to 20; the twin's attention needs 14
# (scaled_dot_product_attention), and LayerNormalization is one op from 17 on.
MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 14, 20, 17
MODEL_FILE = "model.onnx"
OPTIMIZED_FILE = "model.optimized.onnx"
# Not graph outputs: the loss needs labels, the cache and the per-layer tuples are left out.
_NOT_EXPORTED = ("loss", "past_key_values", "hidden_states", "attentions", "cross_attentions")


def check_opset(opset: int) -> int:
    """`opset` as an int when torch's TorchScript exporter can write it for the twin.

    Raises:
        ExportError: not an int in [14, 20].
    """
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"opset must be an int from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    return opset


def dynamic_axes(names: Sequence[str], outputs: dict[str, tuple[int, ...]], rank: int) -> dict:
    """Axis names of every input and output: "batch", "choices" (rank 3), "sequence", "encoder_sequence".

    Outputs: B first; [B, T, ...] fields (hidden states, token logits [B, T, V] / [B, T, Y], QA's
    [B, T] start/end logits) have a sequence axis; multiple choice's [B, C] logits a choices axis.
    """
    tokens = {0: "batch", 1: "choices", 2: "sequence"} if rank == 3 else {0: "batch", 1: "sequence"}
    axes = {
        n: {0: "batch", 1: "encoder_sequence"} if n.startswith("encoder_") else dict(tokens) for n in names
    }
    for name, shape in outputs.items():
        if rank == 3:
            axes[name] = {0: "batch", 1: "choices"}
        elif len(shape) == 3 or name in ("start_logits", "end_logits"):
            axes[name] = {0: "batch", 1: "sequence"}
        else:
            axes[name] = {0: "batch"}
    return axes


def _graph_module(model: Any, inputs: Sequence[str], outputs: Sequence[str]) -> Any:
    """The torch module the exporter traces: positional graph inputs in, the named fields out.

    Two heads are traced through an equivalent path, because bert_pt takes two sizes from its input
    checks as Python ints, which a trace freezes: the multiple-choice logits' `view(-1, num_choices)`
    (C) and the decoder's causal mask (T). Multiple choice runs the model's own `bert`, `dropout` and
    `classifier` on the [B*C, T] rows and reshapes with the traced B; a decoder gets its causal mask as a
    [B, T, T] attention mask built here from the traced T (while `export_onnx` traces it with
    `is_decoder` off: the same additive mask, `(1 - padding * causal) * finfo.min`). Both are checked
    against the unmodified twin by the verification.
    """
    import torch

    multiple_choice = model.head_name == "BertForMultipleChoice"
    decoder = bool(model.config.is_decoder)

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
            kwargs: dict[str, Any] = dict(zip(inputs, args))
            flags = {"output_attentions": False, "output_hidden_states": False, "return_dict": True}
            if multiple_choice:
                batch = kwargs["input_ids"].shape[0]
                rows = {k: v.reshape(-1, v.shape[-1]) for k, v in kwargs.items()}  # [B*C, T]
                pooled = self.model.bert(**rows, **flags).pooler_output  # [B*C, H]
                return (self.model.classifier(self.model.dropout(pooled)).reshape(batch, -1),)  # [B, C]
            if decoder:
                mask = kwargs["attention_mask"]  # [B, T]
                length = mask.shape[-1]
                causal = torch.ones(length, length, dtype=mask.dtype, device=mask.device).tril()  # [T, T]
                kwargs["attention_mask"] = mask[:, None, :] * causal[None]  # [B, T, T]
            out = self.model(**kwargs, **flags)
            return tuple(out[name] for name in outputs)

    return Graph().eval()


@contextlib.contextmanager
def _traced_as_encoder(model: Any) -> Iterator[None]:
    """A decoder traced with `is_decoder` off (its causal mask comes from `_graph_module`)."""
    decoder = model.config.is_decoder
    model.config.is_decoder = False
    try:
        yield
    finally:
        model.config.is_decoder = decoder


@contextlib.contextmanager
def _quiet_tracing() -> Iterator[None]:
    """The TorchScript exporter's deprecation and tracer warnings, which every export would print."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def output_fields(model: Any, example: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """The model's output fields on `example` that become graph outputs, with their shapes."""
    from bert_pt.pipelines import run_numpy

    out = run_numpy(model, example, **_forward_flags(model))
    return {
        name: tuple(value.shape)
        for name, value in out.items()
        if name not in _NOT_EXPORTED and isinstance(value, np.ndarray)
    }


def _forward_flags(model: Any) -> dict[str, Any]:
    flags: dict[str, Any] = {"output_attentions": False, "output_hidden_states": False}
    if model.config.is_decoder:
        flags["use_cache"] = False
    return flags


def export_onnx(model: Any, head: str, directory: Path, opset: int) -> tuple[list[str], list[str]]:
    """Trace the bert_pt `model` (in eval mode) into `directory / model.onnx`; returns (input names,
    output names).

    Raises:
        ExportError: the exporter cannot trace the model at this opset.
    """
    import torch

    config: BertConfig = model.config
    names = list(input_names(config, head))
    example = verification_batches(config, head)[1]  # several rows, padded, T > 1
    shapes = output_fields(model, example)
    outputs = list(shapes)
    graph = _graph_module(model, names, outputs)
    args = tuple(torch.from_numpy(example[name]) for name in names)
    as_encoder = _traced_as_encoder(model) if config.is_decoder else contextlib.nullcontext()
    try:
        with _quiet_tracing(), as_encoder, torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                graph,
                args,
                str(directory / MODEL_FILE),
                input_names=names,
                output_names=outputs,
                dynamic_axes=dynamic_axes(names, shapes, get_head(head).input_rank),
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
    except (RuntimeError, torch.onnx.OnnxExporterError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"torch.onnx.export cannot export {head} at opset {opset}: {first}") from err
    return names, outputs


def optimize_onnx(directory: Path, config: BertConfig) -> dict[str, int]:
    """Run onnxruntime's transformer optimizer (model_type="bert") on `model.onnx`, writing
    `model.optimized.onnx`; returns the count of each fused operator.

    Raises:
        ExportError: the optimizer fails on the graph.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        with _quiet_tracing(), _optimizer_logs_quiet():
            optimized = optimize_model(
                str(directory / MODEL_FILE),
                model_type="bert",
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
            )
            optimized.save_model_to_file(str(directory / OPTIMIZED_FILE))
            fused = optimized.get_fused_operator_statistics()
    except Exception as err:  # the optimizer's own errors have no common base class
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"onnxruntime's transformer optimizer failed on the graph: {first}") from err
    return {name: int(count) for name, count in fused.items() if count}


@contextlib.contextmanager
def _optimizer_logs_quiet() -> Iterator[None]:
    """onnxruntime.transformers logs every fusion at INFO/WARNING; keep it to errors."""
    loggers = [logging.getLogger(n) for n in ("onnxruntime.transformers", "fusion_base", "onnx_model")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def verify_onnx(path: Path, model: Any, head: str, outputs: Sequence[str], graph: str) -> list[Check]:
    """Run the ONNX file at `path` in onnxruntime (CPU) and the twin on every verification batch; one
    Check per batch, named `graph`.

    Raises:
        ExportError: onnxruntime cannot load or run the graph.
    """
    import onnxruntime as ort

    from bert_pt.pipelines import run_numpy

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a failing batch is reported in its Check
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own pybind exception types
        raise ExportError(f"onnxruntime cannot load {path.name}: {str(err).strip()[:300]}") from err
    checks = []
    for batch in verification_batches(model.config, head):
        feed = {i.name: batch[i.name] for i in session.get_inputs()}
        shape = tuple(batch["input_ids"].shape)
        try:
            got = dict(zip(outputs, session.run(list(outputs), feed)))
        except Exception as err:  # onnxruntime's pybind errors: the graph cannot run this shape
            checks.append(failed_check(graph, "bert_pt", shape, list(outputs), err))
            continue
        expected = run_numpy(model, batch, **_forward_flags(model))
        checks.append(Check(graph, "bert_pt", shape, compare_fields(got, expected, list(outputs))))
    return checks


def describe_onnx(path: Path) -> dict[str, Any]:
    """Inputs and outputs of an ONNX file as {name: [dim or axis name, ...] with dtype}, and its opset."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)

    def spec(values: Any) -> dict[str, dict[str, Any]]:
        return {
            v.name: {
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name,
                "shape": [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
            }
            for v in values
        }

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return {"inputs": spec(proto.graph.input), "outputs": spec(proto.graph.output), "opset": opset}
