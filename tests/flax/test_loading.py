"""from_pretrained / save_pretrained through the canonical safetensors layout.

Directories saved by Transformers (the reference cases) load directly; what bert_flax writes holds the
same tensor names and values, so every twin and Transformers read it back."""

from __future__ import annotations

import json
import logging

import jax.numpy as jnp
import numpy as np
import pytest

from bert_common.files import ModelNotFoundError
from bert_flax import (
    FlaxBertForCausalLM,
    FlaxBertForMaskedLM,
    FlaxBertForSequenceClassification,
    FlaxBertModel,
    FlaxBertPreTrainedModel,
)
from conversion.canonical import ShapeMismatchError
from conversion.flax import flatten_tree, unflatten_tree
from conversion.formats import read_safetensors, write_safetensors
from tests.common.head_spec import tiny
from tests.helpers import ATOL, load_reference_case, max_abs_diff


def test_save_writes_the_transformers_tensor_set_and_reloads(tmp_path, case_model):
    ref = load_reference_case("BertForMaskedLM")
    model, _ = case_model("BertForMaskedLM")
    model.save_pretrained(tmp_path)
    saved, original = read_safetensors(tmp_path), read_safetensors(ref.directory)
    assert set(saved) == set(original)  # the tied decoder is not written, as Transformers does
    for name, value in original.items():
        np.testing.assert_array_equal(saved[name], value)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    reloaded = FlaxBertForMaskedLM.from_pretrained(tmp_path)
    out = reloaded(**{k: v for k, v in ref.inputs.items() if k != "labels"})
    assert max_abs_diff(out.logits, ref.outputs["logits"]) <= ATOL


def test_scanned_model_saves_the_same_checkpoint(tmp_path, case_model):
    ref = load_reference_case("BertLMHeadModel-cross")
    model, _ = case_model("BertLMHeadModel-cross", scan_layers=True)
    model.save_pretrained(tmp_path)
    saved, original = read_safetensors(tmp_path), read_safetensors(ref.directory)
    assert set(saved) == set(original)
    for name, value in original.items():
        np.testing.assert_array_equal(saved[name], value)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertLMHeadModel"]


def test_sharded_save_round_trip(tmp_path):
    model = FlaxBertModel(tiny(), seed=1)
    written = model.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json") in written
    reloaded = FlaxBertModel.from_pretrained(tmp_path)
    before, after = flatten_tree(model.params), flatten_tree(reloaded.params)
    assert set(before) == set(after)
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value)


def test_untied_decoder_is_a_parameter_and_is_saved(tmp_path):
    model = FlaxBertForMaskedLM(tiny(tie_word_embeddings=False), seed=2)
    decoder = model.params["cls"]["predictions"]["decoder"]["kernel"]
    assert decoder.shape == (32, 99)  # [H, V]
    model.save_pretrained(tmp_path)
    np.testing.assert_array_equal(
        read_safetensors(tmp_path)["cls.predictions.decoder.weight"], np.asarray(decoder).T
    )
    reloaded, info = FlaxBertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == []
    np.testing.assert_array_equal(reloaded.params["cls"]["predictions"]["decoder"]["kernel"], decoder)


def test_base_checkpoint_into_head_reports_and_initializes_only_the_head(caplog):
    ref = load_reference_case("BertModel-absolute-gelu")
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        model, info = FlaxBertForSequenceClassification.from_pretrained(
            ref.directory, num_labels=3, output_loading_info=True
        )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert info["unexpected_keys"] == []
    assert (
        info["renamed_keys"]["embeddings.word_embeddings.weight"] == "bert.embeddings.word_embeddings.weight"
    )
    assert "classifier.weight" in caplog.text
    original = read_safetensors(ref.directory)
    np.testing.assert_array_equal(
        model.params["bert"]["encoder"]["layer"]["1"]["output"]["dense"]["kernel"],
        original["encoder.layer.1.output.dense.weight"].T,
    )
    assert model.params["classifier"]["kernel"].shape == (32, 3)
    assert float(jnp.std(model.params["classifier"]["kernel"])) > 0  # drawn, not zeros


def test_head_checkpoint_into_base_reports_unexpected_head_weights():
    ref = load_reference_case("BertForPreTraining")
    model, info = FlaxBertModel.from_pretrained(ref.directory, output_loading_info=True)
    assert info["missing_keys"] == []
    assert info["unexpected_keys"] == sorted(
        k for k in read_safetensors(ref.directory) if k.startswith("cls.")
    )
    np.testing.assert_array_equal(
        model.params["embeddings"]["token_type_embeddings"]["embedding"],
        read_safetensors(ref.directory)["bert.embeddings.token_type_embeddings.weight"],
    )


