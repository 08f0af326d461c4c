"""conversion/tf.py, the Keras twin's weight adapter: Keras variable paths are the "tf_h5" names of the
name table, canonical arrays move in and out with the table's transposes, and the module is the
WeightAdapter that conversion.loading uses."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file

import conversion.tf
from bert_tf import MODEL_CLASSES, TFBertForPreTraining, TFBertModel
from conversion.names import from_format, to_format
from conversion.shapes import model_shapes
from conversion.tf import assign, expected_shapes, keras_weights, relative_path, to_canonical
from tests.common.head_spec import head_config, tiny
from tests.helpers import load_reference_case
from tests.tf.test_loading import CASE_OF_HEAD


def _config_of(case):
    data = json.loads((case.directory / "config.json").read_text())
    keys = ("num_labels", "id2label", "is_decoder", "add_cross_attention", "position_embedding_type")
    out = {k: data[k] for k in keys if k in data}
    if "id2label" in out:
        out["num_labels"] = len(out.pop("id2label"))
    return out


@pytest.mark.parametrize("head_name", sorted(CASE_OF_HEAD))
def test_keras_paths_are_the_tf_h5_names_of_the_transformers_checkpoint(head_name):
    """Every variable path (below the model) is the "tf_h5" name of a tensor Transformers saved."""
    case = load_reference_case(CASE_OF_HEAD[head_name])
    saved = load_file(case.directory / "model.safetensors")
    model = MODEL_CLASSES[head_name](tiny(**_config_of(case)))
    paths = {relative_path(model, v) for v in model.weights}
    prefix = "" if head_name != "BertModel" else "bert."
    assert paths == {to_format("tf_h5", prefix + name)[0] for name in saved}
    assert all(v.path.startswith(model.name + "/") for v in model.weights)


@pytest.mark.parametrize("head_name", sorted(MODEL_CLASSES))
def test_expected_shapes_equal_the_shared_shape_table(head_name):
    model = MODEL_CLASSES[head_name](head_config(head_name))
    assert expected_shapes(model) == model_shapes(model.config, head_name)


def test_canonical_round_trip_through_keras_variables():
    model = TFBertForPreTraining(tiny())
    state = to_canonical(model)
    assert set(state) == set(expected_shapes(model))
    assert state["bert.encoder.layer.0.attention.self.query.weight"].shape == (32, 32)
    assert state["bert.encoder.layer.0.intermediate.dense.weight"].shape == (37, 32)  # [out, in]
    kernel = model.bert.encoder.layer[0].intermediate.dense.kernel.numpy()  # [in, out]
    np.testing.assert_array_equal(state["bert.encoder.layer.0.intermediate.dense.weight"], kernel.T)
    for name, weight in keras_weights(model).items():
        assert from_format("tf_h5", relative_path(model, weight.variable))[0] == name
    other = TFBertForPreTraining(tiny())
    assign(other, state)
    for name, value in to_canonical(other).items():
        np.testing.assert_array_equal(value, state[name], err_msg=name)


def test_assign_refuses_what_does_not_fit():
    model = TFBertModel(tiny())
    with pytest.raises(KeyError, match="is not a weight of TFBertModel"):
        assign(model, {"cls.predictions.bias": np.zeros(99, np.float32)})
    with pytest.raises(ValueError, match="does not fit the model"):
        assign(model, {"pooler.dense.weight": np.zeros((32, 31), np.float32)})


def test_the_module_is_the_weight_adapter():
    for step in ("expected_shapes", "assign", "to_canonical"):
        assert callable(getattr(conversion.tf, step))
    assert not hasattr(conversion.tf, "tied_weights")  # the rule is conversion.shapes.tied_weights


def test_paths_survive_nesting_in_another_model():
    """A model built inside another Keras model keeps its mapping (the outer scopes are not part of it)."""

    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__(name="wrapper")
            self.inner = TFBertModel(tiny())

    wrapper = Wrapper()
    inner = wrapper.inner
    assert set(expected_shapes(inner)) == set(expected_shapes(TFBertModel(tiny())))
