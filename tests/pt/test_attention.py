"""Attention: the SDPA and eager implementations agree, masks are additive finfo.min, fully padded rows
stay finite in every dtype, decoders are causal, activations are the named formulas."""

from __future__ import annotations

import math

import pytest
import torch

from bert_pt import BertLMHeadModel, BertModel
from bert_pt.activations import get_activation
from bert_pt.masks import cross_attention_mask, head_mask, self_attention_mask
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import numpy, tensors, to

CONFIGS = {
    "absolute": {},
    "relative_key": {"position_embedding_type": "relative_key"},
    "relative_key_query": {"position_embedding_type": "relative_key_query"},
    "decoder": {"is_decoder": True},
    "decoder-cross": {"is_decoder": True, "add_cross_attention": True},
}


def _twins(config, device):
    """The same weights under both implementations."""
    sdpa = BertModel(config, attn_implementation="sdpa").eval().to(device)
    eager = BertModel(config, attn_implementation="eager").eval().to(device)
    eager.load_state_dict(sdpa.state_dict())
    return sdpa, eager


@pytest.mark.parametrize("variant", sorted(CONFIGS))
def test_sdpa_matches_eager(variant, device):
    config = tiny(**CONFIGS[variant])
    sdpa, eager = _twins(config, device)
    x = tensors(batch(config))
    x["attention_mask"][2, :] = 0  # and a fully padded row
    if config.add_cross_attention:
        x["encoder_hidden_states"] = torch.randn(3, 5, 32)
        x["encoder_attention_mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    x = to(x, device)
    with torch.no_grad():
        a = sdpa(**x, output_hidden_states=True)
        b = eager(**x, output_hidden_states=True)
    assert sdpa.attn_implementation == "sdpa" and eager.attn_implementation == "eager"
    for i, (ha, hb) in enumerate(zip(a.hidden_states, b.hidden_states)):
        assert max_abs_diff(numpy(ha), numpy(hb)) <= ATOL, f"hidden_states.{i}"
    assert max_abs_diff(numpy(a.pooler_output), numpy(b.pooler_output)) <= ATOL


def test_output_attentions_falls_back_to_eager_silently():
    """Asking for the probabilities on an SDPA model gives the eager numbers and leaves the setting alone."""
    config = tiny()
    sdpa, eager = _twins(config, "cpu")
    x = tensors(batch(config))
    with torch.no_grad():
        a = sdpa(**x, output_attentions=True)
        b = eager(**x, output_attentions=True)
    assert sdpa.attn_implementation == "sdpa"
    assert all(torch.equal(p, q) for p, q in zip(a.attentions, b.attentions))
    assert torch.equal(a.last_hidden_state, b.last_hidden_state)


def test_set_attn_implementation_validates():
    model = BertModel(tiny())
    model.set_attn_implementation("eager")
    assert all(layer.attention.self.attn_implementation == "eager" for layer in model.encoder.layer)
    with pytest.raises(ValueError, match="attn_implementation"):
        model.set_attn_implementation("flash_attention_2")
    with pytest.raises(ValueError, match="attn_implementation"):
        BertModel(tiny(), attn_implementation="fast")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_fully_padded_row_is_finite(dtype, attn_implementation, device):
    """Every score is -36 here, so in fp16 `score + finfo.min` overflows to -inf for the whole padded row:
    without the clamp its softmax would be 0/0 = NaN."""
    config = tiny()
    model = BertModel(config, attn_implementation=attn_implementation).eval()
    with torch.no_grad():
        for layer in model.encoder.layer:
            heads = layer.attention.self
            heads.query.weight.zero_()
            heads.key.weight.zero_()
            heads.query.bias.fill_(-3.0)
            heads.key.bias.fill_(3.0)
    model.to(device=device, dtype=dtype)
    x = tensors(batch(config))
    x["attention_mask"][0] = 0
    with torch.no_grad():
        out = model(**to(x, device), output_hidden_states=True)
    assert out.last_hidden_state.dtype == dtype
    assert all(torch.isfinite(h).all() for h in out.hidden_states)
    assert torch.isfinite(out.pooler_output).all()


def test_fully_padded_row_attends_uniformly():
    """Transformers' additive mask makes every score of a fully masked row finfo.min: uniform attention."""
    config = tiny()
    model = BertModel(config).eval()
    x = tensors(batch(config))
    x["attention_mask"][0] = 0
    with torch.no_grad():
        out = model(**x, output_attentions=True)
    assert torch.allclose(out.attentions[0][0], torch.full_like(out.attentions[0][0], 1 / 7))


def test_additive_masks_use_finfo_min():
    mask = torch.tensor([[1, 1, 0]])
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        m = self_attention_mask(mask, 1, 3, 0, causal=False, dtype=dtype, device=torch.device("cpu"))
        assert m.shape == (1, 1, 1, 3) and m.dtype == dtype
        assert m[0, 0, 0].tolist() == [0.0, 0.0, torch.finfo(dtype).min]
    assert (
        self_attention_mask(None, 1, 3, 0, causal=False, dtype=torch.float32, device=torch.device("cpu"))
        is None
    )
    assert cross_attention_mask(None, torch.float32) is None
    assert cross_attention_mask(torch.tensor([[0, 1]]), torch.float32)[0, 0, 0].tolist() == [
        torch.finfo(torch.float32).min,
        0,
    ]


def test_causal_mask_with_cache_offsets():
    """Query i of 2 new tokens after P=3 cached ones sees keys 0 .. 3 + i."""
    m = self_attention_mask(None, 1, 2, 3, causal=True, dtype=torch.float32, device=torch.device("cpu"))
    allowed = (m[0, 0] == 0).int().tolist()
    assert allowed == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]


