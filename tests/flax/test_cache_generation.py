"""Decoder behaviour: the key/value cache reproduces the full recompute, and generate() (greedy and
sampling) under jit.

Golden numbers: the `BertLMHeadModel-cross` reference case (Transformers 4.57.1) holds the full-sequence
outputs and `prefix_logits`, the logits of input_ids[:, :T-2] computed with use_cache (token types 0)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from bert_common.generation import GenerateOutput
from bert_flax import FlaxBertForCausalLM, FlaxBertModel, generate
from tests.common.head_spec import tiny
from tests.helpers import ATOL, load_reference_case, max_abs_diff

CASE = "BertLMHeadModel-cross"


def _cross_inputs(ref) -> dict:
    return {
        "encoder_hidden_states": ref.inputs["encoder_hidden_states"],
        "encoder_attention_mask": ref.inputs["encoder_attention_mask"],
    }


@pytest.fixture(scope="module")
def decoder():
    """A random tiny decoder without cross-attention, shared so its compiled programs are reused."""
    return FlaxBertForCausalLM(tiny(is_decoder=True, pad_token_id=0), seed=5)


def test_prefix_with_cache_matches_reference(device, case_model):
    ref = load_reference_case(CASE)
    model, _ = case_model(CASE)
    ids = ref.inputs["input_ids"]
    batch, length = ids.shape
    cache = model.init_cache(batch, length)
    out = model(
        ids[:, : length - 2],
        np.ones((batch, length), np.int32),
        params=jax.device_put(model.params, device),
        past_key_values=cache,
        **_cross_inputs(ref),
    )
    assert max_abs_diff(out.logits, ref.extra["prefix_logits"]) <= ATOL


@pytest.mark.parametrize("scanned", [False, True], ids=["unrolled", "scanned"])
def test_incremental_decoding_matches_reference_full_pass(scanned, device, case_model):
    """Prefix of T-2 tokens into the cache, then the last two one at a time: logits, self- and
    cross-attention rows of each step equal the reference's full-sequence outputs at that position."""
    ref = load_reference_case(CASE)
    model, _ = case_model(CASE, scan_layers=scanned)
    params = jax.device_put(model.params, device)
    ids, types = ref.inputs["input_ids"], ref.inputs["token_type_ids"]
    batch, length = ids.shape
    mask = np.ones((batch, length), np.int32)
    cross = _cross_inputs(ref)
    out = model(
        ids[:, :-2],
        mask,
        types[:, :-2],
        params=params,
        past_key_values=model.init_cache(batch, length),
        **cross,
    )
    assert max_abs_diff(out.logits, ref.outputs["logits"][:, :-2]) <= ATOL
    cache = out.past_key_values
    for t in (length - 2, length - 1):
        out = model(
            ids[:, t : t + 1],
            mask,
            types[:, t : t + 1],
            params=params,
            past_key_values=cache,
            output_attentions=True,
            **cross,
        )
        cache = out.past_key_values
        assert max_abs_diff(out.logits[:, 0], ref.outputs["logits"][:, t]) <= ATOL
        for layer in range(model.config.num_hidden_layers):
            assert (
                max_abs_diff(out.attentions[layer][:, :, 0], ref.outputs[f"attentions.{layer}"][:, :, t])
                <= ATOL
            )
            assert (
                max_abs_diff(
                    out.cross_attentions[layer][:, :, 0], ref.outputs[f"cross_attentions.{layer}"][:, :, t]
                )
                <= ATOL
            )


def test_incremental_decoding_with_relative_positions():
    """Relative positions measure distances from the query's absolute position (the cache offset);
    relative_key_query exercises both the query and the key terms."""
    model = FlaxBertForCausalLM(tiny(is_decoder=True, position_embedding_type="relative_key_query"), seed=1)
    ids = np.random.default_rng(0).integers(5, 99, (2, 8)).astype(np.int32)
    full = model(ids).logits
    out = model(ids[:, :3], past_key_values=model.init_cache(2, 8))
    diffs = [max_abs_diff(out.logits, full[:, :3])]
    cache = out.past_key_values
    for t in range(3, 8):
        out = model(ids[:, t : t + 1], past_key_values=cache)
        cache = out.past_key_values
        diffs.append(max_abs_diff(out.logits[:, 0], full[:, t]))
    assert max(diffs) <= ATOL


