from __future__ import annotations

import json

import pytest

from bert_common import BertConfig, default_model_dir
from bert_common.config import SUPPORTED_ACTIVATIONS
from tests.helpers import REFERENCE


def test_defaults_match_the_transformers_signature():
    config = BertConfig()
    # Seed 003: the documented defaults of transformers.BertConfig.
    assert (config.vocab_size, config.hidden_size, config.num_hidden_layers) == (30522, 768, 12)
    assert (config.num_attention_heads, config.intermediate_size, config.hidden_act) == (12, 3072, "gelu")
    assert (config.hidden_dropout_prob, config.attention_probs_dropout_prob) == (0.1, 0.1)
    assert (config.max_position_embeddings, config.type_vocab_size) == (512, 2)
    assert (config.initializer_range, config.layer_norm_eps, config.pad_token_id) == (0.02, 1e-12, 0)
    assert config.position_embedding_type == "absolute"
    assert config.use_cache is True and config.classifier_dropout is None
    assert config.is_decoder is False and config.add_cross_attention is False
    assert config.tie_word_embeddings is True
    assert config.num_labels == 2 and config.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    assert config.label2id == {"LABEL_0": 0, "LABEL_1": 1}
    assert config.output_attentions is False and config.output_hidden_states is False
    assert config.return_dict is True and config.problem_type is None


def test_reads_a_transformers_config_json():
    config = BertConfig.from_pretrained(default_model_dir())
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (384, 6, 12)
    assert config.intermediate_size == 1536
    # Keys BertConfig does not model are kept, reachable as attributes, and written back.
    assert config.extra["transformers_version"] == "4.8.2"
    assert config.transformers_version == "4.8.2"
    assert config.gradient_checkpointing is False
    assert config.architectures == ["BertModel"]


def test_reads_google_bert_config_json(tmp_path):
    google = {
        "attention_probs_dropout_prob": 0.1,
        "directionality": "bidi",
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 768,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "pooler_fc_size": 768,
        "type_vocab_size": 2,
        "vocab_size": 21128,
    }
    (tmp_path / "bert_config.json").write_text(json.dumps(google))
    config = BertConfig.from_pretrained(tmp_path)
    assert config.vocab_size == 21128
    assert config.extra == {"directionality": "bidi", "pooler_fc_size": 768}
    written = json.loads(config.to_json_string())
    assert written["model_type"] == "bert"
    assert written["directionality"] == "bidi" and written["pooler_fc_size"] == 768


def test_json_round_trip_keeps_every_field_and_extra(tmp_path):
    config = BertConfig.from_dict(
        {
            "hidden_size": 64,
            "num_attention_heads": 4,
            "my_custom_key": [1, 2],
            "id2label": {"0": "neg", "1": "pos"},
        }
    )
    path = config.save_pretrained(tmp_path / "out")
    assert path.name == "config.json"
    data = json.loads(path.read_text())
    assert data["model_type"] == "bert" and data["my_custom_key"] == [1, 2]
    assert data["id2label"] == {"0": "neg", "1": "pos"}
    again = BertConfig.from_pretrained(tmp_path / "out")
    assert again == config
    assert again.id2label == {0: "neg", 1: "pos"}  # int keys after loading JSON
    assert again.label2id == {"neg": 0, "pos": 1}
    assert again.extra["my_custom_key"] == [1, 2]


def test_overrides_win_and_num_labels_resets_labels():
    config = BertConfig.from_pretrained(default_model_dir(), num_labels=3, hidden_dropout_prob=0.0)
    assert config.num_labels == 3 and config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    assert config.hidden_dropout_prob == 0.0


