"""What `bert-zoo train` logs (Transformers' log_history in OUTPUT/trainer_state.json): a loss entry every
--logging-steps updates holding the mean of those updates' losses, with the learning rate and the
seconds per update; an evaluation entry at every --eval-steps (or epoch end); metrics.json's eval_*
equal to the evaluation at the last step (not a second, different evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.train.conftest import train, trainer_state


def test_log_history_means_evaluations_and_final_state(toy):
    root = toy("text-classification")
    metrics = train(
        root, "pt", "text-classification", steps=4, logging_steps=2, eval_strategy="steps", eval_steps=2
    )
    state = trainer_state(root / "out")  # the final state (Trainer.save_state), beside the model
    assert state["global_step"] == 4
    losses = state["train_losses"]
    logged = [e for e in state["log_history"] if "loss" in e]
    evals = [e for e in state["log_history"] if "eval_loss" in e]
    assert [e["step"] for e in logged] == [2, 4] and [e["step"] for e in evals] == [2, 4]
    np.testing.assert_allclose(
        [e["loss"] for e in logged], [np.mean(losses[:2]), np.mean(losses[2:])], rtol=1e-12
    )
    # linear warmup over 2 updates then decay to 0 at 4, 1e-2 peak (tests/train/toy.py): the rate of update 2 and 4
    assert [e["learning_rate"] for e in logged] == pytest.approx([5e-3, 5e-3])
    assert all(e["step_time"] > 0 for e in logged) and all(e["eval_runtime"] > 0 for e in evals)
    assert metrics["eval_accuracy"] == evals[-1]["eval_accuracy"]
    assert metrics["eval_loss"] == evals[-1]["eval_loss"]
