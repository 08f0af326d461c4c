"""bert_pt against the golden reference: tiny models of every head saved by Hugging Face Transformers
4.57.1 (an independent implementation; tests/fixtures/reference/make_reference.py), with their inputs and
every output field. Each case loads through `from_pretrained` and must agree at 1e-5 on every field."""

from __future__ import annotations

import pytest
import torch

from bert_pt import MODEL_CLASSES, BertLMHeadModel
from tests.helpers import ATOL, load_reference_case, max_abs_diff, reference_case_names
from tests.pt.utils import fields, numpy, to, worst_diff

CASES = reference_case_names()


def _load(case, device, attn_implementation):
    cls = MODEL_CLASSES[case.model_class]
    model, info = cls.from_pretrained(
        case.directory, attn_implementation=attn_implementation, output_loading_info=True
    )
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    return model.to(device)


def test_every_head_has_a_reference_case():
    assert {load_reference_case(name).model_class for name in CASES} == set(MODEL_CLASSES)


@pytest.mark.parametrize("name", CASES)
def test_every_output_field_matches_reference(name, device):
    """Eager attention (forced by output_attentions): loss, logits, pooler, every hidden state, every
    attention and cross-attention map."""
    case = load_reference_case(name)
    model = _load(case, device, "sdpa")
    inputs = to({k: torch.from_numpy(v) for k, v in case.inputs.items()}, device)
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True, output_attentions=True)
    got = fields(out)
    assert set(got) == set(case.outputs), "the output has exactly the reference's fields"
    diff, where = worst_diff(got, case.outputs)
    assert diff <= ATOL, f"{name}: {where} differs by {diff:.2e}"


@pytest.mark.parametrize("name", CASES)
def test_sdpa_path_matches_reference(name, device):
    """Without output_attentions the SDPA kernel runs; every remaining field still matches."""
    case = load_reference_case(name)
    model = _load(case, device, "sdpa")
    inputs = to({k: torch.from_numpy(v) for k, v in case.inputs.items()}, device)
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    assert out.attentions is None
    expected = {k: v for k, v in case.outputs.items() if not k.startswith(("attentions", "cross_attentions"))}
    diff, where = worst_diff(fields(out), expected)
    assert diff <= ATOL, f"{name}: {where} differs by {diff:.2e}"


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_decoder_prefix_and_incremental_decoding_match_reference(attn_implementation, device):
    """The decoder case: logits of the first T-2 tokens with use_cache (`prefix_logits`), then the last two
    tokens decoded one at a time from the cache reproduce the full-sequence logits."""
    case = load_reference_case("BertLMHeadModel-cross")
    model = _load(case, device, attn_implementation)
    x = to({k: torch.from_numpy(v) for k, v in case.inputs.items()}, device)
    enc = {
        "encoder_hidden_states": x["encoder_hidden_states"],
        "encoder_attention_mask": x["encoder_attention_mask"],
    }
    length = x["input_ids"].shape[1]
    with torch.no_grad():
        prefix = model(input_ids=x["input_ids"][:, : length - 2], use_cache=True, **enc)
        assert max_abs_diff(numpy(prefix.logits), case.extra["prefix_logits"]) <= ATOL

        # The full forward had token types, so the cache is rebuilt with them before decoding.
        past = model(
            input_ids=x["input_ids"][:, : length - 2],
            token_type_ids=x["token_type_ids"][:, : length - 2],
            use_cache=True,
            **enc,
        ).past_key_values
        assert len(past) == 2 and all(len(layer) == 4 for layer in past)
        steps = []
        for t in range(length - 2, length):
            step = model(
                input_ids=x["input_ids"][:, t : t + 1],
                token_type_ids=x["token_type_ids"][:, t : t + 1],
                past_key_values=past,
                use_cache=True,
                **enc,
            )
            past = step.past_key_values
            steps.append(step.logits)
    assert past[0][0].shape[2] == length
    incremental = torch.cat(steps, dim=1)
    assert max_abs_diff(numpy(incremental), case.outputs["logits"][:, length - 2 :]) <= ATOL


def test_cross_attention_reference_is_masked():
    """The reference encoder mask hides S positions 3.. of row 1; our cross-attention gives them 0 weight."""
    case = load_reference_case("BertLMHeadModel-cross")
    model = BertLMHeadModel.from_pretrained(case.directory)
    x = {k: torch.from_numpy(v) for k, v in case.inputs.items()}
    with torch.no_grad():
        out = model(**x, output_attentions=True)
    assert torch.all(out.cross_attentions[0][1, :, :, 3:] == 0)
    assert torch.allclose(out.cross_attentions[0].sum(-1), torch.ones(()))
