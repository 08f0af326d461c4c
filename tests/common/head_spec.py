"""The head tester, written once: numpy inputs, labels and expected output shapes for every head.

Each twin's `tests/<twin>/test_heads.py` builds a tiny model per head, feeds it `head_inputs(...)` in its
own tensor type, and compares the output fields with `expected_shapes(...)`. The numbers themselves are
checked against Transformers by the golden-reference tests and across twins by the equivalence grid.

Shape legend: B batch (3), C choices (3), T sequence length (7), H hidden (32), V vocab (99), Y labels,
N heads (4), L layers (2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bert_common.heads import HEADS
from tests.helpers import tiny_config

B, T, H, V, N, L = 3, 7, 32, 99, 4, 2  # of the tiny config and the batch below
MC_BATCH, MC_CHOICES = 2, 3  # multiple choice: [2, 3, T] inputs, i.e. 6 sequences

HEAD_NAMES = sorted(HEADS)


def tiny(**changes: Any):
    """The tiny config (hidden 32, 2 layers, 4 heads, vocab 99) with dropout off unless asked for."""
    base = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return tiny_config(**{**base, **changes})


def head_config(head_name: str, **changes: Any):
    """The tiny config a head is tested with: 3 labels for classifiers (2 for QA), a decoder for the
    causal LM."""
    return tiny(
        num_labels=2 if head_name == "BertForQuestionAnswering" else 3,
        is_decoder=head_name == "BertLMHeadModel",
        **changes,
    )


def batch(config, batch_size: int = B, length: int = T, seed: int = 0, pad_row: int | None = 1, pad: int = 2):
    """int32 numpy input_ids / attention_mask / token_type_ids; row `pad_row` ends in `pad` padding
    positions; the second half of every row is segment 1."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(1, config.vocab_size, (batch_size, length)).astype(np.int32)
    attention_mask = np.ones((batch_size, length), np.int32)
    if pad_row is not None and pad:
        attention_mask[pad_row, length - pad :] = 0
        input_ids[pad_row, length - pad :] = 0
    token_type_ids = np.zeros((batch_size, length), np.int32)
    token_type_ids[:, length // 2 :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def labels_for(head_name: str, config, inputs: dict[str, np.ndarray], seed: int = 1) -> dict[str, np.ndarray]:
    """Valid int64 labels of the head `head_name` for `inputs` (a batch from `batch`), keyed by the
    head's label argument names (bert_common.heads)."""
    rng = np.random.default_rng(seed)
    ids = inputs["input_ids"]
    batch_size, length = ids.shape[0], ids.shape[-1]
    if head_name in ("BertForMaskedLM", "BertLMHeadModel"):
        labels = np.full(ids.shape, -100, np.int64)
        labels[:, 1] = rng.integers(0, config.vocab_size, batch_size)
        return {"labels": labels if head_name == "BertForMaskedLM" else ids.astype(np.int64)}
    if head_name == "BertForPreTraining":
        labels = np.full(ids.shape, -100, np.int64)
        labels[:, 2] = rng.integers(0, config.vocab_size, batch_size)
        return {"labels": labels, "next_sentence_label": rng.integers(0, 2, batch_size)}
    if head_name == "BertForNextSentencePrediction":
        return {"labels": rng.integers(0, 2, batch_size)}
    if head_name in ("BertForSequenceClassification", "BertForMultipleChoice"):
        high = config.num_labels if head_name == "BertForSequenceClassification" else ids.shape[1]
        return {"labels": rng.integers(0, high, batch_size)}
    if head_name == "BertForTokenClassification":
        return {"labels": rng.integers(0, config.num_labels, (batch_size, length))}
    if head_name == "BertForQuestionAnswering":
        return {
            "start_positions": rng.integers(0, length, batch_size),
            "end_positions": rng.integers(0, length, batch_size),
        }
    return {}


def head_inputs(head_name: str, config, seed: int = 0, with_labels: bool = True) -> dict[str, np.ndarray]:
    """A numpy batch (with labels unless with_labels=False) that the head accepts; multiple choice gets
    [MC_BATCH, MC_CHOICES, T] inputs."""
    if head_name == "BertForMultipleChoice":
        flat = batch(config, batch_size=MC_BATCH * MC_CHOICES, seed=seed)
        inputs = {k: v.reshape(MC_BATCH, MC_CHOICES, -1) for k, v in flat.items()}
    else:
        inputs = batch(config, seed=seed)
    if not with_labels:
        return inputs
    return {**inputs, **labels_for(head_name, config, inputs)}


def expected_shapes(head_name: str, config, with_loss: bool = True) -> dict[str, tuple[int, ...]]:
    """Output field -> shape for `head_inputs(head_name, config)` (fields that are not None)."""
    loss = {"loss": ()} if with_loss and HEADS[head_name].labels else {}
    Y = config.num_labels
    shapes = {
        "BertModel": {"last_hidden_state": (B, T, H), "pooler_output": (B, H)},
        "BertForPreTraining": {"prediction_logits": (B, T, V), "seq_relationship_logits": (B, 2)},
        "BertForMaskedLM": {"logits": (B, T, V)},
        "BertLMHeadModel": {"logits": (B, T, V)},
        "BertForNextSentencePrediction": {"logits": (B, 2)},
        "BertForSequenceClassification": {"logits": (B, Y)},
        "BertForMultipleChoice": {"logits": (MC_BATCH, MC_CHOICES)},
        "BertForTokenClassification": {"logits": (B, T, Y)},
        "BertForQuestionAnswering": {"start_logits": (B, T), "end_logits": (B, T)},
    }[head_name]
    return {**loss, **shapes}


def rows(head_name: str) -> int:
    """How many sequences the encoder runs for `head_inputs` (multiple choice flattens B x C)."""
    return MC_BATCH * MC_CHOICES if head_name == "BertForMultipleChoice" else B
