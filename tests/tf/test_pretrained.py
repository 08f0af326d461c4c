"""from_pretrained / save_pretrained through the canonical safetensors layout, and the Keras-name mapping."""

from __future__ import annotations

import json
import logging

import keras
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from bert_tf import (
    MODEL_CLASSES,
    TFBertForMaskedLM,
    TFBertForPreTraining,
    TFBertForSequenceClassification,
    TFBertModel,
)
from conversion.names import from_format, to_format
from conversion.tf import expected_shapes, keras_weights, model_to_canonical, relative_path
from tests.helpers import ATOL, load_reference_case, max_abs_diff
from tests.tf.utils import batch, tiny

# One reference case per head class (the BertModel / sequence-classification variants share a layout).
CASE_OF_HEAD = {
    "BertModel": "BertModel-relative_key_query-gelu",
    "BertForPreTraining": "BertForPreTraining",
    "BertLMHeadModel": "BertLMHeadModel-cross",
    "BertForMaskedLM": "BertForMaskedLM",
    "BertForNextSentencePrediction": "BertForNextSentencePrediction",
    "BertForSequenceClassification": "BertForSequenceClassification-single",
    "BertForMultipleChoice": "BertForMultipleChoice",
    "BertForTokenClassification": "BertForTokenClassification",
    "BertForQuestionAnswering": "BertForQuestionAnswering",
}


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


@pytest.mark.parametrize("head_name", sorted(CASE_OF_HEAD))
def test_save_pretrained_writes_the_transformers_file(head_name, tmp_path):
    """Loading a Transformers directory and saving it again gives the same tensors under the same names."""
    case = load_reference_case(CASE_OF_HEAD[head_name])
    model = MODEL_CLASSES[head_name].from_pretrained(case.directory)
    model.save_pretrained(tmp_path)
    original, written = (
        load_file(case.directory / "model.safetensors"),
        load_file(tmp_path / "model.safetensors"),
    )
    assert set(written) == set(original)
    for name, value in original.items():
        np.testing.assert_array_equal(written[name], value, err_msg=name)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == [head_name] and config["model_type"] == "bert"
    reloaded = MODEL_CLASSES[head_name].from_pretrained(tmp_path)
    assert reloaded.config.to_dict() | {"architectures": None} == model.config.to_dict() | {
        "architectures": None
    }


def _config_of(case):
    data = json.loads((case.directory / "config.json").read_text())
    keys = ("num_labels", "id2label", "is_decoder", "add_cross_attention", "position_embedding_type")
    out = {k: data[k] for k in keys if k in data}
    if "id2label" in out:
        out["num_labels"] = len(out.pop("id2label"))
    return out


def test_canonical_round_trip_through_keras_variables():
    model = TFBertForPreTraining(tiny())
    state = model_to_canonical(model)
    assert set(state) == set(expected_shapes(model))
    assert state["bert.encoder.layer.0.attention.self.query.weight"].shape == (32, 32)
    assert state["bert.encoder.layer.0.intermediate.dense.weight"].shape == (37, 32)  # [out, in]
    kernel = model.bert.encoder.layer[0].intermediate.dense.kernel.numpy()  # [in, out]
    np.testing.assert_array_equal(state["bert.encoder.layer.0.intermediate.dense.weight"], kernel.T)
    for name, weight in keras_weights(model).items():
        assert from_format("tf_h5", relative_path(model, weight.variable))[0] == name


def test_paths_survive_nesting_in_another_model():
    """A model built inside another Keras model keeps its mapping (the outer scopes are not part of it)."""

    class Wrapper(keras.Model):
        def __init__(self):
            super().__init__(name="wrapper")
            self.inner = TFBertModel(tiny())

    wrapper = Wrapper()
    inner = wrapper.inner
    assert set(expected_shapes(inner)) == set(expected_shapes(TFBertModel(tiny())))


def test_base_checkpoint_into_a_head_reports_the_new_weights(caplog):
    case = load_reference_case("BertModel-absolute-gelu")
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        model, info = TFBertForSequenceClassification.from_pretrained(
            case.directory, num_labels=4, output_loading_info=True
        )
    assert info["missing_keys"] == ["classifier.weight", "classifier.bias"]
    assert info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    assert "newly initialized" in caplog.text and "classifier.weight" in caplog.text
    base = TFBertModel.from_pretrained(case.directory)
    ids = batch(model.config)["input_ids"]
    np.testing.assert_array_equal(model.bert(ids).pooler_output.numpy(), base(ids).pooler_output.numpy())


def test_head_checkpoint_into_the_base_model_reports_the_unused_weights():
    case = load_reference_case("BertForPreTraining")
    _, info = TFBertModel.from_pretrained(case.directory, output_loading_info=True)
    assert info["missing_keys"] == []
    assert info["unexpected_keys"] == sorted(
        n for n in load_file(case.directory / "model.safetensors") if n.startswith("cls.")
    )


def test_ignore_mismatched_sizes_reinitializes_the_classifier(tmp_path):
    case = load_reference_case("BertForSequenceClassification-single")
    model, info = TFBertForSequenceClassification.from_pretrained(
        case.directory, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert sorted(name for name, _, _ in info["mismatched_keys"]) == ["classifier.bias", "classifier.weight"]
    assert tuple(model.classifier.kernel.shape) == (32, 5)


def test_legacy_names_and_tied_decoder_copies_load(tmp_path):
    """Old files: LayerNorm gamma/beta, the position_ids buffer, a stored decoder weight and bias alias."""
    case = load_reference_case("BertForMaskedLM")
    state = load_file(case.directory / "model.safetensors")
    legacy = {}
    for name, value in state.items():
        legacy[
            name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        ] = value
    legacy["bert.embeddings.position_ids"] = np.arange(64, dtype=np.int64)[None]
    legacy["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
    legacy["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    save_file(legacy, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((case.directory / "config.json").read_text())
    model, info = TFBertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert "bert.embeddings.position_ids" in info["dropped_keys"]
    assert "cls.predictions.decoder.weight" in info["dropped_keys"]
    out = model(**case.inputs)
    assert max_abs_diff(out.logits, case.outputs["logits"]) <= ATOL


def test_untied_decoder_round_trip(tmp_path):
    model = TFBertForMaskedLM(tiny(tie_word_embeddings=False))
    model.save_pretrained(tmp_path)
    written = load_file(tmp_path / "model.safetensors")
    assert written["cls.predictions.decoder.weight"].shape == (99, 32)
    reloaded = TFBertForMaskedLM.from_pretrained(tmp_path)
    ids = batch(model.config)["input_ids"]
    np.testing.assert_array_equal(reloaded(ids).logits.numpy(), model(ids).logits.numpy())


def test_sharded_save_loads_back(tmp_path):
    model = TFBertModel(tiny())
    files = model.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file() and len(files) > 3
    reloaded = TFBertModel.from_pretrained(tmp_path)
    ids = batch(model.config)["input_ids"]
    np.testing.assert_array_equal(
        reloaded(ids).last_hidden_state.numpy(), model(ids).last_hidden_state.numpy()
    )


def test_dtype_policy_at_load():
    case = load_reference_case("BertForSequenceClassification-single")
    model = TFBertForSequenceClassification.from_pretrained(case.directory, dtype="mixed_bfloat16")
    assert (
        model.dtype_policy.name == "mixed_bfloat16"
        and model.bert.encoder.layer[0].output.dense.compute_dtype == "bfloat16"
    )
    assert all(w.dtype == "float32" for w in model.weights)
