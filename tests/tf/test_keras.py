"""The Keras workflow: compile/fit/evaluate/predict, XLA, mixed precision, .keras files, SavedModel export."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_tf import (
    MODEL_CLASSES,
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertLMHeadModel,
)
from tests.common.head_spec import batch, head_config, head_inputs, tiny
from tests.helpers import ATOL, load_reference_case, max_abs_diff
from tests.tf.utils import fields


@pytest.fixture(scope="module")
def toy():
    """A separable toy task: the label is whether token 1 is in the upper half of the vocabulary."""
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 99, (96, 8)).astype(np.int32)
    ids[:, 0] = 2
    labels = (ids[:, 1] >= 52).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}, labels


def classifier(**changes):
    return TFBertForSequenceClassification(tiny(num_labels=2, num_hidden_layers=1, **changes))


def accuracy(model, x, y) -> float:
    return float((model.predict(x, verbose=0)["logits"].argmax(-1) == y).mean())


def test_fit_without_a_loss_trains_on_the_models_own_loss(toy):
    x, y = toy
    model = classifier()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit({**x, "labels": y}, epochs=16, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert accuracy(model, x, y) >= 0.95
    # labels inside x or given as y: the same loss
    in_x = model.evaluate({**x, "labels": y}, verbose=0, return_dict=True)["loss"]
    as_y = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert abs(in_x - as_y) <= 1e-6
    expected = float(model({**x, "labels": y}).loss)
    assert abs(as_y - expected) <= 1e-5


def test_fit_with_a_keras_loss_metrics_tf_data_and_xla(toy):
    x, y = toy
    model = classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=True,
    )
    data = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96, seed=0).batch(16)
    history = model.fit(data, epochs=12, verbose=0, shuffle=False)  # the dataset shuffles itself
    assert history.history["accuracy"][-1] >= 0.95
    results = model.evaluate(data, verbose=0, return_dict=True)
    assert results["accuracy"] >= 0.95
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, model(x).logits)
    assert abs(results["loss"] - float(keras_loss)) <= 1e-5


def test_fit_without_labels_is_a_clear_error(toy):
    x, _ = toy
    model = classifier()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="trains on its own loss, which needs labels"):
        model.fit(x, epochs=1, verbose=0)


def test_multi_output_heads_train_and_predict_dicts():
    model = TFBertForQuestionAnswering(tiny(num_hidden_layers=1))
    inputs = head_inputs("BertForQuestionAnswering", model.config)
    x = {k: inputs[k] for k in ("input_ids", "attention_mask")}
    y = {"start_positions": inputs["start_positions"], "end_positions": inputs["end_positions"]}
    model.compile(optimizer="adam")
    loss = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert abs(loss - float(model({**x, **y}).loss)) <= 1e-5
    assert model.fit(x, y, epochs=1, verbose=0).history["loss"][0] > 0
    predictions = model.predict(x, verbose=0)
    assert set(predictions) == {"start_logits", "end_logits"} and predictions["start_logits"].shape == (3, 7)


@pytest.mark.parametrize(
    "head_name",
    [
        "BertModel",
        "BertForMaskedLM",
        "BertForMultipleChoice",
        "BertForPreTraining",
        "BertForQuestionAnswering",
    ],
)
def test_xla_matches_eager(head_name):
    config = tiny(
        num_labels=2 if head_name == "BertForQuestionAnswering" else 3,
        position_embedding_type="relative_key_query" if head_name == "BertModel" else "absolute",
    )
    model = MODEL_CLASSES[head_name](config)
    inputs = head_inputs(head_name, config)
    eager = fields(model(**inputs, output_hidden_states=True, output_attentions=True))
    compiled = tf.function(
        lambda batch: model(batch, output_hidden_states=True, output_attentions=True).to_dict(),
        jit_compile=True,
    )
    xla = fields(compiled({k: tf.constant(v) for k, v in inputs.items()}))
    assert set(xla) == set(eager)
    for key in eager:
        assert max_abs_diff(xla[key], eager[key]) <= ATOL, key


def test_xla_decoding_step_with_cache_matches_eager():
    case = load_reference_case("BertLMHeadModel-cross")
    model = TFBertLMHeadModel.from_pretrained(case.directory)
    cross = {k: case.inputs[k] for k in ("encoder_hidden_states", "encoder_attention_mask")}
    prefix = model(input_ids=case.inputs["input_ids"][:, :5], use_cache=True, **cross)
    step = tf.function(
        lambda ids, past: model(input_ids=ids, past_key_values=past, use_cache=True, **cross).to_dict(),
        jit_compile=True,
    )
    next_ids = case.inputs["input_ids"][:, 5:6]
    eager = model(input_ids=next_ids, past_key_values=prefix.past_key_values, use_cache=True, **cross)
    xla = step(tf.constant(next_ids), prefix.past_key_values)
    assert max_abs_diff(xla["logits"], eager.logits) <= ATOL
    for mine, ref in zip(tf.nest.flatten(xla["past_key_values"]), tf.nest.flatten(eager.past_key_values)):
        assert max_abs_diff(mine, ref) <= ATOL


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_runs_and_returns_float32_logits(policy, toy):
    keras.mixed_precision.set_global_policy(policy)
    for name in ("BertForSequenceClassification-single", "BertLMHeadModel-cross", "BertForPreTraining"):
        case = load_reference_case(name)
        model = MODEL_CLASSES[case.model_class].from_pretrained(case.directory)
        assert model.bert.encoder.layer[0].attention.self.query.compute_dtype == policy.split("_")[1]
        out = model(**case.inputs, output_attentions=True)
        for key in ("logits", "prediction_logits", "seq_relationship_logits", "loss"):
            if key in out:
                assert out[key].dtype == tf.float32, key
                # half precision: close to the fp32 reference, not equal
                assert max_abs_diff(out[key], case.outputs[key]) <= 0.05, key
        assert np.isfinite(np.asarray(out.attentions[0], np.float32)).all()
    model = classifier()
    model.compile(optimizer="adam")
    x, y = toy
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


def test_fully_padded_row_is_finite_in_float16():
    model = MODEL_CLASSES["BertModel"](tiny(), dtype="mixed_float16")
    inputs = batch(model.config)
    inputs["attention_mask"][0] = 0
    out = model(**inputs)
    assert np.isfinite(np.asarray(out.last_hidden_state, np.float32)).all()


def test_keras_file_round_trip(tmp_path, toy):
    x, y = toy
    model = classifier()
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded) is TFBertForSequenceClassification and loaded.config == model.config
    np.testing.assert_array_equal(loaded(x).logits.numpy(), model(x).logits.numpy())
    # compiled state comes back too: same loss and metric, and training continues
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )
    assert np.isfinite(loaded.fit(x, y, epochs=1, verbose=0).history["loss"][0])


def test_keras_file_round_trip_of_every_head(tmp_path):
    for name, cls in MODEL_CLASSES.items():
        model = cls(head_config(name))
        model.save(tmp_path / f"{name}.keras")
        loaded = keras.models.load_model(tmp_path / f"{name}.keras")
        for a, b in zip(model.weights, loaded.weights):
            assert a.path == b.path
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}: {a.path}")


def test_export_serves_int32_inputs_of_any_shape(tmp_path):
    model = classifier()
    model.export(tmp_path / "served", verbose=False)
    serving = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    specs = serving.structured_input_signature[1]
    assert set(specs) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(spec.dtype == tf.int32 and spec.shape.as_list() == [None, None] for spec in specs.values())
    for batch_size, length in ((3, 7), (1, 12)):
        inputs = batch(model.config, batch_size=batch_size, length=length, pad_row=0)
        served = serving(**{k: tf.constant(v) for k, v in inputs.items()})
        assert set(served) == {"logits"}
        assert max_abs_diff(served["logits"], model(**inputs).logits) <= ATOL


def test_export_of_multiple_choice_takes_three_dimensional_inputs(tmp_path):
    model = TFBertForMultipleChoice(tiny(num_hidden_layers=1))
    model.export(tmp_path / "served", verbose=False)
    serving = tf.saved_model.load(str(tmp_path / "served")).signatures["serving_default"]
    assert serving.structured_input_signature[1]["input_ids"].shape.as_list() == [None, None, None]
    inputs = {k: v for k, v in head_inputs("BertForMultipleChoice", model.config).items() if k != "labels"}
    served = serving(**{k: tf.constant(v) for k, v in inputs.items()})
    assert max_abs_diff(served["logits"], model(**inputs).logits) <= ATOL


def test_export_has_a_serve_endpoint_for_int32_and_int64_with_optional_inputs(tmp_path):
    # Before: only `serving_default`, every input required and int32 ("InvalidArgumentError" on int64,
    # what numpy and TFBertTokenizer give); `loaded.serve` and keras.layers.TFSMLayer failed.
    model = classifier()
    model.export(tmp_path / "served", verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "served"))
    inputs = batch(model.config, batch_size=2, length=6)
    want = model(**inputs).logits
    for dtype in (np.int32, np.int64):
        cast = {k: v.astype(dtype) for k, v in inputs.items()}
        assert max_abs_diff(loaded.serve(**cast)["logits"], want) <= ATOL
        assert max_abs_diff(loaded.serve(cast)["logits"], want) <= ATOL  # one dict, as TFSMLayer passes it
        ids = cast["input_ids"]
        assert max_abs_diff(loaded.serve(ids)["logits"], model(ids).logits) <= ATOL  # mask ones, types zeros
    signature = loaded.signatures["serve"].structured_input_signature[1]
    assert {k: s.dtype for k, s in signature.items()} == dict.fromkeys(signature, tf.int64)
    layer = keras.layers.TFSMLayer(str(tmp_path / "served"), call_endpoint="serve")
    ids = keras.Input((None,), dtype="int64")
    wrapped = keras.Model(ids, layer(ids)["logits"])
    assert (
        max_abs_diff(wrapped(inputs["input_ids"].astype(np.int64)), model(inputs["input_ids"]).logits) <= ATOL
    )


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (TFBertForSequenceClassification, ["logits"]),
        (TFBertForQuestionAnswering, ["start_logits", "end_logits"]),
    ],
)
def test_a_head_on_keras_inputs_returns_a_dict_of_its_fields(cls, fields, tmp_path):
    # Before: "All operation outputs must be tensors ... returned a non-tensor. Non-tensor received: None"
    # (the output dataclass's None fields, e.g. the loss without labels).
    model = cls(tiny(num_labels=2, num_hidden_layers=1))
    inputs = {
        name: keras.Input((None,), dtype="int32", name=name) for name in ("input_ids", "attention_mask")
    }
    outputs = model(inputs)
    assert isinstance(outputs, dict) and list(outputs) == fields
    assert all(isinstance(v, keras.KerasTensor) for v in outputs.values())
    functional = keras.Model(inputs, outputs)
    arrays = {k: v for k, v in batch(model.config).items() if k in inputs}
    got, want = functional(arrays), model(arrays)
    for name in fields:
        np.testing.assert_array_equal(np.asarray(got[name]), want[name].numpy())
    functional.save(tmp_path / "functional.keras")
    loaded = keras.models.load_model(tmp_path / "functional.keras")
    for name in fields:
        np.testing.assert_array_equal(np.asarray(loaded(arrays)[name]), want[name].numpy())
    # return_dict=False: the tuple of the same fields, as in eager mode
    assert len(model(inputs, return_dict=False)) == len(fields)
