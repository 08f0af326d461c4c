"""Decoding with the key/value cache matches recomputing the whole sequence, and generate() uses it."""

from __future__ import annotations

import pytest
import torch

from bert_common.generation import GenerateOutput
from bert_pt import BertLMHeadModel, BertModel
from bert_pt.generation import generate
from tests.common.head_spec import tiny
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import numpy

B, T = 2, 9


def _decoder(device, **changes):
    return BertLMHeadModel(tiny(is_decoder=True, **changes)).eval().to(device)


def _ids(seed=0, length=T):
    return torch.randint(1, 99, (B, length), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("position_embedding_type", ["absolute", "relative_key", "relative_key_query"])
@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_cache_matches_recompute(position_embedding_type, attn_implementation, device):
    """Prefix of 4, then chunks of 3, 1 and 1 tokens: every chunk's logits equal the full forward's."""
    model = _decoder(device, position_embedding_type=position_embedding_type)
    model.set_attn_implementation(attn_implementation)
    ids = _ids().to(device)
    mask = torch.ones(B, T, dtype=torch.long, device=device)
    mask[1, :2] = 0  # left padding in row 1
    with torch.no_grad():
        full = model(ids, attention_mask=mask, use_cache=True)
        past, pieces, start = None, [], 0
        for stop in (4, 7, 8, 9):
            out = model(
                ids[:, start:stop], attention_mask=mask[:, :stop], past_key_values=past, use_cache=True
            )
            pieces.append(out.logits)
            past, start = out.past_key_values, stop
    incremental = torch.cat(pieces, dim=1)
    real = mask.bool()  # padded query positions attend nothing real; only real tokens are compared
    assert max_abs_diff(numpy(incremental[real]), numpy(full.logits[real])) <= ATOL
    for layer_full, layer_inc in zip(full.past_key_values, past):
        for a, b in zip(layer_full, layer_inc):
            assert a.shape == b.shape == (B, 4, T, 8)
            assert max_abs_diff(numpy(a[0]), numpy(b[0])) <= ATOL


def test_cross_attention_cache_is_computed_once(device):
    model = _decoder(device, add_cross_attention=True)
    ids = _ids().to(device)
    encoder_states = torch.randn(B, 5, 32, device=device)
    encoder_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], device=device)
    enc = {"encoder_hidden_states": encoder_states, "encoder_attention_mask": encoder_mask}
    with torch.no_grad():
        full = model(ids, **enc).logits
        first = model(ids[:, :6], use_cache=True, **enc)
        cross_keys = first.past_key_values[0][2]
        assert cross_keys.shape == (B, 4, 5, 8)
        # later steps may omit the encoder states: their keys and values are in the cache
        second = model(
            ids[:, 6:],
            past_key_values=first.past_key_values,
            encoder_attention_mask=encoder_mask,
            use_cache=True,
        )
    assert second.past_key_values[0][2] is cross_keys
    assert max_abs_diff(numpy(torch.cat([first.logits, second.logits], 1)), numpy(full)) <= ATOL


def test_encoders_return_no_cache():
    model = BertModel(tiny()).eval()
    assert model(_ids(), use_cache=True).past_key_values is None
    with pytest.raises(ValueError, match="only used by decoders"):
        model(_ids(), past_key_values=((torch.zeros(B, 4, 1, 8),) * 2,) * 2)


def _greedy_without_cache(model, ids, steps):
    for _ in range(steps):
        logits = model(ids, use_cache=False).logits[:, -1]
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    return ids


def test_greedy_generate_equals_argmax_of_full_recompute(device):
    model = _decoder(device)
    prompt = _ids(length=4).to(device)
    generated = model.generate(prompt, max_new_tokens=6)
    assert generated.shape == (B, 10)
    assert torch.equal(generated[:, :4], prompt)
    assert torch.equal(generated, _greedy_without_cache(model, prompt, 6))


def test_generate_with_cross_attention(device):
    model = _decoder(device, add_cross_attention=True)
    prompt = _ids(length=3).to(device)
    states = torch.randn(B, 5, 32, device=device)
    generated = model.generate(prompt, max_new_tokens=4, encoder_hidden_states=states)
    ids = prompt
    for _ in range(4):
        logits = model(ids, encoder_hidden_states=states, use_cache=False).logits[:, -1]
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generated, ids)


