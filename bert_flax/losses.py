"""The losses of the BERT heads in JAX: the eight functions of `bert_common.heads.LOSS_FUNCTIONS`, with
the names and signatures of the other twins and the conventions of bert_common.losses:

- token-level losses ignore labels equal to -100 and average over the rest: sum / max(count, 1), so
  0 with zero gradients when nothing is left to score (Transformers gives NaN, 0 / 0);
- the causal LM loss predicts token t+1 from positions <= t: logits[:, :-1] against labels[:, 1:];
- pretraining loss = masked-LM loss + next-sentence loss;
- sequence classification: regression (MSE; integer targets cast to float, as Transformers' PyTorch
  MSELoss promotes them), single-label (cross-entropy) or multi-label (sigmoid BCE), from
  `config.problem_type` or inferred from num_labels and the label dtype;
- question answering clamps positions to [0, T], ignores T, and averages the start and end losses (each
  0 when all its positions are ignored).

All functions are pure and jit-friendly; shapes and dtypes are checked when traced (they are static),
and bad ones raise ValueError/TypeError naming the argument. Losses are computed in float32.
`cross_entropy` is the one softmax cross-entropy they share.

Shape legend: B batch, T sequence length, V vocabulary size, Y labels (num_labels), C choices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from bert_common.config import BertConfig
from bert_common.losses import (
    IGNORE_INDEX,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    check_classification_labels,
    infer_problem_type,
)


def _check_integer(name: str, labels: jax.Array) -> None:
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"{name} must hold integer class ids, got dtype {labels.dtype}")


def _check_shape(name: str, labels: jax.Array, expected: tuple[int, ...], what: str) -> None:
    if tuple(labels.shape) != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)} ({what}), got {tuple(labels.shape)}")


def cross_entropy(logits: jax.Array, labels: jax.Array, ignore_index: int | None = IGNORE_INDEX) -> jax.Array:
    """Mean softmax cross-entropy of logits [..., classes] against integer labels [...], skipping `ignore_index`.

    Returns a float32 scalar: sum over kept positions / max(number kept, 1), so 0 (with zero gradients)
    when none is kept.
    """
    logits = logits.astype(jnp.float32)
    log_probs = jax.nn.log_softmax(logits, axis=-1)  # [..., classes]
    keep = jnp.ones(labels.shape, bool) if ignore_index is None else labels != ignore_index
    safe = jnp.where(keep, labels, 0).astype(jnp.int32)
    picked = jnp.take_along_axis(log_probs, safe[..., None], axis=-1)[..., 0]  # [...]
    total = -jnp.sum(jnp.where(keep, picked, 0.0))
    return total / jnp.maximum(jnp.sum(keep), 1).astype(jnp.float32)


def masked_lm_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """logits [B, T, V], labels [B, T] (token ids, -100 where no prediction is scored).

    Returns a float32 scalar: the mean over the scored positions, 0 when every label is -100 (not NaN).

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    _check_integer("labels", labels)
    _check_shape("labels", labels, logits.shape[:-1], "one token id or -100 per position")
    return cross_entropy(logits, labels)


