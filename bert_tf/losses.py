"""The losses of the BERT heads in TensorFlow: the eight functions of bert_common.heads.LOSS_FUNCTIONS, with
the conventions of bert_common.losses, computed in float32.

Shape legend: B batch, T positions, V vocabulary, Y labels (num_labels), C choices.

Token-level losses average over the positions whose label is not -100 (IGNORE_INDEX): their sum divided
by max(count, 1), so a batch with no position to score has loss 0 and zero gradients (Transformers gives
NaN, 0 / 0); the same holds for question-answering positions outside the sequence. Each function checks its labels'
dtype and shape (the messages of bert_common.inputs); the class range of integer labels is checked by the
heads before (bert_tf.inputs.check_head_labels, from the Head table). Logits and labels may be tf.Tensors or
numpy arrays.
"""

from __future__ import annotations

import tensorflow as tf

from bert_common.config import BertConfig
from bert_common.inputs import check_kind, check_shape
from bert_common.losses import (
    IGNORE_INDEX,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    check_classification_labels,
    infer_problem_type,
)
from bert_tf.inputs import describe, to_tensor


def _integer_labels(
    name: str, labels: tf.Tensor, *shapes: tuple[int | None, ...], meaning: str = ""
) -> tf.Tensor:
    """`labels` as an int32 tensor after checking it holds integers of one of `shapes`."""
    labels = to_tensor(labels, name)
    info = describe("labels", labels)
    check_kind(name, info, "int", what="integer ids (int32 or int64)")
    check_shape(name, info, *shapes, meaning=meaning)
    return tf.cast(labels, tf.int32)


def _cross_entropy(logits: tf.Tensor, labels: tf.Tensor, ignore: int | tf.Tensor = IGNORE_INDEX) -> tf.Tensor:
    """Mean softmax cross-entropy of logits [..., classes] against int labels [...] equal to `ignore`
    skipped: sum / max(count, 1), so 0 (with zero gradients) when every label is skipped."""
    keep = tf.not_equal(labels, ignore)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.where(keep, labels, 0), logits=tf.cast(logits, tf.float32)
    )
    weights = tf.cast(keep, tf.float32)
    return tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def _leading(logits: tf.Tensor) -> tuple[int | None, ...]:
    """The shape of `logits` without its class axis (None for sizes unknown while tracing)."""
    return tuple(logits.shape[:-1])


def masked_lm_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy over the scored positions. logits: [B, T, V]; labels: [B, T] int, the
    original token ids at the masked positions and -100 elsewhere. Returns a float32 scalar: 0 when every
    label is -100 (nothing to score), not NaN.

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    labels = _integer_labels("labels", labels, _leading(logits), meaning="one token id or -100 per position")
    return _cross_entropy(logits, labels)


def causal_lm_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Next-token loss: logits[:, :-1] [B, T-1, V] scored against labels[:, 1:] [B, T-1] (the shift
    happens here). labels: [B, T] int (usually the input ids), -100 where not scored. Returns a float32
    scalar: 0 when labels[:, 1:] is all -100 (nothing to score), not NaN.

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    labels = _integer_labels("labels", labels, _leading(logits), meaning="the input ids, or -100")
    return _cross_entropy(logits[:, :-1], labels[:, 1:])


def next_sentence_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Cross-entropy of the next-sentence classifier. logits: [B, 2]; labels: [B] (or [B, 1]) int,
    0 = sentence B follows A, 1 = B is random.

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape.
    """
    batch = logits.shape[0]
    labels = _integer_labels("labels", labels, (batch,), (batch, 1), meaning="one 0/1 label per pair")
    return _cross_entropy(logits, tf.reshape(labels, [-1]))


def pretraining_loss(
    prediction_logits: tf.Tensor,
    seq_relationship_logits: tf.Tensor,
    labels: tf.Tensor,
    next_sentence_label: tf.Tensor,
) -> tf.Tensor:
    """Masked-LM loss + next-sentence loss. prediction_logits: [B, T, V]; seq_relationship_logits:
    [B, 2]; labels: [B, T] (-100 = not scored; the masked-LM part is 0 when all are); next_sentence_label:
    [B].

    Raises:
        TypeError, ValueError: see masked_lm_loss and next_sentence_loss.
    """
    batch = seq_relationship_logits.shape[0]
    next_sentence_label = _integer_labels(
        "next_sentence_label", next_sentence_label, (batch,), (batch, 1), meaning="one 0/1 label per pair"
    )
    return masked_lm_loss(prediction_logits, labels) + _cross_entropy(
        seq_relationship_logits, tf.reshape(next_sentence_label, [-1])
    )


def sequence_classification_loss(logits: tf.Tensor, labels: tf.Tensor, config: BertConfig) -> tf.Tensor:
    """Regression (MSE), single-label (cross-entropy) or multi-label (sigmoid BCE) loss.

    logits: [B, Y]. labels: [B] int class ids, [B, Y] multi-hot floats, or [B] / [B, Y] regression
    targets (integer targets are cast to float, as Transformers' PyTorch MSELoss promotes them). The
    problem type is config.problem_type, or inferred from Y and the labels' dtype.

    Raises:
        ValueError: labels whose shape does not fit the problem type.
        TypeError: float labels for single-label classification.
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
        labels = tf.reshape(labels, [-1]) if labels.shape.rank == 2 else labels
        return _cross_entropy(logits, _integer_labels("labels", labels, _leading(logits)))
    if problem_type == MULTI_LABEL:
        labels = tf.cast(labels, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))
    raise ValueError(f"unknown problem_type {problem_type!r}")


def multiple_choice_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Cross-entropy over the choices. logits: [B, C]; labels: [B] int, the index of the right choice.

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B].
    """
    labels = _integer_labels("labels", labels, _leading(logits), meaning="one choice index per example")
    return _cross_entropy(logits, labels)


def token_classification_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy over the scored tokens. logits: [B, T, Y]; labels: [B, T] int class ids, -100
    for positions not scored (padding, continuation pieces). Returns a float32 scalar: 0 when every label
    is -100 (nothing to score; Transformers gives NaN there).

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    labels = _integer_labels("labels", labels, _leading(logits), meaning="one class id or -100 per token")
    return _cross_entropy(logits, labels)


def question_answering_loss(
    start_logits: tf.Tensor, end_logits: tf.Tensor, start_positions: tf.Tensor, end_positions: tf.Tensor
) -> tf.Tensor:
    """Mean of the start and end cross-entropies.

    start_logits, end_logits: [B, T]. start_positions, end_positions: [B] (or [B, 1]) int token indices;
    positions outside the sequence are clamped to T and ignored, as in Transformers (an answer cut off
    by truncation does not count); when every start (end) position is ignored the start (end) loss is 0,
    not NaN.

    Raises:
        TypeError: positions that are not integers. ValueError: positions of another shape than [B].
    """
    batch, length = start_logits.shape[0], tf.shape(start_logits)[1]
    total = []
    for logits, positions, name in (
        (start_logits, start_positions, "start_positions"),
        (end_logits, end_positions, "end_positions"),
    ):
        positions = _integer_labels(
            name, positions, (batch,), (batch, 1), meaning="one token index per example"
        )
        positions = tf.clip_by_value(tf.reshape(positions, [-1]), 0, length)
        total.append(_cross_entropy(logits, positions, ignore=length))
    return (total[0] + total[1]) / 2.0
