"""conversion.pt: canonical weights <-> PyTorch parameters, derived from the name table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bert_pt import BertForMaskedLM, BertForPreTraining, BertModel
from conversion.names import to_format
from conversion.pt import expected_shapes, load_canonical, module_to_canonical, tied_weights, to_numpy
from tests.pt.utils import tiny


def test_canonical_names_are_the_state_dict_names_without_aliases():
    model = BertForPreTraining(tiny())
    canonical = module_to_canonical(model)
    state = model.state_dict()
    assert set(canonical) == set(state) - {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    assert all(to_format("pt", name) == (name, False) for name in canonical)
    assert all(np.array_equal(canonical[k], state[k].numpy()) for k in canonical)
    assert tied_weights(model) == {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }
    assert expected_shapes(model)["cls.predictions.bias"] == (99,)


def test_untied_decoder_is_a_weight_of_its_own():
    model = BertForMaskedLM(tiny(tie_word_embeddings=False))
    assert "cls.predictions.decoder.weight" in expected_shapes(model)
    assert tied_weights(model) == {"cls.predictions.decoder.bias": "cls.predictions.bias"}


def test_base_model_names_have_no_prefix_and_no_buffers():
    names = set(expected_shapes(BertModel(tiny())))
    assert "embeddings.word_embeddings.weight" in names and "pooler.dense.weight" in names
    assert not any(n.startswith("bert.") for n in names)
    assert not any(n.endswith(("position_ids", "token_type_ids")) for n in names)


def test_load_canonical_casts_and_checks():
    model = BertModel(tiny()).to(torch.float16)
    weights = {"pooler.dense.bias": np.arange(32, dtype=np.float32)}
    assert load_canonical(model, weights) == ["pooler.dense.bias"]
    assert model.pooler.dense.bias.dtype == torch.float16
    assert model.pooler.dense.bias[5].item() == 5.0
    with pytest.raises(ValueError, match="does not fit"):
        load_canonical(model, {"pooler.dense.bias": np.zeros(3, dtype=np.float32)})
    with pytest.raises(KeyError, match="not a weight"):
        load_canonical(model, {"cls.predictions.bias": np.zeros(3, dtype=np.float32)})
    mlm = BertForMaskedLM(tiny())
    with pytest.raises(KeyError, match="alias of 'bert.embeddings.word_embeddings.weight'"):
        load_canonical(mlm, {"cls.predictions.decoder.weight": np.zeros((99, 32), dtype=np.float32)})


def test_bfloat16_is_widened_exactly():
    value = torch.tensor([1.5, -2.25, 3.0e38], dtype=torch.bfloat16)
    array = to_numpy(value)
    assert array.dtype == np.float32
    assert torch.equal(torch.from_numpy(array).to(torch.bfloat16), value)
    assert to_numpy(torch.ones(2, dtype=torch.float16)).dtype == np.float16
