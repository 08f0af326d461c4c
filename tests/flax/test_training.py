"""Fine-tuning with optax: the documented sequence-classification step learns a toy task, and the
optimizer leaves biases and LayerNorm scales out of weight decay."""

from __future__ import annotations

import jax
import numpy as np

from bert_flax import FlaxBertForSequenceClassification
from bert_flax.training import (
    accuracy,
    adamw,
    create_train_state,
    decay_mask,
    make_eval_step,
    make_train_step,
)
from conversion.flax import flatten_tree
from tests.common.head_spec import tiny


def toy_set(n: int, seed: int) -> dict[str, np.ndarray]:
    """[CLS] x x x x x x [SEP] with one marker token: 7 means class 1, 8 means class 0."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, 99, size=(n, 8))
    ids[:, 0], ids[:, -1] = 2, 3
    labels = rng.integers(0, 2, size=n)
    ids[np.arange(n), rng.integers(1, 7, size=n)] = np.where(labels == 1, 7, 8)
    return {
        "input_ids": ids.astype(np.int32),
        "attention_mask": np.ones_like(ids, np.int32),
        "labels": labels.astype(np.int32),
    }


def test_train_step_reaches_high_accuracy_on_a_toy_set():
    model = FlaxBertForSequenceClassification(tiny(num_labels=2, hidden_dropout_prob=0.1), seed=0)
    state = create_train_state(model, adamw(learning_rate=1e-3, warmup_steps=8, weight_decay=0.01))
    train_step, eval_step = make_train_step(model), make_eval_step(model)
    train, test = toy_set(256, 0), toy_set(128, 1)
    rng = jax.random.key(0)
    first_loss = None
    for _epoch in range(10):
        for i in range(0, 256, 32):
            state, metrics = train_step(state, {k: v[i : i + 32] for k, v in train.items()}, rng)
            first_loss = first_loss if first_loss is not None else float(metrics["loss"])
    out = eval_step(state.params, test)
    acc = float(accuracy(out.logits, test["labels"]))
    assert acc >= 0.95, f"toy accuracy {acc:.3f}"
    assert float(out.loss) < first_loss / 4
    assert int(state.step) == 80


def test_weight_decay_skips_biases_and_layer_norm():
    model = FlaxBertForSequenceClassification(tiny(num_labels=2), _do_init=False)
    mask = flatten_tree(decay_mask(model.params_shape_tree))
    assert mask["bert/encoder/layer/0/attention/self/query/kernel"] is True
    assert mask["bert/embeddings/word_embeddings/embedding"] is True
    assert mask["bert/encoder/layer/0/attention/self/query/bias"] is False
    assert mask["bert/embeddings/LayerNorm/scale"] is False
    assert mask["classifier/kernel"] is True
