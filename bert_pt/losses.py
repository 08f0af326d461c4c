"""The losses of the BERT heads: the eight functions of `bert_common.heads.LOSS_FUNCTIONS`.

Names and signatures are the same in the three twins; the conventions are `bert_common.losses`. Every
function checks its labels first (dtype, shape, range, with the messages of `bert_common.inputs`) and
raises TypeError / ValueError naming the argument; the loss itself is computed in float32 (a no-op for
fp32 models, safer for fp16 / bf16). Losses that skip labels (-100, or QA positions outside the sequence)
are 0 when nothing is left to score, not NaN (`_mean_cross_entropy`; Transformers returns NaN there).

Shape legend: B batch, T sequence length, V vocabulary size, Y labels (num_labels), C choices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bert_common.config import BertConfig
from bert_common.inputs import check_ids, check_kind, check_shape
from bert_common.losses import (
    IGNORE_INDEX,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    check_classification_labels,
    infer_problem_type,
)
from bert_pt.inputs import describe

_INTEGER_IDS = "integer ids (int32 or int64)"


def _mean_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Mean cross-entropy of logits [M, classes] against labels [M] over the labels that are not
    `ignore_index`: their sum / max(count, 1), so 0 (with zero gradients) when every label is ignored."""
    total = F.cross_entropy(logits.float(), labels, ignore_index=ignore_index, reduction="sum")
    count = (labels != ignore_index).sum()
    return total / count.clamp(min=1)


def _token_labels(
    name: str, labels: torch.Tensor, logits: torch.Tensor, classes: int, what: str
) -> torch.Tensor:
    """Integer [B, T] labels for [B, T, classes] logits, each in [0, classes) or -100."""
    info = describe(name, labels)
    check_kind(name, info, "int", what=_INTEGER_IDS)
    check_shape(name, info, tuple(logits.shape[:-1]), meaning="one label per token")
    check_ids(name, info, classes, what, ignore=IGNORE_INDEX)
    return labels.to(logits.device)


def _row_labels(
    name: str, labels: torch.Tensor, logits: torch.Tensor, what: str, meaning: str
) -> torch.Tensor:
    """Integer [B] (or [B, 1]) labels for [B, classes] logits, each in [0, classes); returns them as [B]."""
    batch, classes = logits.shape
    info = describe(name, labels)
    check_kind(name, info, "int", what=_INTEGER_IDS)
    check_shape(name, describe(name, labels.reshape(-1)), (batch,), meaning=meaning)
    check_ids(name, info, classes, what)
    return labels.reshape(-1).to(logits.device)


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the positions whose label is not -100.

    logits: [B, T, V] float; labels: [B, T] integer: original token ids at the masked positions, -100
    elsewhere. Returns a float32 scalar: 0 when every label is -100 (nothing to score), not NaN.

    Raises:
        TypeError: labels that are not an integer tensor.
        ValueError: labels of another shape, or ids outside [0, V) that are not -100.
    """
    vocab = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, vocab, f"token ids must be smaller than vocab_size={vocab}"
    )
    return _mean_cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1), IGNORE_INDEX)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: logits[:, t] predicts labels[:, t + 1] (the shift happens here).

    logits: [B, T, V] float; labels: [B, T] integer (usually the input ids), -100 for positions to
    ignore. Returns a float32 scalar: 0 when labels[:, 1:] is all -100 (nothing to score), not NaN.

    Raises:
        TypeError / ValueError: as masked_lm_loss.
    """
    vocab = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, vocab, f"token ids must be smaller than vocab_size={vocab}"
    )
    shifted_logits = logits[:, :-1, :].reshape(-1, vocab)  # [B*(T-1), V]
    shifted_labels = labels[:, 1:].reshape(-1)  # [B*(T-1)]
    return _mean_cross_entropy(shifted_logits, shifted_labels, IGNORE_INDEX)


def _next_sentence(logits: torch.Tensor, labels: torch.Tensor, name: str) -> torch.Tensor:
    labels = _row_labels(
        name, labels, logits, "0 = sentence B follows A, 1 = B is random", "one 0/1 label per pair"
    )
    return F.cross_entropy(logits.float(), labels)