def test_labels_from_id2label_or_label2id():
    assert BertConfig(id2label={0: "a", 1: "b", 2: "c"}).num_labels == 3
    config = BertConfig(label2id={"x": 1, "y": 0})
    assert config.id2label == {0: "y", 1: "x"}
    config.num_labels = 4
    assert config.id2label[3] == "LABEL_3" and config.label2id["LABEL_3"] == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"hidden_size": 30, "num_attention_heads": 4},
            "hidden_size (30) must be divisible by num_attention_heads (4)",
        ),
        ({"vocab_size": 0}, "vocab_size must be positive, got 0"),
        ({"num_hidden_layers": -1}, "num_hidden_layers must be positive"),
        ({"hidden_act": "gelu_bogus"}, "hidden_act 'gelu_bogus' is not supported"),
        ({"position_embedding_type": "rotary"}, "position_embedding_type 'rotary'"),
        ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob must be a probability in [0, 1], got 1.5"),
        ({"attention_probs_dropout_prob": -0.1}, "attention_probs_dropout_prob must be a probability"),
        ({"classifier_dropout": 2.0}, "classifier_dropout must be a probability"),
        ({"num_labels": 3, "id2label": {0: "a", 1: "b"}}, "num_labels=3 but id2label has 2 entries"),
        ({"id2label": {0: "a", 2: "b"}}, "id2label keys must be 0..1"),
        ({"layer_norm_eps": 0.0}, "layer_norm_eps must be a positive number"),
        ({"problem_type": "ranking"}, "problem_type 'ranking'"),
        ({"pad_token_id": 40000}, "pad_token_id must be None or an id in [0, vocab_size)"),
        ({"add_cross_attention": True}, "add_cross_attention=True needs is_decoder=True"),
        ({"is_decoder": "yes"}, "is_decoder must be a bool"),
    ],
)
def test_validation_names_field_and_value(kwargs, message):
    with pytest.raises((ValueError, TypeError)) as info:
        BertConfig(**kwargs)
    assert message in str(info.value)


def test_unknown_keyword_in_code_is_an_error_with_a_suggestion():
    with pytest.raises(TypeError, match=r"'hidden_sise' \(did you mean 'hidden_size'\?\)"):
        BertConfig(hidden_sise=128)
    with pytest.raises(TypeError, match="unknown BertConfig argument"):
        BertConfig.from_dict({}, num_layers=3)


def test_int_fields_reject_floats_and_bools():
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        BertConfig(hidden_size=768.0)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        BertConfig(vocab_size=True)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json or bert_config.json"):
        BertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        BertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="model_type 'gpt2'"):
        BertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"num_labels": 3, "id2label": {"0": "a"}}))
    with pytest.raises(ValueError, match="num_labels=3 but id2label has 1 entries"):
        BertConfig.from_pretrained(tmp_path)


def test_every_supported_activation_is_accepted():
    for name in SUPPORTED_ACTIVATIONS:
        assert BertConfig(hidden_act=name).hidden_act == name


def test_copy_is_deep_and_validated():
    config = BertConfig(num_labels=3)
    other = config.copy(hidden_size=96, num_attention_heads=4)
    assert other.hidden_size == 96 and config.hidden_size == 768
    assert other.num_labels == 3
    other.id2label[0] = "changed"
    assert config.id2label[0] == "LABEL_0"
    with pytest.raises(ValueError, match="divisible"):
        config.copy(hidden_size=100)


def test_attention_head_size():
    assert BertConfig(hidden_size=384, num_attention_heads=12).attention_head_size == 32


# ---- issue 12 item 4: update, use_return_dict, name_or_path, to_diff_dict, return_unused_kwargs.
# Right values: tests/fixtures/reference/config_reference.json, written by Transformers 4.57.1's BertConfig
# (tests/fixtures/reference/make_config.py, run outside the project).

REFERENCE_CONFIG = json.loads((REFERENCE / "config_reference.json").read_text())


def as_json(value):
    """The JSON form (string ids), without `transformers_version`: Transformers stamps its own version
    into every dict; BertConfig keeps the one read from a file, if any."""
    data = json.loads(json.dumps(value))
    data.pop("transformers_version", None)
    return data


@pytest.mark.parametrize("case", REFERENCE_CONFIG["diff"], ids=lambda case: case["name"])
def test_to_diff_dict_and_use_return_dict_match_transformers(case):
    config = BertConfig.from_dict(case["config"])
    assert as_json(config.to_diff_dict()) == as_json(case["to_diff_dict"])
    assert config.use_return_dict is case["use_return_dict"]
    assert json.loads(config.to_json_string(use_diff=True)) == json.loads(json.dumps(config.to_diff_dict()))


@pytest.mark.parametrize("case", REFERENCE_CONFIG["update"], ids=lambda case: ",".join(case["update"]))
def test_update_matches_transformers(case):
    config = BertConfig.from_dict(case["config"])
    assert config.update(dict(case["update"])) is None
    assert as_json(config.to_diff_dict()) == as_json(case["to_diff_dict"])


