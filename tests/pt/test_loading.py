"""Model management (bert_pt.loading, pretrained, initialization, surgery): save/load, what Transformers' files look like, legacy files, loading reports,
initialization, resizing, gradient checkpointing (pruning: tests/pt/test_prune.py)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from bert_common.files import ModelNotFoundError
from bert_common.heads import HEADS
from bert_pt import (
    MODEL_CLASSES,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertLMHeadModel,
    BertModel,
)
from conversion.canonical import ShapeMismatchError
from tests.common.head_spec import batch, tiny
from tests.helpers import REFERENCE
from tests.pt.utils import tensors

TIED = "cls.predictions.decoder.weight"
WORD = "bert.embeddings.word_embeddings.weight"


def _model(name, **changes):
    return MODEL_CLASSES[name](tiny(is_decoder=name == "BertLMHeadModel", **changes)).eval()


def _inputs(name, config):
    x = tensors(batch(config))
    if name == "BertForMultipleChoice":
        x = {k: v.unsqueeze(1).expand(-1, 2, -1).contiguous() for k, v in x.items()}
    return x


# ------------------------------------------------------------------------------------ save / load


@pytest.mark.parametrize("name", sorted(HEADS))
def test_save_load_round_trip_is_bit_exact(name, tmp_path):
    model = _model(name)
    files = model.save_pretrained(tmp_path)
    assert sorted(p.name for p in files) == ["config.json", "model.safetensors"]
    loaded, info = type(model).from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    assert not loaded.training, "from_pretrained returns the model in eval mode"
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = _inputs(name, model.config)
    out_a, out_b = model(**x), loaded(**x)
    assert all(
        torch.equal(u, v) for u, v in zip(out_a.to_tuple(), out_b.to_tuple()) if isinstance(u, torch.Tensor)
    )
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == [name]


@pytest.mark.parametrize("name", sorted(HEADS))
def test_saved_names_are_those_transformers_writes(name, tmp_path):
    """The key set of our model.safetensors equals the key set of the file Transformers 4.57.1 saved for
    the same head: Transformers loads ours with no missing or unexpected keys (and no tied decoder copy)."""
    reference_case = {
        "BertModel": "BertModel-absolute-gelu",
        "BertForSequenceClassification": "BertForSequenceClassification-single",
        "BertLMHeadModel": "BertLMHeadModel-cross",
    }.get(name, name)
    reference_dir = REFERENCE / "tiny" / reference_case
    model = MODEL_CLASSES[name].from_pretrained(reference_dir)
    model.save_pretrained(tmp_path)
    ours, theirs = (
        load_file(str(tmp_path / "model.safetensors")),
        load_file(str(reference_dir / "model.safetensors")),
    )
    assert set(ours) == set(theirs)
    assert TIED not in ours and "cls.predictions.decoder.bias" not in ours
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and config["dtype"] == "float32"


def test_mlm_decoder_stays_tied_across_save_and_load(tmp_path):
    model = _model("BertForMaskedLM")
    embeddings = model.get_input_embeddings().weight
    assert model.cls.predictions.decoder.weight is embeddings
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    model.save_pretrained(tmp_path)
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.get_input_embeddings().weight
    # training the embeddings moves the decoder with them
    with torch.no_grad():
        loaded.get_input_embeddings().weight[5] += 1.0
    assert torch.equal(loaded.cls.predictions.decoder.weight[5], loaded.get_input_embeddings().weight[5])


def test_untied_decoder_is_saved_and_loaded(tmp_path):
    model = _model("BertForMaskedLM", tie_word_embeddings=False)
    assert model.cls.predictions.decoder.weight is not model.get_input_embeddings().weight
    model.save_pretrained(tmp_path)
    assert TIED in load_file(str(tmp_path / "model.safetensors"))
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert torch.equal(loaded.cls.predictions.decoder.weight, model.cls.predictions.decoder.weight)
    assert loaded.cls.predictions.decoder.weight is not loaded.get_input_embeddings().weight


def test_transformers_state_dict_loads_strictly():
    """Our module tree has Transformers' state-dict names, aliases included (decoder.weight/bias)."""
    model = _model("BertForPreTraining")
    keys = set(model.state_dict())
    assert {TIED, "cls.predictions.decoder.bias", "cls.predictions.bias", WORD} <= keys
    assert "bert.embeddings.position_ids" not in keys, "the position_ids buffer is not persistent"
    clone = _model("BertForPreTraining")
    clone.load_state_dict(model.state_dict(), strict=True)
    assert torch.equal(clone.get_input_embeddings().weight, model.get_input_embeddings().weight)


