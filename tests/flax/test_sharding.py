"""Data parallelism: over a Mesh of two (forced) host devices, the jitted forward pass gives the golden
reference numbers and the jitted train step gives the numbers of the unsharded step. JAX reads the device
count when it starts, so the check runs in a fresh subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import ATOL

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json
    import jax
    import numpy as np
    jax.config.update("jax_default_matmul_precision", "highest")
    from bert_flax import FlaxBertForSequenceClassification
    from bert_flax.sharding import data_parallel_mesh, replicate, shard_batch
    from bert_flax.training import adamw, create_train_state, make_eval_step, make_train_step
    from tests.helpers import load_reference_case

    # The reference case: weights from a checkpoint (no random initialization to pay for in the fresh
    # process), and golden logits and loss from Transformers for the sharded forward pass.
    case = load_reference_case("BertForSequenceClassification-single")
    model = FlaxBertForSequenceClassification.from_pretrained(case.directory)
    batch = {k: case.inputs[k].astype(np.int32) for k in ("input_ids", "attention_mask", "token_type_ids", "labels")}
    mesh = data_parallel_mesh()
    sharded_batch, sharded_params = shard_batch(batch, mesh), replicate(model.params, mesh)
    out = make_eval_step(model)(sharded_params, sharded_batch)

    step = make_train_step(model)
    key = jax.random.key(1)
    state_a, metrics_a = step(create_train_state(model, adamw(1e-3)), batch, key)
    state_b, metrics_b = step(replicate(create_train_state(model, adamw(1e-3)), mesh), sharded_batch, key)
    diff = lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max())
    tree_diff = lambda a, b: max(jax.tree_util.tree_leaves(jax.tree_util.tree_map(diff, a, b)))
    print(json.dumps({
        "devices": len(jax.devices()),
        "logits_devices": len(out.logits.sharding.device_set),
        "logits_diff": diff(out.logits, case.outputs["logits"]),
        "eval_loss_diff": diff(out.loss, case.outputs["loss"]),
        "loss_diff": diff(metrics_a["loss"], metrics_b["loss"]),
        "params_diff": tree_diff(state_a.params, state_b.params),
        "params_moved": tree_diff(state_a.params, model.params),
    }))
    """
)


def test_sharded_forward_and_train_step_match_unsharded():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2 and result["logits_devices"] == 2
    assert result["logits_diff"] <= ATOL and result["eval_loss_diff"] <= ATOL  # sharded forward vs golden
    assert result["loss_diff"] <= ATOL
    assert result["params_diff"] <= ATOL
    assert result["params_moved"] > 1e-5  # the step did update the parameters
