"""The head tester (tests/common/head_spec.py) run on the Keras twin, plus Keras call-argument behaviour:
output classes and shapes, losses, hidden states and attentions, tuples, dict inputs, masks, the tree."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from bert_common.heads import HEADS
from bert_common.outputs import ModelOutput
from bert_tf import MODEL_CLASSES, TFBertForMaskedLM, TFBertForPreTraining, TFBertModel, model_class
from tests.common.head_spec import (
    HEAD_NAMES,
    B,
    H,
    L,
    N,
    T,
    V,
    batch,
    expected_shapes,
    head_config,
    head_inputs,
    rows,
    tiny,
)
from tests.helpers import ATOL, max_abs_diff


@pytest.fixture(scope="module")
def models():
    """One tiny model per head (num_labels=3 for the classifiers, a decoder for BertLMHeadModel)."""
    return {name: cls(head_config(name)) for name, cls in MODEL_CLASSES.items()}


def test_model_classes_cover_every_head_with_transformers_names():
    assert set(MODEL_CLASSES) == set(HEADS)
    for name, cls in MODEL_CLASSES.items():
        assert cls.__name__ == HEADS[name].tf_name and cls.head_name == name
        assert model_class(name) is cls and model_class("TF" + name) is cls
    assert model_class("FlaxBertForCausalLM") is MODEL_CLASSES["BertLMHeadModel"]
    with pytest.raises(ValueError, match="unknown BERT head"):
        model_class("BertForSummarization")


@pytest.mark.parametrize("head_name", HEAD_NAMES)
def test_head_output_fields_shapes_and_dtypes(head_name, models):
    model = models[head_name]
    output = model(**head_inputs(head_name, model.config))
    assert isinstance(output, HEADS[head_name].output)
    shapes = {name: tuple(value.shape) for name, value in output.items()}
    assert shapes == expected_shapes(head_name, model.config)
    assert all(value.dtype == tf.float32 for value in output.values())
    if "loss" in shapes:
        assert np.isfinite(output.loss.numpy()) and output.loss.numpy() > 0


@pytest.mark.parametrize("head_name", HEAD_NAMES)
def test_no_labels_no_loss(head_name, models):
    model = models[head_name]
    output = model(**head_inputs(head_name, model.config, with_labels=False))
    assert getattr(output, "loss", None) is None
    shapes = {name: tuple(v.shape) for name, v in output.items() if name != "past_key_values"}
    assert shapes == expected_shapes(head_name, model.config, with_loss=False)


@pytest.mark.parametrize("head_name", HEAD_NAMES)
def test_hidden_states_and_attentions_on_request(head_name, models):
    model = models[head_name]
    inputs = head_inputs(head_name, model.config)
    output = model(**inputs, output_hidden_states=True, output_attentions=True)
    sequences = rows(head_name)  # multiple choice runs B*C sequences
    assert len(output.hidden_states) == L + 1 and len(output.attentions) == L
    assert all(tuple(h.shape) == (sequences, T, H) for h in output.hidden_states)
    assert all(tuple(a.shape) == (sequences, N, T, T) for a in output.attentions)
    # attention probabilities sum to one over the keys
    np.testing.assert_allclose(tf.reduce_sum(output.attentions[0], -1).numpy(), 1.0, atol=1e-5)
    plain = model(**inputs)
    assert plain.hidden_states is None and plain.attentions is None


@pytest.mark.parametrize("head_name", HEAD_NAMES)
def test_return_dict_false_gives_the_tuple_of_the_fields(head_name, models):
    model = models[head_name]
    inputs = head_inputs(head_name, model.config)
    as_dict = model(**inputs)
    as_tuple = model(**inputs, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == len(as_dict)
    for a, b in zip(as_tuple, as_dict.to_tuple()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_loss_needs_both_pretraining_labels(models):
    model = models["BertForPreTraining"]
    inputs = head_inputs("BertForPreTraining", model.config)
    assert model(**{k: v for k, v in inputs.items() if k != "next_sentence_label"}).loss is None


def test_pretraining_loss_is_the_sum_of_its_two_parts():
    model = TFBertForPreTraining(tiny())
    inputs = head_inputs("BertForPreTraining", model.config)
    out = model(**inputs)
    logits, labels = out.prediction_logits.numpy(), inputs["labels"]
    keep = labels != -100
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    mlm = -np.mean(log_probs[keep, labels[keep]])
    nsp_logits = out.seq_relationship_logits.numpy()
    nsp_log_probs = nsp_logits - np.log(np.exp(nsp_logits).sum(-1, keepdims=True))
    nsp = -np.mean(nsp_log_probs[np.arange(B), inputs["next_sentence_label"]])
    assert abs(out.loss.numpy() - (mlm + nsp)) <= 1e-5


def test_next_sentence_label_is_an_alias_of_labels(models):
    """Transformers' TF NSP head calls its label `next_sentence_label`; both names give the same loss."""
    model = models["BertForNextSentencePrediction"]
    inputs = head_inputs("BertForNextSentencePrediction", model.config)
    by_labels = model(**inputs).loss
    aliased = {**{k: v for k, v in inputs.items() if k != "labels"}, "next_sentence_label": inputs["labels"]}
    assert float(model(**aliased).loss) == float(by_labels)
    assert float(model(aliased).loss) == float(by_labels)  # in the input dict too
    with pytest.raises(ValueError, match="'next_sentence_label' is another name of 'labels'"):
        model(**inputs, next_sentence_label=inputs["labels"])


