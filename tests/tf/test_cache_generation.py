"""The decoding cache (past_key_values) against a full recompute, and `generate` (bert_tf.generation):
greedy equals the step-by-step argmax of a full recompute and bert_pt's greedy output on the same weights;
sampling, eos and the argument rules of bert_common.generation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from safetensors.numpy import load_file

from bert_common.generation import GenerateOutput
from bert_tf import TFBertLMHeadModel, TFBertModel
from tests.common.head_spec import tiny
from tests.helpers import ATOL, load_reference_case, max_abs_diff


@pytest.fixture(scope="module")
def decoder():
    return TFBertLMHeadModel(tiny(is_decoder=True))


@pytest.fixture(scope="module")
def cross_case():
    """The Transformers decoder with cross-attention, loaded once: (case, model, cross-attention inputs)."""
    case = load_reference_case("BertLMHeadModel-cross")
    model = TFBertLMHeadModel.from_pretrained(case.directory)
    cross = {k: case.inputs[k] for k in ("encoder_hidden_states", "encoder_attention_mask")}
    return case, model, cross


PROMPT = np.random.default_rng(0).integers(1, 99, (2, 4)).astype(np.int32)


def test_incremental_decoding_equals_the_full_recompute(cross_case, device):
    """Feeding tokens one at a time with past_key_values reproduces the logits of one full pass."""
    case, model, cross = cross_case
    ids = case.inputs["input_ids"]
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


def test_cached_cross_attention_needs_only_the_encoder_mask(cross_case):
    """Once cached, the encoder's keys and values are reused: later steps may leave out its states."""
    case, model, cross = cross_case
    ids = case.inputs["input_ids"]
    full = model(input_ids=ids, **cross).logits
    prefix = model(input_ids=ids[:, :-1], use_cache=True, **cross)
    mask = cross["encoder_attention_mask"]
    last = model(input_ids=ids[:, -1:], past_key_values=prefix.past_key_values, encoder_attention_mask=mask)
    assert max_abs_diff(last.logits, full[:, -1:]) <= ATOL


@pytest.mark.parametrize("position_embedding_type", ["relative_key", "relative_key_query"])
def test_incremental_decoding_with_relative_positions(position_embedding_type):
    """Relative positions use the absolute query position (cached length + t) when decoding with a cache."""
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


def test_encoders_return_no_cache():
    out = TFBertModel(tiny())(PROMPT, use_cache=True)
    assert out.past_key_values is None


def test_greedy_generate_equals_the_argmax_of_a_full_recompute(decoder):
    sequences = decoder.generate(PROMPT, max_new_tokens=6)
    assert sequences.dtype == tf.int32 and tuple(sequences.shape) == (2, 10)
    tokens = PROMPT
    for _ in range(6):  # no cache: the whole sequence again at every step
        logits = decoder(tokens, use_cache=False).logits[:, -1]
        tokens = np.concatenate([tokens, np.argmax(logits, -1)[:, None].astype(np.int32)], axis=1)
    np.testing.assert_array_equal(sequences.numpy(), tokens)
    output = decoder.generate(PROMPT, max_length=10, return_dict_in_generate=True)
    assert isinstance(output, GenerateOutput)
    np.testing.assert_array_equal(output.sequences.numpy(), tokens)


def test_greedy_generate_with_cross_attention_equals_bert_pt(cross_case):
    """On the same Transformers weights, bert_pt's greedy continuation is the same token for token."""
    import torch

    import bert_pt

    case, model, cross = cross_case
    prompt = case.inputs["input_ids"][:, :3]
    mine = model.generate(prompt, max_new_tokens=8, **cross)
    pt_model = bert_pt.BertLMHeadModel.from_pretrained(case.directory).eval()
    theirs = pt_model.generate(
        torch.from_numpy(prompt.astype(np.int64)),
        max_new_tokens=8,
        **{k: torch.from_numpy(v) for k, v in cross.items()},
    )
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_relative_decoder_with_cross_attention_loads_transformers_weights_and_matches_bert_pt(tmp_path):
    """Cross-attention has no distance table (Transformers forces it to absolute positions): a
    relative_key_query decoder's checkpoint loads with nothing missing and gives bert_pt's numbers."""
    import torch

    import bert_pt

    config = tiny(is_decoder=True, add_cross_attention=True, position_embedding_type="relative_key_query")
    torch.manual_seed(0)
    bert_pt.BertLMHeadModel(config).eval().save_pretrained(tmp_path)
    saved = load_file(tmp_path / "model.safetensors")
    assert not any("crossattention.self.distance_embedding" in name for name in saved)
    assert any("attention.self.distance_embedding" in name for name in saved)
    model, info = TFBertLMHeadModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 99, (2, 6)).astype(np.int64)
    states = rng.normal(size=(2, 5, 32)).astype(np.float32)
    mine = model(input_ids=ids, encoder_hidden_states=states).logits
    pt_model = bert_pt.BertLMHeadModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        theirs = pt_model(
            input_ids=torch.from_numpy(ids), encoder_hidden_states=torch.from_numpy(states)
        ).logits
    assert max_abs_diff(mine, theirs.numpy()) <= ATOL
    # and a Keras save of it is the same file again
    model.save_pretrained(tmp_path / "again")
    again = load_file(tmp_path / "again" / "model.safetensors")
    assert set(again) == set(saved)


