"""`bert_tf.pipeline(...)`: the pipeline tasks of bert_common run by a Keras model.

Only the network runs here; tokenization, batching and post-processing are bert_common's, so the three
twins give the same answers. `load_model` / `run_numpy` are the numpy-facing interface every twin offers
(used by the pipelines, `bert-zoo convert` verification and `bert-zoo diff`).

The pipeline runs the model compiled: `CompiledForward` is one `tf.function` per pipeline, traced once
for batches of any shape (`traces` counts its traces), instead of running Keras eagerly, op by op.

Shape legend: B batch, T positions (the arrays of a tokenized batch, [B, T]).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from bert_common.batching import MODEL_INPUTS
from bert_common.config import BertConfig
from bert_common.pipelines import Pipeline, build_pipeline, resolve_device
from bert_tf.pretrained import TFBertPreTrainedModel
from bert_tf.registry import model_class


def load_model(
    head: str, source: str, **kwargs: Any
) -> tuple[TFBertPreTrainedModel, BertConfig, dict[str, list]]:
    """(Keras model, its config, loading info) for the head class named `head` (any spelling of
    bert_common.heads), loaded from the directory or hub id `source`; kwargs go to from_pretrained.

    Raises:
        ValueError: an unknown head; see TFBertPreTrainedModel.from_pretrained for the loading errors.
    """
    model, info = model_class(head).from_pretrained(source, output_loading_info=True, **kwargs)
    return model, model.config, info


def run_numpy(
    model: TFBertPreTrainedModel, arrays: Mapping[str, np.ndarray], **forward: Any
) -> dict[str, Any]:
    """Run `model` (inference mode) on numpy inputs (e.g. input_ids / attention_mask [B, T]); outputs
    come back as numpy arrays (float32 for floating outputs), tuples of tensors as tuples of arrays.

    Raises:
        ValueError, TypeError: bad inputs (see TFBertModel.call).
    """
    out = model(**{k: np.asarray(v) for k, v in arrays.items()}, **forward, training=False, return_dict=True)
    return _numpy_outputs(out)


def _numpy_outputs(out: Mapping[str, Any]) -> dict[str, Any]:
    """Tensors as numpy arrays (floating ones as float32), tuples of tensors as tuples of arrays."""

    def convert(value: Any) -> Any:
        if isinstance(value, (tf.Tensor, tf.Variable)):
            array = value.numpy()
            return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array
        if isinstance(value, (tuple, list)):
            return tuple(convert(v) for v in value)
        return value

    return {k: convert(v) for k, v in out.items()}


class CompiledForward:
    """The pipeline's batch runner: `model(arrays, training=False)` as one `tf.function`.

    Traced once, for every shape: its input signature leaves B and T unknown (input_ids /
    attention_mask / token_type_ids [B, T] int64), so batches need no length buckets and a stream of any
    lengths runs one graph (`traces` stays 1). Graph mode, not XLA (`jit_compile=False`): XLA compiles
    per static shape, and on 2,000 short lines ran slower than the one graph (on the shared 2-core
    machine: 10 s against 7.7 s warm, 21 s against 9.5 s with its compiles); the graph also keeps the
    eager kernels' float32 numerics (XLA's fused kernels move the real all-MiniLM-L6-v2 embeddings by
    about 1e-5). The input checks that need values run as graph assertions (bert_tf.inputs). A model
    whose dtype policy computes in another dtype than float32 (`mixed_bfloat16`) runs eagerly: the
    graph's fused kernels round bfloat16 differently (the tiny feature-extraction model of
    tests/pipelines moves by 0.035, beyond the 0.03 it keeps from Transformers' bfloat16 answer).
    Traced without AutoGraph (`autograph=False`): the model holds no Python control flow on tensor
    values (Keras runs its layers unconverted anyway), and converting the few functions around them
    took about a third of the trace (0.3 to 0.5 s of `bert-zoo run`'s start, cProfile).

    model: a bert_tf model. device: a TensorFlow device string, or None for TensorFlow's placement.
    """

    def __init__(self, model: TFBertPreTrainedModel, device: str | None = None) -> None:
        self.model = model
        self.device = device
        spec = tf.TensorSpec([None, None], tf.int64)
        self.function = tf.function(
            self._forward,
            jit_compile=False,
            autograph=False,
            input_signature=[{name: spec for name in MODEL_INPUTS}],
        )

    def _forward(self, arrays: dict[str, tf.Tensor]) -> dict[str, Any]:
        # a plain dict: the output dataclasses are Keras tree nodes, not tf.nest ones
        return dict(self.model(arrays, training=False, return_dict=True).items())

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Numpy outputs (float32 floats) of one batch of numpy inputs [B, T]."""
        place = tf.device(self.device) if self.device is not None else contextlib.nullcontext()
        with place:
            if self.model.dtype_policy.compute_dtype != "float32":
                return run_numpy(self.model, arrays)
            out = self.function({k: tf.constant(np.asarray(v)) for k, v in arrays.items()})
        return _numpy_outputs(out)

    @property
    def traces(self) -> int:
        """How many times the function has been traced (1 after the first batch, whatever the shapes)."""
        return int(self.function.experimental_get_tracing_count())


def pipeline(
    task: str,
    model: str | TFBertPreTrainedModel | None = None,
    tokenizer: Any = None,
    device: str | None = None,
    batch_size: int = 8,
    **kwargs: Any,
) -> Pipeline:
    """A pipeline for `task` (see bert_common.pipelines.TASKS) on a bert_tf model.

    model: None for the embedded all-MiniLM-L6-v2, a directory, a hub id, or a loaded bert_tf model.
    tokenizer: None (loaded from the model's directory), a directory or hub id, or a tokenizer.
    device: a TensorFlow device string ("/CPU:0", "/GPU:0"); default: TensorFlow's placement.
    batch_size: features per model call (default 8); inputs are sorted by length across a call's list.
    kwargs: task parameters used on every call (e.g. top_k=3, pooling="mean").

    Raises:
        ValueError: an unknown task, or a model object given without its tokenizer.
        TypeError: a model that is neither None, a path or hub id, nor a bert_tf model.
        bert_common.pipelines.UntrainedHeadError: the checkpoint lacks the weights of the task's head.
    """

    target = resolve_device(device)  # None, "cpu", an accelerator index k, or the caller's own name
    if target == "cpu":
        target = "/CPU:0"
    elif isinstance(target, int):
        target = f"/GPU:{target}"

    def load(
        head: str, source: str, **from_pretrained: Any
    ) -> tuple[TFBertPreTrainedModel, BertConfig, list[str]]:
        loaded, config, info = load_model(head, source, **from_pretrained)
        return loaded, config, info["missing_keys"]

    return build_pipeline(
        task,
        model,
        tokenizer,
        twin="tf",
        load=load,
        make_runner=lambda loaded: CompiledForward(loaded, target),
        model_type=TFBertPreTrainedModel,
        batch_size=batch_size,
        **kwargs,
    )
