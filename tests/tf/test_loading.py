"""from_pretrained / save_pretrained through the canonical safetensors layout (conversion.loading), the
loading report, the Keras extras (dtype policy), and the errors of loading."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from bert_common.files import ModelNotFoundError
from bert_tf import MODEL_CLASSES, TFBertForMaskedLM, TFBertForSequenceClassification, TFBertModel
from conversion.canonical import ShapeMismatchError
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL, load_reference_case, max_abs_diff

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


def test_model_arguments_and_config_overrides(tmp_path):
    case = load_reference_case("BertModel-absolute-gelu")
    model = TFBertModel.from_pretrained(case.directory, add_pooling_layer=False, name="encoder")
    assert model.bert.pooler is None and model.name == "encoder"
    config = tiny(num_labels=4)
    classifier = TFBertForSequenceClassification.from_pretrained(case.directory, config=config)
    assert classifier.config.num_labels == 4
    with pytest.raises(TypeError, match=r"unknown keyword argument\(s\) \['num_lables'\]"):
        TFBertForSequenceClassification.from_pretrained(case.directory, num_lables=4)


def test_checkpoint_of_the_wrong_shape():
    case = load_reference_case("BertForMaskedLM")
    with pytest.raises(ShapeMismatchError, match="word_embeddings"):
        TFBertForMaskedLM.from_pretrained(case.directory, vocab_size=100)


def test_missing_directory_or_weights_file(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model directory not found"):
        TFBertModel.from_pretrained(tmp_path / "nowhere")
    only_config = tmp_path / "only_config"
    only_config.mkdir()
    shutil.copy(load_reference_case("BertForMaskedLM").directory / "config.json", only_config / "config.json")
    with pytest.raises(ModelNotFoundError, match="no model weights found"):
        TFBertModel.from_pretrained(only_config)


def test_invalid_config_values_are_rejected(tmp_path):
    directory = tmp_path / "bad"
    directory.mkdir()
    config = load_reference_case("BertForMaskedLM").directory / "config.json"
    data = json.loads(config.read_text())
    data["hidden_act"] = "gelu_fancy"
    (directory / "config.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="hidden_act 'gelu_fancy' is not supported"):
        TFBertModel.from_pretrained(directory)


# ------------------------------------------------------- loader arguments as Transformers users pass them


def _marked_pt_directory(root, files):
    """config.json and a tiny TFBertModel's canonical weights once per file in `files`, each marked by
    the value of pooler.dense.bias (1.0, 2.0, ... in the order given)."""
    from conversion.checkpoint import WEIGHT_FILE_NAMES, write_weights

    TFBertModel(tiny()).save_pretrained(root)
    state = load_file(root / "model.safetensors")
    (root / "model.safetensors").unlink()
    for marker, fmt in enumerate(files, start=1):
        bias = np.full_like(state["pooler.dense.bias"], float(marker))
        write_weights({**state, "pooler.dense.bias": bias}, root, fmt, model_class="BertModel")
        assert (root / WEIGHT_FILE_NAMES[fmt]).is_file()
    return root


def _marker(model):
    return float(np.asarray(model.bert.pooler.dense.bias)[0])


def test_from_pt_is_the_tf_idiom(tmp_path):
    """Transformers' TF from_pretrained(from_pt=True) reads pytorch_model.bin first, then
    model.safetensors (modeling_tf_utils, 4.57.1); without the flag safetensors is read."""
    directory = _marked_pt_directory(tmp_path, ["safetensors", "pytorch"])
    assert _marker(TFBertModel.from_pretrained(directory, from_pt=True)) == 2.0
    assert _marker(TFBertModel.from_pretrained(directory)) == 1.0
    assert _marker(TFBertModel.from_pretrained(directory, from_pt=True, use_safetensors=True)) == 1.0


def test_from_pt_fails_without_pytorch_weights(tmp_path):
    directory = _marked_pt_directory(tmp_path, ["tf-h5"])
    with pytest.raises(ModelNotFoundError) as err:
        TFBertModel.from_pretrained(directory, from_pt=True)
    first = str(err.value).splitlines()[0]
    assert first.startswith("TFBertModel.from_pretrained(from_pt=True)") and "pytorch_model.bin" in first
    assert _marker(TFBertModel.from_pretrained(directory, from_tf=True)) == 1.0


def test_unknown_argument_lists_the_loader_arguments(tmp_path):
    directory = _marked_pt_directory(tmp_path, ["safetensors"])
    with pytest.raises(TypeError) as err:
        TFBertModel.from_pretrained(directory, device_map="auto")  # PyTorch's only
    first = str(err.value).splitlines()[0]
    assert "['device_map']" in first and "'from_pt'" in first and "'subfolder'" in first


def test_save_pretrained_safe_serialization_false_writes_tf_model_h5(tmp_path):
    """Transformers' TF save_pretrained(safe_serialization=False) writes config.json + tf_model.h5."""
    model = TFBertModel(tiny())
    ids = batch(model.config)["input_ids"]
    model.save_pretrained(tmp_path, safe_serialization=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "tf_model.h5"]
    reloaded = TFBertModel.from_pretrained(tmp_path, from_tf=True)
    np.testing.assert_array_equal(
        reloaded(ids).last_hidden_state.numpy(), model(ids).last_hidden_state.numpy()
    )


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_import_under_another_keras_backend_says_what_to_set(backend):
    """Under KERAS_BACKEND=jax, fit failed with "train_step() takes 2 positional arguments"; under
    torch, loading with "parameter name can't contain '.'": the import now refuses in one line."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": backend}
    run = subprocess.run(
        [sys.executable, "-c", "import bert_tf"], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: bert_tf needs Keras on the TensorFlow backend")
    assert f"{backend!r}" in last and "KERAS_BACKEND=tensorflow" in last
