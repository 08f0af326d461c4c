"""The fastest CPU path for a bert_pt model, as one switch: `optimize(model)`, verified against eager.

    from bert_zoo.fast import optimize
    fast = optimize(model)                 # backend="auto": onnxruntime when installed, else inductor
    out = fast(input_ids=ids, attention_mask=mask)   # the model's output class, e.g. out.logits
    pipe = pipeline("feature-extraction", backend="auto")  # bert_pt.pipeline on the fast path

Backends (bert_zoo.fast_backends says how each runs):

- "onnxruntime": bert_zoo.export_onnx's graph, fused by onnxruntime's transformer optimizer (Attention,
  SkipLayerNormalization, BiasGelu), ORT_ENABLE_ALL, intra-op threads = physical cores. Runs the token
  inputs only (no labels, no hidden states or attentions).
- "inductor": `torch.compile` (inductor) with `torch._inductor.config.freezing = True` under
  `torch.no_grad()`; every forward argument passes through.
- "auto": "onnxruntime" when it imports, else "inductor". On bert-base fp32, batch 8 x 128, on a shared
  2-core AMD EPYC (AVX-512), the fused onnxruntime session tied onnxruntime's default session and was
  ahead of inductor (freezing, max-autotune) and eager; oneDNN graph tied too but runs on deprecated
  TorchScript (docs/guides/benchmarks.md, "The fastest CPU path", gives the figures).

Both snapshot the weights when built (export; freezing at the first compile): build the fast model
after loading or fine-tuning, and again after changing a weight. Construction puts the model in eval
mode and, unless verify=False, runs the fast path and eager PyTorch on the export verification batches
(bert_zoo.export_common.verification_batches: B x T = 1 x 1, 3 x 16 and 2 x 40, every second row
right-padded, both token types) and on example_inputs, and raises when any output field differs by more
than atol (1e-5) in max |diff|, the contract of `bert-zoo convert` and `bert-zoo export`.

Shape legend: B batch, C choices (multiple choice), T positions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bert_zoo import fast_backends
from bert_zoo.export_common import Check, compare_fields, verification_batches
from bert_zoo.verify import ATOL, nan_max

BACKENDS = ("auto", "inductor", "onnxruntime")
# backend name -> builder (model, head, output class, threads) -> runner; tests wrap these.
BUILDERS = {"onnxruntime": fast_backends.build_onnxruntime, "inductor": fast_backends.build_inductor}
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
REFERENCE = "eager PyTorch"


class FastError(ValueError):
    """optimize() cannot build the fast path as asked: an unknown backend, a model it does not run
    (not a bert_pt model, a decoder, not on the CPU, not float32 for onnxruntime), onnxruntime missing."""


class FastVerificationError(RuntimeError):
    """The fast path does not reproduce eager PyTorch within atol. checks: one Check per batch."""

    def __init__(self, message: str, checks: list[Check]) -> None:
        super().__init__(message)
        self.checks = checks


def resolve_backend(backend: str) -> str:
    """ "inductor" or "onnxruntime" for `backend` ("auto": onnxruntime when it imports, else inductor).

    Raises:
        FastError: an unknown backend; "onnxruntime" when onnxruntime is not installed.
    """
    if backend not in BACKENDS:
        raise FastError(f"unknown backend {backend!r}; choose {', '.join(BACKENDS)}")
    if backend == "auto":
        return "onnxruntime" if fast_backends.onnxruntime_available() else "inductor"
    if backend == "onnxruntime" and not fast_backends.onnxruntime_available():
        raise FastError(
            "backend='onnxruntime' needs onnxruntime, which is not installed: pip install bert-zoo[export]"
        )
    return backend


def _check_model(model: Any, backend: str) -> str:
    """The head name of `model` after checking the fast path can run it."""
    import torch

    head = getattr(model, "head_name", None)
    if not isinstance(model, torch.nn.Module) or head is None or not hasattr(model, "config"):
        raise FastError(f"optimize() takes a bert_pt model (BertModel or a head), got {type(model).__name__}")
    config = model.config
    if config.is_decoder:
        raise FastError(f"optimize() runs encoders; {head} is a decoder (config.is_decoder), which generates")
    parameter = next(model.parameters())
    if parameter.device.type != "cpu":
        raise FastError(f"optimize() is the CPU path; the model is on {parameter.device}")
    if backend == "onnxruntime":
        if parameter.dtype != torch.float32:
            raise FastError(f"backend='onnxruntime' runs float32 models; this one is {parameter.dtype}")
        if config.output_hidden_states or config.output_attentions:
            raise FastError(
                "backend='onnxruntime' returns the model's main fields only; the config asks for "
                "hidden_states or attentions (use backend='inductor')"
            )
    return head


class FastModel:
    """What optimize() returns: call it as the model (`fast(input_ids=..., attention_mask=...)`).

    backend: "onnxruntime" or "inductor". model: the eager bert_pt model. checks: the verification,
    one Check per batch (empty with verify=False).
    """

    def __init__(self, model: Any, backend: str, runner: Any, checks: list[Check] | None = None) -> None:
        self.model = model
        self.backend = backend
        self.checks = checks or []
        self._run = runner

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the fast path. input_ids: [B, T] ([B, C, T] for multiple choice) int tensor;
        attention_mask: 0/1, default every position; token_type_ids: default zeros; return_dict: default
        config.use_return_dict (False: the output's `to_tuple()`). With backend="inductor", every other
        forward argument of the model passes through.

        Returns the model's output class (e.g. SequenceClassifierOutput with logits [B, Y]) of float32
        tensors.

        Raises:
            TypeError: with backend="onnxruntime", a forward argument other than the token inputs
                (labels, position_ids, output_hidden_states=True, ...); tensors of the wrong dtype.
            ValueError: the model's input rules (bert_pt.inputs.check_inputs: shapes, ids outside the
                vocabulary, a mask other than 0/1).
        """
        import torch

        if self.backend == "inductor":
            out = self._run(
                {
                    "input_ids": input_ids,
                    "attention_mask": attention_mask,
                    "token_type_ids": token_type_ids,
                    "return_dict": True,
                    **kwargs,
                }
            )
        else:
            given = sorted(name for name, value in kwargs.items() if value is not None and value is not False)
            if given:
                raise TypeError(
                    f"backend='onnxruntime' runs {', '.join(TOKEN_INPUTS)} only; got {', '.join(given)} "
                    "(use backend='inductor' or the eager model)"
                )
            from bert_pt.inputs import check_inputs

            rank = 3 if self.model.head_name == "BertForMultipleChoice" else 2
            check_inputs(
                self.model.config,
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                rank=rank,
            )
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            inputs = {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": token_type_ids,
            }
            out = self._run(inputs)
        use_dict = self.model.config.use_return_dict if return_dict is None else return_dict
        return out if use_dict else out.to_tuple()

    @property
    def worst(self) -> float:
        """The largest difference from eager over the verification (NaN wins; 0.0 when not verified)."""
        return nan_max(c.worst for c in self.checks)