def test_sharded_checkpoint_round_trip(tmp_path):
    model = _model("BertForMaskedLM")
    files = model.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").is_file() and len(files) > 3
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_legacy_pytorch_bin_with_old_names(tmp_path):
    """An old pytorch_model.bin: LayerNorm gamma/beta, the position_ids buffer, the decoder-bias alias."""
    model = _model("BertForMaskedLM")
    state = {}
    for name, tensor in model.state_dict().items():
        if name == TIED:
            continue
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        state[name] = tensor.clone()
    state["bert.embeddings.position_ids"] = torch.arange(64)[None]
    torch.save(state, tmp_path / "pytorch_model.bin")
    model.config.save_pretrained(tmp_path)
    loaded, info = BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert info["renamed_keys"]["bert.embeddings.LayerNorm.gamma"] == "bert.embeddings.LayerNorm.weight"
    assert "bert.embeddings.position_ids" in info["dropped_keys"]
    assert "cls.predictions.decoder.bias" in info["dropped_keys"]
    x = tensors(batch(model.config))
    assert torch.equal(model(**x).logits, loaded(**x).logits)


def test_base_checkpoint_into_head_and_head_into_base(tmp_path, caplog):
    base = _model("BertModel")
    base.save_pretrained(tmp_path / "base")
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        head, info = BertForSequenceClassification.from_pretrained(
            tmp_path / "base", num_labels=3, output_loading_info=True
        )
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert info["unexpected_keys"] == []
    assert "classifier.weight" in caplog.text and "newly initialized" in caplog.text
    assert head.config.num_labels == 3
    assert torch.equal(head.bert.pooler.dense.weight, base.pooler.dense.weight)

    mlm = _model("BertForMaskedLM")
    mlm.save_pretrained(tmp_path / "mlm")
    encoder, info = BertModel.from_pretrained(tmp_path / "mlm", output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["pooler.dense.bias", "pooler.dense.weight"]
    assert {k.split(".")[0] for k in info["unexpected_keys"]} == {"cls"}
    assert torch.equal(encoder.embeddings.word_embeddings.weight, mlm.bert.embeddings.word_embeddings.weight)
    no_pooler, info = BertModel.from_pretrained(
        tmp_path / "mlm", add_pooling_layer=False, output_loading_info=True
    )
    assert info["missing_keys"] == [] and no_pooler.pooler is None


def test_wrong_shape_is_refused_unless_ignored(tmp_path):
    _model("BertForSequenceClassification", num_labels=2).save_pretrained(tmp_path)
    with pytest.raises(ShapeMismatchError, match="classifier.weight"):
        BertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    model, info = BertForSequenceClassification.from_pretrained(
        tmp_path, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert ("classifier.weight", (2, 32), (5, 32)) in info["mismatched_keys"]
    assert model.classifier.weight.shape == (5, 32)
    assert torch.all(model.classifier.bias == 0), "a mismatched weight is freshly initialized"


def test_missing_files_raise_model_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError):
        BertModel.from_pretrained(tmp_path / "nowhere")
    tiny().save_pretrained(tmp_path)  # config.json only
    with pytest.raises(ModelNotFoundError, match="no model weights"):
        BertModel.from_pretrained(tmp_path)


def test_from_pretrained_arguments(tmp_path):
    _model("BertModel").save_pretrained(tmp_path)
    with pytest.raises(TypeError, match="num_lables"):
        BertModel.from_pretrained(tmp_path, num_lables=3)
    with pytest.raises(TypeError, match="add_pooling_layer"):
        BertForMaskedLM.from_pretrained(tmp_path, add_pooling_layer=False)
    model = BertModel.from_pretrained(
        tmp_path, config=tiny(hidden_dropout_prob=0.3), attn_implementation="eager"
    )
    assert model.config.hidden_dropout_prob == 0.3 and model.attn_implementation == "eager"
    assert BertModel.from_pretrained(tmp_path, config=tmp_path / "config.json").config.vocab_size == 99


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, "float16"])
def test_dtype_argument(dtype, tmp_path):
    _model("BertForMaskedLM").save_pretrained(tmp_path)
    model = BertForMaskedLM.from_pretrained(tmp_path, dtype=dtype)
    want = torch.float16 if dtype == "float16" else dtype
    assert model.dtype == want and model.cls.predictions.bias.dtype == want
    assert BertForMaskedLM.from_pretrained(tmp_path, torch_dtype=dtype).dtype == want
    # saved and reloaded with dtype="auto", the dtype survives
    model.save_pretrained(tmp_path / "half")
    assert BertForMaskedLM.from_pretrained(tmp_path / "half", dtype="auto").dtype == want
    assert BertForMaskedLM.from_pretrained(tmp_path / "half").dtype == torch.float32
    with pytest.raises(ValueError, match="dtype"):
        BertForMaskedLM.from_pretrained(tmp_path, dtype="float8")