def next_sentence_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the next-sentence classifier.

    logits: [B, 2] float; labels: [B] integer, 0 = sentence B follows A, 1 = B is random.
    Returns a float32 scalar.

    Raises:
        TypeError: labels that are not an integer tensor.
        ValueError: not one label per row, or a label other than 0 and 1.
    """
    return _next_sentence(logits, labels, "labels")


def pretraining_loss(
    prediction_logits: torch.Tensor,
    seq_relationship_logits: torch.Tensor,
    labels: torch.Tensor,
    next_sentence_label: torch.Tensor,
) -> torch.Tensor:
    """Masked-LM loss plus next-sentence loss.

    prediction_logits: [B, T, V]; seq_relationship_logits: [B, 2]; labels: [B, T] (-100 where not
    masked); next_sentence_label: [B] 0/1. Returns a float32 scalar (the masked-LM part is 0 when every
    label is -100).

    Raises:
        TypeError / ValueError: as masked_lm_loss and next_sentence_loss.
    """
    return masked_lm_loss(prediction_logits, labels) + _next_sentence(
        seq_relationship_logits, next_sentence_label, "next_sentence_label"
    )


def sequence_classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, config: BertConfig
) -> torch.Tensor:
    """Loss by problem type (`config.problem_type`, else inferred as Transformers does):

    regression (num_labels == 1, or the configured type): mean squared error, labels [B] or [B, 1]
    ([B, Y] for Y > 1); integer targets are cast to float (as Transformers' MSELoss promotes them);
    single_label_classification (integer labels): cross-entropy, labels [B] class ids;
    multi_label_classification (float labels): sigmoid binary cross-entropy, labels [B, Y] multi-hot.
    logits: [B, Y] float. Returns a float32 scalar.

    Raises:
        TypeError: labels that are not a tensor; float labels for single-label classification.
        ValueError: labels whose shape does not fit the problem type, or class ids outside [0, Y).
    """
    info = describe("labels", labels)
    batch, num_labels = logits.shape
    problem = infer_problem_type(config.problem_type, num_labels, not labels.dtype.is_floating_point)
    check_classification_labels(problem, tuple(labels.shape), batch, num_labels)
    labels = labels.to(logits.device)
    if problem == REGRESSION:
        if num_labels == 1:
            return F.mse_loss(logits.reshape(-1).float(), labels.reshape(-1).float())
        return F.mse_loss(logits.float(), labels.float())
    if problem == SINGLE_LABEL:
        if labels.dtype.is_floating_point:
            raise TypeError(
                f"labels must be integer class ids for {SINGLE_LABEL}, got dtype {labels.dtype} "
                "(float labels mean multi-label; set config.problem_type to choose)"
            )
        check_kind("labels", info, "int", what=_INTEGER_IDS)
        check_ids("labels", info, num_labels, f"class ids must be smaller than num_labels={num_labels}")
        return F.cross_entropy(logits.float(), labels.reshape(-1))
    if problem == MULTI_LABEL:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())
    raise ValueError(f"unknown problem_type {problem!r}")  # pragma: no cover - validated by the config


def multiple_choice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the choices. logits: [B, C] float; labels: [B] integer index of the right choice.
    Returns a float32 scalar.

    Raises:
        TypeError: labels that are not an integer tensor.
        ValueError: not one label per row, or an index outside [0, C).
    """
    choices = logits.shape[1]
    labels = _row_labels(
        "labels",
        labels,
        logits,
        f"choice indices must be smaller than num_choices={choices}",
        "one choice index per example",
    )
    return F.cross_entropy(logits.float(), labels)


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over tokens whose label is not -100. logits: [B, T, Y] float; labels: [B, T]
    integer. Returns a float32 scalar: 0 when every label is -100 (nothing to score; Transformers and
    PyTorch's cross_entropy give NaN there).

    Raises:
        TypeError / ValueError: as masked_lm_loss, with class ids in [0, Y).
    """
    classes = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, classes, f"class ids must be smaller than num_labels={classes}"
    )
    return _mean_cross_entropy(logits.reshape(-1, classes), labels.reshape(-1), IGNORE_INDEX)


def question_answering_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
) -> torch.Tensor:
    """Mean of the start and end cross-entropies.

    start_logits, end_logits: [B, T] float. start_positions, end_positions: [B] (or [B, 1]) integer token
    indices. Positions are clamped to [0, T] and T (outside the sequence) is ignored, as in Transformers:
    an answer cut off by truncation does not contribute; when every start (end) position is ignored, the
    start (end) loss is 0, not NaN. Returns a float32 scalar.

    Raises:
        TypeError: positions that are not an integer tensor.
        ValueError: not one position per row.
    """
    batch, length = start_logits.shape
    clamped = []
    for name, positions in (("start_positions", start_positions), ("end_positions", end_positions)):
        check_kind(name, describe(name, positions), "int", what=_INTEGER_IDS)
        if positions.dim() > 1:
            positions = positions.squeeze(-1)
        check_shape(name, describe(name, positions), (batch,), meaning="one token index per example")
        clamped.append(positions.to(start_logits.device).clamp(0, length))
    start_loss = _mean_cross_entropy(start_logits, clamped[0], length)
    end_loss = _mean_cross_entropy(end_logits, clamped[1], length)
    return (start_loss + end_loss) / 2
