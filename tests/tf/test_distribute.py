"""Keras `fit` under tf.distribute: MirroredStrategy over two logical CPU devices gives the single-device
losses and weights for the same global batch (dropout off, 3 AdamW steps); embedding gradients reach
Keras' Adam dense, so a token repeated in a batch gets the textbook second moment.

Logical devices must be configured before TensorFlow initializes, and the tf test group runs in one
process where it already is: the strategy check runs in a fresh subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from bert_tf import TFBertForSequenceClassification
from tests.common.head_spec import tiny
from tests.helpers import ATOL

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    import keras
    from bert_tf import TFBertForSequenceClassification
    from tests.helpers import load_reference_case

    case = load_reference_case("BertForSequenceClassification-single")  # 3 labels, hidden 32, 2 layers
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 99, (8, 8)).astype(np.int32)
    x = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    y = rng.integers(0, 3, 8).astype(np.int64)

    class Losses(keras.callbacks.Callback):  # Keras logs the running mean over the epoch's steps
        def on_train_begin(self, logs=None):
            self.means = []
        def on_train_batch_end(self, batch, logs=None):
            self.means.append(float(logs["loss"]))

    def train(strategy, keras_loss):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = TFBertForSequenceClassification.from_pretrained(
                case.directory, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
            )
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if keras_loss else None
            model.compile(optimizer=keras.optimizers.AdamW(1e-3, weight_decay=0.01), loss=loss)
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat(3)  # one global batch of 8
        losses = Losses()
        model.fit(data, epochs=1, steps_per_epoch=3, verbose=0, callbacks=[losses])
        means = losses.means
        steps = [m * (i + 1) - sum(means[i - 1 : i] or [0.0]) * i for i, m in enumerate(means)]
        final = float(model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"])
        weights = {w.path.split("/", 1)[1]: w.numpy() for w in model.weights}
        return steps + [final], weights, strategy.num_replicas_in_sync

    result = {}
    for keras_loss in (False, True):
        one, w_one, _ = train(tf.distribute.get_strategy(), keras_loss)
        two, w_two, replicas = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), keras_loss)
        result["keras_loss" if keras_loss else "own_loss"] = {
            "replicas": replicas,
            "losses": one,
            "loss_diff": max(abs(a - b) for a, b in zip(one, two)),
            "weights_diff": max(float(np.abs(w_one[k] - w_two[k]).max()) for k in w_one),
        }
    print(json.dumps(result))
    """
)


def test_mirrored_strategy_fit_matches_one_device():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("own_loss", "keras_loss"):
        run = result[name]
        assert run["replicas"] == 2, name
        assert run["loss_diff"] <= ATOL, (name, run)  # 3 per-step losses and the loss after 3 steps
        assert run["weights_diff"] <= ATOL, (name, run)
        assert run["losses"][0] > run["losses"][-1], (name, run)  # it did train
    # Before the fix the model's own loss was not divided by the replica count: the logged loss was twice
    # the single-device one; and the all-reduced embedding slices gave Adam a wrong second moment.


def test_adam_sees_dense_embedding_gradients():
    """One Adam step of `fit` on a batch whose token 7 appears three times: its embedding row moves by the
    textbook Adam step of the summed gradient (v = (1 - b2) g**2 with g the sum over occurrences), worked
    out here in numpy. Keras' Adam given the tf.IndexedSlices of tf.gather sums the squares instead."""
    keras.utils.set_random_seed(0)
    model = TFBertForSequenceClassification(
        tiny(num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    )
    x = {"input_ids": np.array([[2, 7, 7, 9], [2, 7, 11, 3]], np.int32), "labels": np.array([1, 0])}
    model(x)  # build
    table = model.bert.embeddings.word_embeddings.table
    before = table.numpy()
    with tf.GradientTape() as tape:
        loss = model(x, training=True).loss
    grad = tf.convert_to_tensor(tape.gradient(loss, table)).numpy()  # dense: the 3 occurrences summed
    lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-7
    model.compile(optimizer=keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2, epsilon=eps))
    model.fit(x, batch_size=2, epochs=1, verbose=0, shuffle=False)
    # Keras' Adam (keras/src/optimizers/adam.py), step 1: m = (1-b1) g, v = (1-b2) g^2,
    # w -= lr * sqrt(1 - b2) / (1 - b1) * m / (sqrt(v) + eps)
    m, v = (1 - b1) * grad, (1 - b2) * grad**2
    expected = before - lr * np.sqrt(1 - b2) / (1 - b1) * m / (np.sqrt(v) + eps)
    assert np.abs(grad[7]).max() > 1e-4  # the repeated token does get a gradient
    assert np.abs(table.numpy()[7] - expected[7]).max() <= 1e-6
    assert np.abs(table.numpy() - expected).max() <= ATOL  # rows whose |g| is near eps: fp32 vs fp64
