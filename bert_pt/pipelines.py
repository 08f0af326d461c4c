"""`bert_pt.pipeline(...)`: the pipeline tasks of bert_common run by a PyTorch model.

    from bert_pt import pipeline
    fill = pipeline("fill-mask", model="path/to/bert-base-uncased")
    fill("Paris is the [MASK] of France.")

Only the network runs here, one batch at a time (`make_runner`); tokenization, batching (sorted by
length, padded to each batch's longest feature: eager PyTorch needs no fixed shapes) and post-processing
are bert_common's, so the three twins give the same answers. A batch whose padding is worth skipping runs
padding-free (`make_padding_free_runner`, picked per batch by `bert_common.batching.use_padding_free`):
eager PyTorch packs to the exact token count, so no shape is compiled twice. `load_model` / `run_numpy` are the numpy-facing interface every twin offers
(used by the pipelines, `bert-zoo convert` verification and `bert-zoo diff`).

Shape legend: B batch, T sequence length (the arrays of `run_numpy` keep the model's shapes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from bert_common.config import BertConfig
from bert_common.pipelines import Pipeline, build_pipeline, resolve_device
from bert_pt.pretrained import BertPreTrainedModel
from bert_pt.registry import model_class


def load_model(head: str, source: str, **kwargs: Any) -> tuple[Any, BertConfig, dict[str, list]]:
    """(model in eval mode, its config, loading info) for the head class named `head` (any twin's spelling).

    Raises:
        ValueError: an unknown head; and the errors of `BertPreTrainedModel.from_pretrained`.
    """
    model, info = model_class(head).from_pretrained(source, output_loading_info=True, **kwargs)
    return model, model.config, info


def run_numpy(model: Any, arrays: Mapping[str, np.ndarray], **forward: Any) -> dict[str, Any]:
    """Run `model` on numpy inputs; every tensor output comes back as a float32/int numpy array, tuples of
    tensors as tuples of arrays."""
    target = next(model.parameters()).device
    tensors = {k: torch.from_numpy(np.asarray(v)).to(target) for k, v in arrays.items()}
    with torch.inference_mode():
        out = model(**tensors, **forward, return_dict=True)

    def convert(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            return (value.float() if value.is_floating_point() else value).numpy()
        if isinstance(value, (tuple, list)):
            return tuple(convert(v) for v in value)
        return value

    return {k: convert(v) for k, v in out.items()}


def make_runner(model: BertPreTrainedModel) -> Callable[[dict[str, np.ndarray]], dict[str, Any]]:
    """The pipeline's batch runner: `run_numpy(model, arrays)` on wherever the model is at call time
    (input_ids / attention_mask / token_type_ids [B, T] int64 in, numpy outputs out)."""
    return functools.partial(run_numpy, model)


def make_padding_free_runner(model: BertPreTrainedModel) -> Callable[[dict[str, np.ndarray]], dict[str, Any]]:
    """`make_runner`'s runner with `padding_free=True`: the dense layers run on the attended tokens only
    (docs/padding-free.md); outputs at attended positions agree with the padded path within 1e-5, padded
    positions come out as zeros (the pipelines do not read them)."""
    return functools.partial(run_numpy, model, padding_free=True)


def pipeline(
    task: str,
    model: Any = None,
    tokenizer: Any = None,
    device: str | torch.device | None = None,
    batch_size: int = 8,
    **kwargs: Any,
) -> Pipeline:
    """A pipeline for `task` (see bert_common.pipelines.TASKS) on a bert_pt model.

    model: None for the embedded all-MiniLM-L6-v2, a directory, a hub id, or a loaded bert_pt model.
    device: where the model runs ("cpu", "cuda", ...); default: cpu, or the loaded model's device.
    batch_size: features per model call (default 8); inputs are sorted by length across a call's list.
    kwargs: task parameters used on every call (e.g. top_k=3, pooling="mean").

    Raises:
        ValueError: an unknown task, or a model whose head cannot serve it (see
            bert_common.pipelines.build_pipeline); and the errors of from_pretrained when loading.
    """

    target = resolve_device(device)  # None, "cpu", an accelerator index k, or the caller's own device
    if isinstance(target, int):
        target = f"cuda:{target}"

    def load(head: str, source: str, **from_pretrained: Any) -> tuple[Any, BertConfig, list[str]]:
        loaded, config, info = load_model(head, source, **from_pretrained)
        return loaded, config, info["missing_keys"]

    pipe = build_pipeline(
        task,
        model,
        tokenizer,
        twin="pt",
        load=load,
        make_runner=make_runner,
        make_padding_free_runner=make_padding_free_runner,
        model_type=BertPreTrainedModel,
        batch_size=batch_size,
        **kwargs,
    )
    if target is not None:
        pipe.model.to(target)
    pipe.model.eval()
    return pipe
