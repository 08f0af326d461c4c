"""Data and tensor parallelism: over a Mesh of two (forced) host devices, the jitted forward pass gives the
golden reference numbers and the jitted train step the numbers of the unsharded step; over four, 2x2,
4x1 and 1x4 (data x model) meshes give the single-device losses of 3 AdamW steps, with the attention and
FFN kernels (and their Adam moments) split over "model". JAX reads the device count when it starts, so
these checks run in fresh subprocesses; the partition table itself is checked in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest
from jax.sharding import PartitionSpec

from bert_flax.sharding import MODEL_AXIS, make_mesh, partition_spec
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


TENSOR_PARALLEL_SCRIPT = textwrap.dedent(
    """
    import json
    import jax
    import numpy as np
    jax.config.update("jax_default_matmul_precision", "highest")
    from jax.sharding import PartitionSpec
    from bert_common import BertConfig
    from bert_flax import FlaxBertForSequenceClassification
    from bert_flax.sharding import make_mesh, make_sharded_eval_step, make_sharded_train_step, shard_params
    from bert_flax.training import adamw, create_train_state, make_eval_step, make_train_step
    from tests.helpers import TINY_CONFIG

    # The tiny model with I = 40 (the reference cases' 37 cannot be split in two) and dropout off.
    config = BertConfig(**{**TINY_CONFIG, "intermediate_size": 40, "num_labels": 3,
                           "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    model = FlaxBertForSequenceClassification(config, seed=0)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 99, (8, 8)).astype(np.int32)
    batch = {"input_ids": ids, "attention_mask": (rng.random((8, 8)) > 0.2).astype(np.int32),
             "token_type_ids": np.zeros_like(ids), "labels": rng.integers(0, 3, 8).astype(np.int32)}
    key = jax.random.key(1)

    def run(step, eval_step, state):
        losses = []
        for _ in range(3):
            state, metrics = step(state, batch, key)
            losses.append(float(metrics["loss"]))
        out = eval_step(state.params, batch)
        return losses + [float(out.loss)], state, out

    single, _, _ = run(make_train_step(model), make_eval_step(model), create_train_state(model, adamw(1e-3)))
    result = {"devices": len(jax.devices()), "single": single}
    for data, model_axis in ((2, 2), (4, 1), (1, 4)):
        mesh = make_mesh(data, model_axis)
        state = shard_params(create_train_state(model, adamw(1e-3)), mesh)
        step = make_sharded_train_step(model, state, mesh)
        losses, state, out = run(step, make_sharded_eval_step(model, state.params, mesh), state)
        layer = state.params["bert"]["encoder"]["layer"]["0"]
        mu = state.opt_state[0].mu["bert"]["encoder"]["layer"]["0"]
        shards = lambda x: sorted({tuple(s.data.shape) for s in x.addressable_shards})
        result[f"{data}x{model_axis}"] = {
            "loss_diff": max(abs(a - b) for a, b in zip(single, losses)),
            "query": [list(layer["attention"]["self"]["query"]["kernel"].sharding.spec),
                      shards(layer["attention"]["self"]["query"]["kernel"])],
            "ffn_out": [list(layer["output"]["dense"]["kernel"].sharding.spec), shards(layer["output"]["dense"]["kernel"])],
            "mu_ffn_in": shards(mu["intermediate"]["dense"]["kernel"]),
            "layer_norm": shards(layer["output"]["LayerNorm"]["scale"]),
            "logits": shards(out.logits),
        }
    print(json.dumps(result))
    """
)


def run_with_devices(script: str, count: int) -> dict:
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={count}",
        "JAX_PLATFORMS": "cpu",
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sharded_forward_and_train_step_match_unsharded():
    result = run_with_devices(SCRIPT, 2)
    assert result["devices"] == 2 and result["logits_devices"] == 2
    assert result["logits_diff"] <= ATOL and result["eval_loss_diff"] <= ATOL  # sharded forward vs golden
    assert result["loss_diff"] <= ATOL
    assert result["params_diff"] <= ATOL
    assert result["params_moved"] > 1e-5  # the step did update the parameters


def test_tensor_and_data_parallel_steps_match_one_device():
    result = run_with_devices(TENSOR_PARALLEL_SCRIPT, 4)
    assert result["devices"] == 4
    assert result["single"][0] > result["single"][-1]  # the 3 steps did train
    for mesh in ("2x2", "4x1", "1x4"):
        assert result[mesh]["loss_diff"] <= ATOL, (mesh, result)  # 3 step losses and the loss after them
    # 2x2: kernels split in two over "model" (by heads for query, by I rows for the FFN output), the Adam
    # moments alike; LayerNorms replicated; logits [B=8, Y=3] split in two over "data".
    two = result["2x2"]
    assert two["query"] == [[None, "model"], [[32, 16]]]
    assert two["ffn_out"] == [["model", None], [[20, 32]]]
    assert two["mu_ffn_in"] == [[32, 20]] and two["layer_norm"] == [[32]] and two["logits"] == [[4, 3]]
    assert result["4x1"]["query"][1] == [[32, 32]] and result["4x1"]["logits"] == [[2, 3]]
    assert result["1x4"]["query"][1] == [[32, 8]] and result["1x4"]["logits"] == [[8, 3]]


def test_partition_table():
    sizes = {"data": 2, MODEL_AXIS: 2}
    query = "bert/encoder/layer/0/attention/self/query/kernel"
    assert partition_spec(query, (32, 32), sizes) == PartitionSpec(None, MODEL_AXIS)
    assert partition_spec("bert/encoder/layer/0/crossattention/output/dense/kernel", (32, 32), sizes) == (
        PartitionSpec(MODEL_AXIS, None)
    )
    assert partition_spec("bert/encoder/layer/1/output/dense/kernel", (40, 32), sizes) == PartitionSpec(
        MODEL_AXIS, None
    )
    assert partition_spec("bert/encoder/layer/1/output/dense/bias", (32,), sizes) == PartitionSpec()
    assert partition_spec("bert/embeddings/word_embeddings/embedding", (99, 32), sizes) == PartitionSpec()
    # optimizer moments repeat the parameter path; scanned layers add a leading [L] axis
    assert partition_spec("opt_state/0/mu/" + query, (32, 32), sizes) == PartitionSpec(None, MODEL_AXIS)
    scanned = "bert/encoder/layer/scanned/intermediate/dense/kernel"
    assert partition_spec(scanned, (2, 32, 40), sizes) == PartitionSpec(None, None, MODEL_AXIS)
    assert partition_spec(query, (32, 32), {"data": 2}) == PartitionSpec()  # no "model" axis
    with pytest.raises(ValueError, match=r"cannot split .*intermediate/dense/kernel of shape \(32, 37\)"):
        partition_spec("bert/encoder/layer/0/intermediate/dense/kernel", (32, 37), sizes)


def test_make_mesh_checks_sizes():
    mesh = make_mesh()
    assert mesh.axis_names == ("data", MODEL_AXIS) and mesh.shape["data"] == len(jax.devices())
    with pytest.raises(ValueError, match="needs 2 devices"):
        make_mesh(2, 1, devices=jax.devices()[:1])
    with pytest.raises(ValueError, match="must be >= 1"):
        make_mesh(model=0)
