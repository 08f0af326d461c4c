"""`bert-zoo train --framework flax`: the optax TrainState learns the toy token-classification set,
checkpoints hold the optax state, and --resume gives the uninterrupted weights within 1e-6 (dropout
and gradient accumulation on)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from bert_flax import FlaxBertForTokenClassification
from tests.train.conftest import resume_from_copy, train, trainer_state


@pytest.fixture(autouse=True, scope="module")
def compilation_cache(tmp_path_factory):
    """Each run builds a new model and compiles its step again; JAX's persistent cache lets the second
    run of a test (and the next test) reuse the first one's executables."""
    saved = jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax-cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    yield
    jax.config.update("jax_compilation_cache_dir", saved[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", saved[1])


def test_learns_and_reports_entity_f1(toy):
    root = toy("token-classification")
    metrics = train(root, "flax", "token-classification", steps=12)
    losses = trainer_state(root / "out" / "checkpoint-6")["train_losses"]
    second_half = (metrics["train_loss"] * 12 - sum(losses)) / 6
    assert second_half < 0.8 * losses[0], (losses[0], second_half)
    assert {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "eval_loss"} <= set(metrics)
    assert (root / "out" / "checkpoint-6" / "optimizer.msgpack").is_file()
    model = FlaxBertForTokenClassification.from_pretrained(root / "out")
    assert model.config.num_labels == 4


def test_resume_gives_the_uninterrupted_weights(toy):
    root = toy("text-classification")
    full, resumed = resume_from_copy(
        root, "flax", "text-classification", steps=4, gradient_accumulation_steps=2
    )
    for name in full:
        np.testing.assert_allclose(resumed[name], full[name], rtol=0, atol=1e-6, err_msg=name)