def causal_lm_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """logits [B, T, V], labels [B, T]: position t is scored against labels[:, t + 1] (shift inside).

    Returns a float32 scalar: 0 when labels[:, 1:] is all -100 (nothing to score), not NaN.

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    _check_integer("labels", labels)
    _check_shape("labels", labels, logits.shape[:-1], "the input ids, or -100 where not scored")
    return cross_entropy(logits[:, :-1], labels[:, 1:])


def next_sentence_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """logits [B, 2], labels [B] (0 = sentence B follows A, 1 = B is random)."""
    _check_integer("next_sentence_label" if labels.ndim == 1 else "labels", labels)
    labels = labels.reshape(-1) if labels.ndim == 2 and labels.shape[1] == 1 else labels
    _check_shape("next_sentence_label", labels, logits.shape[:1], "one 0/1 label per pair")
    return cross_entropy(logits, labels)


def pretraining_loss(
    prediction_logits: jax.Array,
    seq_relationship_logits: jax.Array,
    labels: jax.Array,
    next_sentence_label: jax.Array,
) -> jax.Array:
    """Masked-LM loss plus next-sentence loss (both label sets are needed, as in the other twins); the
    masked-LM part is 0 when every label is -100."""
    return masked_lm_loss(prediction_logits, labels) + next_sentence_loss(
        seq_relationship_logits, next_sentence_label
    )


def sequence_classification_loss(logits: jax.Array, labels: jax.Array, config: BertConfig) -> jax.Array:
    """logits [B, Y]; labels by problem type: [B] class ids, [B, Y] multi-hot floats, or [B] / [B, Y]
    float targets (integer regression targets are cast to float, as Transformers' PyTorch MSELoss
    promotes them).

    config: the model's BertConfig; `config.problem_type` wins when set, None infers it (Y == 1 ->
    regression; integer labels -> single-label; otherwise multi-label).

    Raises:
        TypeError: float labels for single-label classification.
        ValueError: labels whose shape does not fit the problem type.
    """
    batch, num_labels = logits.shape
    problem = infer_problem_type(
        config.problem_type, num_labels, bool(jnp.issubdtype(labels.dtype, jnp.integer))
    )
    check_classification_labels(problem, labels.shape, batch, num_labels)
    logits = logits.astype(jnp.float32)
    if problem == REGRESSION:
        target = labels.astype(jnp.float32)
        if num_labels == 1:
            return jnp.mean((logits.reshape(-1) - target.reshape(-1)) ** 2)
        return jnp.mean((logits - target) ** 2)
    if problem == SINGLE_LABEL:
        _check_integer("labels", labels)
        return cross_entropy(logits, labels.reshape(-1))
    if problem == MULTI_LABEL:
        target = labels.astype(jnp.float32)
        # The stable form of PyTorch's BCEWithLogitsLoss: max(x, 0) - x*y + log(1 + exp(-|x|)).
        per_label = jnp.maximum(logits, 0) - logits * target + jnp.log1p(jnp.exp(-jnp.abs(logits)))
        return jnp.mean(per_label)
    raise ValueError(f"unknown problem_type {problem!r}")


def multiple_choice_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """logits [B, C], labels [B] (index of the right choice)."""
    _check_integer("labels", labels)
    _check_shape("labels", labels, logits.shape[:1], "the index of the right choice per example")
    return cross_entropy(logits, labels)


def token_classification_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """logits [B, T, Y], labels [B, T] (class ids, -100 where not scored).

    Returns a float32 scalar: the mean over the scored tokens, 0 when every label is -100 (nothing to
    score; Transformers gives NaN there).

    Raises:
        TypeError: labels that are not integers. ValueError: labels of another shape than [B, T].
    """
    _check_integer("labels", labels)
    _check_shape("labels", labels, logits.shape[:-1], "one class id or -100 per token")
    return cross_entropy(logits, labels)


def question_answering_loss(
    start_logits: jax.Array, end_logits: jax.Array, start_positions: jax.Array, end_positions: jax.Array
) -> jax.Array:
    """start_logits, end_logits [B, T]; start_positions, end_positions [B] token indices.

    Positions are clamped to [0, T]; T (a span outside the sequence) is ignored; the result is the mean
    of the start and end losses, each 0 when all its positions are ignored (not NaN).
    """
    batch, length = start_logits.shape
    losses = []
    for name, logits, positions in (
        ("start_positions", start_logits, start_positions),
        ("end_positions", end_logits, end_positions),
    ):
        _check_integer(name, positions)
        positions = positions.reshape(-1) if positions.ndim == 2 and positions.shape[1] == 1 else positions
        _check_shape(name, positions, (batch,), "one token index per example")
        clamped = jnp.clip(positions, 0, length)
        losses.append(cross_entropy(logits, clamped, ignore_index=length))
    return (losses[0] + losses[1]) / 2
