"""The losses of the BERT heads in TensorFlow, following bert_common.losses (computed in float32).

Shape legend: B = batch, T = sequence length, V = vocabulary, L = labels, C = choices.
Token-level losses average over the positions whose label is not -100 (IGNORE_INDEX). As in
Transformers, a batch with no position to score gives NaN (0 / 0).
"""

from __future__ import annotations

import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.losses import (
    IGNORE_INDEX,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    check_classification_labels,
    infer_problem_type,
)
from bert_tf.inputs import check_integer, check_range, check_shape, to_tensor


def cross_entropy(logits: tf.Tensor, labels: tf.Tensor, name: str = "labels") -> tf.Tensor:
    """Mean softmax cross-entropy over the positions whose label is not -100.

    logits: [..., K] scores; labels: [...] integer class ids in [0, K) or -100. Returns a float32 scalar.
    """
    labels = to_tensor(labels, name)
    check_integer(labels, name)
    check_shape(labels, name, logits.shape[:-1].as_list())
    num_classes = logits.shape[-1]
    labels = tf.cast(labels, tf.int32)
    keep = tf.not_equal(labels, IGNORE_INDEX)
    safe_labels = tf.where(keep, labels, 0)
    if num_classes is not None:
        safe_labels = check_range(
            safe_labels, name, 0, num_classes, f"{num_classes} classes, or {IGNORE_INDEX} to ignore"
        )
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=safe_labels, logits=tf.cast(logits, tf.float32)
    )
    weights = tf.cast(keep, tf.float32)
    return tf.reduce_sum(losses * weights) / tf.reduce_sum(weights)


def causal_lm_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Next-token loss: logits[:, :-1] [B, T-1, V] scored against labels[:, 1:] [B, T-1]."""
    labels = to_tensor(labels, "labels")
    check_shape(labels, "labels", logits.shape[:-1].as_list())
    return cross_entropy(logits[:, :-1], labels[:, 1:])


def sequence_classification_loss(logits: tf.Tensor, labels: tf.Tensor, config: BertConfig) -> tf.Tensor:
    """Regression (MSE), single-label (cross-entropy) or multi-label (sigmoid BCE) loss.

    logits: [B, L]. labels: [B] class ids, [B, L] multi-hot floats, or [B] / [B, L] regression targets.
    The problem type is config.problem_type, or inferred from num_labels and the labels' dtype.
    """
    labels = to_tensor(labels, "labels")
    num_labels = config.num_labels
    problem_type = infer_problem_type(config.problem_type, num_labels, labels.dtype.is_integer)
    if labels.shape.rank is not None and logits.shape[0] is not None and labels.shape.is_fully_defined():
        check_classification_labels(problem_type, tuple(labels.shape), logits.shape[0], num_labels)
    logits = tf.cast(logits, tf.float32)
    if problem_type == REGRESSION:
        labels = tf.cast(labels, tf.float32)
        if num_labels == 1:
            return tf.reduce_mean(tf.square(tf.reshape(logits, [-1]) - tf.reshape(labels, [-1])))
        return tf.reduce_mean(tf.square(logits - labels))
    if problem_type == SINGLE_LABEL:
        return cross_entropy(logits, tf.reshape(labels, [-1]) if labels.shape.rank == 2 else labels)
    if problem_type == MULTI_LABEL:
        labels = tf.cast(labels, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    raise ValueError(f"unknown problem_type {problem_type!r}")


def question_answering_loss(
    start_logits: tf.Tensor, end_logits: tf.Tensor, start_positions: tf.Tensor, end_positions: tf.Tensor
) -> tf.Tensor:
    """Mean of the start and end cross-entropies.

    start_logits, end_logits: [B, T]. start_positions, end_positions: [B] (or [B, 1]) token indices;
    positions outside the sequence are clamped to T and ignored, as in Transformers.
    """
    length = tf.shape(start_logits)[1]
    total = []
    for logits, positions, name in (
        (start_logits, start_positions, "start_positions"),
        (end_logits, end_positions, "end_positions"),
    ):
        positions = to_tensor(positions, name)
        check_integer(positions, name)
        if positions.shape.rank == 2:
            positions = tf.squeeze(positions, axis=-1)
        check_shape(positions, name, [logits.shape[0] or tf.shape(logits)[0]])
        positions = tf.clip_by_value(tf.cast(positions, tf.int32), 0, length)
        keep = tf.not_equal(positions, length)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.where(keep, positions, 0), logits=tf.cast(logits, tf.float32)
        )
        weights = tf.cast(keep, tf.float32)
        total.append(tf.reduce_sum(losses * weights) / tf.reduce_sum(weights))
    return (total[0] + total[1]) / 2.0
