"""`prune_heads` of the PyTorch twin (bert_pt.surgery on the shared rules of bert_common.model_api):
pruning equals silencing the heads with a head mask, repeated pruning in the unpruned numbering, the
config records the heads, a pruned model saves and loads; bad arguments change nothing."""

from __future__ import annotations

import pytest
import torch

from bert_pt import BertForMaskedLM, BertModel
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import numpy, tensors


def _model(**changes):
    return BertModel(tiny(**changes)).eval()


def test_pruning_heads_equals_masking_them(tmp_path):
    """Removing heads 1 and 2 of layer 0 and head 0 of layer 1 gives what a head_mask zeroing them gives."""
    model = _model()
    x = tensors(batch(model.config))
    head_mask = torch.ones(2, 4)
    head_mask[0, 1] = head_mask[0, 2] = head_mask[1, 0] = 0
    masked = model(**x, head_mask=head_mask).last_hidden_state
    model.prune_heads({0: [1, 2], 1: [0]})
    assert model.encoder.layer[0].attention.self.query.weight.shape == (16, 32)
    assert model.encoder.layer[0].attention.output.dense.weight.shape == (32, 16)
    assert model.config.pruned_heads == {0: [1, 2], 1: [0]}
    pruned = model(**x)
    assert max_abs_diff(numpy(pruned.last_hidden_state), numpy(masked)) <= ATOL
    assert model(**x, output_attentions=True).attentions[0].shape == (3, 2, 7, 7)
    # pruning again in the original numbering skips heads already gone
    model.prune_heads({0: [2, 3]})
    assert model.encoder.layer[0].attention.self.num_attention_heads == 1
    assert model.config.pruned_heads[0] == [1, 2, 3]
    # a pruned model saves and loads: the config tells the new model which heads to remove first
    model.save_pretrained(tmp_path)
    loaded, info = BertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["mismatched_keys"] == [] and info["missing_keys"] == []
    assert torch.equal(loaded(**x).last_hidden_state, model(**x).last_hidden_state)
    with pytest.raises(ValueError, match="every head"):
        model.prune_heads({0: [0]})
    with pytest.raises(ValueError, match="layer 5"):
        model.prune_heads({5: [0]})


def test_a_pruned_config_builds_a_pruned_model():
    model = BertForMaskedLM(tiny(pruned_heads={"1": [0, 3]})).eval()
    assert model.bert.encoder.layer[1].attention.output.dense.weight.shape == (32, 16)
    assert model.bert.encoder.layer[0].attention.self.value.weight.shape == (32, 32)
    assert model(**tensors(batch(model.config))).logits.shape == (3, 7, 99)


@pytest.mark.parametrize(
    ("heads", "error", "message"),
    [
        ({0: [0, 1, 2, 3]}, ValueError, "every head of layer 0"),
        ({2: [0]}, ValueError, "layer 2, the model has 2 layers"),
        ({-1: [0]}, ValueError, "layer -1"),  # Transformers 4.57.1 prunes the last layer
        ({0: [4]}, ValueError, r"heads \[4\]"),  # Transformers: IndexError after changing the config
        ({1: [-1]}, ValueError, r"heads \[-1\]"),  # Transformers prunes head 3
        ({1: [0], 0: [0, 1, 2, 3]}, ValueError, "every head of layer 0"),  # checked whole: layer 1 kept
        ([0, 1], TypeError, "must map layer index"),
        ({0: [True]}, TypeError, "head index must be an int"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(heads, error, message):
    model = _model()
    before = {name: tuple(p.shape) for name, p in model.named_parameters()}
    with pytest.raises(error, match=message):
        model.prune_heads(heads)
    assert model.config.pruned_heads == {}
    assert {name: tuple(p.shape) for name, p in model.named_parameters()} == before
