"""`prune_heads` of the Flax twin: bert_pt's semantics on a parameter tree held outside the module (a new
tree is set and returned; the module reads each layer's head count from `config.pruned_heads`), checked
against the unpruned model with the same heads silenced by a head mask; and the PyTorch names of
gradient checkpointing."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from bert_flax import FlaxBertForMaskedLM, FlaxBertModel
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL


def _attention_shapes(params, layer: int) -> dict[str, tuple[int, ...]]:
    tree = params.get("bert", params)["encoder"]["layer"][str(layer)]["attention"]
    return {
        "/".join(str(k.key) for k in path): leaf.shape
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
    }


def test_pruning_equals_masking_the_heads_and_round_trips(tmp_path):
    config = tiny()
    model = FlaxBertModel(config)
    x = batch(config)
    head_mask = np.ones((2, 4), np.float32)
    head_mask[0, 1] = head_mask[0, 2] = head_mask[1, 0] = 0
    masked = np.asarray(model(**x, head_mask=head_mask).last_hidden_state)
    old = model.params

    params = model.prune_heads({0: [1, 2], 1: [0]})
    assert params is model.params and old is not params
    shapes = _attention_shapes(params, 0)
    assert shapes["self/query/kernel"] == (32, 16) and shapes["self/value/bias"] == (16,)
    assert shapes["output/dense/kernel"] == (16, 32) and shapes["output/dense/bias"] == (32,)
    assert _attention_shapes(params, 1)["self/key/kernel"] == (32, 24)
    assert _attention_shapes(old, 0)["self/query/kernel"] == (32, 32)  # the old tree is untouched
    assert config.pruned_heads == {0: [1, 2], 1: [0]}
    pruned = model(**x, output_attentions=True)
    assert np.abs(np.asarray(pruned.last_hidden_state) - masked).max() <= ATOL
    assert pruned.attentions[0].shape == (3, 2, 7, 7) and pruned.attentions[1].shape == (3, 3, 7, 7)

    model.prune_heads({0: [2, 3]})  # numbering of the unpruned model: 2 is gone already
    assert config.pruned_heads == {0: [1, 2, 3], 1: [0]}
    assert _attention_shapes(model.params, 0)["self/query/kernel"] == (32, 8)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruned_heads"] == {"0": [1, 2, 3], "1": [0]}
    loaded, info = FlaxBertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["mismatched_keys"] == [] and info["unexpected_keys"] == []
    np.testing.assert_array_equal(
        np.asarray(loaded(**x).last_hidden_state), np.asarray(model(**x).last_hidden_state)
    )


def test_a_pruned_config_builds_pruned_params_and_head_models_prune_under_bert():
    model = FlaxBertForMaskedLM(tiny(pruned_heads={"1": [0, 3]}))
    assert _attention_shapes(model.params, 1)["output/dense/kernel"] == (16, 32)
    assert _attention_shapes(model.params, 0)["self/query/kernel"] == (32, 32)
    model.prune_heads({0: [0]})
    assert _attention_shapes(model.params, 0)["self/query/kernel"] == (32, 24)
    assert model(**batch(model.config)).logits.shape == (3, 7, 99)


def test_scanned_layers_prune_alike_or_refuse():
    config = tiny()
    model = FlaxBertModel(config, scan_layers=True)
    model.prune_heads({0: [1], 1: [2]})  # every layer keeps 3 heads: still one layer shape
    assert model.params["encoder"]["layer"]["scanned"]["attention"]["self"]["query"]["kernel"].shape == (
        2,
        32,
        24,
    )
    with pytest.raises(ValueError, match=r"leave the layers \[2, 3\] heads"):
        model.prune_heads({0: [0]})
    assert config.pruned_heads == {0: [1], 1: [2]}


@pytest.mark.parametrize(
    ("heads", "error", "message"),
    [
        ({0: [0, 1, 2, 3]}, ValueError, "every head of layer 0"),
        ({2: [0]}, ValueError, "layer 2, the model has 2 layers"),
        ({0: [4]}, ValueError, r"heads \[4\]"),
        ({0: [-1]}, ValueError, r"heads \[-1\]"),
        ("0", TypeError, "must map layer index"),
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(heads, error, message):
    config = tiny()
    model = FlaxBertModel(config)
    params = model.params
    with pytest.raises(error, match=message):
        model.prune_heads(heads)
    assert config.pruned_heads == {} and model.params is params


def test_without_params_pruning_is_refused():
    model = FlaxBertModel(tiny(), _do_init=False)
    with pytest.raises(ValueError, match="_do_init=False"):
        model.prune_heads({0: [1]})
    assert model.config.pruned_heads == {}


def test_gradient_checkpointing_under_the_pytorch_names():
    model = FlaxBertModel(tiny())
    assert FlaxBertModel.supports_gradient_checkpointing is True
    assert model.is_gradient_checkpointing is False
    model.gradient_checkpointing_enable({"use_reentrant": False})
    assert model.is_gradient_checkpointing is True and model.gradient_checkpointing is True
    model.gradient_checkpointing_disable()
    assert model.is_gradient_checkpointing is False
    with pytest.raises(ValueError, match="use_reentrant"):
        model.gradient_checkpointing_enable({"use_reentrant": True})