def test_complete_checkpoint_loads_without_random_initialization(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("init_weights must not run when the checkpoint has every weight")

    monkeypatch.setattr(FlaxBertPreTrainedModel, "init_weights", fail)
    model = FlaxBertForCausalLM.from_pretrained(load_reference_case("BertLMHeadModel-cross").directory)
    assert model.params["bert"]["embeddings"]["word_embeddings"]["embedding"].shape == (99, 32)


def test_do_init_false_returns_params_and_leaves_missing_weights_out():
    ref = load_reference_case("BertModel-absolute-gelu")
    model, params = FlaxBertForSequenceClassification.from_pretrained(ref.directory, _do_init=False)
    assert "classifier" not in params and "pooler" in params["bert"]
    with pytest.raises(ValueError, match="_do_init=False"):
        _ = model.params
    complete = model.init_weights(model.key, params=params)
    np.testing.assert_array_equal(
        complete["bert"]["pooler"]["dense"]["bias"], params["bert"]["pooler"]["dense"]["bias"]
    )
    model.params = complete
    assert model(np.array([[5, 6, 7]])).logits.shape == (1, 2)
    _, again, info = FlaxBertForSequenceClassification.from_pretrained(
        ref.directory, _do_init=False, output_loading_info=True
    )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert flatten_tree(again).keys() == flatten_tree(params).keys()


def test_save_pretrained_writes_the_params_given(tmp_path):
    """save_pretrained(params=...) saves a tree held outside the model (Flax's functional style)."""
    model = FlaxBertModel(tiny(), _do_init=False)
    params = FlaxBertModel(tiny(), seed=4).params
    model.save_pretrained(tmp_path, params=params)
    reloaded = FlaxBertModel.from_pretrained(tmp_path)
    for path, value in flatten_tree(params).items():
        np.testing.assert_array_equal(flatten_tree(reloaded.params)[path], value)
    with pytest.raises(ValueError, match="params do not fit FlaxBertModel"):
        model.save_pretrained(tmp_path, params={"embeddings": params["embeddings"]})


def test_constructor_without_init_has_abstract_shapes_only():
    model = FlaxBertModel(tiny(), _do_init=False)
    leaf = model.params_shape_tree["encoder"]["layer"]["0"]["attention"]["self"]["query"]["kernel"]
    assert type(leaf).__name__ == "ShapeDtypeStruct" and leaf.shape == (32, 32)
    with pytest.raises(ValueError, match="_do_init=False"):
        model(np.array([[5, 6]]))


def test_params_setter_checks_paths_and_shapes():
    model = FlaxBertModel(tiny(), _do_init=False)
    bad = flatten_tree(model.params_shape_tree)
    bad = {k: np.zeros(v.shape, np.float32) for k, v in bad.items()}
    bad["pooler/dense/kernel"] = np.zeros((3, 3), np.float32)
    with pytest.raises(ValueError, match=r"pooler/dense/kernel: \(3, 3\) vs \(32, 32\)"):
        model.params = unflatten_tree(bad)


def test_param_dtype_is_applied_when_loading_and_saving_writes_float32(tmp_path):
    ref = load_reference_case("BertModel-absolute-gelu")
    model = FlaxBertModel.from_pretrained(ref.directory, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16)
    assert {leaf.dtype for leaf in flatten_tree(model.params).values()} == {jnp.dtype(jnp.bfloat16)}
    model.save_pretrained(tmp_path)
    saved = read_safetensors(tmp_path)["pooler.dense.weight"]
    assert saved.dtype == np.float32
    expected = np.asarray(
        jnp.asarray(read_safetensors(ref.directory)["pooler.dense.weight"], jnp.bfloat16), np.float32
    )
    np.testing.assert_array_equal(saved, expected)


def test_legacy_names_and_prefixless_head_checkpoints_load(tmp_path):
    """Old files: LayerNorm gamma/beta, the position_ids buffer, a decoder-bias alias."""
    ref = load_reference_case("BertForMaskedLM")
    state = read_safetensors(ref.directory)
    legacy = {}
    for name, value in state.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        legacy[name] = value
    legacy["bert.embeddings.position_ids"] = np.arange(64)[None]
    legacy["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    write_safetensors(legacy, tmp_path)
    (tmp_path / "config.json").write_text((ref.directory / "config.json").read_text())
    model, info = FlaxBertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert "bert.embeddings.position_ids" in info["dropped_keys"]
    out = model(**{k: v for k, v in ref.inputs.items() if k != "labels"})
    assert max_abs_diff(out.logits, ref.outputs["logits"]) <= ATOL


def test_wrong_shapes_raise_unless_ignored():
    ref = load_reference_case("BertForMaskedLM")
    with pytest.raises(ShapeMismatchError, match="word_embeddings"):
        FlaxBertForMaskedLM.from_pretrained(ref.directory, vocab_size=120)
    model, info = FlaxBertForMaskedLM.from_pretrained(
        ref.directory, vocab_size=120, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert ("bert.embeddings.word_embeddings.weight", (99, 32), (120, 32)) in info["mismatched_keys"]
    assert model.params["bert"]["embeddings"]["word_embeddings"]["embedding"].shape == (120, 32)


def test_missing_files_and_bad_arguments(tmp_path):
    with pytest.raises(ModelNotFoundError):
        FlaxBertModel.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(
        (load_reference_case("BertModel-absolute-gelu").directory / "config.json").read_text()
    )
    with pytest.raises(ModelNotFoundError, match="no model weights"):
        FlaxBertModel.from_pretrained(tmp_path)
    with pytest.raises(TypeError, match="hiden_size"):
        FlaxBertModel.from_pretrained(load_reference_case("BertModel-absolute-gelu").directory, hiden_size=3)
    with pytest.raises(TypeError, match="BertConfig"):
        FlaxBertModel({"hidden_size": 32})


# ------------------------------------------------------- loader arguments as Transformers users pass them


def _marked_directory(root, files):
    """config.json and a tiny FlaxBertModel's canonical weights once per format in `files`, each marked
    by the value of pooler.dense.bias (1.0, 2.0, ... in the order given)."""
    from conversion.checkpoint import write_weights

    FlaxBertModel(tiny(), seed=0).save_pretrained(root)
    state = read_safetensors(root)
    (root / "model.safetensors").unlink()
    for marker, fmt in enumerate(files, start=1):
        bias = np.full_like(state["pooler.dense.bias"], float(marker))
        write_weights({**state, "pooler.dense.bias": bias}, root, fmt, model_class="BertModel")
    return root


def _marker(model):
    return float(np.asarray(model.params["pooler"]["dense"]["bias"])[0])


def test_from_pt_reads_the_pytorch_weights_or_fails(tmp_path):
    """`FlaxBertModel.from_pretrained(path, from_pt=True)` failed with "unknown BertConfig argument(s):
    'from_pt'". It reads PyTorch's files (pytorch_model.bin first, as Transformers' TF loader does), and
    fails, naming the flag, when the directory has none."""
    directory = _marked_directory(tmp_path / "pt", ["safetensors", "pytorch"])
    assert _marker(FlaxBertModel.from_pretrained(directory, from_pt=True)) == 2.0
    assert _marker(FlaxBertModel.from_pretrained(directory)) == 1.0
    only_flax = _marked_directory(tmp_path / "flax", ["flax-msgpack"])
    with pytest.raises(ModelNotFoundError, match=r"^FlaxBertModel.from_pretrained\(from_pt=True\)"):
        FlaxBertModel.from_pretrained(only_flax, from_pt=True)
    assert _marker(FlaxBertModel.from_pretrained(only_flax, from_flax=True)) == 1.0
    _, params = FlaxBertModel.from_pretrained(directory, from_pt=True, _do_init=False)
    assert float(np.asarray(params["pooler"]["dense"]["bias"])[0]) == 2.0


def test_subfolder_and_variant(tmp_path):
    _marked_directory(tmp_path / "sub", ["safetensors"])
    assert _marker(FlaxBertModel.from_pretrained(tmp_path, subfolder="sub")) == 1.0
    sub = tmp_path / "sub"
    (sub / "model.safetensors").rename(sub / "model.fp16.safetensors")
    assert _marker(FlaxBertModel.from_pretrained(sub, variant="fp16")) == 1.0
    with pytest.raises(ModelNotFoundError, match="model.int8.safetensors"):
        FlaxBertModel.from_pretrained(sub, variant="int8")


def test_save_pretrained_safe_serialization_false_writes_flax_model_msgpack(tmp_path):
    """Transformers' Flax save_pretrained(safe_serialization=False) writes config.json +
    flax_model.msgpack."""
    model = FlaxBertModel(tiny(), seed=3)
    model.save_pretrained(tmp_path, safe_serialization=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "flax_model.msgpack"]
    reloaded = FlaxBertModel.from_pretrained(tmp_path, from_flax=True)
    before, after = flatten_tree(model.params), flatten_tree(reloaded.params)
    assert set(before) == set(after)
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value)


def test_unknown_argument_lists_the_loader_arguments(tmp_path):
    directory = _marked_directory(tmp_path, ["safetensors"])
    with pytest.raises(TypeError) as err:
        FlaxBertModel.from_pretrained(directory, device_map="auto")
    first = str(err.value).splitlines()[0]
    assert "['device_map']" in first and "'from_pt'" in first and "'_do_init'" in first