def test_head_mask_shapes():
    per_layer = head_mask(torch.tensor([1.0, 0.0]), 3, 2, torch.float32)
    assert len(per_layer) == 3 and all(h.shape == (1, 2, 1, 1) for h in per_layer)
    with pytest.raises(ValueError, match=r"head_mask has shape \(3, 3\), expected \(2,\) or \(3, 2\)"):
        head_mask(torch.ones(3, 3), 3, 2, torch.float32)


@pytest.mark.parametrize("position_embedding_type", ["absolute", "relative_key", "relative_key_query"])
def test_decoder_is_causal(position_embedding_type):
    """Changing token t of a decoder's input leaves the outputs at positions < t unchanged."""
    config = tiny(is_decoder=True, position_embedding_type=position_embedding_type)
    model = BertLMHeadModel(config).eval()
    ids = tensors(batch(config, pad_row=None))["input_ids"]
    changed = ids.clone()
    changed[:, 4] = (changed[:, 4] + 1) % config.vocab_size
    a, b = model(ids).logits, model(changed).logits
    assert torch.equal(a[:, :4], b[:, :4])
    assert max_abs_diff(numpy(a[:, 4:]), numpy(b[:, 4:])) > 1e-4
    encoder = BertModel(tiny(position_embedding_type=position_embedding_type)).eval()
    a, b = encoder(ids).last_hidden_state, encoder(changed).last_hidden_state
    assert max_abs_diff(numpy(a[:, :4]), numpy(b[:, :4])) > 1e-4, "an encoder sees the whole sequence"


def test_relative_positions_ignore_absolute_offsets():
    """With relative positions only distances matter: the position table is not used."""
    config = tiny(position_embedding_type="relative_key")
    model = BertModel(config).eval()
    x = tensors(batch(config))
    a = model(**x).last_hidden_state
    with torch.no_grad():
        model.embeddings.position_embeddings.weight.normal_()
    assert torch.equal(a, model(**x).last_hidden_state)
    assert model.encoder.layer[0].attention.self.distance_embedding.weight.shape == (2 * 64 - 1, 8)


@pytest.mark.parametrize(
    "name, formula",
    [
        ("gelu", lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
        ("gelu_new", lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
        (
            "gelu_pytorch_tanh",
            lambda x: 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        ),
        ("gelu_fast", lambda x: 0.5 * x * (1 + math.tanh(0.7978845608 * x * (1 + 0.044715 * x * x)))),
        ("relu", lambda x: max(x, 0.0)),
        ("silu", lambda x: x / (1 + math.exp(-x))),
        ("swish", lambda x: x / (1 + math.exp(-x))),
        ("tanh", math.tanh),
        ("quick_gelu", lambda x: x / (1 + math.exp(-1.702 * x))),
    ],
)
def test_activations_follow_their_formulas(name, formula):
    points = [-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.5]
    got = get_activation(name)(torch.tensor(points, dtype=torch.float64)).tolist()
    assert got == pytest.approx([formula(p) for p in points], abs=1e-7)


def test_exact_and_tanh_gelu_differ():
    """ "gelu" must be the erf form: at x = 1 the tanh form is 1.6e-4 away."""
    x = torch.tensor([1.0], dtype=torch.float64)
    assert abs(get_activation("gelu")(x) - get_activation("gelu_new")(x)).item() > 1e-4
    with pytest.raises(ValueError, match="unknown activation"):
        get_activation("mish")


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_autocast_bfloat16(attn_implementation):
    """Under autocast the mask (built in fp32) meets bf16 scores: it is narrowed without becoming -inf."""
    config = tiny()
    model = BertModel(config, attn_implementation=attn_implementation).eval()
    x = tensors(batch(config))
    x["attention_mask"][0] = 0
    with torch.no_grad():
        reference = model(**x).last_hidden_state
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(**x).last_hidden_state
    assert torch.isfinite(mixed).all()
    assert max_abs_diff(numpy(mixed), numpy(reference)) < 0.1
