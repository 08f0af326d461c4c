"""Shared pieces of the `bert-zoo train` tests: run the command in-process, read what it wrote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from bert_zoo.cli import main
from tests.train.toy import train_argv, write_data, write_model_files


@pytest.fixture
def toy(tmp_path):
    """toy(task, dropout=0.1) -> root with the tiny model files and the task's data files."""

    def make(task: str, dropout: float = 0.1, n_train: int = 64) -> Path:
        write_model_files(tmp_path, dropout)
        write_data(tmp_path, task, n_train=n_train)
        return tmp_path

    return make


def train(root: Path, framework: str, task: str, **extra: object) -> dict:
    """Run `bert-zoo train` in this process; returns metrics.json (asserts exit code 0)."""
    out = extra.get("out", "out")
    assert main(train_argv(root, framework, task, **extra)) == 0
    return json.loads((root / str(out) / "metrics.json").read_text())


def trainer_state(directory: Path) -> dict:
    return json.loads((directory / "trainer_state.json").read_text())


def weights(directory: Path) -> dict[str, np.ndarray]:
    return load_file(str(directory / "model.safetensors"))


def resume_from_copy(root: Path, framework: str, task: str, steps: int, **extra: object) -> tuple[dict, dict]:
    """Train `steps` updates uninterrupted in root/full (checkpoint at steps // 2), copy that checkpoint
    alone to root/resumed and continue there with --resume: (full weights, resumed weights)."""
    train(root, framework, task, out="full", steps=steps, **extra)
    half = f"checkpoint-{steps // 2}"
    shutil.copytree(root / "full" / half, root / "resumed" / half)
    train(root, framework, task, out="resumed", steps=steps, resume=True, **extra)
    return weights(root / "full"), weights(root / "resumed")
