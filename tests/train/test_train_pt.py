"""`bert-zoo train --framework pt`: every task learns its toy set, checkpoints reload, --resume gives the
same weights as an uninterrupted run (bitwise, dropout and gradient accumulation on), metrics.json holds
each task's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bert_pt import BertForTokenClassification
from tests.train.conftest import resume_from_copy, train, trainer_state, weights

# Steps per task: enough on the toy sets for the loss to fall clearly (see tests/train/toy.py).
TASKS = {
    "text-classification": ("eval_accuracy", "eval_f1"),
    "token-classification": ("eval_precision", "eval_recall", "eval_f1", "eval_accuracy"),
    "question-answering": ("eval_exact_match", "eval_f1"),
    "mlm": ("eval_perplexity",),
    "pretraining": ("eval_perplexity", "eval_mlm_loss", "eval_nsp_accuracy"),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_task_learns_and_reports_its_metrics(toy, task):
    root = toy(task)
    steps = 32 if task == "text-classification" else 12
    metrics = train(root, "pt", task, steps=steps)
    losses = trainer_state(root / "out" / f"checkpoint-{steps // 2}")["train_losses"]
    assert len(losses) == steps // 2
    first, late = (
        losses[0],
        float(np.mean([metrics["train_loss"] * steps - sum(losses)])) / (steps - len(losses)),
    )
    assert late < 0.8 * first, (first, late)  # the second half's mean loss is well below the first step's
    for key in ("train_loss", "eval_loss", "epoch", "global_step", *TASKS[task]):
        assert np.isfinite(metrics[key]), key
    assert metrics["global_step"] == steps
    if task == "mlm":
        assert metrics["eval_perplexity"] == pytest.approx(np.exp(metrics["eval_loss"]), rel=0.05)


def test_checkpoints_reload_and_hold_the_trainer_state(toy):
    root = toy("token-classification")
    train(root, "pt", "token-classification", steps=4)
    checkpoint = root / "out" / "checkpoint-2"
    assert {
        "config.json",
        "model.safetensors",
        "optimizer.pt",
        "scheduler.pt",
        "rng_state.pth",
        "trainer_state.json",
    } <= {p.name for p in checkpoint.iterdir()}
    state = trainer_state(checkpoint)
    assert state["global_step"] == 2 and state["data_order"]["updates_in_epoch"] == 2
    model = BertForTokenClassification.from_pretrained(checkpoint)
    assert model.config.id2label == {0: "B-LOC", 1: "B-PER", 2: "I-LOC", 3: "O"}  # sorted tags
    final = BertForTokenClassification.from_pretrained(root / "out")
    reloaded = weights(root / "out")
    for name, tensor in final.state_dict().items():
        if name in reloaded:
            assert torch.equal(tensor, torch.from_numpy(reloaded[name])), name
    assert (root / "out" / "vocab.txt").is_file()  # the tokenizer is saved with the model


def test_resume_gives_the_uninterrupted_weights_bitwise(toy):
    root = toy("mlm")
    full, resumed = resume_from_copy(root, "pt", "mlm", steps=6, gradient_accumulation_steps=2)
    assert full.keys() == resumed.keys()
    for name in full:
        np.testing.assert_array_equal(full[name], resumed[name], err_msg=name)
    assert trainer_state(root / "resumed" / "checkpoint-3")["global_step"] == 3
