"""`torchrun --nproc_per_node=2 -m bert_zoo.cli train --framework pt --fsdp ...`: FSDP2 on gloo.

With dropout off and the same global batch (2 processes x 4 rows = 1 process x 8 rows), the loss of each
of 3 updates, the eval loss and the final weights match the single-process run within 1e-5 (measured:
see docs/guides/training.md, "Scaling out"). The checkpoints are full state dicts written by rank 0 with
save_pretrained: a single-process run resumes from an FSDP checkpoint, and an FSDP run (shard_grad_op)
resumes from it too, both giving the uninterrupted weights.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from tests.train.conftest import train, trainer_state, weights
from tests.train.toy import train_argv


def torchrun(root, out, port, **extra):
    argv = train_argv(root, "pt", "text-classification", out=out, steps=3, save_steps=1, **extra)
    argv[argv.index("--per-device-train-batch-size") + 1] = "4"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}"]
    done = subprocess.run(
        [*command, "-m", "bert_zoo.cli", *argv], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"bert-zoo train: FSDP {extra['fsdp']} over 2 processes (gloo)" in done.stderr


def test_fsdp_matches_one_process_and_resumes(toy):
    root = toy("text-classification", dropout=0.0)
    train(root, "pt", "text-classification", out="single", steps=3, save_steps=1)
    torchrun(root, "fsdp", 29541, fsdp="full_shard")

    one = trainer_state(root / "single")["train_losses"]
    two = trainer_state(root / "fsdp")["train_losses"]
    assert len(one) == 3 and one[0] > one[-1]  # it trained
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-5)
    single, sharded = weights(root / "single"), weights(root / "fsdp")
    assert set(sharded) == set(single)  # full, unsharded tensors under the canonical names
    for name in single:
        np.testing.assert_allclose(sharded[name], single[name], rtol=0, atol=1e-5, err_msg=name)
    metrics = [json.loads((root / run / "metrics.json").read_text()) for run in ("single", "fsdp")]
    assert abs(metrics[0]["eval_loss"] - metrics[1]["eval_loss"]) < 1e-5
    assert {p.name for p in (root / "fsdp" / "checkpoint-1").iterdir()} >= {
        "model.safetensors",
        "optimizer.pt",
        "rng_state_0.pth",
        "rng_state_1.pth",
    }

    # the FSDP checkpoint resumes in one process (plain torch.optim layout) ...
    shutil.copytree(root / "fsdp" / "checkpoint-1", root / "plain" / "checkpoint-1")
    train(root, "pt", "text-classification", out="plain", steps=3, save_steps=1, resume=True)
    # ... and under FSDP with the other strategy
    shutil.copytree(root / "fsdp" / "checkpoint-1", root / "zero2" / "checkpoint-1")
    torchrun(root, "zero2", 29542, fsdp="shard_grad_op", resume=True)
    full = weights(root / "fsdp")
    for run in ("plain", "zero2"):
        resumed = weights(root / run)
        for name in full:
            np.testing.assert_allclose(resumed[name], full[name], rtol=0, atol=1e-6, err_msg=f"{run}: {name}")
