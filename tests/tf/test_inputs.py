"""Bad input gets the one error of bert_common.inputs, naming the argument, as its first line: the shared
INPUT_CASES table, dict inputs, the decoding cache, labels, and the run-time checks inside a graph."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tensorflow as tf

from bert_tf import (
    TFBertForMultipleChoice,
    TFBertForQuestionAnswering,
    TFBertForSequenceClassification,
    TFBertForTokenClassification,
    TFBertLMHeadModel,
    TFBertModel,
)
from tests.common.head_spec import batch, tiny
from tests.common.input_cases import INPUT_CASES
from tests.helpers import ATOL, max_abs_diff
from tests.tf.utils import to_tf


@pytest.fixture(scope="module")
def base():
    return TFBertModel(tiny())


@pytest.fixture(scope="module")
def model():
    return TFBertForSequenceClassification(tiny(num_labels=3))


@pytest.fixture(scope="module")
def inputs():
    return batch(tiny())


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else ""


@pytest.mark.parametrize("case", INPUT_CASES, ids=[case.name for case in INPUT_CASES])
@pytest.mark.parametrize("as_tensors", [False, True], ids=["numpy", "tf"])
def test_every_shared_input_case_is_refused_with_the_shared_message(case, as_tensors, base, inputs):
    bad = case.change({k: v.copy() for k, v in inputs.items()})
    with pytest.raises(case.error) as caught:
        base(**(to_tf(bad) if as_tensors else bad))
    assert re.search(case.match, first_line(caught.value)), first_line(caught.value)


@pytest.mark.parametrize("case", INPUT_CASES, ids=[case.name for case in INPUT_CASES])
def test_every_shared_input_case_through_predict_has_the_shared_first_line(case, base, inputs):
    """Issue 13: numpy input to predict() surfaced as "Graph execution error" over ~55 lines (or a Keras
    AttributeError, or nothing at all for a mask of the wrong length); host inputs are now checked before
    Keras builds its graph, with the message of a direct call on the first line."""
    bad = case.change({k: v.copy() for k, v in inputs.items()})
    with pytest.raises(case.error) as caught:
        base.predict(bad, verbose=0)
    assert re.search(case.match, first_line(caught.value)), first_line(caught.value)
    assert len(str(caught.value).splitlines()) == 1, str(caught.value)


def test_keras_marker_keeps_our_message_first_inside_a_layer_call():
    """bert_tf.inputs.keras_user_errors sets Keras' private `_keras_call_info_injected` marker so that Keras
    does not prefix "Exception encountered when calling ..." (and the arguments) to bert-zoo's message. If
    a Keras upgrade renames or drops the marker, this fails (and so do the INPUT_CASES tests above)."""
    import keras

    from bert_tf.inputs import keras_user_errors

    class Failing(keras.layers.Layer):
        def __init__(self, marked, **kwargs):
            super().__init__(**kwargs)
            self.marked = marked

        def call(self, x):
            if self.marked:
                with keras_user_errors():
                    raise ValueError("input_ids holds 99, outside [0, 99)")
            raise ValueError("input_ids holds 99, outside [0, 99)")

    with pytest.raises(ValueError) as unmarked:
        Failing(False)(np.zeros((1, 2), np.float32))
    assert first_line(unmarked.value).startswith("Exception encountered"), "Keras still wraps call errors"
    with pytest.raises(ValueError) as marked:
        Failing(True)(np.zeros((1, 2), np.float32))
    assert str(marked.value) == "input_ids holds 99, outside [0, 99)"


def test_out_of_range_ids_are_refused_before_an_xla_graph(inputs):
    """Issue 13: under jit_compile=True XLA drops the graph's assertions and an id outside the vocabulary
    gave finite garbage (a clamped row); numpy inputs to predict/fit/evaluate are checked before compiling."""
    model = TFBertForSequenceClassification(tiny(num_labels=3))
    model.compile(optimizer="adam", jit_compile=True)
    ids = inputs["input_ids"].copy()
    ids[0, 0] = 500
    for run in (
        lambda: model.predict({"input_ids": ids}, verbose=0),
        lambda: model.predict_on_batch(ids),
        lambda: model.evaluate({"input_ids": ids}, np.array([0, 1, 2]), verbose=0),
        lambda: model.fit(ids, np.array([0, 1, 2]), epochs=1, verbose=0),
    ):
        with pytest.raises(ValueError, match=r"^input_ids holds 500, outside \[0, 99\)"):
            run()
    # labels given as y are the head's labels: checked too (3 is outside num_labels=3)
    with pytest.raises(ValueError, match=r"^labels holds 3, outside \[0, 3\)"):
        model.fit(inputs["input_ids"], np.array([0, 1, 3]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"^labels holds 3, outside \[0, 3\)"):
        model.fit(inputs, np.array([0, 1, 2]), validation_data=(inputs, np.array([3, 0, 0])), verbose=0)
    # good inputs still train and predict under XLA
    model.fit(inputs, np.array([0, 1, 2]), epochs=1, verbose=0)
    assert model.predict(inputs, verbose=0)["logits"].shape == (3, 3)


def test_an_unknown_keyword_names_the_model_first_as_python_does(model, inputs):
    """Keras' own signature bind says "got an unexpected keyword argument 'atention_mask'" with no owner;
    bert_tf says which call, in Python's words (bert_pt: "BertModel.forward() got ...")."""
    with pytest.raises(TypeError) as raised:
        model(inputs["input_ids"], atention_mask=inputs["attention_mask"])
    assert first_line(raised.value) == (
        "TFBertForSequenceClassification.call() got an unexpected keyword argument 'atention_mask'"
    )
    # what call() takes, and Keras' own training=, still pass
    logits = model(inputs["input_ids"], attention_mask=inputs["attention_mask"], training=False).logits
    assert logits.shape == (inputs["input_ids"].shape[0], 3)


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


