"""`bert-zoo train` over several devices of one process: Flax over a jax.sharding.Mesh (data parallel
over every visible device, and --mesh 2,2 data x model) and Keras under --distribute mirrored.

With dropout off and the same global batch of 8 rows, the loss of each of 3 AdamW updates and the eval
loss match the single-device run within 1e-5 (measured: docs/guides/training.md, "Scaling out"). Each
run is a fresh subprocess: the devices are made before the framework starts, by XLA_FLAGS (JAX's
forced host devices) or by the command's --cpu-devices. Also: the scale-out options refuse what they
cannot do, with one line naming the problem.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bert_zoo.cli import main
from tests.train.conftest import trainer_state
from tests.train.toy import train_argv

ROOT = Path(__file__).resolve().parents[2]


def _even_config(root: Path) -> None:
    """Intermediate size 40 (the toy's 37 cannot be split over a "model" axis of 2; heads 4 can)."""
    config = json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(json.dumps({**config, "intermediate_size": 40}))


def _run(root: Path, framework: str, out: str, per_device: int, env: dict | None = None, **extra) -> dict:
    argv = train_argv(root, framework, "text-classification", out=out, steps=3, **extra)
    argv[argv.index("--per-device-train-batch-size") + 1] = str(per_device)
    environ = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"})
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "bert_zoo.cli", *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((root / out / "metrics.json").read_text())
    state = trainer_state(root / out)
    return {"losses": state["train_losses"], "eval_loss": metrics["eval_loss"], "stderr": done.stderr}


def _assert_same(run: dict, single: dict) -> None:
    np.testing.assert_allclose(run["losses"], single["losses"], rtol=0, atol=1e-5)
    assert abs(run["eval_loss"] - single["eval_loss"]) < 1e-5


def test_flax_mesh_matches_one_device(toy):
    root = toy("text-classification", dropout=0.0)
    _even_config(root)
    single = _run(root, "flax", "single", per_device=8)
    assert len(single["losses"]) == 3 and single["losses"][0] > single["losses"][-1]  # it trained
    # every visible device (4 forced host devices) on "data": 4 x 2 rows
    forced = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    data = _run(root, "flax", "data", per_device=2, env=forced)
    assert "jax.sharding.Mesh {'data': 4, 'model': 1} over 4 devices" in data["stderr"]
    _assert_same(data, single)
    # --cpu-devices 4 --mesh 2,2: 2 x 4 rows, the attention and intermediate kernels split in two
    mesh = _run(root, "flax", "mesh", per_device=4, cpu_devices=4, mesh="2,2")
    assert "jax.sharding.Mesh {'data': 2, 'model': 2} over 4 devices" in mesh["stderr"]
    _assert_same(mesh, single)
    assert "Mesh" not in single["stderr"]


def test_keras_mirrored_matches_one_device(toy):
    root = toy("text-classification", dropout=0.0)
    single = _run(root, "tf", "single", per_device=8)
    assert len(single["losses"]) == 3 and single["losses"][0] > single["losses"][-1]
    mirrored = _run(root, "tf", "mirrored", per_device=4, cpu_devices=2, distribute="mirrored")
    assert "MirroredStrategy over 2 replicas" in mirrored["stderr"]
    _assert_same(mirrored, single)


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("framework", "flag", "message"),
    [
        ("tf", {"fsdp": "full_shard"}, "--fsdp is for --framework pt"),
        ("pt", {"mesh": "2,2"}, "--mesh is for --framework flax"),
        ("flax", {"distribute": "mirrored"}, "--distribute is for --framework tf"),
        ("pt", {"cpu_devices": "2"}, "--cpu-devices is for --framework flax or tf"),
    ],
)
def test_options_belong_to_their_framework(toy, capsys, framework, flag, message):
    argv = train_argv(toy("text-classification"), framework, "text-classification", **flag)
    assert message in _error(capsys, argv)


def test_fsdp_needs_torchrun(toy, capsys, monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    argv = train_argv(toy("text-classification"), "pt", "text-classification", fsdp="full_shard")
    assert "--fsdp full_shard runs under torchrun" in _error(capsys, argv)


def test_mesh_must_cover_the_devices(toy, capsys):
    import jax

    count = jax.device_count()  # initializes JAX: --cpu-devices could no longer act
    argv = train_argv(toy("text-classification"), "flax", "text-classification", mesh=f"{count + 1},1")
    err = _error(capsys, argv)
    assert f"--mesh: a {count + 1} x 1 (data x model) mesh needs {count + 1} devices, got {count}" in err
    argv = train_argv(toy("text-classification"), "flax", "text-classification", cpu_devices=count + 1)
    assert "--cpu-devices" in (err := _error(capsys, argv)) and "JAX is already initialized" in err


def test_uneven_batches_are_refused():
    from bert_zoo import CliError
    from bert_zoo.train_loop import BatchPlan
    from bert_zoo.train_scale import check_batches

    # 60 rows in global micro-batches of 16: the last of each epoch holds 12 rows
    check_batches(BatchPlan(60, 16, 1, 0, 1.0), 4)  # 16 and 12 rows: both split over 4
    with pytest.raises(CliError, match="a micro-batch of 12 rows cannot be split evenly over 8"):
        check_batches(BatchPlan(60, 16, 1, 0, 1.0), 8)
    check_batches(BatchPlan(60, 16, 1, 0, 1.0, max_steps=3), 8)  # stops before the short batch
    check_batches(BatchPlan(60, 16, 3, 0, 1.0), 8)  # 4 micro-batches, updates of 3: the 4th is skipped
    with pytest.raises(CliError, match="of 12 rows"):  # updates of 2: the 4th is used
        check_batches(BatchPlan(60, 16, 2, 0, 1.0), 8)
