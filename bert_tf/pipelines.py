"""`bert_tf.pipeline(...)`: the pipeline tasks of bert_common run by a Keras model.

Only the network runs here; tokenization, batching and post-processing are bert_common's, so the three
twins give the same answers. `load_model` / `run_numpy` are the numpy-facing interface every twin offers
(used by the pipelines, `bert-zoo convert` verification and `bert-zoo diff`).

Shape legend: B batch, T positions (the arrays of a tokenized batch, [B, T]).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

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

    def convert(value: Any) -> Any:
        if isinstance(value, (tf.Tensor, tf.Variable)):
            array = value.numpy()
            return array.astype(np.float32) if np.issubdtype(array.dtype, np.floating) else array
        if isinstance(value, (tuple, list)):
            return tuple(convert(v) for v in value)
        return value

    return {k: convert(v) for k, v in out.items()}


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

    def run(loaded: TFBertPreTrainedModel, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        if target is None:
            return run_numpy(loaded, arrays)
        with tf.device(target):
            return run_numpy(loaded, arrays)

    return build_pipeline(
        task,
        model,
        tokenizer,
        twin="tf",
        load=load,
        run=run,
        model_type=TFBertPreTrainedModel,
        batch_size=batch_size,
        **kwargs,
    )