def test_mask_values_fail_inside_a_graph_too(model, inputs):
    mask = inputs["attention_mask"].copy()
    mask[0, 0] = 2
    run = tf.function(lambda ids, m: model(ids, attention_mask=m).logits)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"attention_mask must hold only 0 \(masked\) and 1"
    ):
        run(tf.constant(inputs["input_ids"]), tf.constant(mask))


def test_unknown_lengths_inside_a_graph_are_checked_when_it_runs(model):
    run = tf.function(lambda ids: model(ids).logits, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    assert tuple(run(tf.ones((2, 5), tf.int32)).shape) == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than max_position_embeddings=64"):
        run(tf.ones((1, 65), tf.int32))


def test_attention_mask_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(inputs["input_ids"], attention_mask=inputs["attention_mask"][:, :-1])


def test_token_type_ids_out_of_range_and_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match=r"token_type_ids holds 2, outside \[0, 2\)"):
        model(inputs["input_ids"], token_type_ids=np.full_like(inputs["input_ids"], 2))
    with pytest.raises(ValueError, match="token_type_ids has shape"):
        model(inputs["input_ids"], token_type_ids=inputs["token_type_ids"][:2])


def test_input_ids_and_inputs_embeds_exclusive(model, inputs):
    with pytest.raises(ValueError, match="pass exactly one of input_ids and inputs_embeds, got both"):
        model(inputs["input_ids"], inputs_embeds=np.zeros((3, 7, 32), np.float32))
    with pytest.raises(ValueError, match="pass exactly one of input_ids and inputs_embeds, got neither"):
        model(attention_mask=inputs["attention_mask"])
    with pytest.raises(ValueError, match="inputs_embeds must have shape"):
        model(inputs_embeds=np.zeros((3, 7, 31), np.float32))


def test_wrong_rank_of_input_ids(model, inputs):
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, sequence\]"):
        model(inputs["input_ids"][0])
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, choices, sequence\]"):
        TFBertForMultipleChoice(tiny())(inputs["input_ids"])


def test_sequence_longer_than_the_position_table(model):
    with pytest.raises(ValueError, match="longer than max_position_embeddings=64"):
        model(np.ones((1, 65), np.int32))
    # explicit positions do not lift the limit (the shared rule of every twin)
    with pytest.raises(
        ValueError, match="sequence of 65 positions is longer than max_position_embeddings=64"
    ):
        model(np.ones((1, 65), np.int32), position_ids=np.zeros((1, 65), np.int32))


def test_empty_sequence_is_a_clear_error_not_an_index_error(model):
    with pytest.raises(ValueError, match="the input sequence is empty"):
        model(np.zeros((2, 0), np.int32))


def test_unknown_and_duplicated_dict_inputs(model, inputs):
    with pytest.raises(ValueError, match=r"got input\(s\) \['offset_mapping'\]"):
        model({**inputs, "offset_mapping": np.zeros((3, 7, 2), np.int32)})
    with pytest.raises(ValueError, match="'attention_mask' was given both"):
        model(inputs, attention_mask=inputs["attention_mask"])


