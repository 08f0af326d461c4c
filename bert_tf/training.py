"""The Keras training glue of bert_tf models: `compile` / `fit` / `evaluate` / `predict`.

Two ways to train, as Transformers' TF models allowed:

- `model.compile(optimizer)` without a loss: the model trains on its own loss (the head's loss of
  bert_tf.losses). Labels come inside the x dict (`{"input_ids": ..., "labels": ...}`) or as y; y is
  moved into x under the head's label names (`Head.labels` of bert_common.heads).
- `model.compile(optimizer, loss=keras.losses.X, metrics=[...])`: the Keras loss and metrics see the
  head's predictions, the `logits` tensor (or a dict of them for heads with several: QA's
  start_logits/end_logits, pretraining's prediction_logits/seq_relationship_logits).

`predict` returns a dict of the output fields (`{"logits": array}`), like Transformers' TF models.

Inputs given as host values (numpy arrays, nested lists, eager tensors; a dict of them) to `fit`,
`evaluate`, `predict` and the `*_on_batch` methods are checked before Keras builds its graph, with the
rules and messages of a direct call (`bert_common.inputs.check_batch`): inside the graph a bad id would
only surface as "Graph execution error" (a run-time assertion), and under `jit_compile=True` (XLA, which
drops assertions) not at all. Datasets and generators are not read ahead: their values are checked by the
graph's assertions when it runs, which XLA drops; see docs/keras.md.

`prepare_tf_dataset` turns a `datasets.Dataset` into the `tf.data.Dataset` that `fit` takes (Transformers'
TF API), with numpy collators that do what Transformers' `DefaultDataCollator` / `DataCollatorWithPadding`
do with return_tensors="np"; `datasets` (the `train` extra) is imported only when it is called.

`fit` under tf.distribute gives the single-device numbers for one global batch: see docs/keras.md.
A framework-only file: `fit` / `evaluate` / `predict` and their hooks exist only in Keras.
Shape legend: B batch (Keras splits x, y and sample weights along it), T tokens per row.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bert_common.inputs import check_batch
from bert_common.outputs import ModelOutput

# Output fields that are not predictions a Keras loss or metric compares with labels.
_NOT_PREDICTIONS = ("loss", "past_key_values", "hidden_states", "attentions", "cross_attentions")


def prediction_names(output_class: type[ModelOutput]) -> tuple[str, ...]:
    """The fields of `output_class` that Keras losses and metrics see (logits-like fields)."""
    return tuple(name for name in output_class.field_names() if name not in _NOT_PREDICTIONS)


def _host_value(value: Any) -> tuple[bool, Any]:
    """(True, numpy-readable value) for numpy arrays, lists, numbers and eager tensors; (False, None) for
    anything whose values are not in hand now (datasets, generators, symbolic tensors)."""
    if isinstance(value, (np.ndarray, np.generic, list, int, float, bool)):
        return True, value
    if isinstance(value, tf.Tensor) and tf.executing_eagerly() and hasattr(value, "numpy"):
        return True, value.numpy()
    return False, None


def host_batch(x: Any, y: Any, label_names: Sequence[str]) -> dict[str, Any] | None:
    """The named host arrays of Keras' x (an array = input_ids, or a dict) and of y (the labels: one array
    for a single-label head, a dict or tuple keyed / ordered like `label_names`); None when any part is a
    dataset, a generator or a symbolic tensor, or y has a form the training glue refuses by itself."""
    if x is None:
        return None
    named = dict(x) if isinstance(x, Mapping) else {"input_ids": x}
    if y is not None:
        if isinstance(y, Mapping):
            named.update(y)
        elif len(label_names) == 1:
            named[label_names[0]] = y
        elif isinstance(y, (tuple, list)) and len(y) == len(label_names):
            named.update(zip(label_names, y))
        else:
            return None
    values = {name: _host_value(value) for name, value in named.items() if value is not None}
    if not all(in_hand for in_hand, _ in values.values()):
        return None
    return {name: value for name, (_, value) in values.items()}


def _rename_labels(batch: dict[str, Any]) -> dict[str, Any]:
    """`label` or `label_ids` -> `labels`, as Transformers' collators rename them."""
    for name in ("label", "label_ids"):
        if name in batch:
            batch["labels"] = batch.pop(name)
    return batch


