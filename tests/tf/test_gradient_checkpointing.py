"""Gradient checkpointing of the Keras twin: each encoder layer is run again in the backward pass
(`keras.remat`, i.e. `tf.recompute_grad`), with the same dropout masks, so the gradients equal those of
the plain model, eagerly, in a graph, under XLA and inside `fit`; the flag is Transformers' (not saved)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf import TFBertForSequenceClassification, TFBertModel
from bert_tf.layers import TFBertLayer
from tests.common.head_spec import batch
from tests.helpers import tiny_config

LABELS = np.array([0, 1, 2], np.int32)


def _model(checkpointing: bool) -> TFBertForSequenceClassification:
    # Dropout stays on (0.1, the tiny config's): the recomputed layers must draw the masks of the forward.
    keras.utils.set_random_seed(0)  # same weights and dropout seeds for both models
    model = TFBertForSequenceClassification(tiny_config(num_labels=3))
    if checkpointing:
        model.gradient_checkpointing_enable()
    return model


def _gradients(model, mode: str) -> list[np.ndarray]:
    x = batch(model.config)

    def step():
        with tf.GradientTape() as tape:
            loss = model(x, labels=LABELS, training=True).loss
        return tape.gradient(loss, model.trainable_variables)

    if mode != "eager":
        step = tf.function(step, jit_compile=mode == "xla")
    step()  # a second step too: the dropout seeds must advance alike
    return [tf.convert_to_tensor(g).numpy() for g in step()]


@pytest.mark.parametrize("mode", ["eager", "graph", "xla"])
def test_gradients_equal_the_plain_ones(mode):
    plain, checkpointed = _gradients(_model(False), mode), _gradients(_model(True), mode)
    assert len(plain) == len(checkpointed) == len(_model(False).trainable_variables)
    for a, b in zip(plain, checkpointed):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)


def test_each_layer_runs_again_in_the_backward_pass(monkeypatch):
    calls = []
    original = TFBertLayer.call

    def counting(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TFBertLayer, "call", counting)
    for checkpointing, expected in (
        (False, ["layer_._0", "layer_._1"]),
        # the forward, then the backward pass runs the layers again, last layer first
        (True, ["layer_._0", "layer_._1", "layer_._1", "layer_._0"]),
    ):
        model = _model(checkpointing)
        calls.clear()
        with tf.GradientTape() as tape:
            loss = model(batch(model.config), labels=LABELS, training=True).loss
        assert calls == ["layer_._0", "layer_._1"]
        tape.gradient(loss, model.trainable_variables)
        assert calls == expected
        calls.clear()
        model(batch(model.config))  # inference does not checkpoint
        assert calls == ["layer_._0", "layer_._1"]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_trains_the_same_weights(jit_compile):
    x = batch(tiny_config())
    trained = []
    for checkpointing in (False, True):
        model = _model(checkpointing)
        model.compile(optimizer=keras.optimizers.SGD(0.1), jit_compile=jit_compile)
        history = model.fit(x, LABELS, batch_size=3, epochs=2, verbose=0, shuffle=False)
        trained.append((history.history["loss"], [v.numpy() for v in model.trainable_variables]))
    (plain_loss, plain), (checkpointed_loss, checkpointed) = trained
    np.testing.assert_allclose(checkpointed_loss, plain_loss, rtol=0, atol=1e-6)
    for a, b in zip(plain, checkpointed):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)


def test_enabling_after_fit_rebuilds_the_train_step():
    model = _model(False)
    model.compile(optimizer="sgd")
    model.fit(batch(model.config), LABELS, verbose=0)
    assert model.train_function is not None
    model.gradient_checkpointing_enable()
    assert model.train_function is None  # the compiled step was traced without recomputation


def test_the_flag_round_trips_as_transformers_does(tmp_path):
    model = TFBertModel(tiny_config())
    assert TFBertModel.supports_gradient_checkpointing is True
    assert model.is_gradient_checkpointing is False
    model.gradient_checkpointing_enable({"use_reentrant": False})
    assert model.is_gradient_checkpointing is True
    # Transformers does not save the flag: config.json has no such key, a loaded model starts without it
    model.save_pretrained(tmp_path)
    assert not any("checkpointing" in key for key in json.loads((tmp_path / "config.json").read_text()))
    assert TFBertModel.from_pretrained(tmp_path).is_gradient_checkpointing is False
    model.gradient_checkpointing_disable()
    assert model.is_gradient_checkpointing is False
    with pytest.raises(ValueError, match="use_reentrant=True"):
        model.gradient_checkpointing_enable({"use_reentrant": True})
    with pytest.raises(ValueError, match="supports only 'use_reentrant'"):
        model.gradient_checkpointing_enable({"preserve_rng_state": True})
    assert model.is_gradient_checkpointing is False