def optimize(
    model: Any,
    backend: str = "auto",
    example_inputs: Mapping[str, Any] | None = None,
    *,
    verify: bool = True,
    atol: float = ATOL,
    threads: int | None = None,
) -> FastModel:
    """The fastest CPU path for the bert_pt `model`, verified against eager PyTorch.

    model: a bert_pt BertModel or head (not a decoder), on the CPU, put in eval mode here.
    backend: "auto" (default: "onnxruntime" when installed, else "inductor"), "onnxruntime" (float32
        models) or "inductor".
    example_inputs: a batch of your own ({"input_ids": [B, T] ints, optional attention_mask and
        token_type_ids}, numpy arrays or tensors), verified along with the standard batches (with
        inductor, its shape is compiled here rather than at the first call).
    verify: compare with eager on construction (default True). atol: the tolerance, 1e-5 (ATOL).
    threads: intra-op threads (default: onnxruntime uses the physical cores; inductor leaves torch's).

    Returns a FastModel, called as the model, returning the model's output class.

    Raises:
        FastError: an unknown backend, onnxruntime not installed, a model the backend cannot run, or the
            export / transformer optimizer failing on it.
        FastVerificationError: an output field differs from eager by more than atol (or is NaN), or the
            fast path fails on a verification batch.
    """
    from bert_zoo.export_common import ExportError

    name = resolve_backend(backend)
    head = _check_model(model, name)
    model.eval()
    batches = verification_batches(model.config, head)
    eager_example = _eager(model, batches[1])
    try:
        runner = BUILDERS[name](model, head, type(eager_example), threads)
    except ExportError as err:
        raise FastError(f"backend={name!r} cannot be built for {head}: {err}") from err
    fast = FastModel(model, name, runner)
    if verify:
        if example_inputs is not None:
            batches.append(dict(example_inputs))
        fast.checks = [_check(fast, batch) for batch in batches]
        failure = _failure(fast.checks, atol)
        if failure:
            raise FastVerificationError(failure, fast.checks)
    return fast


