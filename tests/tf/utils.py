"""Helpers of the Keras tests: tiny configs, padded batches, output flattening."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.helpers import tiny_config


def tiny(**changes: Any):
    """The tiny config (hidden 32, 2 layers, 4 heads, vocab 99) with dropout off unless asked for."""
    base = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
    return tiny_config(**{**base, **changes})


def batch(config, batch_size: int = 3, length: int = 7, seed: int = 0, pad_row: int | None = 1, pad: int = 2):
    """int32 numpy input_ids / attention_mask / token_type_ids; row `pad_row` ends in `pad` padding positions."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(1, config.vocab_size, (batch_size, length)).astype(np.int32)
    attention_mask = np.ones((batch_size, length), np.int32)
    if pad_row is not None and pad:
        attention_mask[pad_row, length - pad :] = 0
        input_ids[pad_row, length - pad :] = 0
    token_type_ids = np.zeros((batch_size, length), np.int32)
    token_type_ids[:, length // 2 :] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def fields(output: Any) -> dict[str, np.ndarray]:
    """Every tensor of an output as numpy, tuples flattened to `name.i` (the reference files' keys)."""
    out = {}
    for name, value in output.items():
        if name == "past_key_values":
            continue
        if isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                out[f"{name}.{i}"] = np.asarray(item, dtype=np.float32)
        else:
            out[name] = np.asarray(value, dtype=np.float32)
    return out


def labels_for(head_name: str, config, inputs: dict[str, np.ndarray], seed: int = 1) -> dict[str, np.ndarray]:
    """Valid labels of the head `head_name` for `inputs` (a batch from `batch`)."""
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


def head_inputs(head_name: str, config, seed: int = 0) -> dict[str, Any]:
    """A batch (with labels) that the head `head_name` accepts; multiple choice gets [B, C, T] inputs."""
    if head_name == "BertForMultipleChoice":
        flat = batch(config, batch_size=6, seed=seed)
        inputs = {k: v.reshape(2, 3, -1) for k, v in flat.items()}
    else:
        inputs = batch(config, seed=seed)
    return {**inputs, **labels_for(head_name, config, inputs)}