def test_head_mask_of_the_wrong_shape(model, inputs):
    with pytest.raises(ValueError, match=r"head_mask has shape \(3, 4\), expected \(4,\) or \(2, 4\)"):
        model(inputs["input_ids"], head_mask=np.ones((3, 4), np.float32))


def test_decoder_only_arguments_on_an_encoder(inputs):
    encoder = TFBertModel(tiny())
    with pytest.raises(ValueError, match="past_key_values are only used by decoders"):
        encoder(inputs["input_ids"], past_key_values=((np.zeros((3, 4, 1, 8)), np.zeros((3, 4, 1, 8))),) * 2)
    with pytest.raises(ValueError, match="the model has no cross-attention layers"):
        encoder(inputs["input_ids"], encoder_hidden_states=np.zeros((3, 5, 32), np.float32))
    decoder = TFBertLMHeadModel(tiny(is_decoder=True))
    with pytest.raises(ValueError, match="the model has no cross-attention layers"):
        decoder(inputs["input_ids"], encoder_hidden_states=np.zeros((3, 5, 32), np.float32))
    with pytest.raises(ValueError, match="one entry per layer"):
        decoder(inputs["input_ids"], past_key_values=((np.zeros((3, 4, 1, 8)), np.zeros((3, 4, 1, 8))),))
    with pytest.raises(ValueError, match=r"past_key_values\[0\] must hold 2 tensors"):
        decoder(inputs["input_ids"], past_key_values=((np.zeros((3, 4, 1, 8)),),) * 2)


def test_per_query_encoder_mask_equals_the_padding_mask_it_spells_out(inputs):
    decoder = TFBertLMHeadModel(tiny(is_decoder=True, add_cross_attention=True))
    states = np.random.default_rng(0).normal(size=(3, 5, 32)).astype(np.float32)
    mask = np.ones((3, 5), np.int32)
    mask[1, 3:] = 0
    flat = decoder(inputs["input_ids"], encoder_hidden_states=states, encoder_attention_mask=mask)
    per_query = np.repeat(mask[:, None, :], 7, axis=1)  # [B, T, S]
    spelled = decoder(inputs["input_ids"], encoder_hidden_states=states, encoder_attention_mask=per_query)
    assert max_abs_diff(flat.logits, spelled.logits) <= ATOL


def test_labels_of_the_wrong_dtype_or_shape(model, inputs):
    with pytest.raises(ValueError, match=r"labels of shape \(3, 5\) do not fit problem_type"):
        model(inputs["input_ids"], labels=np.zeros((3, 5), np.int64))
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\)") as caught:
        model(inputs["input_ids"], labels=np.array([0, 1, 3]))
    assert first_line(caught.value).startswith("labels holds 3")  # bert-zoo's message, not Keras' wrapper
    tokens = TFBertForTokenClassification(tiny(num_labels=3))
    with pytest.raises(TypeError, match="labels must hold integer ids"):
        tokens(inputs["input_ids"], labels=np.zeros((3, 7), np.float32))
    with pytest.raises(ValueError, match="labels has shape"):
        tokens(inputs["input_ids"], labels=np.zeros((3, 6), np.int64))
    with pytest.raises(TypeError, match="start_positions must hold integer ids"):
        TFBertForQuestionAnswering(tiny())(
            inputs["input_ids"], start_positions=np.zeros(3, np.float32), end_positions=np.zeros(3, np.int32)
        )


def test_labels_out_of_range_fail_inside_a_graph_too(model, inputs):
    run = tf.function(lambda ids, labels: model(ids, labels=labels).loss)
    assert np.isfinite(run(tf.constant(inputs["input_ids"]), tf.constant([0, 1, -100])).numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels holds values outside \[0, 3\)"):
        run(tf.constant(inputs["input_ids"]), tf.constant([0, 1, 3]))


def test_config_must_be_a_bert_config():
    with pytest.raises(TypeError, match="needs a BertConfig"):
        TFBertModel("bert-base-uncased")
    assert TFBertModel(tiny().to_dict()).config == tiny()


def test_question_answering_needs_two_labels():
    with pytest.raises(ValueError, match="num_labels must be 2, got 3"):
        TFBertForQuestionAnswering(tiny(num_labels=3))
