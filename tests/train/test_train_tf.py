"""`bert-zoo train --framework tf`: Keras `fit` learns the toy token-classification set, checkpoints hold
the optimizer variables, and --resume gives the uninterrupted weights within 1e-6 (dropout and gradient
accumulation on: the dropout seed states are part of the checkpoint)."""

from __future__ import annotations

import numpy as np

from tests.train.conftest import resume_from_copy, train, trainer_state


def test_learns_and_reports_entity_f1(toy):
    root = toy("token-classification")
    metrics = train(root, "tf", "token-classification", steps=12)
    losses = trainer_state(root / "out" / "checkpoint-6")["train_losses"]
    second_half = (metrics["train_loss"] * 12 - sum(losses)) / 6
    assert second_half < 0.8 * losses[0], (losses[0], second_half)
    assert {"eval_precision", "eval_recall", "eval_f1", "eval_accuracy", "eval_loss"} <= set(metrics)
    assert (root / "out" / "checkpoint-6" / "optimizer.npz").is_file()


def test_resume_gives_the_uninterrupted_weights(toy):
    root = toy("text-classification")
    full, resumed = resume_from_copy(
        root, "tf", "text-classification", steps=4, gradient_accumulation_steps=2
    )
    for name in full:
        np.testing.assert_allclose(resumed[name], full[name], rtol=0, atol=1e-6, err_msg=name)