def pipeline(task: str, model: Any = None, backend: str = "auto", **kwargs: Any) -> Any:
    """`bert_pt.pipeline(task, model, **kwargs)` whose model runs on the fast path (`optimize(model,
    backend)`, verified on construction): the same answers within 1e-5, tokenization and
    post-processing unchanged.

    task, model, kwargs: as bert_pt.pipeline (model: None for the embedded all-MiniLM-L6-v2, a
    directory, a hub id or a bert_pt model; tokenizer=, batch_size=, task parameters).

    Raises:
        FastError, FastVerificationError: as optimize(); and the errors of bert_pt.pipeline.
    """
    from bert_zoo.twins import load_twin

    pipe = load_twin("pt").pipeline(task, model, **kwargs)
    pipe.runner = pipeline_runner(optimize(pipe.model, backend))
    return pipe


def pipeline_runner(fast: FastModel) -> Any:
    """A pipeline's batch runner on `fast`: numpy [B, T] int64 inputs -> the output fields as numpy
    arrays (float32 for floating fields), as bert_pt.pipelines.run_numpy returns them."""
    import torch

    def run(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        out = fast(**{k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}, return_dict=True)
        return {
            name: (value.float() if value.is_floating_point() else value).detach().cpu().numpy()
            for name, value in out.items()
        }

    return run


def _tensors(batch: Mapping[str, Any]) -> dict[str, Any]:
    import torch

    return {
        k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v)) for k, v in batch.items()
    }


def _eager(model: Any, batch: Mapping[str, Any]) -> Any:
    import torch

    with torch.inference_mode():
        return model(**_tensors(batch), return_dict=True)


def _arrays(output: Any) -> dict[str, np.ndarray]:
    """Tensor fields of a ModelOutput as float64 arrays; tuple fields (hidden_states) as name.i."""
    found: dict[str, np.ndarray] = {}
    for name, value in output.items():
        values = value if isinstance(value, (tuple, list)) else (value,)
        for i, item in enumerate(values):
            if hasattr(item, "detach"):
                key = f"{name}.{i}" if isinstance(value, (tuple, list)) else name
                found[key] = item.detach().cpu().double().numpy()
    return found


def _check(fast: FastModel, batch: Mapping[str, Any]) -> Check:
    """One verification batch: max |fast - eager| per output field, or the fast path's error."""
    tensors = _tensors(batch)
    shape = tuple(tensors["input_ids"].shape)
    expected = _arrays(_eager(fast.model, tensors))
    try:
        got = _arrays(fast(**tensors, return_dict=True))
        missing = sorted(set(expected) - set(got))
        if missing:
            raise ValueError(f"output fields missing: {', '.join(missing)}")
        return Check(fast.backend, REFERENCE, shape, compare_fields(got, expected, list(expected)))
    except Exception as err:  # the backends raise their own types; the first line is reported
        text = str(err).strip()
        first = next((line for line in text.splitlines() if line.strip()), type(err).__name__)
        return Check(fast.backend, REFERENCE, shape, dict.fromkeys(expected, math.nan), first[:300])


def _failure(checks: list[Check], atol: float) -> str:
    """The one-line message of the worst failing check, "" when every field is within atol."""
    bad = [c for c in checks if c.error or math.isnan(c.worst) or c.worst > atol]
    if not bad:
        return ""
    worst = max(bad, key=lambda c: math.inf if c.error or math.isnan(c.worst) else c.worst)
    where = f"verification failed: {worst.graph} vs {REFERENCE} on inputs {list(worst.shape)}"
    if worst.error:
        return f"{where}: the fast path cannot run them ({worst.error})"
    field = max(worst.diffs, key=lambda k: math.inf if math.isnan(worst.diffs[k]) else worst.diffs[k])
    value = worst.diffs[field]
    what = "NaN or Inf" if math.isnan(value) else f"max |diff| {value:.2e} > {atol:g}"
    return f"{where}, {field}: {what}"