def test_dict_first_argument_and_keywords_agree(models):
    model = models["BertForSequenceClassification"]
    inputs = batch(model.config)
    by_keywords = model(**inputs).logits
    by_dict = model(inputs).logits
    mixed = model(
        {"input_ids": inputs["input_ids"]},
        attention_mask=inputs["attention_mask"],
        token_type_ids=inputs["token_type_ids"],
    ).logits
    np.testing.assert_array_equal(by_keywords.numpy(), by_dict.numpy())
    np.testing.assert_array_equal(by_keywords.numpy(), mixed.numpy())


def test_numpy_tf_int32_int64_and_list_inputs_agree(models):
    model = models["BertModel"]
    inputs = batch(model.config, pad_row=None)
    reference = model(inputs["input_ids"]).last_hidden_state.numpy()
    for ids in (
        inputs["input_ids"].astype(np.int64),
        tf.constant(inputs["input_ids"], tf.int32),
        tf.constant(inputs["input_ids"], tf.int64),
        inputs["input_ids"].tolist(),
    ):
        np.testing.assert_array_equal(model(ids).last_hidden_state.numpy(), reference)


def test_padding_does_not_change_the_real_tokens(models):
    """Appending padded positions leaves the hidden states of the real tokens unchanged."""
    model = models["BertModel"]
    ids = batch(model.config, batch_size=1, pad_row=None)["input_ids"]
    short = model(ids).last_hidden_state
    padded_ids = np.concatenate([ids, np.zeros((1, 3), np.int32)], axis=1)
    mask = np.concatenate([np.ones_like(ids), np.zeros((1, 3), np.int32)], axis=1)
    long = model(padded_ids, attention_mask=mask).last_hidden_state
    assert max_abs_diff(long[:, : ids.shape[1]], short) <= ATOL


def test_fully_padded_row_gives_finite_outputs(models):
    model = models["BertModel"]
    inputs = batch(model.config)
    inputs["attention_mask"][2] = 0
    out = model(**inputs, output_attentions=True)
    assert np.isfinite(out.last_hidden_state.numpy()).all()
    # the masked row attends uniformly (every key gets finfo.min), the others are untouched
    np.testing.assert_allclose(out.attentions[0][2].numpy(), 1.0 / T, atol=1e-6)


