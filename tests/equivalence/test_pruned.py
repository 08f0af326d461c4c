"""A pruned tiny model gives the same outputs in the three twins (within ATOL = 1e-5), and those outputs
are the unpruned model's with the pruned heads' output-projection weights zeroed: a head whose columns of
`attention.output.dense.weight` [H, N*D] are zero adds nothing to the layer, which is what removing it
means. That value is computed by the unpruned bert_pt model, with no pruning code involved. A pruned
checkpoint written by any twin loads in the others (every tensor used, none missing)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bert_flax
import bert_pt
import bert_tf
from bert_zoo.equivalence import random_canonical_weights
from conversion.formats import read_safetensors
from conversion.shapes import model_shapes
from tests.common.head_spec import batch
from tests.helpers import ATOL, tiny_config

CLASSES = {"pt": bert_pt.MODEL_CLASSES, "tf": bert_tf.MODEL_CLASSES, "flax": bert_flax.MODEL_CLASSES}
FIRST, SECOND = {0: [1, 2], 1: [0]}, {0: [2, 3]}  # the second in the unpruned numbering: 2 is gone
PRUNED = {0: [1, 2, 3], 1: [0]}
D = 8  # head size of the tiny config (32 / 4)


def _output(framework: str, model, x: dict[str, np.ndarray]) -> np.ndarray:
    if framework == "pt":
        with torch.no_grad():
            out = model(**{k: torch.from_numpy(v) for k, v in x.items()})
        return out.last_hidden_state.numpy()
    if framework == "tf":
        return model(x).last_hidden_state.numpy()
    return np.asarray(model(**x).last_hidden_state)


@pytest.fixture(scope="module")
def unpruned(tmp_path_factory):
    """A BertModel checkpoint of random weights (larger than initialization, so every head matters)."""
    config = tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = bert_pt.BertModel(config)
    weights = random_canonical_weights(config, "BertModel", seed=3)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    path = tmp_path_factory.mktemp("unpruned")
    model.save_pretrained(path)
    return path


def test_pruned_outputs_agree_and_equal_zeroed_projections(unpruned, tmp_path):
    x = batch(tiny_config())
    # the right value: the unpruned model, its pruned heads' input columns of the output projection zeroed
    reference = bert_pt.BertModel.from_pretrained(unpruned)
    with torch.no_grad():
        for layer, heads in PRUNED.items():
            weight = reference.encoder.layer[layer].attention.output.dense.weight  # [H, N*D]
            for head in heads:
                weight[:, head * D : (head + 1) * D] = 0
    expected = _output("pt", reference, x)
    plain = _output("pt", bert_pt.BertModel.from_pretrained(unpruned), x)
    assert np.abs(plain - expected).max() > 1e-2  # the pruned heads did matter

    outputs = {}
    for framework, classes in CLASSES.items():
        model = classes["BertModel"].from_pretrained(unpruned)
        model.prune_heads(FIRST)
        model.prune_heads(SECOND)
        assert model.config.pruned_heads == PRUNED
        outputs[framework] = _output(framework, model, x)
        model.save_pretrained(tmp_path / framework)
        assert np.abs(outputs[framework] - expected).max() <= ATOL, framework
    for framework in ("tf", "flax"):
        assert np.abs(outputs[framework] - outputs["pt"]).max() <= ATOL, framework
    # what each twin wrote is the same canonical checkpoint, of the shapes conversion.shapes gives
    written = {framework: read_safetensors(tmp_path / framework) for framework in CLASSES}
    shapes = model_shapes(tiny_config(pruned_heads=PRUNED), "BertModel")
    for framework, weights in written.items():
        assert {k: v.shape for k, v in weights.items()} == shapes, framework
        assert weights["encoder.layer.0.attention.self.query.weight"].shape == (8, 32)
        for name, value in weights.items():
            np.testing.assert_array_equal(value, written["pt"][name], err_msg=f"{framework} {name}")


@pytest.mark.parametrize("head", ["BertModel", "BertForMaskedLM"])
@pytest.mark.parametrize("writer", ["pt", "tf", "flax"])
def test_a_pruned_checkpoint_of_one_twin_loads_in_the_others(tmp_path, writer, head):
    config = tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = CLASSES[writer][head](config)
    model.prune_heads(PRUNED)
    model.save_pretrained(tmp_path)
    x = batch(config)
    results = {}
    for reader, classes in CLASSES.items():
        loaded, info = classes[head].from_pretrained(tmp_path, output_loading_info=True)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == [], (reader, info)
        assert info["mismatched_keys"] == [], (reader, info)
        assert loaded.config.pruned_heads == PRUNED
        if head == "BertModel":
            results[reader] = _output(reader, loaded, x)
    for reader, value in results.items():
        assert np.abs(value - results[writer]).max() <= ATOL, (writer, reader)