def default_collate(features: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Transformers' `DefaultDataCollator(return_tensors="np")`: each column stacked into a [B, ...] array;
    `label` / `label_ids` become `labels` (int64 for integer labels, float32 otherwise); None and string
    values are left out.

    Raises:
        ValueError: a column whose examples differ in shape (unpadded sequences: pass a tokenizer).
    """
    first = features[0]
    batch: dict[str, np.ndarray] = {}
    for name, value in first.items():
        if value is None or isinstance(value, str):
            continue
        rows = [np.asarray(example[name]) for example in features]
        if len({row.shape for row in rows}) > 1:
            raise ValueError(
                f"prepare_tf_dataset: the examples of column {name!r} differ in length; pass tokenizer= to pad "
                "each batch (or pad when tokenizing)"
            )
        column = np.stack(rows)
        if name in ("label", "label_ids") and not (name == "label_ids" and isinstance(value, np.ndarray)):
            column = column.astype(np.int64 if column.dtype.kind in "iub" else np.float32)
        batch[name] = column
    return _rename_labels(batch)


def padding_collate(tokenizer: Any, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Transformers' `DataCollatorWithPadding(tokenizer, return_tensors="np")`: `tokenizer.pad(features,
    padding=True, return_tensors="np")` (every row padded to the batch's longest), labels renamed."""
    return _rename_labels(dict(tokenizer.pad(list(features), padding=True, return_tensors="np")))


def _dense(grad: Any) -> Any:
    """A tf.IndexedSlices gradient made dense (duplicate rows summed): Keras' Adam squares its slices one by
    one, giving a row gathered twice the sum of the squares in its second moment (see docs/keras.md)."""
    return tf.convert_to_tensor(grad) if isinstance(grad, tf.IndexedSlices) else grad


def _ids_as_ints(x: Any) -> Any:
    """x (an array = input_ids, or a dict) with float id inputs cast to int32: under tf.distribute Keras
    builds compiled losses/metrics from the replicas' MEAN of the first batch, ids as floats `call` refuses."""
    if isinstance(x, Mapping):
        return {k: _ids_as_ints(v) if k.endswith("_ids") else v for k, v in x.items()}
    return tf.cast(x, tf.int32) if x is not None and x.dtype.is_floating else x


class KerasTrainingMixin:
    """Overrides of `keras.Model`'s training hooks; mixed into TFBertPreTrainedModel before keras.Model."""

    _trains_on_own_loss = True

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, **kwargs: Any) -> None:
        """`keras.Model.compile`; without `loss` the model trains on its own loss (see module docs)."""
        self._trains_on_own_loss = loss is None
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Re-compile a model loaded by `keras.models.load_model` (Keras skips overridden compiles)."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    def _label_names(self) -> tuple[str, ...]:
        return self.head().labels

    def _prediction_names(self) -> tuple[str, ...]:
        return prediction_names(self.head().output)

    def keras_predictions(self, y_pred: Any) -> Any:
        """The head's predictions in the form Keras losses/metrics expect: one tensor, or a dict."""
        if not isinstance(y_pred, ModelOutput):
            return y_pred
        names = [name for name in self._prediction_names() if getattr(y_pred, name) is not None]
        if len(names) == 1:
            return getattr(y_pred, names[0])
        return {name: getattr(y_pred, name) for name in names}

    def _labels_as_predictions(self, y: Any) -> Any:
        """y keyed like the predictions (a dict for multi-output heads); label names are accepted too."""
        names = self._prediction_names()
        if len(names) == 1 or y is None:
            return y
        labels = self._label_names()
        if isinstance(y, Mapping):
            return {pred: y[label] if label in y else y[pred] for pred, label in zip(names, labels)}
        if isinstance(y, Sequence) and len(y) == len(names):
            return dict(zip(names, y))
        raise ValueError(
            f"{type(self).__name__} has outputs {names}; give y as a dict keyed by {labels} or {names}"
        )

    def _labels_in_x(self, x: Any) -> Any:
        """The labels found in the x dict (one tensor, or a tuple for heads with several), or None."""
        if not isinstance(x, Mapping):
            return None
        found = [x.get(name) for name in self._label_names()]
        if not found or any(value is None for value in found):
            return None
        return found[0] if len(found) == 1 else dict(zip(self._label_names(), found))

    def _move_labels_into_x(self, data: Any) -> Any:
        """For training on the model's own loss: (x, y, w) -> (x with y under the label names, None, w)."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if not self._trains_on_own_loss or y is None:
            return data
        names = self._label_names()
        if not names:
            raise ValueError(f"{type(self).__name__} has no loss of its own; compile it with a Keras loss")
        x = dict(x) if isinstance(x, Mapping) else {"input_ids": x}
        if isinstance(y, Mapping):
            unknown = sorted(set(y) - set(names))
            if unknown:
                raise ValueError(f"{type(self).__name__} takes labels {names}; y holds {unknown}")
            x.update(y)
        elif len(names) == 1:
            x[names[0]] = y
        elif isinstance(y, Sequence) and len(y) == len(names):
            x.update(zip(names, y))
        else:
            raise ValueError(
                f"{type(self).__name__} takes labels {names}; give y as a dict or a tuple of them"
            )
        return keras.utils.pack_x_y_sample_weight(x, None, sample_weight)

    def check_host_inputs(self, x: Any, y: Any = None) -> None:
        """Check x (and y, the labels when the model trains on its own loss) before Keras compiles a
        graph, when they are host values (see `host_batch`); names the model's `call` does not take are
        left to it (its own message).

        Raises:
            ValueError, TypeError: the messages of bert_common.inputs.check_batch.
        """
        batch = host_batch(x, y if self._trains_on_own_loss else None, self._label_names())
        if batch is None:
            return
        accepted = inspect.signature(self.call).parameters
        batch = {name: value for name, value in batch.items() if name in accepted}
        check_batch(self.config, self.head(), batch, model=type(self).__name__)

    def prepare_tf_dataset(
        self,
        dataset: Any,
        batch_size: int = 8,
        shuffle: bool = True,
        tokenizer: Any = None,
        collate_fn: Callable[..., Mapping[str, Any]] | None = None,
        collate_fn_args: Mapping[str, Any] | None = None,
        drop_remainder: bool | None = None,
        prefetch: bool = True,
    ) -> tf.data.Dataset:
        """A `datasets.Dataset` as a batched `tf.data.Dataset` of (features dict, labels) ready for `fit`,
        as Transformers' TF models make it.

        Columns the model's `call` does not take are dropped (`label` / `label_ids` become `labels`, as
        Transformers' collators rename them); the head's label names (`Head.labels`, e.g. `labels`, or
        `start_positions` / `end_positions`) are the labels, the rest the features. A single feature or
        label column comes as one tensor instead of a dict (Transformers' behaviour).
        batch_size: examples per batch (default 8). shuffle: random order (default True).
        tokenizer: pads each batch with `tokenizer.pad` (DataCollatorWithPadding); without it examples are
            stacked as they are (DefaultDataCollator), so they must have equal lengths.
        collate_fn: list of examples -> dict of numpy columns, used instead; collate_fn_args: its keyword
            arguments. drop_remainder: drop a last smaller batch (default: the value of shuffle).
        prefetch: prefetch batches (default True).
        Returns the tf.data.Dataset ([B, T] int64 token columns; labels [B] or [B, T]).

        Raises:
            ImportError: the `datasets` package is missing (pip install 'bert-zoo[train]').
            TypeError: `dataset` is not a datasets.Dataset.
            ValueError: an empty dataset; examples of different lengths without a tokenizer.
        """
        try:
            import datasets
        except ImportError as error:
            raise ImportError(
                "prepare_tf_dataset needs the `datasets` package: pip install 'bert-zoo[train]'"
            ) from error
        if not isinstance(dataset, datasets.Dataset):
            raise TypeError(f"prepare_tf_dataset takes a datasets.Dataset, got {type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError("prepare_tf_dataset got an empty dataset")
        padding = None if tokenizer is None else functools.partial(padding_collate, tokenizer)
        collate_fn = collate_fn or padding or default_collate
        collate_fn_args = dict(collate_fn_args or {})
        model_inputs = list(inspect.signature(self.call).parameters)
        labels = self._label_names()
        keep = set(model_inputs) | set(labels) | {"label", "label_ids", "labels"}
        dataset = dataset.remove_columns([name for name in dataset.column_names if name not in keep])
        sample = dataset.with_format("numpy")[: min(len(dataset), 2)]
        sample = [
            {key: value[i] for key, value in sample.items()} for i in range(len(next(iter(sample.values()))))
        ]
        output_columns = list(collate_fn(sample, **collate_fn_args))
        features = [name for name in output_columns if name in model_inputs and name not in labels]
        label_cols = [name for name in output_columns if name in labels]
        return dataset.to_tf_dataset(
            columns=features[0] if len(features) == 1 else features,
            label_cols=label_cols[0] if len(label_cols) == 1 else label_cols,
            batch_size=batch_size,
            shuffle=shuffle,
            drop_remainder=shuffle if drop_remainder is None else drop_remainder,
            collate_fn=collate_fn,
            collate_fn_args=collate_fn_args,
            prefetch=prefetch,
        )

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """`keras.Model.fit`; host inputs (x, y and a validation_data tuple) are checked first."""
        self.check_host_inputs(x, y)
        validation = kwargs.get("validation_data")
        if isinstance(validation, tuple) and validation:
            self.check_host_inputs(validation[0], validation[1] if len(validation) > 1 else None)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """`keras.Model.evaluate`; host inputs are checked first."""
        self.check_host_inputs(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """`keras.Model.predict`; host inputs are checked first."""
        self.check_host_inputs(x)
        return super().predict(x, *args, **kwargs)

    def train_on_batch(self, x: Any, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        self.check_host_inputs(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x: Any, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        self.check_host_inputs(x, y)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict_on_batch(self, x: Any) -> Any:
        self.check_host_inputs(x)
        return super().predict_on_batch(x)

    # ------------------------------------------------------------------ Keras hooks

    def train_step(self, data: Any) -> Any:
        """Keras' TF `train_step` (keras/src/backend/tensorflow/trainer.py, 3.15), labels moved into x and
        embedding gradients (tf.IndexedSlices) made dense: see `_dense`."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(self._move_labels_into_x(data))
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync  # compute_loss divided by it
            rows = tf.shape(next(v for v in tf.nest.flatten(x) if v is not None))[0]
            self._loss_tracker.update_state(loss * replicas, sample_weight=rows)
            loss = self.optimizer.scale_loss(loss)  # a LossScaleOptimizer's scaling (mixed_float16)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(map(_dense, tape.gradient(loss, weights)), weights))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data: Any) -> Any:
        return super().test_step(self._move_labels_into_x(data))

    def predict_step(self, data: Any) -> Any:
        output = super().predict_step(data)
        if not isinstance(output, ModelOutput):
            return output
        # The loss of a batch (when x carries labels) is a scalar that predict cannot stack over batches.
        return {name: value for name, value in output.items() if name != "loss"}

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> tf.Tensor:
        if not self._trains_on_own_loss:
            return super().compute_loss(
                x=x,
                y=self._labels_as_predictions(y),
                y_pred=self.keras_predictions(y_pred),
                sample_weight=sample_weight,
                training=training,
            )
        loss = y_pred.loss if isinstance(y_pred, ModelOutput) else None
        if loss is None:
            raise ValueError(
                f"{type(self).__name__} was compiled without a loss, so it trains on its own loss, which needs "
                f"labels: pass them as y or in the x dict under {list(self._label_names())}, or compile with "
                "a Keras loss"
            )
        if sample_weight is not None:
            raise ValueError(
                "sample weights apply to a Keras loss; the model's own loss does not weight samples "
                "(compile with a Keras loss to use them)"
            )
        if self.losses:
            loss = loss + tf.add_n([tf.cast(extra, loss.dtype) for extra in self.losses])
        # Divided by the replica count, as Keras' compiled losses are: tf.distribute sums the gradients.
        return loss / tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, loss.dtype)

    def _symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        if data_batch is not None:
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data_batch)
            data_batch = keras.utils.pack_x_y_sample_weight(_ids_as_ints(x), y, sample_weight)
        super()._symbolic_build(iterator=iterator, data_batch=data_batch)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        if y is None:
            y = self._labels_in_x(x)
        return super().compute_metrics(
            x, self._labels_as_predictions(y), self.keras_predictions(y_pred), sample_weight=sample_weight
        )