def test_loading_report_is_logged_by_name(tmp_path, caplog):
    _model("BertForPreTraining").save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        BertForQuestionAnswering.from_pretrained(tmp_path)
    assert "cls.seq_relationship.weight" in caplog.text  # unused
    assert "qa_outputs.weight" in caplog.text  # newly initialized


# ---------------------------------------------------------------------------------- initialization


def test_bert_initialization():
    config = tiny(initializer_range=0.05, hidden_size=64, intermediate_size=128)
    model = BertForPreTraining(config)
    weights = torch.cat([m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)])
    assert abs(weights.std().item() - 0.05) < 0.003 and abs(weights.mean().item()) < 0.003
    for name, param in model.named_parameters():
        if name.endswith("bias"):
            assert torch.all(param == 0), name
        if "LayerNorm.weight" in name:
            assert torch.all(param == 1), name
    assert torch.all(model.get_input_embeddings().weight[config.pad_token_id] == 0), "padding row"
    embeddings = model.bert.embeddings.position_embeddings.weight
    assert abs(embeddings.std().item() - 0.05) < 0.005


# ---------------------------------------------------------------------------------------- surgery


def test_resize_token_embeddings_keeps_rows_and_follows_the_tied_decoder():
    model = _model("BertForMaskedLM")
    old = model.get_input_embeddings().weight.detach().clone()
    new = model.resize_token_embeddings(104, pad_to_multiple_of=8)
    assert new.num_embeddings == 104 and model.config.vocab_size == 104
    assert torch.equal(new.weight[:99], old)
    assert torch.allclose(new.weight[99:], old.mean(0).expand(5, -1), atol=1e-6), "mean resizing"
    assert model.cls.predictions.decoder.weight is new.weight
    assert (
        model.cls.predictions.bias.shape == (104,)
        and model.cls.predictions.decoder.bias is model.cls.predictions.bias
    )
    out = model(torch.tensor([[101, 5, 103]]))
    assert out.logits.shape == (1, 3, 104)
    shrunk = model.resize_token_embeddings(50)
    assert shrunk.weight.shape == (50, 32) and model(torch.tensor([[1, 49]])).logits.shape == (1, 2, 50)
    with pytest.raises(ValueError, match="input_ids holds 60"):
        model(torch.tensor([[60]]))


