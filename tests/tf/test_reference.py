"""The Keras twin against golden numbers from Transformers 4.57.1 (PyTorch): every head, every output field.

The reference directories hold a tiny model saved by Transformers (config.json + model.safetensors), its
inputs (right padding in row 2) and every output field it produced; from_pretrained loads the directory
as a user would and each field must agree to ATOL = 1e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from bert_common.files import default_model_dir
from bert_tf import MODEL_CLASSES, TFBertLMHeadModel, TFBertModel
from tests.helpers import (
    ATOL,
    MINILM_SENTENCES,
    load_reference_case,
    max_abs_diff,
    minilm_golden,
    reference_case_names,
)
from tests.tf.utils import fields

CASES = reference_case_names()


@pytest.fixture(scope="module")
def loaded():
    """Each reference case loaded once: (case, model)."""
    cache = {}

    def get(name):
        if name not in cache:
            case = load_reference_case(name)
            model, info = MODEL_CLASSES[case.model_class].from_pretrained(
                case.directory, output_loading_info=True
            )
            for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
                assert info[key] == [], f"{name}: {key} {info[key]}"
            cache[name] = (case, model)
        return cache[name]

    return get


def test_every_reference_case_is_covered():
    assert len(CASES) == 15
    assert {load_reference_case(name).model_class for name in CASES} == set(MODEL_CLASSES)


@pytest.mark.parametrize("name", CASES)
def test_every_output_field_matches_the_reference(name, loaded, device):
    case, model = loaded(name)
    with tf.device(device):
        output = model(**case.inputs, output_hidden_states=True, output_attentions=True, training=False)
    got = fields(output)
    assert set(got) == set(case.outputs), f"fields differ: {sorted(set(got) ^ set(case.outputs))}"
    for key, expected in case.outputs.items():
        diff = max_abs_diff(got[key], expected)
        assert diff <= ATOL, f"{name}: {key} differs by {diff:.2e}"


@pytest.mark.parametrize(
    "name", ["BertForMaskedLM", "BertForQuestionAnswering", "BertModel-relative_key_query-gelu"]
)
def test_dict_input_in_graph_mode_matches_the_reference(name, loaded):
    """model(batch_dict) inside tf.function (what fit/predict/serving do) gives the same numbers."""
    case, model = loaded(name)
    run = tf.function(lambda batch: model(batch, training=False).to_tuple())
    got = run({k: tf.constant(v) for k, v in case.inputs.items()})
    expected = [case.outputs[k] for k in model.head().output.field_names() if k in case.outputs]
    assert len(got) == len(expected)
    for mine, ref in zip(got, expected):
        assert max_abs_diff(mine, ref) <= ATOL


def test_decoder_prefix_with_cache_matches_the_reference(loaded, device):
    case, model = loaded("BertLMHeadModel-cross")
    ids = case.inputs["input_ids"]
    with tf.device(device):
        prefix = model(
            input_ids=ids[:, :-2],
            encoder_hidden_states=case.inputs["encoder_hidden_states"],
            encoder_attention_mask=case.inputs["encoder_attention_mask"],
            use_cache=True,
        )
    assert max_abs_diff(prefix.logits, case.extra["prefix_logits"]) <= ATOL
    # one (self_key, self_value, cross_key, cross_value) per layer, [B, N, S, D]
    assert len(prefix.past_key_values) == model.config.num_hidden_layers
    assert [tuple(t.shape) for t in prefix.past_key_values[0]] == [
        (2, 4, 7, 8),
        (2, 4, 7, 8),
        (2, 4, 5, 8),
        (2, 4, 5, 8),
    ]


def test_incremental_decoding_equals_the_full_recompute(loaded, device):
    """Feeding tokens one at a time with past_key_values reproduces the logits of one full pass."""
    case, model = loaded("BertLMHeadModel-cross")
    ids = case.inputs["input_ids"]
    cross = {
        "encoder_hidden_states": case.inputs["encoder_hidden_states"],
        "encoder_attention_mask": case.inputs["encoder_attention_mask"],
    }
    with tf.device(device):
        full = model(input_ids=ids, **cross).logits
        step = model(input_ids=ids[:, :3], use_cache=True, **cross)
        logits, past = [step.logits], step.past_key_values
        for t in range(3, ids.shape[1]):
            step = model(input_ids=ids[:, t : t + 1], past_key_values=past, use_cache=True, **cross)
            logits.append(step.logits)
            past = step.past_key_values
    assert max_abs_diff(tf.concat(logits, axis=1), full) <= ATOL
    # the full pass of the reference used token types; with them the cached pass still matches it
    with tf.device(device):
        full_typed = model(input_ids=ids, token_type_ids=case.inputs["token_type_ids"], **cross).logits
    assert max_abs_diff(full_typed, case.outputs["logits"]) <= ATOL


@pytest.mark.parametrize("position_embedding_type", ["relative_key", "relative_key_query"])
def test_incremental_decoding_with_relative_positions(position_embedding_type):
    """Relative positions use the absolute query position (cached length + t) when decoding with a cache."""
    from tests.tf.utils import tiny

    config = tiny(is_decoder=True, position_embedding_type=position_embedding_type)
    model = TFBertLMHeadModel(config)
    ids = np.random.default_rng(0).integers(1, 99, (2, 6)).astype(np.int32)
    full = model(input_ids=ids).logits
    step = model(input_ids=ids[:, :4], use_cache=True)
    logits, past = [step.logits], step.past_key_values
    for t in range(4, 6):
        step = model(input_ids=ids[:, t : t + 1], past_key_values=past, use_cache=True)
        logits.append(step.logits)
        past = step.past_key_values
    assert max_abs_diff(tf.concat(logits, axis=1), full) <= ATOL


@pytest.mark.integration
def test_minilm_checkpoint_matches_the_golden_slices(device):
    golden = minilm_golden()
    model = TFBertModel.from_pretrained(default_model_dir())
    inputs = {k: golden[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with tf.device(device):
        out = model(inputs, output_hidden_states=True)
    assert len(MINILM_SENTENCES) == inputs["input_ids"].shape[0]
    hidden = out.last_hidden_state.numpy()
    assert max_abs_diff(hidden[:, :6, :16], golden["last_hidden_state_slice"]) <= ATOL
    assert max_abs_diff(out.pooler_output[:, :16], golden["pooler_output_slice"]) <= ATOL
    assert max_abs_diff(out.hidden_states[3][:, :6, :16], golden["hidden_state_3_slice"]) <= ATOL
    mask = inputs["attention_mask"][..., None].astype(np.float64)
    mean = (hidden * mask).sum(1) / mask.sum(1)
    assert max_abs_diff(mean, golden["mean_pooled"]) <= ATOL
    assert (
        max_abs_diff(mean / np.linalg.norm(mean, axis=-1, keepdims=True), golden["mean_pooled_normalized"])
        <= ATOL
    )
    # The reference summed 384 float32 values per token, so its own rounding is ~sqrt(384) ulps of the
    # sum; each of the 384 terms agrees to ATOL, their sum to ATOL * sqrt(384).
    sums = hidden.astype(np.float64).sum(-1)
    assert max_abs_diff(sums, golden["last_hidden_state_sum"]) <= ATOL * np.sqrt(hidden.shape[-1])