def test_top_k_1_sampling_is_greedy_and_samples_stay_in_top_k():
    model = _decoder("cpu")
    prompt = _ids(length=4)
    greedy = model.generate(prompt, max_new_tokens=5)
    assert torch.equal(model.generate(prompt, max_new_tokens=5, do_sample=True, top_k=1), greedy)
    sampled = model.generate(prompt, max_new_tokens=5, do_sample=True, top_k=3, temperature=0.7, seed=3)
    for step in range(4, 9):
        logits = model(sampled[:, :step]).logits[:, -1]
        top3 = logits.topk(3, dim=-1).indices
        assert all(sampled[b, step] in top3[b] for b in range(B))
    again = model.generate(
        prompt,
        max_new_tokens=5,
        do_sample=True,
        top_k=3,
        temperature=0.7,
        seed=3,
    )
    assert torch.equal(sampled, again)


def test_eos_finishes_a_sequence_and_pads_it():
    model = _decoder("cpu")
    prompt = _ids(length=4)
    greedy = model.generate(prompt, max_new_tokens=6)
    eos = int(greedy[0, 5])  # row 0 produces it at its second new token
    out = model.generate(prompt, max_new_tokens=6, eos_token_id=eos, pad_token_id=0)
    first = int((greedy[0, 4:] == eos).nonzero()[0])
    assert torch.equal(out[0, : 4 + first + 1], greedy[0, : 4 + first + 1])
    assert torch.all(out[0, 4 + first + 1 :] == 0)
    # a single finished row stops generation early
    solo = model.generate(prompt[:1], max_new_tokens=6, eos_token_id=eos)
    assert solo.shape[1] == 4 + first + 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": 0.0, "do_sample": True}, "temperature"),
        ({"top_k": -1, "do_sample": True}, "top_k"),
        ({"top_p": 0.0, "do_sample": True}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_length": 4}, "max_length"),
        ({"max_new_tokens": 61}, "max_position_embeddings"),
        ({"max_new_tokens": -1}, "max_new_tokens"),
        ({"eos_token_id": 99}, "eos_token_id"),
    ],
)
def test_generate_validates_arguments(kwargs, match):
    model = _decoder("cpu")
    with pytest.raises(ValueError, match=match):
        model.generate(_ids(length=4), **kwargs)


def test_generate_needs_a_decoder():
    model = BertLMHeadModel(tiny()).eval()
    with pytest.raises(ValueError, match="is_decoder=True"):
        model.generate(_ids(length=4), max_new_tokens=2)


def test_top_p_keeps_the_nucleus_and_tiny_top_p_is_greedy():
    model = _decoder("cpu")
    prompt = _ids(length=4)
    greedy = model.generate(prompt, max_new_tokens=5)
    assert torch.equal(model.generate(prompt, max_new_tokens=5, do_sample=True, top_p=1e-6, seed=0), greedy)
    sampled = model.generate(prompt, max_new_tokens=5, do_sample=True, top_p=0.5, seed=1)
    for step in range(4, 9):
        probs = model(sampled[:, :step]).logits[:, -1].softmax(-1)
        ranked, order = probs.sort(dim=-1, descending=True)
        before = ranked.cumsum(-1) - ranked  # probability of the tokens ranked above each one
        for b in range(B):
            allowed = order[b][before[b] < 0.5]
            assert sampled[b, step] in allowed


def test_generate_limits_and_dict_output():
    model = _decoder("cpu")
    prompt = _ids(length=4)
    default = model.generate(prompt)
    assert default.shape == (B, 4 + 20), "20 new tokens by default"
    assert torch.equal(model.generate(prompt, max_length=7), default[:, :7])
    assert torch.equal(model.generate(prompt, max_new_tokens=3, max_length=50), default[:, :7])
    out = model.generate(prompt, max_new_tokens=3, return_dict_in_generate=True)
    assert isinstance(out, GenerateOutput) and torch.equal(out.sequences, default[:, :7])
    assert torch.equal(generate(model, prompt, None, max_new_tokens=3), default[:, :7])
