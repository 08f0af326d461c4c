"""The start of `bert-zoo run --framework tf` (issue 16, item 5): what it no longer does.

- the TensorFlow twin is imported without the optional modules TensorFlow and Keras would pull in for
  features the command never uses (JAX, pandas, matplotlib: `bert_zoo.run.UNUSED_IMPORTS`);
- `from_pretrained` draws random initial values only for the weights the checkpoint lacks
  (`bert_tf.loading.DrawMissingOnly`), with the numbers an eagerly built model holds;
- the pipeline's `tf.function` is traced without AutoGraph;
- the JSON lines are written by `json.dumps` with numpy values through `default=_jsonable`.

Speed itself is measured by scripts/bench_pipelines.py, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state

import conversion.tf
from bert_tf import TFBertForSequenceClassification, TFBertModel
from bert_tf.pipelines import CompiledForward, run_numpy
from bert_zoo import run as run_module
from conversion.checkpoint import read_weights

ROOT = Path(__file__).resolve().parents[2]


def test_skipped_imports_hide_a_module_inside_the_block_only(tmp_path, monkeypatch):
    (tmp_path / "bz_skip_probe.py").write_text("VALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with run_module.skipped_imports(["bz_skip_probe", "json"]):
        with pytest.raises(ImportError):
            import bz_skip_probe
        import json as again  # already imported: stays importable

        assert again is json
    import bz_skip_probe

    assert bz_skip_probe.VALUE == 7
    monkeypatch.delitem(sys.modules, "bz_skip_probe")


def test_run_with_the_tf_twin_imports_no_jax_pandas_or_matplotlib(task_models):
    """Before, importing TensorFlow imported all three (TensorFlow Lite imports JAX, Keras pandas and
    matplotlib), about 1.4 s of the command's start on 2 cores."""
    script = (
        "import sys\n"
        "from bert_zoo.cli import main\n"
        "code = main(['run', '--task', 'feature-extraction', '--pooling', 'mean', '--framework', 'tf',\n"
        f"             '--model', {task_models['feature-extraction']!r}, 'the cat sat', 'a dog'])\n"
        "print('IMPORTED', sorted(m for m in ('jax', 'pandas', 'matplotlib') if m in sys.modules))\n"
        "import pandas\n"  # importable again after the twin is loaded
        "print('PANDAS', pandas.__name__)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    assert [a["input"] for a in answers] == ["the cat sat", "a dog"]
    assert all(len(a["output"]) == 32 for a in answers)  # hidden_size of the tiny model
    assert "IMPORTED []" in lines
    assert "PANDAS pandas" in lines


def _count_draws(monkeypatch) -> list[tuple[int, ...]]:
    """The shapes TruncatedNormal draws (every kernel and table of bert_tf: bert_tf.initialization)."""
    draws: list[tuple[int, ...]] = []
    original = keras.initializers.TruncatedNormal.__call__

    def counted(self, shape, dtype=None):
        draws.append(tuple(shape))
        return original(self, shape, dtype=dtype)

    monkeypatch.setattr(keras.initializers.TruncatedNormal, "__call__", counted)
    return draws


def test_from_pretrained_draws_no_weight_the_checkpoint_holds(task_models, monkeypatch):
    directory = task_models["feature-extraction"]
    draws = _count_draws(monkeypatch)
    model = TFBertModel.from_pretrained(directory)
    assert draws == []  # before: 16 draws (3 tables, 6 kernels per layer, the pooler), all overwritten
    state, _ = read_weights(directory)
    canonical = conversion.tf.to_canonical(model)
    assert set(canonical) == set(state)
    for name, array in canonical.items():
        np.testing.assert_array_equal(array, state[name], err_msg=name)
    assert all(v.numpy() is not None for v in model.variables)
    assert not global_state.get_global_attribute("uninitialized_variables", None)
    with keras.StatelessScope():  # Keras initializes pending variables on leaving: none may be left
        pass


def test_from_pretrained_draws_a_missing_head_as_an_eager_build_does(task_models, monkeypatch):
    directory = task_models["feature-extraction"]  # no classifier weights in it
    draws = _count_draws(monkeypatch)
    keras.utils.set_random_seed(5)
    loaded, info = TFBertForSequenceClassification.from_pretrained(
        directory, num_labels=3, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert draws == [(32, 3)]  # the classifier kernel [H, Y] alone
    keras.utils.set_random_seed(5)
    eager = TFBertForSequenceClassification(loaded.config)
    np.testing.assert_array_equal(loaded.classifier.kernel.numpy(), eager.classifier.kernel.numpy())
    np.testing.assert_array_equal(loaded.classifier.bias.numpy(), np.zeros(3, np.float32))
    assert float(np.std(loaded.classifier.kernel.numpy())) > 0.0
    # the dropout seed generators were deferred too: a training step runs
    loaded.compile(optimizer="adam")
    batch = {"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.ones((1, 3), np.int64)}
    loss = loaded.train_on_batch({**batch, "labels": np.array([1])})
    assert np.isfinite(float(np.asarray(loss).ravel()[0]))


def test_compiled_forward_traces_without_autograph(task_models, monkeypatch):
    from tensorflow.python.autograph.impl import api

    converted: list[object] = []
    original = api.converted_call

    def counted(f, *args, **kwargs):
        converted.append(f)
        return original(f, *args, **kwargs)

    monkeypatch.setattr(api, "converted_call", counted)
    model = TFBertModel.from_pretrained(task_models["feature-extraction"])
    runner = CompiledForward(model)
    arrays = {
        "input_ids": np.array([[2, 5, 6, 3, 0], [2, 7, 8, 9, 3]], np.int64),
        "attention_mask": np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], np.int64),
        "token_type_ids": np.zeros((2, 5), np.int64),
    }
    out = runner(arrays)
    assert converted == []  # before: the forward and the model's __call__ went through AutoGraph
    assert runner.traces == 1
    eager = run_numpy(model, arrays)
    np.testing.assert_allclose(out["last_hidden_state"], eager["last_hidden_state"], rtol=0, atol=1e-5)


def test_json_lines_write_numpy_values_through_default():
    value = {"score": np.float32(0.5), "ids": np.arange(3), "pair": (np.int64(2), 1.25), "text": "x"}
    line = json.dumps(value, allow_nan=False, default=run_module._jsonable)
    assert line == '{"score": 0.5, "ids": [0, 1, 2], "pair": [2, 1.25], "text": "x"}'
    with pytest.raises(ValueError):  # NaN stays an error (bert-zoo run turns it into its message)
        json.dumps([np.float32("nan")], allow_nan=False, default=run_module._jsonable)
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        json.dumps({1, 2}, default=run_module._jsonable)


@pytest.mark.parametrize("units", [5, 8], ids=["units-5-of-8", "units-8-of-8"])
def test_dense_multiplies_a_batch_of_sequences_as_one_matrix(units):
    """bert_tf's Dense: the numbers of keras.layers.Dense, without tf.tensordot's shape ops (before,
    `dense()` returned keras.layers.Dense, whose graph computes the flattening with Prod / ConcatV2),
    and the output's shape taken from the input's: 4 ops more than the 2-D call when the width is kept
    (Const and Reshape in, Shape and Reshape out), 6 when it changes (a Const and an AddV2 more)."""
    import tensorflow as tf

    from bert_common.config import BertConfig
    from bert_tf.initialization import dense

    config = BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    ours = dense(config, units, "dense", "float32")
    ours.build((None, None, 8))
    plain = keras.layers.Dense(units, name="plain")
    plain.build((None, None, 8))
    plain.set_weights(ours.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)
    np.testing.assert_array_equal(ours(x).numpy(), plain(x).numpy())  # bitwise: the same MatMul
    np.testing.assert_array_equal(ours(x[0]).numpy(), plain(x[0]).numpy())  # rank 2 as Keras does

    def graph_of(spec: tf.TensorSpec) -> tf.Graph:
        return tf.function(ours).get_concrete_function(spec).graph

    graph = graph_of(tf.TensorSpec([None, None, 8]))
    types = [op.type for op in graph.get_operations()]
    assert "Prod" not in types and types.count("MatMul") == 1
    assert graph.outputs[0].shape.as_list() == [None, None, units]  # static shape kept for Keras
    flat = graph_of(tf.TensorSpec([None, 8])).get_operations()
    added = len(graph.get_operations()) - len(flat)
    assert added == (4 if units == 8 else 6), [op.type for op in graph.get_operations()]
    assert keras.layers.deserialize(keras.layers.serialize(ours)).__class__ is type(ours)


def test_a_traced_encoder_layer_builds_few_graph_ops():
    """The ops one more encoder layer adds to the pipeline's traced graph (CompiledForward, shapes left
    unknown). Building them is most of the trace and the first call of `bert-zoo run --framework tf`:
    227 per layer before the head split and Dense shared their shape tensors, 147 after (a budget of
    160 leaves room for TensorFlow's own LayerNorm ops changing). A deterministic count, not a timing."""
    from bert_common.config import BertConfig

    def ops_of(layers: int) -> int:
        config = BertConfig(
            vocab_size=99,
            hidden_size=16,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=24,
        )
        graph = CompiledForward(TFBertModel(config)).function.get_concrete_function().graph
        return len(graph.get_operations())

    per_layer = ops_of(2) - ops_of(1)
    assert 100 <= per_layer <= 160, per_layer
