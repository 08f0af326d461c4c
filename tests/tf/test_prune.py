"""`prune_heads` of the Keras twin: bert_pt's semantics (heads numbered as in the unpruned model, repeated
pruning, `config.pruned_heads`, a pruned config builds pruned, save/load round trip), checked against the
unpruned model with the same heads silenced by a head mask, which no pruning code computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bert_tf import TFBertForMaskedLM, TFBertModel
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL


def _shapes(model, layer: int) -> dict[str, tuple[int, ...]]:
    prefix = f"encoder/layer_._{layer}/attention/"
    return {
        w.path.split(prefix, 1)[1]: tuple(w.shape)
        for w in model.weights
        if prefix in w.path and "LayerNorm" not in w.path
    }


def test_pruning_equals_masking_the_heads_and_round_trips(tmp_path):
    config = tiny()
    model = TFBertModel(config)
    x = batch(config)
    # Heads 1, 2 of layer 0 and head 0 of layer 1 silenced by the head mask of the unpruned model: the value
    # pruning must give (the masked heads add nothing to the output projection).
    head_mask = np.ones((2, 4), np.float32)
    head_mask[0, 1] = head_mask[0, 2] = head_mask[1, 0] = 0
    masked = model(x, head_mask=head_mask).last_hidden_state.numpy()

    model.prune_heads({0: [1, 2], 1: [0]})
    assert _shapes(model, 0) == {  # Keras kernels are [in, out]: query [H, N_l * D], output [N_l * D, H]
        "self/query/kernel": (32, 16),
        "self/query/bias": (16,),
        "self/key/kernel": (32, 16),
        "self/key/bias": (16,),
        "self/value/kernel": (32, 16),
        "self/value/bias": (16,),
        "output/dense/kernel": (16, 32),
        "output/dense/bias": (32,),
    }
    assert _shapes(model, 1)["self/query/kernel"] == (32, 24)
    assert config.pruned_heads == {0: [1, 2], 1: [0]}
    pruned = model(x, output_attentions=True)
    assert np.abs(pruned.last_hidden_state.numpy() - masked).max() <= ATOL
    assert pruned.attentions[0].shape == (3, 2, 7, 7) and pruned.attentions[1].shape == (3, 3, 7, 7)

    # again, in the numbering of the unpruned model: head 2 is gone already, head 3 goes
    model.prune_heads({0: [2, 3]})
    assert model.bert.encoder.layer[0].attention.self.num_heads == 1
    assert config.pruned_heads == {0: [1, 2, 3], 1: [0]}

    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruned_heads"] == {"0": [1, 2, 3], "1": [0]}
    loaded, info = TFBertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["mismatched_keys"] == [] and info["unexpected_keys"] == []
    assert _shapes(loaded, 0)["self/query/kernel"] == (32, 8)
    np.testing.assert_array_equal(loaded(x).last_hidden_state.numpy(), model(x).last_hidden_state.numpy())


def test_a_pruned_config_builds_a_pruned_model():
    model = TFBertForMaskedLM(tiny(pruned_heads={"1": [0, 3]}))
    assert _shapes(model, 1)["output/dense/kernel"] == (16, 32)
    assert _shapes(model, 0)["self/value/kernel"] == (32, 32)
    assert model(batch(model.config)).logits.shape == (3, 7, 99)


@pytest.mark.parametrize(
    ("heads", "error", "message"),
    [
        ({0: [0, 1, 2, 3]}, ValueError, "every head of layer 0"),
        ({0: [3]}, ValueError, r"every head of layer 0"),  # with 0, 1, 2 gone below
        ({2: [0]}, ValueError, "layer 2, the model has 2 layers"),
        ({-1: [0]}, ValueError, "layer -1"),  # Transformers would prune the last layer
        ({0: [4]}, ValueError, r"heads \[4\]"),
        ({1: [-1]}, ValueError, r"heads \[-1\]"),  # Transformers would prune head 3
        ([0, 1], TypeError, "must map layer index"),
        ({0: 1}, TypeError, "list of head indices"),
        ({0: [1.5]}, TypeError, "head index must be an int"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(heads, error, message):
    config = tiny()
    model = TFBertModel(config)
    model.prune_heads({0: [0, 1]})
    if heads == {0: [3]}:
        model.prune_heads({0: [2]})
    before = {w.path: tuple(w.shape) for w in model.weights}
    pruned = dict(config.pruned_heads)
    with pytest.raises(error, match=message):
        model.prune_heads(heads)
    assert config.pruned_heads == pruned
    assert {w.path: tuple(w.shape) for w in model.weights} == before