def test_resize_untied_decoder_and_plain_init():
    model = _model("BertForMaskedLM", tie_word_embeddings=False)
    model.resize_token_embeddings(120, mean_resizing=False)
    assert model.cls.predictions.decoder.weight.shape == (120, 32)
    assert model.cls.predictions.decoder.weight is not model.get_input_embeddings().weight
    assert model.get_input_embeddings().weight[99:].abs().sum() > 0


def test_get_and_set_input_embeddings():
    model = _model("BertForMaskedLM")
    new = torch.nn.Embedding(99, 32)
    model.set_input_embeddings(new)
    assert model.get_input_embeddings() is new and model.bert.embeddings.word_embeddings is new
    assert model.get_output_embeddings().weight is new.weight
    with pytest.raises(ValueError, match="hidden_size"):
        model.set_input_embeddings(torch.nn.Embedding(99, 16))
    assert _model("BertModel").get_output_embeddings() is None


def test_gradient_checkpointing_gives_the_same_gradients():
    def grads(checkpointing: bool):
        torch.manual_seed(0)
        model = BertForSequenceClassification(tiny(num_labels=3)).train()
        if checkpointing:
            model.gradient_checkpointing_enable()
            assert model.is_gradient_checkpointing
        loss = model(**tensors(batch(model.config)), labels=torch.tensor([0, 1, 2])).loss
        loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    assert plain.keys() == checkpointed.keys()
    assert all(torch.allclose(plain[k], checkpointed[k], atol=1e-6) for k in plain)
    with pytest.raises(ValueError, match="use_reentrant"):
        BertModel(tiny()).gradient_checkpointing_enable({"use_reentrant": True})


def test_decoder_models_warn_when_misconfigured(caplog):
    with caplog.at_level(logging.WARNING, logger="bert_zoo"):
        BertLMHeadModel(tiny())
        BertForMaskedLM(tiny(is_decoder=True))
    assert "is_decoder=True" in caplog.text and "is_decoder=False" in caplog.text


def test_question_answering_needs_two_labels():
    with pytest.raises(ValueError, match="num_labels must be 2"):
        BertForQuestionAnswering(tiny(num_labels=3))


def test_canonical_file_written_by_hand_loads(tmp_path):
    """A minimal file with base-model names (no `bert.` prefix), as some hub repositories ship."""
    model = _model("BertModel")
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    save_file(state, str(tmp_path / "model.safetensors"))
    model.config.save_pretrained(tmp_path)
    head, info = BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == {
        "cls.predictions.bias",
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight",
        "cls.predictions.transform.LayerNorm.bias",
    }
    assert info["unexpected_keys"] == ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]
    assert torch.equal(
        head.bert.encoder.layer[1].output.dense.weight, model.encoder.layer[1].output.dense.weight
    )


# ------------------------------------------------------- loader arguments as Transformers users pass them
# The right values: tests/fixtures/reference/loading_args.json, written by Transformers 4.57.1
# (tests/fixtures/reference/make_loading_args.py) on the same layout: each weights file is marked by the
# value of pooler.dense.bias.

LOADING_ARGS = json.loads((REFERENCE / "loading_args.json").read_text())
MARKED = {
    "model.safetensors": 1.0,
    "pytorch_model.bin": 2.0,
    "model.fp16.safetensors": 3.0,
    "pytorch_model.fp16.bin": 4.0,
    "sub/model.safetensors": 5.0,
}


def _marked_directory(root, files=tuple(MARKED)):
    """The reference script's directory: a tiny BertModel's weights once per file, marked."""
    from conversion.formats.pytorch_bin import write_pytorch_bin

    state = {k: v.numpy() for k, v in _model("BertModel").state_dict().items()}
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        tiny().save_pretrained((root / name).parent)
        marked = {**state, "pooler.dense.bias": np.full_like(state["pooler.dense.bias"], MARKED[name])}
        if name.endswith(".bin"):
            write_pytorch_bin(marked, root / name)
        else:
            save_file(marked, root / name)
    return root


