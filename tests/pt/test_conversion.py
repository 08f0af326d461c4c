"""conversion.pt, the PyTorch weight adapter: canonical weights <-> parameters, derived from the name table."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from bert_pt import BertForMaskedLM, BertForPreTraining, BertLMHeadModel, BertModel
from conversion.canonical import LoadReport
from conversion.loading import WeightAdapter
from conversion.names import to_format
from conversion.pt import aliases, assign, expected_shapes, to_canonical, to_numpy
from conversion.shapes import model_shapes, tied_weights
from tests.common.head_spec import tiny


def test_the_module_is_the_weight_adapter():
    """conversion.pt has the three functions of conversion.loading.WeightAdapter, with its parameters."""
    import conversion.pt

    for name in ("expected_shapes", "assign", "to_canonical"):
        protocol = list(inspect.signature(getattr(WeightAdapter, name)).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(conversion.pt, name)).parameters) == protocol, name


def test_canonical_names_are_the_state_dict_names_without_aliases():
    model = BertForPreTraining(tiny())
    canonical = to_canonical(model)
    state = model.state_dict()
    assert set(canonical) == set(state) - {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    assert all(to_format("pt", name) == (name, False) for name in canonical)
    assert all(np.array_equal(canonical[k], state[k].numpy()) for k in canonical)
    assert aliases(model) == {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }
    assert expected_shapes(model)["cls.predictions.bias"] == (99,)


@pytest.mark.parametrize("tie", [True, False])
@pytest.mark.parametrize("head", ["BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel", "BertModel"])
def test_shared_tied_rule_is_what_pytorch_shares(head, tie):
    """conversion.shapes.tied_weights (the rule of every twin) names exactly the Parameters bert_pt shares
    with the word embeddings; the decoder-bias alias is PyTorch's own and always there."""
    config = tiny(tie_word_embeddings=tie, is_decoder=head == "BertLMHeadModel")
    model = {
        "BertForPreTraining": BertForPreTraining,
        "BertForMaskedLM": BertForMaskedLM,
        "BertLMHeadModel": BertLMHeadModel,
        "BertModel": BertModel,
    }[head](config)
    expected = expected_shapes(model)
    found = aliases(model)
    found.pop("cls.predictions.decoder.bias", None)
    assert found == tied_weights(head, config, expected)
    assert expected == model_shapes(config, head)


def test_untied_decoder_is_a_weight_of_its_own():
    model = BertForMaskedLM(tiny(tie_word_embeddings=False))
    assert "cls.predictions.decoder.weight" in expected_shapes(model)
    assert aliases(model) == {"cls.predictions.decoder.bias": "cls.predictions.bias"}


def test_base_model_names_have_no_prefix_and_no_buffers():
    names = set(expected_shapes(BertModel(tiny())))
    assert "embeddings.word_embeddings.weight" in names and "pooler.dense.weight" in names
    assert not any(n.startswith("bert.") for n in names)
    assert not any(n.endswith(("position_ids", "token_type_ids")) for n in names)


def test_assign_casts_and_checks():
    model = BertModel(tiny()).to(torch.float16)
    weights = {"pooler.dense.bias": np.arange(32, dtype=np.float32)}
    report = LoadReport()
    assert assign(model, weights, report) is None
    assert report == LoadReport(), "assign records nothing: fit_to_model already did"
    assert model.pooler.dense.bias.dtype == torch.float16
    assert model.pooler.dense.bias[5].item() == 5.0
    with pytest.raises(ValueError, match="does not fit"):
        assign(model, {"pooler.dense.bias": np.zeros(3, dtype=np.float32)}, report)
    with pytest.raises(KeyError, match="not a weight"):
        assign(model, {"cls.predictions.bias": np.zeros(3, dtype=np.float32)}, report)
    mlm = BertForMaskedLM(tiny())
    with pytest.raises(KeyError, match="alias of 'bert.embeddings.word_embeddings.weight'"):
        assign(mlm, {"cls.predictions.decoder.weight": np.zeros((99, 32), dtype=np.float32)}, report)


def test_bfloat16_is_widened_exactly():
    value = torch.tensor([1.5, -2.25, 3.0e38], dtype=torch.bfloat16)
    array = to_numpy(value)
    assert array.dtype == np.float32
    assert torch.equal(torch.from_numpy(array).to(torch.bfloat16), value)
    assert to_numpy(torch.ones(2, dtype=torch.float16)).dtype == np.float16
