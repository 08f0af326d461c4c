"""The Keras twin against golden numbers from Transformers 4.57.1 (PyTorch): every head, every output field.

The reference directories hold a tiny model saved by Transformers (config.json + model.safetensors), its
inputs (right padding in row 2) and every output field it produced; from_pretrained loads the directory
as a user would and each field must agree to ATOL = 1e-5.
"""

from __future__ import annotations

import pytest
import tensorflow as tf

from bert_tf import MODEL_CLASSES
from tests.helpers import ATOL, load_reference_case, max_abs_diff, reference_case_names
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