def test_cache_index_counts_positions_and_scanned_cache_stacks_layers(decoder):
    model = decoder
    cache = model.init_cache(3, 10)
    assert int(cache["bert"]["encoder"]["layer"]["0"]["attention"]["self"]["cache_index"]) == 0
    assert cache["bert"]["encoder"]["layer"]["1"]["attention"]["self"]["cached_key"].shape == (3, 10, 4, 8)
    ids = np.full((3, 4), 7, np.int32)
    cache = model(ids, past_key_values=cache).past_key_values
    assert int(cache["bert"]["encoder"]["layer"]["1"]["attention"]["self"]["cache_index"]) == 4
    scanned = FlaxBertForCausalLM(tiny(is_decoder=True), scan_layers=True, _do_init=False)
    stacked = scanned.init_cache(3, 10)["bert"]["encoder"]["layer"]["scanned"]["attention"]["self"]
    assert stacked["cached_key"].shape == (2, 3, 10, 4, 8) and stacked["cache_index"].shape == (2,)


def test_decoder_is_causal(decoder):
    """Changing the last token leaves the logits of every earlier position unchanged."""
    model = decoder
    ids = np.random.default_rng(1).integers(5, 99, (2, 8)).astype(np.int32)
    changed = ids.copy()
    changed[:, -1] = np.where(ids[:, -1] != 5, 5, 6)
    a, b = model(ids).logits, model(changed).logits
    assert max_abs_diff(a[:, :-1], b[:, :-1]) == 0.0
    assert max_abs_diff(a[:, -1], b[:, -1]) > 1e-4


def test_cache_errors(decoder):
    model = decoder
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model.init_cache(1, 65)
    cache = model.init_cache(2, 6)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 2\), expected \(2, 6\)"):
        model(np.ones((2, 2), np.int32), np.ones((2, 2), np.int32), past_key_values=cache)
    with pytest.raises(ValueError, match="cache batch"):
        model(np.ones((1, 2), np.int32), past_key_values=cache)
    full = model(np.ones((2, 5), np.int32), past_key_values=cache).past_key_values
    with pytest.raises(ValueError, match=r"sequence of 65 positions \(5 cached \+ 60 new\) is longer"):
        model(np.ones((2, 60), np.int32), np.ones((2, 6), np.int32), past_key_values=full)
    with pytest.raises(ValueError, match="the cache holds 5 of 6 positions and has no room for 2 more"):
        model(np.ones((2, 2), np.int32), past_key_values=full)


# ------------------------------------------------------------------------------------ generation


def _greedy_by_recompute(model, prompt, total, **kwargs) -> np.ndarray:
    """Hand-rolled greedy decoding without a cache: a full forward pass over a fixed [B, total] buffer each
    step, taking the argmax at the last filled position (later, unfilled positions cannot influence it in
    a causal decoder, see test_decoder_is_causal)."""
    seq = np.zeros((prompt.shape[0], total), np.int32)
    seq[:, : prompt.shape[1]] = prompt
    for t in range(prompt.shape[1], total):
        logits = np.asarray(model(seq, **kwargs).logits)
        seq[:, t] = np.argmax(logits[:, t - 1], axis=-1)
    return seq


def test_greedy_generate_equals_greedy_full_recompute(case_model):
    ref = load_reference_case(CASE)
    model, _ = case_model(CASE)
    prompt = ref.inputs["input_ids"][:, :3].astype(np.int32)
    out = model.generate(prompt, max_length=8, return_dict_in_generate=True, **_cross_inputs(ref))
    assert isinstance(out, GenerateOutput) and out.sequences.shape == (2, 8)
    np.testing.assert_array_equal(out.sequences, _greedy_by_recompute(model, prompt, 8, **_cross_inputs(ref)))
    as_function = generate(model, prompt, max_new_tokens=5, **_cross_inputs(ref))  # the same, as an array
    np.testing.assert_array_equal(as_function, out.sequences)


