"""Pipelines: text in, answers out, the same in every framework, built as Transformers' are.

`bert_pt.pipeline`, `bert_tf.pipeline` and `bert_flax.pipeline` only load, place and run the model;
everything else is here and in the modules it draws on, written once:

- `build_pipeline`: the framework-free part of every twin's `pipeline()`: the model (the embedded
  default, a directory or hub id, or a loaded model), its tokenizer (inferred from where the model was
  loaded from, also for a model object: its `config.name_or_path`), `framework=` (checked against the
  twin, as Transformers' `framework="pt"`), `dtype=` / `torch_dtype=` / `model_kwargs=` (passed to the
  twin's from_pretrained) and the task parameters;
- `resolve_device`: `device=` in one spelling (-1 is the CPU, as in Transformers; k an accelerator);
- `bert_common.pipeline_run`: `Pipeline` (calls, streaming, answer shapes), `TASKS`, `get_task`;
- `bert_common.batching`: sorting by length, padding (to length buckets for compiling twins), answers
  back in input order;
- `bert_common.pipeline_tasks` / `bert_common.pipeline_spans`: each task's handler.

Shape legend: B = features in one model call, T = tokens (the arrays a runner receives are [B, T]).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bert_common.batching import Runner, collate
from bert_common.config import BertConfig
from bert_common.pipeline_run import (
    HANDLERS,
    TASK_ALIASES,
    TASKS,
    Pipeline,
    TaskSpec,
    UntrainedHeadError,
    check_head_is_trained,
    get_task,
)

logger = logging.getLogger("bert_zoo")

FRAMEWORKS = ("pt", "tf", "flax")


def resolve_device(device: Any) -> Any:
    """`device=` of every twin's `pipeline()` in one spelling, which each twin maps to its framework.

    Returns None (no choice: the framework's default, or where a given model already is), "cpu"
    (device=-1, as in Transformers, or the name "cpu"), an accelerator index k >= 0 (device=k: CUDA k in
    PyTorch, GPU k in TensorFlow, the k-th JAX device), or any other name or device object unchanged.

    Raises:
        TypeError: a bool or a float.
        ValueError: a negative index other than -1.
    """
    if device is None:
        return None
    if isinstance(device, (bool, float)):
        raise TypeError(
            f"device must be -1 (the CPU), an accelerator index, or a device name, got {device!r}"
        )
    if isinstance(device, (int, np.integer)):
        if device == -1:
            return "cpu"
        if device < 0:
            raise ValueError(f"device must be -1 (the CPU) or an accelerator index >= 0, got {device}")
        return int(device)
    if isinstance(device, str) and device.strip().lower().lstrip("/").removeprefix("device:") in (
        "cpu",
        "cpu:0",
    ):
        return "cpu"
    return device


@contextlib.contextmanager
def _held_log_records():
    """Hold back bert_zoo log records (the loading report) while a pipeline loads its model."""
    records: list[logging.LogRecord] = []

    class _Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, propagate = _Hold(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _load_kwargs(dtype: Any, torch_dtype: Any, model_kwargs: Any) -> dict[str, Any]:
    """The keyword arguments of from_pretrained that `dtype=`, `torch_dtype=` and `model_kwargs=` make."""
    if model_kwargs is not None and not isinstance(model_kwargs, Mapping):
        raise TypeError(
            f"model_kwargs must be a dict of from_pretrained arguments, got {type(model_kwargs).__name__}"
        )
    kwargs = dict(model_kwargs or {})
    if torch_dtype is not None:
        if dtype is not None:
            raise TypeError("pass dtype or torch_dtype (its older name), not both")
        dtype = torch_dtype
    if dtype is not None:
        if "dtype" in kwargs or "torch_dtype" in kwargs:
            raise ValueError("dtype given twice: as pipeline(dtype=...) and in model_kwargs; pass one")
        kwargs["dtype"] = dtype
    return kwargs


def _tokenizer_of(model: Any) -> str:
    """Where a model object was loaded from (its config's name_or_path), to load its tokenizer."""
    name = getattr(getattr(model, "config", None), "name_or_path", "") or getattr(model, "name_or_path", "")
    if not name:
        raise ValueError(
            "pipeline() was given a model object that was not loaded from a directory or hub id (its "
            "config.name_or_path is empty); pass its tokenizer too (tokenizer=...)"
        )
    return os.fspath(name)


def build_pipeline(
    task: str,
    model: Any,
    tokenizer: Any,
    *,
    load: Callable[..., tuple[Any, BertConfig, list[str]]],
    make_runner: Callable[[Any], Runner],
    model_type: type,
    static_shapes: bool = False,
    make_padding_free_runner: Callable[[Any], Runner] | None = None,
    twin: str | None = None,
    framework: str | None = None,
    batch_size: int = 8,
    dtype: Any = None,
    torch_dtype: Any = None,
    model_kwargs: Mapping[str, Any] | None = None,
    **defaults: Any,
) -> Pipeline:
    """The part of every twin's `pipeline()` that does not depend on the framework.

    model: None (the embedded default model), a directory or hub id, or a loaded model of the twin.
    tokenizer: None (loaded from where the model was loaded from: the directory or hub id given, or a
        model object's `config.name_or_path`), a directory or hub id, or a tokenizer.
    load(head, name_or_path, **from_pretrained_kwargs) -> (model, config, missing_keys);
    make_runner(model) -> the batch runner (numpy arrays [B, T] in, numpy outputs out), made once per
    pipeline (a twin that compiles keeps its compiled function there). model_type: the twin's model base
    class, to recognise loaded models. static_shapes: the runner compiles once per input shape, so
    batches are padded to length buckets (`bert_common.batching.padded_shape`).
    make_padding_free_runner(model) -> the same runner padding-free, or None (default: every batch runs
    padded); the pipeline picks it per batch (`bert_common.batching.use_padding_free`). twin: the calling twin, "pt", "tf" or "flax" (a twin that passes its name as `framework=`
    instead, as before `twin=` existed, is read that way).
    framework: the user's `framework=` argument, as in Transformers: None, or the twin's own name.
    dtype / torch_dtype (its older name) / model_kwargs: arguments of the twin's from_pretrained when
        the pipeline loads the model (`dtype="bfloat16"`, "auto", a framework dtype).
    defaults: task parameters used on every call.

    Raises:
        UntrainedHeadError: the checkpoint lacks the task head's weights.
        TypeError: a model that is none of the above; dtype and torch_dtype both.
        ValueError: a `framework` other than the twin's; `dtype` / `model_kwargs` with a model object
            (it is used as it is); a model object not loaded from a directory, given without tokenizer.
    """
    from bert_common.files import default_model_dir
    from bert_common.tokenization import BertTokenizerFast

    if twin is None:
        twin, framework = framework, None
    if twin not in FRAMEWORKS:
        raise ValueError(f"the twin must be one of {FRAMEWORKS}, got {twin!r}")
    if framework is not None and framework != twin:
        if framework not in FRAMEWORKS:
            raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}, got {framework!r}")
        raise ValueError(
            f"framework={framework!r} asks for the {framework} twin, but this is bert_{twin}.pipeline; "
            f"call bert_{framework}.pipeline(...) instead"
        )
    spec = get_task(task)
    load_kwargs = _load_kwargs(dtype, torch_dtype, model_kwargs)
    if model is None:
        model = str(default_model_dir())
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        with _held_log_records() as records:
            loaded, config, missing = load(spec.head, source, **load_kwargs)
        check_head_is_trained(spec, missing, source)  # the one-line verdict replaces the loading report
        for record in records:
            logger.handle(record)
        if tokenizer is None:
            tokenizer = source
    elif isinstance(model, model_type):
        loaded, config = model, model.config
        if {k: v for k, v in load_kwargs.items() if not (k == "dtype" and v == "auto")}:
            raise ValueError(
                f"dtype=/model_kwargs= apply when pipeline() loads the model ({sorted(load_kwargs)} given); "
                "a model object is used as it is: cast it, or pass its directory instead"
            )
        if tokenizer is None:
            tokenizer = _tokenizer_of(model)
    else:
        raise TypeError(
            f"model must be None, a directory, a hub id or a {twin} BERT model, got {type(model).__name__}"
        )
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = BertTokenizerFast.from_pretrained(tokenizer)
    return Pipeline(
        spec.name,
        make_runner(loaded),
        tokenizer,
        config,
        framework=twin,
        batch_size=batch_size,
        model=loaded,
        static_shapes=static_shapes,
        padding_free_runner=make_padding_free_runner(loaded) if make_padding_free_runner else None,
        **defaults,
    )


__all__ = [
    "FRAMEWORKS",
    "HANDLERS",
    "TASKS",
    "TASK_ALIASES",
    "Pipeline",
    "Runner",
    "TaskSpec",
    "UntrainedHeadError",
    "build_pipeline",
    "check_head_is_trained",
    "collate",
    "get_task",
    "resolve_device",
]
