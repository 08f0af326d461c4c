"""Exporting bert_tf models as TensorFlow SavedModels for serving.

`export_saved_model(model, dir)` (also `model.export(dir)`) writes a SavedModel whose
`serving_default` signature takes int32 `input_ids`, `attention_mask`, `token_type_ids` of any batch
size and length ([B, T]; [B, C, T] for multiple choice) and returns the head's prediction fields
(`logits`, or `start_logits`/`end_logits`, ...; `last_hidden_state`/`pooler_output` for TFBertModel).

`export_text_model(model, tokenizer, dir)` puts the in-graph TFBertTokenizer in front: its
`serving_default` takes a [B] string tensor `text`, `serving_pairs` takes `text` and `text_pair`, and
both return the same outputs. Loading it needs `import tensorflow_text` (which registers the ops).

A framework-only file: SavedModel serving signatures exist only in TensorFlow.
Shape legend: B batch, C choices, T positions.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from bert_common.outputs import ModelOutput
from bert_tf.training import prediction_names

SERVING_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _serving_outputs(model: keras.Model, output: ModelOutput) -> dict[str, tf.Tensor]:
    names = prediction_names(model.head().output)
    return {name: getattr(output, name) for name in names if getattr(output, name) is not None}


def export_saved_model(model: keras.Model, filepath: str | os.PathLike[str], verbose: bool = True) -> None:
    """Write the bert_tf model `model` as a SavedModel with an int32 `serving_default` signature (see the
    module docstring)."""
    rank = 3 if model.head().name == "BertForMultipleChoice" else 2
    signature = [tf.TensorSpec([None] * rank, tf.int32, name=name) for name in SERVING_INPUTS]

    def serve(
        input_ids: tf.Tensor, attention_mask: tf.Tensor, token_type_ids: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        output = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            training=False,
            return_dict=True,
        )
        return _serving_outputs(model, output)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, input_signature=signature)
    archive.write_out(os.fspath(filepath), verbose=verbose)


def export_text_model(
    model: keras.Model,
    tokenizer: keras.layers.Layer,
    filepath: str | os.PathLike[str],
    *,
    verbose: bool = True,
) -> None:
    """Write tokenizer + model as one SavedModel that takes raw strings.

    tokenizer: a TFBertTokenizer (its padding/truncation settings apply). Two signatures:
    `serving_default` takes `text` ([B] strings), `serving_pairs` takes `text` and `text_pair`.
    """

    def run(text: tf.Tensor, text_pair: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        encoded = tokenizer(text, text_pair=text_pair)
        output = model(
            input_ids=encoded["input_ids"],
            attention_mask=encoded["attention_mask"],
            token_type_ids=encoded["token_type_ids"],
            training=False,
            return_dict=True,
        )
        return _serving_outputs(model, output)

    def serve(text: tf.Tensor) -> dict[str, tf.Tensor]:
        return run(text)

    def serve_pairs(text: tf.Tensor, text_pair: tf.Tensor) -> dict[str, tf.Tensor]:
        return run(text, text_pair)

    strings = [tf.TensorSpec([None], tf.string, name=name) for name in ("text", "text_pair")]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)
    archive.add_endpoint("serving_default", serve, input_signature=strings[:1])
    archive.add_endpoint("serving_pairs", serve_pairs, input_signature=strings)
    archive.write_out(os.fspath(filepath), verbose=verbose)
