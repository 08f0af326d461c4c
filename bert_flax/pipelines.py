"""`bert_flax.pipeline(...)`: the pipeline tasks of bert_common run by a Flax model.

Only the network runs here; tokenization, batching and post-processing are bert_common's, so the three
twins give the same answers. `load_model` / `run_numpy` are the numpy-facing interface every twin offers
(used by the pipelines, `bert-zoo convert` verification and `bert-zoo diff`). The wrapper compiles its
forward pass once per batch shape (its own `jax.jit`), so the pipeline pads its batches to length
buckets and power-of-two row counts (`bert_common.batching`): a stream of any lengths compiles a
handful of shapes (`JitRunner.compiles` counts them). Matmuls run at "highest" precision, the numerics
contract of the twins.

Shape legend: B batch, T positions (the arrays of a tokenized batch, [B, T]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from bert_common.config import BertConfig
from bert_common.pipelines import Pipeline, build_pipeline, resolve_device
from bert_flax.pretrained import FlaxBertPreTrainedModel
from bert_flax.registry import MODEL_CLASSES


def load_model(
    head: str, source: str, **kwargs: Any
) -> tuple[FlaxBertPreTrainedModel, BertConfig, dict[str, list]]:
    """(Flax wrapper, its config, loading info) for the head named `head` (a bert_common.heads name).

    Raises:
        KeyError: an unknown head. Otherwise as FlaxBertPreTrainedModel.from_pretrained.
    """
    model, info = MODEL_CLASSES[head].from_pretrained(source, output_loading_info=True, **kwargs)
    return model, model.config, info


def run_numpy(
    model: FlaxBertPreTrainedModel, arrays: Mapping[str, np.ndarray], **forward: Any
) -> dict[str, Any]:
    """Run `model` (train=False) on numpy inputs; outputs come back as numpy arrays (float32 for floating
    outputs), tuples of arrays as tuples."""
    with jax.default_matmul_precision("highest"):
        out = model(**{k: np.asarray(v) for k, v in arrays.items()}, **forward, return_dict=True)

    def convert(value: Any) -> Any:
        if isinstance(value, jax.Array):
            array = np.asarray(value)
            return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array
        if isinstance(value, (tuple, list)):
            return tuple(convert(v) for v in value)
        return value

    return {k: convert(v) for k, v in out.items()}


class JitRunner:
    """The pipeline's batch runner: `run_numpy(model, arrays)` on `device` (None: JAX's default), numpy
    inputs [B, T] in, numpy outputs out. The model's own `jax.jit` compiles once per input shape."""

    def __init__(self, model: FlaxBertPreTrainedModel, device: Any = None) -> None:
        self.model = model
        self.device = device

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        if self.device is None:
            return run_numpy(self.model, arrays)
        with jax.default_device(self.device):
            return run_numpy(self.model, arrays)

    @property
    def compiles(self) -> int:
        """How many input shapes the model's jitted forward pass has been compiled for."""
        return int(self.model._jit_forward._cache_size())


def pipeline(
    task: str,
    model: Any = None,
    tokenizer: Any = None,
    device: Any = None,
    batch_size: int = 8,
    **kwargs: Any,
) -> Pipeline:
    """A pipeline for `task` (see bert_common.pipelines.TASKS) on a bert_flax model.

    model: None for the embedded all-MiniLM-L6-v2, a directory, a hub id, or a loaded bert_flax wrapper.
    device: a jax.Device to run on (e.g. jax.devices("gpu")[0]); default: JAX's default device.
    batch_size: features per model call (default 8); batches are padded to length buckets.
    kwargs: task parameters used on every call (e.g. top_k=3, pooling="mean").

    Raises:
        ValueError: an unknown task, or a model whose head cannot serve it (bert_common.pipelines).
    """

    target = resolve_device(device)  # None, "cpu", an accelerator index k, or the caller's own device
    if target == "cpu":
        target = jax.devices("cpu")[0]
    elif isinstance(target, int):
        target = jax.devices()[target]

    def load(
        head: str, source: str, **from_pretrained: Any
    ) -> tuple[FlaxBertPreTrainedModel, BertConfig, list]:
        loaded, config, info = load_model(head, source, **from_pretrained)
        return loaded, config, info["missing_keys"]

    return build_pipeline(
        task,
        model,
        tokenizer,
        twin="flax",
        load=load,
        make_runner=lambda loaded: JitRunner(loaded, target),
        model_type=FlaxBertPreTrainedModel,
        static_shapes=True,
        batch_size=batch_size,
        **kwargs,
    )
