"""`torchrun --nproc_per_node=2 -m bert_zoo.cli train --framework pt`: DistributedDataParallel on gloo.
With dropout off and the same global batch (2 processes x 4 rows = 1 process x 8 rows), the loss after
each update matches the single-process run within 1e-5, and only rank 0 writes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from tests.train.conftest import train, trainer_state
from tests.train.toy import train_argv


def test_two_processes_match_one(toy):
    root = toy("text-classification", dropout=0.0)
    train(root, "pt", "text-classification", out="single", steps=4)
    argv = train_argv(root, "pt", "text-classification", out="ddp", steps=4)
    argv[argv.index("--per-device-train-batch-size") + 1] = "4"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29533",
            "-m",
            "bert_zoo.cli",
            *argv,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    single = trainer_state(root / "single" / "checkpoint-2")["train_losses"]
    ddp = trainer_state(root / "ddp" / "checkpoint-2")["train_losses"]
    np.testing.assert_allclose(ddp, single, rtol=0, atol=1e-5)
    assert {p.name for p in (root / "ddp" / "checkpoint-2").iterdir()} >= {
        "rng_state_0.pth",
        "rng_state_1.pth",
    }
    import json

    one = json.loads((root / "single" / "metrics.json").read_text())
    two = json.loads((root / "ddp" / "metrics.json").read_text())
    assert abs(one["train_loss"] - two["train_loss"]) < 1e-5
    assert abs(one["eval_loss"] - two["eval_loss"]) < 1e-5
