"""Bad input gets clear errors naming the argument: shapes, dtypes, ranges, labels, checkpoints."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bert_common.files import ModelNotFoundError
from bert_tf import (
    TFBertForMaskedLM,
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFBertLMHeadModel,
    TFBertModel,
)
from conversion.canonical import ShapeMismatchError
from tests.helpers import load_reference_case
from tests.tf.utils import batch, tiny


@pytest.fixture(scope="module")
def model():
    return TFBertForSequenceClassification(tiny(num_labels=3))


@pytest.fixture(scope="module")
def inputs():
    return batch(tiny())


def test_float_input_ids_are_a_type_error(model, inputs):
    with pytest.raises(TypeError, match="input_ids must hold integer ids"):
        model(inputs["input_ids"].astype(np.float32))


def test_out_of_vocabulary_ids_name_the_value(model, inputs):
    ids = inputs["input_ids"].copy()
    ids[0, 0] = 99
    with pytest.raises(ValueError, match=r"input_ids holds 99, outside \[0, 99\)"):
        model(ids)
    ids[0, 0] = -1
    with pytest.raises(ValueError, match="input_ids holds -1"):
        model(ids)


def test_out_of_range_ids_fail_inside_a_graph_too(model, inputs):
    ids = inputs["input_ids"].copy()
    ids[0, 0] = 500
    run = tf.function(lambda x: model(x).logits)
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_ids holds values outside"):
        run(tf.constant(ids))


def test_attention_mask_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(inputs["input_ids"], attention_mask=inputs["attention_mask"][:, :-1])


def test_token_type_ids_out_of_range_and_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match=r"token_type_ids holds 2, outside \[0, 2\)"):
        model(inputs["input_ids"], token_type_ids=np.full_like(inputs["input_ids"], 2))
    with pytest.raises(ValueError, match="token_type_ids has shape"):
        model(inputs["input_ids"], token_type_ids=inputs["token_type_ids"][:2])


def test_input_ids_and_inputs_embeds_exclusive(model, inputs):
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model(inputs["input_ids"], inputs_embeds=np.zeros((3, 7, 32), np.float32))
    with pytest.raises(ValueError, match="pass input_ids or inputs_embeds"):
        model(attention_mask=inputs["attention_mask"])
    with pytest.raises(ValueError, match="inputs_embeds has shape"):
        model(inputs_embeds=np.zeros((3, 7, 31), np.float32))


def test_wrong_rank_of_input_ids(model, inputs):
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, sequence\]"):
        model(inputs["input_ids"][0])
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, choices, sequence\]"):
        TFBertForMultipleChoice(tiny())(inputs["input_ids"])


def test_sequence_longer_than_the_position_table(model):
    with pytest.raises(ValueError, match="longer than max_position_embeddings=64"):
        model(np.ones((1, 65), np.int32))


def test_unknown_and_duplicated_dict_inputs(model, inputs):
    with pytest.raises(ValueError, match=r"got input\(s\) \['offset_mapping'\]"):
        model({**inputs, "offset_mapping": np.zeros((3, 7, 2), np.int32)})
    with pytest.raises(ValueError, match="'attention_mask' was given both"):
        model(inputs, attention_mask=inputs["attention_mask"])


def test_head_mask_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match=r"head_mask must have shape \(4,\) or \(2, 4\)"):
        model(inputs["input_ids"], head_mask=np.ones((3, 4), np.float32))


def test_decoder_only_arguments_on_an_encoder(inputs):
    encoder = TFBertModel(tiny())
    with pytest.raises(ValueError, match="past_key_values are only used by decoders"):
        encoder(inputs["input_ids"], past_key_values=((np.zeros((3, 4, 1, 8)), np.zeros((3, 4, 1, 8))),) * 2)
    with pytest.raises(ValueError, match="only used by decoders with cross-attention"):
        encoder(inputs["input_ids"], encoder_hidden_states=np.zeros((3, 5, 32), np.float32))
    decoder = TFBertLMHeadModel(tiny(is_decoder=True))
    with pytest.raises(ValueError, match="only used by decoders with cross-attention"):
        decoder(inputs["input_ids"], encoder_hidden_states=np.zeros((3, 5, 32), np.float32))
    with pytest.raises(ValueError, match="one entry per layer"):
        decoder(inputs["input_ids"], past_key_values=((np.zeros((3, 4, 1, 8)), np.zeros((3, 4, 1, 8))),))


def test_labels_of_the_wrong_dtype_or_shape(model, inputs):
    with pytest.raises(ValueError, match=r"labels of shape \(3, 5\) do not fit problem_type"):
        model(inputs["input_ids"], labels=np.zeros((3, 5), np.int64))
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\)"):
        model(inputs["input_ids"], labels=np.array([0, 1, 3]))
    tokens = TFBertForTokenClassification(tiny(num_labels=3))
    with pytest.raises(TypeError, match="labels must hold integer ids"):
        tokens(inputs["input_ids"], labels=np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match="labels has shape"):
        tokens(inputs["input_ids"], labels=np.zeros((3, 6), np.int64))
    with pytest.raises(TypeError, match="start_positions must hold integer ids"):
        TFBertForQuestionAnswering(tiny())(
            inputs["input_ids"], start_positions=np.zeros(3, np.float32), end_positions=np.zeros(3, np.int32)
        )


def test_config_must_be_a_bert_config():
    with pytest.raises(TypeError, match="needs a BertConfig"):
        TFBertModel("bert-base-uncased")
    assert TFBertModel(tiny().to_dict()).config == tiny()


def test_checkpoint_of_the_wrong_shape(tmp_path):
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


def test_question_answering_needs_two_labels():
    with pytest.raises(ValueError, match="num_labels must be 2, got 3"):
        TFBertForQuestionAnswering(tiny(num_labels=3))