def test_top_k_1_sampling_is_greedy_and_samples_stay_in_the_top_k(decoder):
    greedy = decoder.generate(PROMPT, max_new_tokens=5)
    np.testing.assert_array_equal(
        decoder.generate(PROMPT, max_new_tokens=5, do_sample=True, top_k=1, seed=3).numpy(), greedy.numpy()
    )
    sampled = decoder.generate(PROMPT, max_new_tokens=1, do_sample=True, top_k=3, seed=0)
    top3 = np.argsort(-decoder(PROMPT).logits[:, -1].numpy(), axis=-1)[:, :3]
    assert all(sampled.numpy()[i, -1] in top3[i] for i in range(2))
    again = decoder.generate(PROMPT, max_new_tokens=5, do_sample=True, seed=7)
    np.testing.assert_array_equal(
        again.numpy(), decoder.generate(PROMPT, max_new_tokens=5, do_sample=True, seed=7).numpy()
    )


def test_top_p_keeps_the_nucleus_and_tiny_top_p_is_greedy(decoder):
    greedy = decoder.generate(PROMPT, max_new_tokens=4)
    nucleus = decoder.generate(PROMPT, max_new_tokens=4, do_sample=True, top_p=1e-6, seed=1)
    np.testing.assert_array_equal(nucleus.numpy(), greedy.numpy())
    from bert_tf.generation import _filter_logits

    logits = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]]))
    kept = np.isfinite(_filter_logits(logits, 0, 0.7).numpy())
    np.testing.assert_array_equal(kept, [[True, True, False, False]])  # 0.5 < 0.7, then 0.8 >= 0.7
    np.testing.assert_array_equal(np.isfinite(_filter_logits(logits, 3, 1.0).numpy()), [[1, 1, 1, 0]])


def test_eos_finishes_a_sequence_and_pads_it(decoder):
    greedy = decoder.generate(PROMPT, max_new_tokens=6).numpy()
    eos = int(greedy[0, 5])  # the second token generated for row 0
    out = decoder.generate(PROMPT, max_new_tokens=6, eos_token_id=eos, pad_token_id=0).numpy()
    row = out[0, 4:]
    first = int(np.argmax(row == eos))
    assert (row[first + 1 :] == 0).all()
    if (out[1, 4:] == eos).any():  # both rows finished: generation stopped early
        assert out.shape[1] <= 10
    else:
        assert out.shape[1] == 10


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
        ({"max_length": 4}, "max_length=4 leaves no room after the prompt of 4 tokens"),
        ({"max_new_tokens": 61}, "longer than max_position_embeddings=64"),
        ({"do_sample": True, "temperature": 0.0}, "temperature must be > 0 when sampling"),
        ({"top_k": -1}, "top_k must be >= 0"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
    ],
)
def test_generate_validates_arguments(decoder, kwargs, match):
    with pytest.raises(ValueError, match=match):
        decoder.generate(PROMPT, **kwargs)


def test_generate_checks_the_prompt_and_needs_a_decoder(decoder):
    with pytest.raises(TypeError, match="input_ids must hold integer ids"):
        decoder.generate(PROMPT.astype(np.float32), max_new_tokens=2)
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, sequence\]"):
        decoder.generate(PROMPT[0], max_new_tokens=2)
    from bert_tf.generation import generate

    with pytest.raises(ValueError, match="generate needs a decoder"):
        generate(TFBertModel(tiny()), PROMPT, max_new_tokens=2)