def test_per_query_mask_equals_the_padding_mask_it_spells_out(models):
    """A 3-D [B, T, K] mask with every query row equal to the 2-D mask gives the same numbers; a
    per-query mask really applies per query."""
    model = models["BertModel"]
    inputs = batch(model.config)
    per_query = np.repeat(inputs["attention_mask"][:, None, :], T, axis=1)  # [B, T, T]
    flat = model(**inputs, output_attentions=True)
    spelled = model(**{**inputs, "attention_mask": per_query}, output_attentions=True)
    np.testing.assert_array_equal(flat.last_hidden_state.numpy(), spelled.last_hidden_state.numpy())
    causal = np.tril(np.ones((T, T), np.int32))[None].repeat(B, 0)
    out = model(**{**inputs, "attention_mask": causal}, output_attentions=True)
    probs = out.attentions[0].numpy()  # [B, N, T, T]
    assert np.all(probs[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0.0)


def test_default_token_types_and_positions_equal_explicit_ones(models):
    model = models["BertModel"]
    ids = batch(model.config)["input_ids"]
    implicit = model(ids).last_hidden_state
    explicit = model(
        ids, token_type_ids=np.zeros_like(ids), position_ids=np.tile(np.arange(T), (B, 1))
    ).last_hidden_state
    np.testing.assert_array_equal(implicit.numpy(), explicit.numpy())
    broadcast = model(ids, position_ids=np.arange(T)[None]).last_hidden_state  # [1, T] positions
    np.testing.assert_array_equal(broadcast.numpy(), implicit.numpy())
    shifted = model(ids, position_ids=np.tile(np.arange(1, T + 1), (B, 1))).last_hidden_state
    assert max_abs_diff(shifted, implicit) > 1e-3


def test_inputs_embeds_equal_input_ids(models):
    model = models["BertForMaskedLM"]
    ids = batch(model.config)["input_ids"]
    embeds = tf.gather(model.bert.embeddings.word_embeddings.table, ids)
    np.testing.assert_allclose(
        model(inputs_embeds=embeds).logits.numpy(), model(ids).logits.numpy(), atol=1e-6
    )


def test_head_mask_silences_heads(models):
    model = models["BertModel"]
    ids = batch(model.config)["input_ids"]
    head_mask = np.ones((L, N), np.float32)
    head_mask[0, 1] = 0.0
    out = model(ids, head_mask=head_mask, output_attentions=True)
    assert np.all(out.attentions[0][:, 1].numpy() == 0.0)
    assert np.all(out.attentions[1][:, 1].numpy() > 0.0)
    per_layer = model(ids, head_mask=np.array([1, 0, 1, 1], np.float32), output_attentions=True)
    assert all(np.all(a[:, 1].numpy() == 0.0) for a in per_layer.attentions)
    np.testing.assert_array_equal(
        model(ids, head_mask=np.ones(N)).last_hidden_state.numpy(), model(ids).last_hidden_state.numpy()
    )


def test_dropout_is_active_only_in_training():
    model = TFBertModel(tiny(hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.5))
    ids = batch(model.config)["input_ids"]
    eval_a, eval_b = model(ids).last_hidden_state, model(ids, training=False).last_hidden_state
    np.testing.assert_array_equal(eval_a.numpy(), eval_b.numpy())
    assert max_abs_diff(model(ids, training=True).last_hidden_state, eval_a) > 1e-2


def test_submodule_tree_mirrors_transformers(models):
    mlm = models["BertForMaskedLM"]
    layer = mlm.bert.encoder.layer[1]
    assert layer.attention.self.query.units == H
    assert layer.attention.output.dense.units == H and layer.attention.output.LayerNorm.epsilon == 1e-12
    assert layer.intermediate.dense.units == 37 and layer.output.dense.units == H
    assert (
        mlm.cls.predictions.transform.dense.units == H and mlm.cls.predictions.transform.LayerNorm is not None
    )
    assert models["BertForPreTraining"].cls.seq_relationship.units == 2
    assert models["BertForNextSentencePrediction"].cls.seq_relationship.units == 2
    assert models["BertModel"].bert.pooler.dense.units == H
    assert models["BertForTokenClassification"].bert.pooler is None
    assert models["BertForQuestionAnswering"].qa_outputs.units == 2
    assert models["BertLMHeadModel"].bert.encoder.layer[0].crossattention is None


def test_cross_attention_uses_absolute_positions():
    """As in Transformers and the other twins: a relative-position decoder's cross-attention has no
    distance table."""
    config = tiny(is_decoder=True, add_cross_attention=True, position_embedding_type="relative_key_query")
    layer = MODEL_CLASSES["BertLMHeadModel"](config).bert.encoder.layer[0]
    assert layer.attention.self.distance_embedding is not None
    assert layer.crossattention.self.distance_embedding is None
    assert layer.crossattention.self.position_embedding_type == "absolute"


def test_untied_decoder_has_its_own_matrix():
    tied, untied = TFBertForMaskedLM(tiny()), TFBertForMaskedLM(tiny(tie_word_embeddings=False))
    assert tied.cls.predictions.decoder is None
    assert tuple(untied.cls.predictions.decoder.kernel.shape) == (H, V)
    assert len(untied.weights) == len(tied.weights) + 1


def test_outputs_are_keras_tree_nodes(models):
    """The output dataclasses flatten with Keras' tree utilities (what fit and the functional API use)."""
    name = "BertForSequenceClassification"
    out = models[name](**head_inputs(name, head_config(name)))
    leaves = keras.tree.flatten(out)
    # The fields left None (no hidden states or attentions asked for) are not leaves, so a functional
    # model's outputs hold tensors only (bert_tf.outputs): here loss and logits, in field order.
    assert out.hidden_states is None and out.attentions is None
    assert len(leaves) == 2 and leaves[0] is out.loss and leaves[1] is out.logits
    rebuilt = keras.tree.map_structure(lambda x: x, out)
    assert isinstance(rebuilt, ModelOutput) and rebuilt.logits is out.logits and rebuilt.attentions is None


def test_functional_api_with_tuple_outputs():
    ids = keras.Input((None,), dtype="int32")
    _, pooled = TFBertModel(tiny())(ids, return_dict=False)
    functional = keras.Model(ids, pooled)
    assert tuple(functional(np.ones((2, 5), np.int32)).shape) == (2, H)


def test_get_config_round_trip(models):
    for model in models.values():
        clone = type(model).from_config(model.get_config())
        assert clone.config == model.config and clone.name == model.name
        assert [tuple(w.shape) for w in clone.weights] == [tuple(w.shape) for w in model.weights]
    base = TFBertModel(tiny(), add_pooling_layer=False)
    assert TFBertModel.from_config(base.get_config()).bert.pooler is None


# ------------------------------------------------------------------- Transformers' model API (issue 12)


@pytest.mark.parametrize("name", HEAD_NAMES)
def test_num_parameters_counted_by_hand(name):
    """The count of bert_pt (and Transformers) for the same config, worked out by hand."""
    from tests.common.test_api_matrix import bert_parameter_count

    config = head_config(name)
    model = model_class(name)(config)
    count, tables = bert_parameter_count(config, name)
    assert model.num_parameters() == count
    assert model.num_parameters(exclude_embeddings=True) == count - tables
    model.bert.embeddings.trainable = False
    assert model.num_parameters(only_trainable=True) == count - tables - 2 * config.hidden_size


def test_main_input_name_and_can_generate():
    for name, cls in MODEL_CLASSES.items():
        assert cls.main_input_name == "input_ids"
        assert cls.can_generate() is (name == "BertLMHeadModel")


def test_input_and_output_embeddings():
    model = TFBertForMaskedLM(tiny())
    layer = model.get_input_embeddings()
    assert tuple(layer.table.shape) == (V, H)
    assert model.get_output_embeddings() is layer  # tied: the decoder is the word-embedding matrix
    assert TFBertModel(tiny()).get_output_embeddings() is None
    new = np.random.default_rng(0).normal(size=(V + 2, H)).astype("float32")
    model.set_input_embeddings(new)
    np.testing.assert_array_equal(model.get_input_embeddings().table.numpy(), new)
    assert model.config.vocab_size == V + 2
    assert tuple(model.cls.predictions.bias.shape) == (V + 2,)
    ids = np.array([[1, V + 1, 5]])
    hidden = model.bert(ids).last_hidden_state
    transformed = model.cls.predictions.transform(hidden)
    want = np.einsum("bth,vh->btv", transformed.numpy(), new) + model.cls.predictions.bias.numpy()
    assert max_abs_diff(model(ids).logits, want) < 1e-4  # the tied decoder scores with the new matrix
    with pytest.raises(ValueError, match=r"set_input_embeddings expects a \[V, 32\] matrix"):
        model.set_input_embeddings(np.zeros((V, H + 1)))
    with pytest.raises(TypeError, match="TFBertModel has no output embeddings"):
        TFBertModel(tiny()).set_output_embeddings(new)


def test_untied_output_embeddings_are_the_decoder():
    model = TFBertForMaskedLM(tiny(tie_word_embeddings=False))
    decoder = model.get_output_embeddings()
    assert decoder is model.cls.predictions.decoder
    new = np.arange(V * H, dtype="float32").reshape(V, H) / (V * H)
    model.set_output_embeddings(new)  # [V, H], bert_pt's decoder layout; stored as the kernel [H, V]
    np.testing.assert_array_equal(decoder.kernel.numpy(), new.T)
    with pytest.raises(ValueError, match="rows != vocab_size"):
        model.set_output_embeddings(new[:5])


@pytest.mark.parametrize("tied", [True, False])
def test_resize_token_embeddings_keeps_old_rows_and_adds_mean_rows(tied):
    """Hand-computed: 101 tokens padded to a multiple of 8 -> 104 rows; rows 0..98 kept, rows 99..103
    at the mean of the old rows (bert_pt's mean_resizing=True), decoder bias padded with zeros."""
    model = TFBertForMaskedLM(tiny(tie_word_embeddings=tied))
    ids = np.array([[1, 7, 9, 2]])
    before = model(ids).logits.numpy()
    old = model.get_input_embeddings().table.numpy().copy()
    layer = model.resize_token_embeddings(101, pad_to_multiple_of=8)
    table = layer.table.numpy()
    assert table.shape == (104, H) and model.config.vocab_size == 104
    np.testing.assert_array_equal(table[:V], old)
    np.testing.assert_allclose(table[V:], np.broadcast_to(old.mean(axis=0), (5, H)), rtol=1e-6)
    np.testing.assert_array_equal(model.cls.predictions.bias.numpy()[V:], 0)
    after = model(ids).logits.numpy()
    assert after.shape == (1, 4, 104)
    assert max_abs_diff(after[..., :V], before) < 1e-5  # the old vocabulary scores as before
    if not tied:
        kernel = model.cls.predictions.decoder.kernel.numpy()
        assert kernel.shape == (H, 104)
    assert model.get_config()["config"]["vocab_size"] == 104
    # shrinking keeps the first rows
    model.resize_token_embeddings(50)
    np.testing.assert_array_equal(model.get_input_embeddings().table.numpy(), old[:50])
    assert model(ids).logits.shape == (1, 4, 50)


def test_resize_token_embeddings_random_rows_and_bad_arguments():
    model = TFBertModel(tiny())
    table = model.resize_token_embeddings(V + 400, mean_resizing=False).table.numpy()
    assert abs(float(table[V:].std()) - model.config.initializer_range) < 0.002
    assert model.resize_token_embeddings() is model.get_input_embeddings()  # no change
    with pytest.raises(ValueError, match="pad_to_multiple_of must be a positive int, got 0"):
        model.resize_token_embeddings(10, pad_to_multiple_of=0)
    with pytest.raises(ValueError, match="new_num_tokens must be a positive int, got -1"):
        model.resize_token_embeddings(-1)
