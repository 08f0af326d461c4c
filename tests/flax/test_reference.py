"""bert_flax against the golden reference: tiny models of every head saved by Hugging Face Transformers
4.57.1 (an independent PyTorch implementation; tests/fixtures/reference/make_reference.py), with their
inputs and every output field. Each case loads through `from_pretrained` and must agree at 1e-5 on every
field: loss, logits, pooler output, every hidden state, every attention and cross-attention map."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import bert_flax
from bert_common.heads import HEADS
from tests.helpers import ATOL, fields, load_reference_case, reference_case_names, worst_diff

CASES = reference_case_names()
# The scanned stack is checked on the cases that exercise every path: relative positions, a decoder with
# cross-attention, and both pretraining heads.
SCAN_CASES = ["BertModel-relative_key_query-gelu", "BertLMHeadModel-cross", "BertForPreTraining"]


def test_every_head_has_a_wrapper_and_a_reference_case():
    assert set(bert_flax.MODEL_CLASSES) == set(HEADS)
    assert {load_reference_case(name).model_class for name in CASES} == set(HEADS)
    for name, cls in bert_flax.MODEL_CLASSES.items():
        assert cls.__name__ == HEADS[name].flax_name


@pytest.mark.parametrize("name", CASES)
def test_checkpoint_loads_without_missing_or_unexpected_keys(name, case_model):
    _, info = case_model(name)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []


@pytest.mark.parametrize("name", CASES)
def test_every_output_field_matches_reference(name, device, case_model):
    ref = load_reference_case(name)
    model, _ = case_model(name)
    params = jax.device_put(model.params, device)
    out = model(**ref.inputs, params=params, output_hidden_states=True, output_attentions=True)
    got = fields(out)
    assert set(got) == set(ref.outputs), "the output has exactly the reference's fields"
    diff, where = worst_diff(got, ref.outputs)
    assert diff <= ATOL, f"{name}: {where} differs by {diff:.2e}"


@pytest.mark.parametrize("name", SCAN_CASES)
def test_scanned_layers_match_reference(name, device, case_model):
    ref = load_reference_case(name)
    model, info = case_model(name, scan_layers=True)
    assert info["missing_keys"] == []
    assert set(
        model.params["bert"]["encoder"]["layer"]
        if "bert" in model.params
        else model.params["encoder"]["layer"]
    ) == {"scanned"}
    out = model(
        **ref.inputs,
        params=jax.device_put(model.params, device),
        output_hidden_states=True,
        output_attentions=True,
    )
    diff, where = worst_diff(fields(out), ref.outputs)
    assert diff <= ATOL, f"{name} (scanned): {where} differs by {diff:.2e}"


def test_outputs_without_optional_fields_and_as_tuple(case_model):
    """By default (config) no hidden states or attentions; return_dict=False gives the fields that are set,
    in Transformers' order, loss first."""
    ref = load_reference_case("BertForQuestionAnswering")
    model, _ = case_model("BertForQuestionAnswering")
    out = model(**ref.inputs)
    assert out.hidden_states is None and out.attentions is None
    as_tuple = model(**ref.inputs, return_dict=False)
    assert len(as_tuple) == 3
    np.testing.assert_allclose(as_tuple[0], ref.outputs["loss"], atol=ATOL)
    np.testing.assert_allclose(as_tuple[1], ref.outputs["start_logits"], atol=ATOL)
    np.testing.assert_allclose(as_tuple[2], ref.outputs["end_logits"], atol=ATOL)


def test_loss_is_absent_without_labels(case_model):
    ref = load_reference_case("BertForMaskedLM")
    model, _ = case_model("BertForMaskedLM")
    inputs = {k: v for k, v in ref.inputs.items() if k != "labels"}
    out = model(**inputs)
    assert out.loss is None
    np.testing.assert_allclose(out.logits, ref.outputs["logits"], atol=ATOL)


def test_pretraining_loss_needs_both_label_sets(case_model):
    ref = load_reference_case("BertForPreTraining")
    model, _ = case_model("BertForPreTraining")
    inputs = {k: v for k, v in ref.inputs.items() if k != "next_sentence_label"}
    assert model(**inputs).loss is None