def _outcome(directory, **kwargs):
    try:
        model = BertModel.from_pretrained(directory, **kwargs)
    except OSError as err:
        return {"error": "OSError", "first_line": str(err)}
    return {"marker": float(model.pooler.dense.bias[0].detach())}


@pytest.mark.parametrize("case", sorted(LOADING_ARGS["load"]))
def test_loader_arguments_read_the_file_transformers_reads(case, tmp_path):
    kwargs = {
        k: json.loads(v.lower()) if v in ("True", "False") else v
        for k, v in (part.split("=") for part in case.split(",") if "=" in part)
    }
    expected = LOADING_ARGS["load"][case]
    got = _outcome(_marked_directory(tmp_path), **kwargs)
    assert got.keys() == expected.keys()
    if "marker" in expected:
        assert got == expected
    else:  # Transformers: "Error no file named pytorch_model.int8.bin, model.int8.safetensors, ..."
        assert "model.int8.safetensors" in got["first_line"] and "pytorch_model.int8.bin" in got["first_line"]


@pytest.mark.parametrize("only", ["only_safetensors", "only_bin"])
def test_use_safetensors_on_one_file(only, tmp_path):
    name = "model.safetensors" if only == "only_safetensors" else "pytorch_model.bin"
    directory = _marked_directory(tmp_path, files=(name,))
    for case, expected in LOADING_ARGS[only].items():
        got = _outcome(directory, use_safetensors=case.endswith("True"))
        assert got.keys() == expected.keys(), case
        if "marker" in expected:
            assert got == expected
        else:  # the first line names the argument and what was looked for
            assert f"from_pretrained({case})" in got["first_line"], got


def test_from_flags_read_that_format_or_fail(tmp_path):
    directory = _marked_directory(tmp_path, files=("model.safetensors", "pytorch_model.bin"))
    # from_pt: PyTorch's files, pytorch_model.bin first (Transformers' TF and Flax loaders' order).
    assert _outcome(directory, from_pt=True) == {"marker": 2.0}
    with pytest.raises(ModelNotFoundError, match=r"from_pretrained\(from_tf=True\).*tf_model.h5"):
        BertModel.from_pretrained(directory, from_tf=True)
    with pytest.raises(ModelNotFoundError, match=r"from_pretrained\(from_flax=True\).*flax_model.msgpack"):
        BertModel.from_pretrained(directory, from_flax=True)
    from conversion.checkpoint import write_weights

    reference = BertModel.from_pretrained(directory)  # the safetensors copy, marker 1
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    write_weights(state, directory, "tf-h5", model_class="BertModel")
    assert _outcome(directory, from_tf=True) == {"marker": 1.0}
    with pytest.raises(ValueError, match="at most one of from_pt, from_tf, from_flax"):
        BertModel.from_pretrained(directory, from_pt=True, from_tf=True)
    with pytest.raises(ValueError, match="use_safetensors=True contradicts from_tf=True"):
        BertModel.from_pretrained(directory, from_tf=True, use_safetensors=True)
    with pytest.raises(TypeError, match="from_pt must be True or False"):
        BertModel.from_pretrained(directory, from_pt="yes")


def test_accepted_no_op_arguments(tmp_path, caplog):
    directory = _marked_directory(tmp_path, files=("model.safetensors",))
    for kwargs in ({"low_cpu_mem_usage": True}, {"trust_remote_code": True}, {"force_download": True}):
        assert _outcome(directory, **kwargs) == {"marker": 1.0}, kwargs


def test_subfolder_and_variant_errors(tmp_path):
    directory = _marked_directory(tmp_path, files=("model.safetensors",))
    with pytest.raises(ModelNotFoundError, match="no subfolder 'nope'"):
        BertModel.from_pretrained(directory, subfolder="nope")
    with pytest.raises(ValueError, match="subfolder must be a relative path"):
        BertModel.from_pretrained(directory, subfolder="../x")
    with pytest.raises(ValueError, match="variant must be a non-empty name"):
        BertModel.from_pretrained(directory, variant="")


