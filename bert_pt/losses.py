"""The losses of the BERT heads, one small function each, following `bert_common.losses`.

Every function checks its labels first (dtype, shape, range) and raises TypeError / ValueError naming the
argument; the loss itself is computed in float32 (a no-op for fp32 models, safer for fp16 / bf16).

Shape legend: B = batch, T = sequence length, V = vocabulary, L = labels, C = choices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bert_common.config import BertConfig
from bert_common.losses import (
    IGNORE_INDEX,
    MULTI_LABEL,
    REGRESSION,
    SINGLE_LABEL,
    check_classification_labels,
    infer_problem_type,
)
from bert_pt.inputs import check_integer, check_range, check_shape, check_tensor


def _token_labels(
    name: str, labels: torch.Tensor, logits: torch.Tensor, classes: int, what: str
) -> torch.Tensor:
    check_integer(name, labels)
    check_shape(name, labels, logits.shape[:-1], "one label per token")
    check_range(name, labels, classes, what, allowed=(IGNORE_INDEX,))
    return labels.to(logits.device)


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the positions whose label is not -100.

    logits: [B, T, V]; labels: [B, T] original token ids at the masked positions, -100 elsewhere.
    """
    vocab = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, vocab, f"token ids must be smaller than vocab_size={vocab}"
    )
    return F.cross_entropy(logits.reshape(-1, vocab).float(), labels.reshape(-1), ignore_index=IGNORE_INDEX)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy: logits[:, t] predicts labels[:, t + 1] (the shift happens here).

    logits: [B, T, V]; labels: [B, T] (usually the input ids), -100 for positions to ignore.
    """
    vocab = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, vocab, f"token ids must be smaller than vocab_size={vocab}"
    )
    shifted_logits = logits[:, :-1, :].reshape(-1, vocab).float()  # [B*(T-1), V]
    shifted_labels = labels[:, 1:].reshape(-1)  # [B*(T-1)]
    return F.cross_entropy(shifted_logits, shifted_labels, ignore_index=IGNORE_INDEX)


def next_sentence_loss(
    logits: torch.Tensor, labels: torch.Tensor, name: str = "next_sentence_label"
) -> torch.Tensor:
    """Cross-entropy of the next-sentence classifier. logits: [B, 2]; labels: [B], 0 = B follows A, 1 = random."""
    check_integer(name, labels)
    check_shape(name, labels.reshape(-1), (logits.shape[0],), "one 0/1 label per pair")
    check_range(name, labels, 2, "0 = sentence B follows A, 1 = B is random")
    return F.cross_entropy(logits.float(), labels.reshape(-1).to(logits.device))


def sequence_classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, config: BertConfig
) -> torch.Tensor:
    """Loss by problem type (`config.problem_type`, else inferred as Transformers does):

    regression (num_labels == 1): mean squared error, labels [B] or [B, 1] (integers are cast to float);
    single_label_classification (integer labels): cross-entropy, labels [B] class ids;
    multi_label_classification (float labels): sigmoid binary cross-entropy, labels [B, L] multi-hot.
    logits: [B, L].
    """
    check_tensor("labels", labels)
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
        check_integer("labels", labels)
        check_range("labels", labels, num_labels, f"class ids must be smaller than num_labels={num_labels}")
        return F.cross_entropy(logits.float(), labels.reshape(-1))
    if problem == MULTI_LABEL:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())
    raise ValueError(f"unknown problem_type {problem!r}")  # pragma: no cover - validated by the config


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over tokens whose label is not -100. logits: [B, T, L]; labels: [B, T]."""
    classes = logits.shape[-1]
    labels = _token_labels(
        "labels", labels, logits, classes, f"class ids must be smaller than num_labels={classes}"
    )
    return F.cross_entropy(logits.reshape(-1, classes).float(), labels.reshape(-1), ignore_index=IGNORE_INDEX)


def question_answering_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
) -> torch.Tensor:
    """Mean of the start and end cross-entropies.

    start_logits, end_logits: [B, T]. start_positions, end_positions: [B] (or [B, 1]) token indices.
    Positions are clamped to [0, T] and T (outside the sequence) is ignored, as in Transformers: an
    answer cut off by truncation does not contribute.
    """
    batch, length = start_logits.shape
    clamped = []
    for name, positions in (("start_positions", start_positions), ("end_positions", end_positions)):
        check_integer(name, positions)
        if positions.dim() > 1:
            positions = positions.squeeze(-1)
        check_shape(name, positions, (batch,), "one token index per example")
        clamped.append(positions.to(start_logits.device).clamp(0, length))
    start_loss = F.cross_entropy(start_logits.float(), clamped[0], ignore_index=length)
    end_loss = F.cross_entropy(end_logits.float(), clamped[1], ignore_index=length)
    return (start_loss + end_loss) / 2


def multiple_choice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the choices. logits: [B, C]; labels: [B] index of the right choice."""
    batch, choices = logits.shape
    check_integer("labels", labels)
    check_shape("labels", labels.reshape(-1), (batch,), "one choice index per example")
    check_range("labels", labels, choices, f"choice indices must be smaller than num_choices={choices}")
    return F.cross_entropy(logits.float(), labels.reshape(-1).to(logits.device))