def test_update_is_checked_and_changes_nothing_on_an_error():
    config = BertConfig(hidden_size=64, num_attention_heads=4)
    with pytest.raises(ValueError, match="must be divisible by num_attention_heads"):
        config.update({"hidden_dropout_prob": 0.0, "num_attention_heads": 5})
    assert config.hidden_dropout_prob == 0.1 and config.num_attention_heads == 4
    with pytest.raises(TypeError, match=r"'hiden_size' \(did you mean 'hidden_size'\?\)"):
        config.update({"hiden_size": 128})
    with pytest.raises(TypeError, match="expects a mapping"):
        config.update([("hidden_size", 128)])
    loaded = BertConfig.from_pretrained(default_model_dir())
    loaded.update({"gradient_checkpointing": True, "_name_or_path": "mine"})  # an extra, the name
    assert loaded.gradient_checkpointing is True and loaded.name_or_path == "mine"


def test_new_label_maps_replace_both_maps():
    """Worked out by hand: a new id2label names the labels, so label2id follows it (the old code kept the
    stale label2id {'a': 0, 'b': 1}; Transformers' update leaves it stale too)."""
    config = BertConfig(id2label={0: "a", 1: "b"})
    assert config.copy(id2label={0: "x", 1: "y"}).label2id == {"x": 0, "y": 1}
    config.update({"label2id": {"p": 1, "q": 0, "r": 2}})
    assert config.id2label == {0: "q", 1: "p", 2: "r"} and config.num_labels == 3


@pytest.mark.parametrize("case", REFERENCE_CONFIG["relabel"], ids=lambda case: str(case["kwargs"]))
def test_num_labels_renames_only_when_the_count_changes(tmp_path, case):
    BertConfig(hidden_size=64, num_attention_heads=4, id2label=case["id2label"]).save_pretrained(tmp_path)
    config = BertConfig.from_pretrained(tmp_path, **case["kwargs"])
    assert as_json(config.id2label) == case["result"]


@pytest.mark.parametrize("case", REFERENCE_CONFIG["unused"], ids=lambda case: ",".join(case["kwargs"]))
def test_from_pretrained_returns_unused_kwargs(tmp_path, case):
    BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
    ).save_pretrained(tmp_path)
    config, unused = BertConfig.from_pretrained(tmp_path, **case["kwargs"], return_unused_kwargs=True)
    assert unused == case["unused"]
    assert {k: getattr(config, k) for k in case["set"]} == case["set"]
    assert isinstance(BertConfig.from_pretrained(tmp_path, return_unused_kwargs=False), BertConfig)
    if case["unused"]:  # without the flag, a key that is no field is still an error, never dropped
        with pytest.raises(TypeError, match="unknown BertConfig argument"):
            BertConfig.from_pretrained(tmp_path, **case["kwargs"])


def test_name_or_path(tmp_path):
    """Transformers (fixture): "" for a new config, `_name_or_path` in its dicts, the path given after a
    model's from_pretrained, never written by save_pretrained. Its BertConfig.from_pretrained keeps the
    file's stale `_name_or_path` ("nreimers/..." in all-MiniLM-L6-v2's config.json, a name the file was
    once loaded from); here it gives the path given, as the model loaders do, since every twin builds its
    config through it."""
    expected = REFERENCE_CONFIG["name_or_path"]
    assert BertConfig().name_or_path == expected["BertConfig()"] == ""
    assert expected["BertModel.from_pretrained: config"] == "the path given"
    minilm = json.loads((default_model_dir() / "config.json").read_text())
    assert BertConfig.from_dict(minilm).name_or_path == expected["BertConfig.from_pretrained, file names one"]
    config = BertConfig.from_pretrained(str(default_model_dir()))
    assert config.name_or_path == str(default_model_dir())
    assert "_name_or_path" not in config.extra and config.copy().name_or_path == config.name_or_path
    config.save_pretrained(tmp_path)
    assert ("_name_or_path" in json.loads((tmp_path / "config.json").read_text())) is expected[
        "save_pretrained writes _name_or_path"
    ]
    assert BertConfig.from_pretrained(tmp_path) == config  # equal wherever each was loaded from
    config.name_or_path = tmp_path
    assert config.name_or_path == str(tmp_path) and config._name_or_path == str(tmp_path)


def test_a_loaded_model_knows_its_directory():
    import bert_pt

    directory = REFERENCE / "tiny" / "BertForMaskedLM"
    model = bert_pt.BertForMaskedLM.from_pretrained(str(directory))
    assert model.config.name_or_path == str(directory)