def test_unknown_argument_lists_the_loader_arguments(tmp_path):
    directory = _marked_directory(tmp_path, files=("model.safetensors",))
    with pytest.raises(TypeError) as err:
        BertModel.from_pretrained(directory, offload_folder="x")
    first = str(err.value).splitlines()[0]
    assert "'offload_folder'" in first
    for name in ("use_safetensors", "subfolder", "variant", "from_tf", "device_map", "trust_remote_code"):
        assert f"'{name}'" in first, name


@pytest.mark.parametrize(
    "device_map", ["cpu", "auto", "sequential", torch.device("cpu"), {"": "cpu"}, {"bert.encoder": "cpu"}]
)
def test_device_map_on_one_device(device_map, tmp_path):
    directory = _marked_directory(tmp_path, files=("model.safetensors",))
    model = BertModel.from_pretrained(directory, device_map=device_map)
    expected = "cuda:0" if device_map in ("auto", "sequential") and torch.cuda.is_available() else "cpu"
    assert str(model.device) == expected and float(model.pooler.dense.bias[0].detach()) == 1.0
    assert model.hf_device_map == {"": 0 if expected == "cuda:0" else "cpu"}


def test_device_map_refusals(tmp_path):
    directory = _marked_directory(tmp_path, files=("model.safetensors",))
    with pytest.raises(ValueError, match="several devices"):
        BertModel.from_pretrained(directory, device_map={"bert.embeddings": "cpu", "bert.encoder": "cuda:0"})
    with pytest.raises(TypeError, match="device or device_map, not both"):
        BertModel.from_pretrained(directory, device_map="cpu", device="cpu")
    with pytest.raises(ValueError, match="names no device"):
        BertModel.from_pretrained(directory, device_map="gpu-please")


def test_save_pretrained_safe_serialization_false_writes_pytorch_model_bin(tmp_path):
    model = _model("BertForMaskedLM")
    (tmp_path / "model.safetensors").write_bytes(b"stale")  # would shadow the new file when loading
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    model.save_pretrained(tmp_path, safe_serialization=False)
    expected = LOADING_ARGS["save"]["safe_serialization=False"]  # ["config.json", "pytorch_model.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*expected, "vocab.txt"])
    stored = torch.load(tmp_path / "pytorch_model.bin", weights_only=True)
    assert TIED not in stored  # as Transformers writes it: the tied decoder is the word embeddings
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    with pytest.raises(ValueError, match="above max_shard_size"):
        model.save_pretrained(tmp_path, safe_serialization=False, max_shard_size="10KB")


def test_save_pretrained_max_shard_size_shards_like_transformers(tmp_path):
    model = _model("BertModel")
    model.save_pretrained(tmp_path, max_shard_size="20KB")  # this tiny model is ~60KB (Transformers' ~125KB)
    names = sorted(p.name for p in tmp_path.iterdir())
    n = len(names) - 2
    shards = [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
    # Transformers' layout (reference: ["config.json", "model-00001-of-00002.safetensors", ..., index]).
    assert n >= 2 and names == ["config.json", *shards, "model.safetensors.index.json"]
    assert LOADING_ARGS["save"]["max_shard_size=100KB"][-1] == "model.safetensors.index.json"
    loaded = BertModel.from_pretrained(tmp_path)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())


def test_loader_arguments_on_a_hub_id(tmp_path, monkeypatch):
    """The same choices for a hub id read from the huggingface_hub cache (offline)."""
    from tests.common.test_files import make_hub_cache

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = make_hub_cache(tmp_path / "cache", "org/tiny-bert", {})
    _marked_directory(snapshot)
    hub = {"cache_dir": tmp_path / "cache"}
    for case in ("default", "use_safetensors=False", "variant=fp16", "subfolder=sub"):
        kwargs = dict(part.split("=") for part in case.split(",") if "=" in part)
        kwargs = {k: {"False": False}.get(v, v) for k, v in kwargs.items()}
        got = _outcome("org/tiny-bert", **hub, **kwargs)
        assert got == LOADING_ARGS["load"][case], case
