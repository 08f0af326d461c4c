"""Bad inputs raise TypeError / ValueError that name the argument and the offending value: every case of
the shared table (tests/common/input_cases.py), then the PyTorch-only ones."""

from __future__ import annotations

import re

import pytest
import torch

from bert_common.config import BertConfig
from bert_pt import BertForMultipleChoice, BertLMHeadModel, BertModel
from tests.common.head_spec import batch, tiny
from tests.common.input_cases import INPUT_CASES
from tests.pt.utils import tensors


@pytest.fixture(scope="module")
def model():
    return BertModel(tiny()).eval()


@pytest.mark.parametrize("case", INPUT_CASES, ids=[c.name for c in INPUT_CASES])
def test_shared_input_case(model, case):
    """The same exception type and first line as in every twin."""
    inputs = tensors(case.change(batch(model.config)))
    with pytest.raises(case.error) as error:
        model(**inputs)
    assert re.search(case.match, str(error.value).splitlines()[0]), str(error.value)


def test_ids_out_of_vocab_range(model):
    with pytest.raises(ValueError, match=r"input_ids holds 99, outside \[0, 99\).*vocab_size=99"):
        model(torch.tensor([[1, 99, 3]]))
    with pytest.raises(ValueError, match="input_ids holds -1"):
        model(torch.tensor([[1, -1, 3]]))


def test_float_input_ids(model):
    with pytest.raises(TypeError, match="input_ids must hold integer ids.*float32"):
        model(torch.tensor([[1.0, 2.0]]))
    with pytest.raises(TypeError, match="input_ids must be a torch.Tensor"):
        model([[1, 2]])


def test_mask_shape_must_match_input_ids(model):
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 4\), expected \(1, 3\)"):
        model(ids, attention_mask=torch.ones(1, 4))
    with pytest.raises(ValueError, match=r"token_type_ids has shape \(3,\), expected \(1, 3\)"):
        model(ids, token_type_ids=torch.zeros(3, dtype=torch.long))


def test_mask_values_are_read_from_floats_and_bools_pass(model):
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match=r"attention_mask must hold only 0 \(masked\) and 1 \(attend\)"):
        model(ids, attention_mask=torch.tensor([[1.0, 0.5, 1.0]]))
    as_bool = model(ids, attention_mask=torch.tensor([[True, True, False]])).last_hidden_state
    as_int = model(ids, attention_mask=torch.tensor([[1, 1, 0]])).last_hidden_state
    assert torch.equal(as_bool, as_int)


def test_token_types_and_positions_in_range(model):
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match="token_type_ids holds 2.*type_vocab_size=2"):
        model(ids, token_type_ids=torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="position_ids holds 64.*max_position_embeddings=64"):
        model(ids, position_ids=torch.tensor([[0, 1, 64]]))
    with pytest.raises(TypeError, match="token_type_ids must hold integer ids"):
        model(ids, token_type_ids=torch.zeros(1, 3))


def test_sequence_longer_than_position_table(model):
    with pytest.raises(ValueError, match="65 positions.*max_position_embeddings=64"):
        model(torch.ones(1, 65, dtype=torch.long))


def test_exactly_one_of_ids_and_embeddings(model):
    with pytest.raises(ValueError, match="exactly one of input_ids and inputs_embeds, got neither"):
        model()
    with pytest.raises(ValueError, match="got both"):
        model(torch.tensor([[1]]), inputs_embeds=torch.zeros(1, 1, 32))
    with pytest.raises(ValueError, match=r"inputs_embeds must have shape \[batch, sequence, 32\]"):
        model(inputs_embeds=torch.zeros(1, 3, 16))
    with pytest.raises(TypeError, match="inputs_embeds must hold floating-point vectors"):
        model(inputs_embeds=torch.zeros(1, 3, 32, dtype=torch.long))


def test_encoder_states_need_cross_attention(model):
    with pytest.raises(ValueError, match="no cross-attention layers"):
        model(torch.tensor([[1, 2]]), encoder_hidden_states=torch.zeros(1, 3, 32))
    decoder = BertLMHeadModel(tiny(is_decoder=True, add_cross_attention=True)).eval()
    with pytest.raises(ValueError, match=r"encoder_attention_mask has shape \(1, 4\), expected \(1, 3\)"):
        decoder(
            torch.tensor([[1, 2]]),
            encoder_hidden_states=torch.zeros(1, 3, 32),
            encoder_attention_mask=torch.ones(1, 4),
        )


def test_bad_cache(model):
    decoder = BertLMHeadModel(tiny(is_decoder=True)).eval()
    with pytest.raises(ValueError, match="past_key_values has 1 layers, the model has 2"):
        decoder(torch.tensor([[1]]), past_key_values=((torch.zeros(1, 4, 2, 8),) * 2,))
    with pytest.raises(TypeError, match="past_key_values must be the tuple"):
        decoder(torch.tensor([[1]]), past_key_values=torch.zeros(2))
    past = decoder(torch.tensor([[1, 2]]), use_cache=True).past_key_values
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 1\), expected \(1, 3\)"):
        decoder(torch.tensor([[3]]), past_key_values=past, attention_mask=torch.ones(1, 1))
    with pytest.raises(ValueError, match=r"sequence of 65 positions \(2 cached \+ 63 new\)"):
        decoder(torch.ones(1, 63, dtype=torch.long), past_key_values=past)


def test_head_mask_shape(model):
    with pytest.raises(ValueError, match=r"head_mask has shape \(3,\), expected \(4,\) or \(2, 4\)"):
        model(torch.tensor([[1, 2]]), head_mask=torch.ones(3))


def test_multiple_choice_needs_choices():
    config = tiny()
    with pytest.raises(ValueError, match=r"input_ids must have shape \[batch, choices, sequence\]"):
        BertForMultipleChoice(config)(**tensors(batch(config)))


def test_labels_outside_their_classes_name_the_head():
    config = tiny()
    with pytest.raises(ValueError, match=r"labels holds 3, outside \[0, 3\).*BertForMultipleChoice"):
        x = {k: v.reshape(1, 3, -1) for k, v in tensors(batch(config)).items()}
        BertForMultipleChoice(config)(**x, labels=torch.tensor([3]))


def test_config_must_be_a_bert_config():
    with pytest.raises(TypeError, match="BertConfig"):
        BertModel({"hidden_size": 32})
    assert isinstance(BertModel(tiny()).config, BertConfig)