def test_generate_runs_under_jit_and_sampling_restricts_to_top_k(decoder):
    prompt = np.random.default_rng(2).integers(5, 99, (2, 3)).astype(np.int32)
    greedy = np.asarray(decoder.generate(prompt, max_new_tokens=5))
    np.testing.assert_array_equal(greedy, _greedy_by_recompute(decoder, prompt, 8))

    jitted = jax.jit(lambda p, ids: decoder.generate(ids, params=p, max_new_tokens=5))
    np.testing.assert_array_equal(jitted(decoder.params, prompt), greedy)

    top1 = decoder.generate(prompt, max_new_tokens=5, do_sample=True, top_k=1, seed=0)
    np.testing.assert_array_equal(top1, greedy)

    sample = lambda **key: np.asarray(  # noqa: E731
        decoder.generate(prompt, max_new_tokens=5, do_sample=True, temperature=2.0, top_k=10, **key)
    )
    a, b, c = sample(seed=1), sample(seed=1), sample(seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(sample(prng_key=jax.random.key(1)), a)  # seed s is jax.random.key(s)
    logits = np.asarray(decoder(a).logits)
    for t in range(3, 8):  # each sampled token is among the 10 best at its step
        top10 = np.argsort(-logits[:, t - 1], axis=-1)[:, :10]
        assert all(a[i, t] in top10[i] for i in range(2))


def test_generate_stops_rows_at_eos_and_pads_them(decoder):
    prompt = np.random.default_rng(2).integers(5, 99, (2, 3)).astype(np.int32)
    greedy = np.asarray(decoder.generate(prompt, max_new_tokens=5))
    eos = int(greedy[0, 3])  # row 0's first generated token
    out = np.asarray(decoder.generate(prompt, max_new_tokens=5, eos_token_id=eos))
    np.testing.assert_array_equal(out[0, :4], greedy[0, :4])
    assert (out[0, 4:] == 0).all()
    row1_eos = np.flatnonzero(greedy[1, 3:] == eos)
    stop = 3 + (row1_eos[0] + 1 if row1_eos.size else 5)
    np.testing.assert_array_equal(out[1, :stop], greedy[1, :stop])


def test_generate_argument_errors(decoder):
    prompt = np.ones((1, 3), np.int32)
    assert decoder.generate(prompt).shape == (1, 3 + 20)  # neither limit: 20 new tokens
    assert decoder.generate(prompt, max_length=6, max_new_tokens=2).shape == (1, 5)  # max_new_tokens wins
    with pytest.raises(ValueError, match="max_length=3 leaves no room after the prompt of 3 tokens"):
        decoder.generate(prompt, max_length=3)
    with pytest.raises(ValueError, match="longer than max_position_embeddings=64"):
        decoder.generate(prompt, max_new_tokens=62)
    with pytest.raises(ValueError, match="top_k must be >= 0"):
        decoder.generate(prompt, max_new_tokens=2, do_sample=True, top_k=-1)
    with pytest.raises(ValueError, match="top_p must be in"):
        decoder.generate(prompt, max_new_tokens=2, do_sample=True, top_p=1.5)
    with pytest.raises(ValueError, match="seed or prng_key"):
        decoder.generate(prompt, max_new_tokens=2, seed=1, prng_key=jax.random.key(1))
    with pytest.raises(ValueError, match="input_ids holds 120"):
        decoder.generate(np.array([[120]]), max_new_tokens=2)
    with pytest.raises(ValueError, match="generate needs a decoder"):
        generate(FlaxBertModel(tiny(), _do_init=False), prompt)
    with pytest.raises(ValueError, match="is_decoder"):
        FlaxBertModel(tiny(), _do_init=False).init_cache(1, 4)
